"""Masters a dead supervisord left (leftovers.py): retired at start, and the
ledger that names them kept in step."""
import os
import shutil
import signal
import tempfile
import unittest

from supervisor_unicorn.supervisord.ledger import Ledger, Record
from supervisor_unicorn.supervisord.procs import ProcId
from supervisor_unicorn.supervisord.readiness import Evidence

from test_core import NEW, OLD, PIDFILE, SUPERVISORD, CoreTestBase


class LeftoverTests(CoreTestBase):
    """A supervisord SIGKILLed mid-handover left two masters (and a re-exec
    child still booting): every one its ledger names is retired before the spawn."""

    def setUp(self):
        super().setUp()
        self.dir = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.dir)
        self.ledger = Ledger(os.path.join(self.dir, 'supervisord.pid.hot_restart'))
        self.core.leftovers.ledger = self.ledger
        self.options.pidhistory.clear()
        self.process.pid = 0
        self.procs.reparent(OLD, 1)                       # under init now
        self.procs.spawn(NEW, OLD, pgid=OLD)               # the new master
        self.procs.spawn(300, OLD, pgid=OLD)               # a re-exec child, no pidfile yet
        self.procs.spawn(400, 1, pgid=400)                 # a stranger: another user's
        self.procs.uids[400] = os.geteuid() + 1
        self.dead_supervisord = ProcId(77, 1.0)

    def record(self, *pids, supervisord=None, uid=None):
        uid = os.geteuid() if uid is None else uid
        Ledger(self.ledger.path).write(
            supervisord or self.dead_supervisord,
            {'web': [Record(self.procs.identify(p) or ProcId(p, 5.0), uid) for p in pids]})

    def retired(self):
        return sorted(pid for pid, sig in self.signals if sig == signal.SIGQUIT)

    def test_every_recorded_leftover_is_retired_and_the_spawn_waits_for_all(self):
        # pidfiles are not read: one names the stranger
        self.procs.write(PIDFILE + '.2', 400)
        self.record(OLD, NEW, 300)
        self.core.leftovers.check()
        # both masters, the re-exec child, and the children of the old one
        self.assertEqual(self.retired(), sorted([OLD, OLD + 1, OLD + 2, NEW, 300]))
        self.assertNotIn(400, [pid for pid, _ in self.signals])
        self.assertIsNone(self.process.spawn())            # held
        for pid in (OLD, OLD + 1, OLD + 2, 300):
            self.procs.die(pid)
        self.core.leftovers.poll()
        self.assertIn('web', self.core.leftovers.pending)  # NEW still runs
        self.procs.die(NEW)
        self.core.leftovers.poll()
        self.assertEqual(self.core.leftovers.pending, {})
        self.assertNotIn('spawn', self.process.__dict__)   # released

    def test_a_recorded_pid_now_used_by_another_process_is_left_alone(self):
        self.record(NEW)
        self.procs.die(NEW)
        self.procs.spawn(NEW, 1, create_time=self.clock() + 50)   # the number, reused
        self.core.leftovers.check()
        self.assertEqual(self.signals, [])
        self.assertEqual(self.core.leftovers.pending, {})

    def test_a_recorded_process_running_as_another_user_is_left_alone(self):
        self.record(400, uid=os.geteuid())
        self.core.leftovers.check()
        self.assertEqual(self.signals, [])

    def test_nothing_is_retired_while_the_recording_supervisord_lives(self):
        self.procs.spawn(77, 1, create_time=1.0)
        self.record(OLD, NEW)
        self.core.leftovers.check()
        self.assertEqual(self.signals, [])
        self.assertIn('which still runs', self.logged())

    def test_a_ledger_others_may_write_is_not_used(self):
        self.record(OLD, NEW)
        os.chmod(self.ledger.path, 0o666)
        self.core.leftovers.check()
        self.assertEqual(self.signals, [])
        self.assertIn('is not trusted: others may write it (mode 666)', self.logged())

    def test_no_ledger_means_nothing_to_retire_and_says_nothing(self):
        self.core.leftovers.check()
        self.assertEqual(self.signals, [])
        self.assertNotIn('state file', self.logged())

    def logged(self):
        return '\n'.join(str(m) for m in self.options.logger.data)


class LedgerRecordTests(CoreTestBase):
    """The core keeps supervisord's ledger in step with the masters it runs."""

    def setUp(self):
        super().setUp()
        self.dir = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.dir)
        self.core.leftovers.ledger = Ledger(os.path.join(self.dir,
                                                         'supervisord.pid.hot_restart'))
        self.procs.spawn(SUPERVISORD, 0, create_time=1.0)

    def recorded(self):
        entries, why = Ledger(self.core.leftovers.ledger.path).read()
        self.assertEqual(why, '')
        return {name: [r.ident.pid for r in recs] for name, recs in entries.programs.items()}

    def test_the_tracked_master_is_recorded(self):
        self.core.poll(force=True)
        self.assertEqual(self.recorded(), {'web': [OLD]})

    def test_both_generations_are_recorded_during_a_handover_and_one_after(self):
        self.iface.hotRestart('web', False)
        self.boot_new_master()
        self.readiness.table.update({NEW + 1: Evidence.READY, NEW + 2: Evidence.READY})
        self.clock.now += 0.1
        self.core.poll(force=True)
        self.assertEqual(self.recorded(), {'web': [OLD, NEW]})
        self.old_master_exits()
        self.clock.now += 0.1
        self.core.poll(force=True)
        self.assertEqual(self.recorded(), {'web': [NEW]})


if __name__ == '__main__':
    unittest.main()

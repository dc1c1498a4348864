"""The hot-restart core driven end to end through the RPC namespace, on fakes.

supervisord is supervisor's PopulatedDummySupervisor; /proc is a FakeProcs
table; signals are recorded instead of sent; time is a hand-moved clock.
The core is made with the fake /proc, clock and readiness reader
(rpcinterface.install_core); the glue's `signal`/`my_pid`/`subreaper` are
replaced on its instance.
"""
import os
import shutil
import signal
import tempfile
import unittest

from supervisor import events
from supervisor.http import NOT_DONE_YET
from supervisor.states import ProcessStates
from supervisor.tests.base import DummyOptions, DummyPConfig, PopulatedDummySupervisor

from supervisor_unicorn.supervisord.ledger import Ledger, Record
from supervisor_unicorn.supervisord.procs import ProcId
from supervisor_unicorn.supervisord.readiness import Evidence

SUPERVISORD = 1
OLD = 100
NEW = 200
PIDFILE = '/srv/web/tmp/pids/unicorn.pid'


class Clock:
    def __init__(self, now=1000.0):
        self.now = now

    def __call__(self):
        return self.now


class FakeProcs:
    """The procs module as the core uses it, over a table of processes."""

    def __init__(self, clock):
        self.clock_ = clock
        self.table = {}       # pid -> [create_time, ppid, pgid, alive]
        self.pidfiles = {}    # path -> bytes-free text
        self.versions = {}    # path -> write counter, for file_signature
        self.uids = {}        # pid -> uid, if not this test's
        self.sigcgt = {}      # pid -> SigCgt mask, if not "catches USR2"

    # the test's side

    def spawn(self, pid, ppid, pgid=None, create_time=None):
        self.table[pid] = [self.clock_() if create_time is None else create_time,
                           ppid, pgid if pgid is not None else pid, True]

    def die(self, pid):
        self.table[pid][3] = False

    def reparent(self, pid, ppid):
        self.table[pid][1] = ppid

    def write(self, path, pid):
        self.pidfiles[path] = pid
        self.versions[path] = self.versions.get(path, 0) + 1

    def remove(self, path):
        self.pidfiles.pop(path, None)
        self.versions.pop(path, None)

    # the procs API

    def clock(self):
        return self.clock_()

    def identify(self, pid):
        row = self.table.get(pid)
        if row is None or not row[3]:
            return None
        return ProcId(pid, row[0])

    def is_alive(self, ident):
        return ident is not None and self.identify(ident.pid) == ident

    def parent_of(self, pid):
        row = self.table.get(pid)
        return row[1] if row and row[3] else None

    def process_group(self, pid):
        row = self.table.get(pid)
        return row[2] if row and row[3] else None

    def child_pids(self, pid):
        return [p for p, row in sorted(self.table.items()) if row[1] == pid and row[3]]

    def live_children(self, pid):
        return [ProcId(p, row[0]) for p, row in sorted(self.table.items())
                if row[1] == pid and row[3]]

    def descendants(self, pid):
        out = []
        for child in self.live_children(pid):
            out.append(child)
            out.extend(self.descendants(child.pid))
        return out

    def descendants_of(self, ident):
        found = self.descendants(ident.pid)
        return found if self.is_alive(ident) else []

    def real_uid(self, pid):
        return self.uids.get(pid, os.geteuid()) if self.identify(pid) else None

    def caught_signals(self, pid):
        return self.sigcgt.get(pid, 1 << (signal.SIGUSR2 - 1))

    def read_pidfile(self, path):
        if path not in self.pidfiles:
            return None, 'missing'
        return self.pidfiles[path], ''

    def file_signature(self, path):
        if path not in self.pidfiles:
            return None
        return (hash(path), self.versions[path], 0)

    def session_of(self, pid):
        # one session: nothing here daemonized (see test_daemon_watch.py)
        return 1

    def crowded(self, pid):
        return None


class FakeReadiness:
    """readiness.Reader over a table: pid -> Evidence; unreadable otherwise."""

    def __init__(self):
        self.table = {}

    def read(self, server, pid):
        from supervisor_unicorn.supervisord.readiness import Evidence
        if pid in self.table:
            return self.table[pid], ''
        return Evidence.UNKNOWN, 'cannot list /proc/%d/fd (Permission denied)' % pid

    def forget(self, keep):
        pass

    def over_limit(self, pid):
        return ''


class CoreTestBase(unittest.TestCase):
    server = 'unicorn'
    boot_timeout = 10
    line_options = ''           # more options of the programs line

    def setUp(self):
        events.clear()
        self.addCleanup(events.clear)
        self.options = DummyOptions()
        self.reaped = []
        self.options.waitpid = self._waitpid            # before the factory wraps it
        config = DummyPConfig(self.options, 'web', '/usr/bin/unicorn',
                              stopsignal=signal.SIGQUIT, stopwaitsecs=5)
        self.supervisord = PopulatedDummySupervisor(self.options, 'web', config)
        self.process = self.supervisord.process_groups['web'].processes['web']
        from supervisor_unicorn.rpcinterface import install_core, make_unicorn_rpcinterface
        self.clock = Clock()
        self.procs = FakeProcs(self.clock)
        self.readiness = self.make_readiness()
        config = {'programs': 'web %s %s boot_timeout=%s %s'
                  % (self.server, PIDFILE, self.boot_timeout, self.line_options)}
        install_core(self.supervisord, config, clock=self.clock, proc=self.procs,
                     readiness=self.readiness)
        self.iface = make_unicorn_rpcinterface(self.supervisord, **config)
        self.core = self.iface._core
        self.signals = []
        glue = self.core.glue
        glue.subreaper = True
        glue.signal = lambda ident, sig: self.signals.append((ident.pid, sig))
        glue.my_pid = lambda: SUPERVISORD
        # the master supervisord started, with two workers
        self.procs.spawn(OLD, SUPERVISORD, create_time=900.0)
        self.procs.spawn(OLD + 1, OLD, pgid=OLD, create_time=901.0)
        self.procs.spawn(OLD + 2, OLD, pgid=OLD, create_time=901.0)
        self.procs.write(PIDFILE, OLD)
        self.process.pid = OLD
        self.options.pidhistory[OLD] = self.process

    def make_readiness(self):
        return FakeReadiness()

    def _waitpid(self):
        return self.reaped.pop(0) if self.reaped else (None, None)

    def tick(self, seconds):
        self.clock.now += seconds
        self.core.poll_one('web')

    def reap(self, pid, status=0):
        """supervisord's reap(): the wrapped waitpid, until it returns no pid."""
        self.reaped.append((pid, status))
        seen = []
        while True:
            pid, sts = self.options.waitpid()
            if not pid:
                return seen
            seen.append(pid)

    def boot_new_master(self, workers=2):
        """What unicorn does after USR2: a child master, its pidfile, workers."""
        self.procs.spawn(NEW, OLD, pgid=OLD)
        self.procs.write(PIDFILE + '.oldbin', OLD)
        self.procs.write(PIDFILE, NEW)
        for n in range(workers):
            self.procs.spawn(NEW + 1 + n, NEW, pgid=OLD)

    def old_master_exits(self):
        for pid in (OLD, OLD + 1, OLD + 2):
            self.procs.die(pid)
        self.procs.reparent(NEW, SUPERVISORD)
        return self.reap(OLD)

    def assertRPCError(self, code, callable, *args, **kw):
        from supervisor.xmlrpc import RPCError
        try:
            callable(*args, **kw)
        except RPCError as e:
            self.assertEqual(e.code, code)
            return e
        else:
            self.fail('RPCError was never raised')


class OrphanTests(CoreTestBase):

    def test_workers_of_a_crashed_master_are_asked_to_finish_with_the_retire_signal(self):
        # SIGKILL of the master: its workers are reparented to supervisord
        self.core.poll(force=True)                      # the scan records them
        self.procs.die(OLD)
        self.procs.reparent(OLD + 1, SUPERVISORD)
        self.procs.reparent(OLD + 2, SUPERVISORD)
        self.procs.spawn(999, SUPERVISORD)              # another program's process
        self.assertEqual(self.reap(OLD), [OLD])         # supervisord's finish() runs
        self.assertEqual(self.signals, [(OLD + 1, signal.SIGQUIT),
                                        (OLD + 2, signal.SIGQUIT)])

    def test_a_master_that_took_its_workers_along_leaves_nothing_to_signal(self):
        for pid in (OLD, OLD + 1, OLD + 2):
            self.procs.die(pid)
        self.assertEqual(self.reap(OLD), [OLD])
        self.assertEqual(self.signals, [])


class HotRestartTests(CoreTestBase):

    def test_hot_restart_without_wait_sends_usr2_and_answers_started(self):
        r = self.iface.hotRestart('web', False)
        self.assertEqual(r, {'name': 'web', 'old_pid': OLD, 'new_pid': 0,
                             'seconds': 0.0, 'status': 'started'})
        self.assertEqual(self.signals, [(OLD, signal.SIGUSR2)])
        self.assertEqual(self.iface.getHotRestartInfo('web')['phase'], 'booting')

    def test_second_hot_restart_while_one_is_pending_raises_in_progress(self):
        from supervisor_unicorn.common.faults import Faults
        self.iface.hotRestart('web', False)
        e = self.assertRPCError(Faults.IN_PROGRESS, self.iface.hotRestart, 'web')
        self.assertIn('pid %d still serving' % OLD, e.text)
        self.assertEqual(self.signals, [(OLD, signal.SIGUSR2)])

    def test_master_gone_before_the_request_raises_not_running(self):
        from supervisor_unicorn.common.faults import Faults
        self.procs.die(OLD)
        e = self.assertRPCError(Faults.NOT_RUNNING, self.iface.hotRestart, 'web')
        self.assertIn('no live master', e.text)
        self.assertEqual(self.signals, [])

    def test_wait_returns_a_deferred_that_is_not_done_while_booting(self):
        onwait = self.iface.hotRestart('web')
        self.assertTrue(callable(onwait))
        self.assertGreater(onwait.delay, 0)
        self.assertIs(onwait(), NOT_DONE_YET)

    def test_old_master_is_retired_once_the_new_workers_settle(self):
        self.iface.hotRestart('web', False)
        self.boot_new_master()
        self.tick(0.2)                        # new master and workers seen
        self.assertEqual(self.signals, [(OLD, signal.SIGUSR2)])
        self.tick(0.6)                        # settled
        self.assertEqual(self.signals[-1], (OLD, signal.SIGQUIT))
        self.assertEqual(self.iface.getHotRestartInfo('web')['phase'], 'retiring')

    def test_full_hot_restart_adopts_the_new_master_without_supervisord_seeing_the_exit(self):
        onwait = self.iface.hotRestart('web')
        self.boot_new_master()
        self.tick(0.2)
        self.tick(0.6)
        self.clock.now += 0.4
        seen = self.old_master_exits()
        self.assertEqual(seen, [])                      # the exit was consumed
        self.assertEqual(self.process.pid, NEW)
        self.assertEqual(self.options.pidhistory, {NEW: self.process})
        self.assertEqual(onwait(), {'name': 'web', 'old_pid': OLD, 'new_pid': NEW,
                                    'seconds': 1.2, 'status': 'done'})

    def test_info_after_a_hot_restart(self):
        self.iface.hotRestart('web', False)
        self.boot_new_master()
        self.tick(0.2)
        self.tick(0.6)
        self.old_master_exits()
        info = self.iface.getHotRestartInfo('web')
        self.assertEqual((info['pid'], info['phase'], info['last_result'],
                          info['restarts']), (NEW, 'idle', 'done', 1))

    def test_a_re_exec_child_that_dies_before_its_pidfile_is_a_failed_boot(self):
        # gunicorn preloading broken code: the child dies before writing .2;
        # it is forgotten once gone, but it was seen: no "may be hung"
        from supervisor_unicorn.common.faults import Faults
        onwait = self.iface.hotRestart('web')
        self.procs.spawn(NEW, OLD, pgid=OLD)
        self.tick(0.05)
        self.procs.die(NEW)
        self.tick(0.05)
        self.tick(0.05)
        e = self.assertRPCError(Faults.FAILED, onwait)
        self.assertIn('new master failed to boot', e.text)
        self.assertEqual(self.iface.getHotRestartInfo('web')['failure'], 'BOOT_FAILED')

    def test_new_master_that_dies_while_booting_fails_with_the_old_one_serving(self):
        from supervisor_unicorn.common.faults import Faults
        onwait = self.iface.hotRestart('web')
        self.boot_new_master(workers=0)
        self.tick(0.2)
        self.procs.die(NEW)
        self.tick(0.2)
        e = self.assertRPCError(Faults.FAILED, onwait)
        self.assertEqual(e.text, 'FAILED: new master failed to boot (pid %d exited); '
                                 'pid %d still serving' % (NEW, OLD))
        self.assertEqual(self.process.pid, OLD)
        info = self.iface.getHotRestartInfo('web')
        self.assertEqual((info['phase'], info['restarts']), ('idle', 0))
        self.assertTrue(info['last_result'].startswith('failed: new master failed'))

    def test_new_master_not_ready_in_time_is_killed_with_its_workers(self):
        from supervisor_unicorn.common.faults import Faults
        onwait = self.iface.hotRestart('web')
        self.boot_new_master(workers=1)              # two expected: never ready
        self.tick(0.2)
        self.tick(self.boot_timeout)
        killed = sorted(pid for pid, sig in self.signals if sig == signal.SIGKILL)
        self.assertEqual(killed, [NEW, NEW + 1])
        self.assertNotIn((OLD, signal.SIGKILL), self.signals)
        self.procs.die(NEW + 1)
        self.procs.die(NEW)
        self.tick(0.2)
        e = self.assertRPCError(Faults.FAILED, onwait)
        self.assertIn('not ready within boot_timeout (10s)', e.text)
        self.assertIn('pid %d still serving' % OLD, e.text)

    def test_a_master_that_never_reexecs_fails_no_reexec_without_still_serving(self):
        # a hung master (SIGSTOPped, stuck in a C call): USR2 goes out, no
        # child ever appears; nothing to kill, and it is not "still serving"
        from supervisor_unicorn.common.faults import Faults
        onwait = self.iface.hotRestart('web')
        self.tick(self.boot_timeout / 2)
        self.assertIs(onwait(), NOT_DONE_YET)
        self.tick(self.boot_timeout / 2 + 0.2)
        e = self.assertRPCError(Faults.FAILED, onwait)
        self.assertEqual(e.text, 'FAILED: master pid %d did not re-exec within boot_timeout'
                                 ' (10s); it may be hung' % OLD)
        self.assertNotIn('still serving', e.text)
        self.assertEqual(self.signals, [(OLD, signal.SIGUSR2)])    # nothing killed
        self.assertEqual(self.process.pid, OLD)
        info = self.iface.getHotRestartInfo('web')
        self.assertEqual((info['phase'], info['restarts'], info['last_result']),
                         ('idle', 0, 'failed: ' + e.text[len('FAILED: '):]))

    def test_child_of_the_old_master_started_before_the_usr2_is_not_adopted(self):
        self.procs.spawn(NEW, OLD, pgid=OLD, create_time=950.0)   # an old worker
        self.procs.spawn(NEW + 1, NEW, pgid=OLD)
        self.procs.spawn(NEW + 2, NEW, pgid=OLD)
        self.iface.hotRestart('web', False)
        self.procs.write(PIDFILE, NEW)
        self.tick(0.2)
        self.tick(0.6)
        self.assertEqual(self.signals, [(OLD, signal.SIGUSR2)])  # nothing retired

    def test_old_master_exit_with_no_new_master_goes_to_supervisord(self):
        from supervisor_unicorn.common.faults import Faults
        onwait = self.iface.hotRestart('web')
        self.procs.die(OLD)
        self.assertEqual(self.reap(OLD), [OLD])
        self.assertEqual(self.process.pid, OLD)     # supervisord's finish() runs
        e = self.assertRPCError(Faults.ABNORMAL_TERMINATION, onwait)
        self.assertIn('old master pid %d exited' % OLD, e.text)

    # supervisorctl stop during a hot restart: the program ends stopped, so
    # the client waiting in hotRestart should get a Fault, not 'done'; and
    # the restart counter should not count it.
    def test_stop_during_the_hot_restart_is_not_reported_as_done(self):
        from supervisor.xmlrpc import RPCError
        onwait = self.iface.hotRestart('web')
        self.boot_new_master()
        self.tick(0.2)
        self.tick(0.6)                               # retiring
        self.process.state = ProcessStates.STOPPING
        self.options.kill(OLD, signal.SIGQUIT)       # Subprocess.kill()
        self.old_master_exits()
        self.assertRaises(RPCError, onwait)
        self.assertEqual(self.iface.getHotRestartInfo('web')['restarts'], 0)


class StopTests(CoreTestBase):

    def test_stop_while_booting_signals_the_new_master_too(self):
        self.iface.hotRestart('web', False)
        self.boot_new_master()
        self.tick(0.2)
        self.process.state = ProcessStates.STOPPING
        self.options.kill(OLD, signal.SIGQUIT)
        self.assertEqual(self.options.kills, {OLD: signal.SIGQUIT})
        self.assertIn((NEW, signal.SIGQUIT), self.signals)
        self.assertEqual(self.iface.getHotRestartInfo('web')['phase'], 'stopping')

    def test_stop_while_booting_retires_nothing_later(self):
        self.iface.hotRestart('web', False)
        self.boot_new_master()
        self.tick(0.2)
        self.process.state = ProcessStates.STOPPING
        self.options.kill(OLD, signal.SIGQUIT)
        before = list(self.signals)
        self.tick(1.0)
        self.tick(self.boot_timeout + 1)
        self.assertEqual(self.signals, before)

    def test_group_kill_of_an_adopted_master_targets_the_first_masters_group(self):
        self.iface.hotRestart('web', False)
        self.boot_new_master()
        self.tick(0.2)
        self.tick(0.6)
        self.old_master_exits()
        self.options.kill(-NEW, signal.SIGKILL)      # stopasgroup/killasgroup
        self.assertEqual(self.options.kills, {-OLD: signal.SIGKILL})


class ManualUsr2Tests(CoreTestBase):

    def test_a_usr2_from_outside_is_noticed_and_taken_over(self):
        self.core.poll(force=True)                   # learns the master
        self.assertEqual(self.iface.getHotRestartInfo('web')['phase'], 'idle')
        self.boot_new_master()                       # kill -USR2 by a deploy tool
        self.clock.now += 1.0
        self.core.poll(force=True)
        self.assertEqual(self.iface.getHotRestartInfo('web')['phase'], 'booting')
        self.tick(0.2)                               # workers seen: settle starts
        self.assertEqual(self.signals, [])
        self.tick(0.6)
        self.assertEqual(self.signals, [(OLD, signal.SIGQUIT)])   # no USR2 of ours
        self.old_master_exits()
        info = self.iface.getHotRestartInfo('web')
        self.assertEqual((info['pid'], info['restarts']), (NEW, 1))

    def test_old_master_retired_by_its_successor_is_adopted_at_reap(self):
        # unicorn's before_fork QUIT hook: the old master is gone before a scan
        # saw the pidfile; a scan saw its child booting
        self.procs.spawn(NEW, OLD, pgid=OLD)
        self.clock.now += 1.0
        self.core.poll(force=True)
        self.procs.write(PIDFILE, NEW)
        self.procs.spawn(NEW + 1, NEW, pgid=OLD)
        self.assertEqual(self.old_master_exits(), [])
        self.assertEqual(self.process.pid, NEW)
        self.assertEqual(self.iface.getHotRestartInfo('web')['restarts'], 1)

    def test_a_pidfile_naming_a_stranger_is_not_adopted(self):
        self.core.poll(force=True)
        self.procs.spawn(777, SUPERVISORD, pgid=777)
        self.procs.write(PIDFILE, 777)
        self.clock.now += 1.0
        self.core.poll(force=True)
        self.assertEqual(self.iface.getHotRestartInfo('web')['phase'], 'idle')
        self.assertEqual(self.signals, [])


class ReadinessTests(CoreTestBase):
    """Ready = every new worker has loaded the app, from the server's evidence."""

    def setUp(self):
        super().setUp()
        from supervisor_unicorn.supervisord.readiness import Evidence
        self.table = self.readiness.table
        self.table.update({OLD + 1: Evidence.READY, OLD + 2: Evidence.READY})
        self.LOADING, self.READY = Evidence.LOADING, Evidence.READY

    def logged(self, text):
        return [line for line in self.options.logger.data if text in str(line)]

    def test_start_up_says_once_that_readiness_is_observable(self):
        self.core.poll(force=True)
        self.core.poll(force=True)
        self.assertEqual(len(self.logged('readiness of the workers of pid %d is observable'
                                         % OLD)), 1)
        self.assertEqual(self.logged('cannot be observed'), [])

    def test_start_up_warns_once_when_readiness_cannot_be_read_and_uses_the_time_rule(self):
        self.table.clear()
        self.core.poll(force=True)
        self.core.poll(force=True)
        warned = self.logged('readiness cannot be observed: cannot list /proc/%d/fd '
                             '(Permission denied)' % (OLD + 1))
        self.assertEqual(len(warned), 1)
        self.iface.hotRestart('web', False)
        self.boot_new_master()
        self.tick(0.2)
        self.tick(0.6)                           # the time rule: up for 0.5 s
        self.assertEqual(self.signals[-1], (OLD, signal.SIGQUIT))

    def test_many_new_workers_are_read_in_turns_and_a_ready_one_is_not_read_again(self):
        from supervisor_unicorn.supervisord.loading import READS_PER_POLL
        self.core.poll(force=True)
        self.iface.hotRestart('web', False)
        self.boot_new_master(workers=0)
        many = [NEW + 1 + n for n in range(READS_PER_POLL + 36)]
        for pid in many:
            self.procs.spawn(pid, NEW, pgid=OLD)
            self.table[pid] = self.READY
        reads = []
        read = self.readiness.read
        self.readiness.read = lambda kind, pid: reads.append(pid) or read(kind, pid)
        self.tick(0.05)
        self.assertEqual(len(reads), READS_PER_POLL)
        info = self.iface.getHotRestartInfo('web')
        self.assertEqual((info['workers'], info['workers_ready']), (len(many), READS_PER_POLL))
        del reads[:]
        self.tick(0.05)
        self.assertEqual(sorted(reads), many[READS_PER_POLL:])    # only the rest
        self.assertEqual(self.iface.getHotRestartInfo('web')['workers_ready'], len(many))

    def test_a_new_worker_whose_evidence_vanishes_is_not_ready_where_it_is_observable(self):
        # a worker that fails to load the app closes its fds on the way out:
        # its heartbeat is gone for a moment, which is no reason for the time rule
        self.core.poll(force=True)                        # observable at start-up
        self.iface.hotRestart('web', False)
        self.boot_new_master()
        self.table.update({NEW + 1: self.LOADING})        # NEW + 2: unreadable
        for _ in range(10):
            self.tick(0.2)
        self.assertNotIn((OLD, signal.SIGQUIT), self.signals)
        self.assertEqual(self.iface.getHotRestartInfo('web')['phase'], 'loading')
        self.table.update({NEW + 1: self.READY, NEW + 2: self.READY})
        self.tick(0.2)
        self.assertEqual(self.signals[-1], (OLD, signal.SIGQUIT))

    def test_workers_that_keep_looking_loading_are_judged_unreadable_after_boot_timeout(self):
        self.table.update({OLD + 1: self.LOADING, OLD + 2: self.LOADING})
        self.core.poll(force=True)
        self.clock.now += self.boot_timeout + 1
        self.core.poll(force=True)
        self.assertEqual(len(self.logged('still look like loading the app after 10s')), 1)

    def test_the_old_master_is_retired_only_when_every_new_worker_has_loaded(self):
        self.core.poll(force=True)
        self.iface.hotRestart('web', False)
        self.boot_new_master()
        self.table.update({NEW + 1: self.LOADING, NEW + 2: self.LOADING})
        for _ in range(5):
            self.tick(1.0)
        self.assertEqual(self.signals, [(OLD, signal.SIGUSR2)])
        info = self.iface.getHotRestartInfo('web')
        self.assertEqual((info['phase'], info['workers'], info['workers_ready']),
                         ('loading', 2, 0))
        self.table[NEW + 1] = self.READY
        self.tick(1.0)
        self.assertEqual(self.iface.getHotRestartInfo('web')['workers_ready'], 1)
        self.table[NEW + 2] = self.READY
        self.tick(0.05)                          # no settle: retired on sight
        self.assertEqual(self.signals[-1], (OLD, signal.SIGQUIT))
        self.assertEqual([len(self.logged('new workers ready: %d/2' % n)) for n in (0, 1, 2)],
                         [1, 1, 1])
        self.assertEqual(len(self.logged('has 2 worker(s) ready; retiring old master')), 1)
        self.old_master_exits()
        info = self.iface.getHotRestartInfo('web')
        self.assertEqual((info['last_result'], info['last_seconds']), ('done', 6.05))

    def test_new_workers_dying_while_loading_fail_the_hot_restart(self):
        self.iface.hotRestart('web', False)
        self.boot_new_master()
        self.table.update({NEW + 1: self.LOADING, NEW + 2: self.LOADING})
        self.tick(0.1)
        for n, dead in enumerate((NEW + 1, NEW + 2, NEW + 3)):
            self.procs.die(dead)
            self.procs.spawn(NEW + 3 + n, NEW, pgid=OLD)   # unicorn respawns it
            self.table[NEW + 3 + n] = self.LOADING
            self.tick(0.1)
        killed = sorted(pid for pid, sig in self.signals if sig == signal.SIGKILL)
        self.assertEqual(killed, [NEW, NEW + 4, NEW + 5])
        self.assertEqual(len(self.logged('new workers keep failing to load the app '
                                         '(3 exited); killing')), 1)
        for pid in (NEW, NEW + 4, NEW + 5):
            self.procs.die(pid)
        self.tick(0.1)
        info = self.iface.getHotRestartInfo('web')
        self.assertEqual(info['last_result'], 'failed: new workers keep failing to load '
                         'the app (3 exited); pid %d still serving' % OLD)
        self.assertNotIn((OLD, signal.SIGQUIT), self.signals)


class GunicornTests(CoreTestBase):
    server = 'gunicorn'

    def test_usr2_waits_until_the_master_is_promoted(self):
        self.procs.write(PIDFILE + '.2', OLD)        # a new master not yet promoted
        self.iface.hotRestart('web', False)
        self.assertEqual(self.signals, [])
        self.assertEqual(self.iface.getHotRestartInfo('web')['phase'], 'waiting')
        self.procs.remove(PIDFILE + '.2')
        self.tick(0.2)
        self.assertEqual(self.signals, [(OLD, signal.SIGUSR2)])

    def test_unpromoted_master_fails_not_ready_after_boot_timeout(self):
        from supervisor_unicorn.common.faults import Faults
        self.procs.write(PIDFILE + '.2', OLD)
        onwait = self.iface.hotRestart('web')
        self.tick(self.boot_timeout + 0.5)
        e = self.assertRPCError(Faults.FAILED, onwait)
        self.assertEqual(e.text, 'FAILED: master pid %d could not re-exec within boot_timeout'
                                 ' (10s): the previous hot restart has not settled' % OLD)
        self.assertNotIn('still serving', e.text)
        self.assertEqual(self.signals, [])

    def test_old_gunicorn_master_is_retired_with_term(self):
        self.iface.hotRestart('web', False)
        self.procs.spawn(NEW, OLD, pgid=OLD)
        self.procs.write(PIDFILE + '.2', NEW)
        self.procs.spawn(NEW + 1, NEW, pgid=OLD)
        self.procs.spawn(NEW + 2, NEW, pgid=OLD)
        self.tick(0.2)
        self.tick(0.6)
        self.assertEqual(self.signals[-1], (OLD, signal.SIGTERM))



class TrustTests(CoreTestBase):
    """Issue 9: what the app controls decides nothing."""

    def logged(self):
        return '\n'.join(self.options.logger.data)

    def test_group_stop_of_a_master_that_moved_to_supervisords_group(self):
        self.core.poll(force=True)
        self.procs.table[OLD][2] = os.getpgrp()           # setpgid(0, supervisord's)
        self.process.state = ProcessStates.STOPPING
        self.options.kill(-OLD, signal.SIGKILL)
        self.assertEqual(self.options.kills, {-OLD: signal.SIGKILL})   # the spawn group
        self.assertEqual(self.signals, [(OLD, signal.SIGKILL)])        # and it, directly
        self.assertIn('master pid %d left process group %d; signalled it directly'
                      % (OLD, OLD), self.logged())

    def test_group_stop_of_a_fresh_spawn_still_starting_is_its_own_group(self):
        self.core.poll(force=True)                      # knows OLD as the master
        self.procs.die(OLD)
        self.procs.spawn(300, SUPERVISORD)              # supervisord's respawn
        self.process.pid = 300
        self.process.state = ProcessStates.STARTING
        self.options.kill(-300, signal.SIGTERM)
        self.assertEqual(self.options.kills, {-300: signal.SIGTERM})

    def test_a_forbidden_spawn_group_is_never_signalled(self):
        self.core.poll(force=True)
        self.core.programs['web'].pgid = os.getpgrp()
        self.options.kill(-OLD, signal.SIGTERM)
        self.assertEqual(self.options.kills, {OLD: signal.SIGTERM})
        self.assertIn("not signalling process group %d: it is supervisord's own process "
                      "group; signalling master pid %d only" % (os.getpgrp(), OLD),
                      self.logged())

    def test_left_behind_means_recorded_children_not_group_members(self):
        self.core.poll(force=True)                      # records OLD+1, OLD+2
        self.procs.spawn(555, SUPERVISORD, pgid=OLD)    # joined the group later
        self.procs.die(OLD)
        self.procs.reparent(OLD + 1, SUPERVISORD)
        self.procs.reparent(OLD + 2, SUPERVISORD)
        self.reap(OLD)
        self.assertEqual(self.signals, [(OLD + 1, signal.SIGQUIT), (OLD + 2, signal.SIGQUIT)])

    def test_usr2_waits_for_the_master_to_catch_it(self):
        self.procs.sigcgt[OLD] = 0                      # still loading the app
        self.iface.hotRestart('web', False)
        self.tick(1.0)
        self.assertEqual(self.signals, [])
        self.assertEqual(self.iface.getHotRestartInfo('web')['phase'], 'waiting')
        del self.procs.sigcgt[OLD]                      # handlers installed
        self.tick(0.1)
        self.assertEqual(self.signals, [(OLD, signal.SIGUSR2)])

    def test_a_master_that_never_catches_usr2_fails_without_still_serving(self):
        from supervisor_unicorn.common.faults import Faults
        self.procs.sigcgt[OLD] = 0
        onwait = self.iface.hotRestart('web')
        self.tick(self.boot_timeout + 0.5)
        e = self.assertRPCError(Faults.FAILED, onwait)
        self.assertEqual(e.text, 'FAILED: master pid %d could not re-exec within '
                                 'boot_timeout (10s): it does not catch USR2' % OLD)
        self.assertEqual(self.signals, [])

    def test_a_pidfile_naming_its_own_worker_is_not_taken_over(self):
        self.core.poll(force=True)
        self.procs.write(PIDFILE, OLD + 1)
        self.clock.now += 1.0
        self.core.poll(force=True)
        self.assertEqual(self.iface.getHotRestartInfo('web')['phase'], 'idle')
        self.assertIn('pidfile %s names pid %d: it has no workers; not adopted, not '
                      'signalled' % (PIDFILE, OLD + 1), self.logged())
        self.assertEqual(self.signals, [])

    def test_a_pidfile_naming_a_process_of_another_user_is_not_adopted_at_exit(self):
        self.core.poll(force=True)
        self.procs.spawn(NEW, SUPERVISORD, pgid=OLD)    # e.g. a root daemon in its group
        self.procs.spawn(NEW + 1, NEW, pgid=OLD)
        self.procs.uids[NEW] = os.geteuid() + 1
        self.procs.write(PIDFILE, NEW)
        self.procs.die(OLD)
        self.assertEqual(self.reap(OLD), [OLD])         # supervisord's exit handling
        self.assertEqual(self.process.pid, OLD)
        self.assertNotIn(NEW, [pid for pid, _ in self.signals])

    def test_new_master_named_by_no_pidfile_is_adopted_by_ancestry(self):
        onwait = self.iface.hotRestart('web')
        self.procs.spawn(NEW, OLD, pgid=OLD)            # `pid` points elsewhere
        self.procs.spawn(NEW + 1, NEW, pgid=OLD)
        self.procs.spawn(NEW + 2, NEW, pgid=OLD)
        self.tick(0.2)
        self.tick(0.6)
        self.assertEqual(self.signals[-1], (OLD, signal.SIGQUIT))
        self.assertIn('new master pid %d (re-exec child of pid %d) is named by no '
                      'pidfile: PIDFILE in `programs` is %s, and the server\'s `pid` '
                      'setting must be that same path; adopting it by ancestry'
                      % (NEW, OLD, PIDFILE), self.logged())
        self.old_master_exits()
        self.assertEqual(onwait()['new_pid'], NEW)

    def test_verified_reexec_child_survives_a_deleted_pidfile_at_reap(self):
        onwait = self.iface.hotRestart('web')
        self.procs.spawn(NEW, OLD, pgid=OLD)
        self.tick(0.1)                                  # seen as the old master's child
        self.procs.remove(PIDFILE)
        self.procs.die(OLD)                             # TERM from outside
        self.procs.die(OLD + 1)
        self.procs.die(OLD + 2)
        self.procs.reparent(NEW, SUPERVISORD)
        self.assertEqual(self.reap(OLD), [])            # adopted
        self.assertEqual(self.process.pid, NEW)
        self.assertNotIn(NEW, [pid for pid, _ in self.signals])
        self.assertEqual(onwait()['new_pid'], NEW)


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


class RefusedChildTests(CoreTestBase):
    """A re-exec child of the master that cannot be adopted: one WARN that says
    what to do, and hotRestart fails at once with that reason."""

    def test_a_refused_child_makes_hot_restart_fail_at_once_with_the_reason(self):
        from supervisor_unicorn.common.faults import Faults
        self.core.poll(force=True)
        self.procs.spawn(NEW, OLD, pgid=OLD)              # a bare USR2's child
        self.procs.spawn(NEW + 1, NEW, pgid=OLD)
        self.procs.uids[NEW] = os.geteuid() + 1           # it changed users
        self.procs.write(PIDFILE + '.oldbin', OLD)
        self.procs.write(PIDFILE, NEW)
        self.clock.now += 1
        self.core.poll(force=True)
        warns = [line for line in self.options.logger.data if 'not adopted' in str(line)]
        self.assertEqual(len(warns), 1)
        self.assertIn('set user= in the [program:x] section', warns[0])
        e = self.assertRPCError(Faults.FAILED, self.iface.hotRestart, 'web')
        self.assertIn('a new master pid %d exists but was not adopted: it runs as uid'
                      % NEW, e.text)
        self.assertIn('pid %d still serving' % OLD, e.text)
        self.assertEqual(self.signals, [])                # no USR2, nothing else
        # once it is gone, hot restarts work again
        self.procs.die(NEW)
        self.procs.die(NEW + 1)
        self.assertEqual(self.iface.hotRestart('web', False)['status'], 'started')

    def test_a_child_without_workers_yet_is_not_refused(self):
        self.core.poll(force=True)
        self.procs.spawn(NEW, OLD, pgid=OLD)               # still booting
        self.procs.write(PIDFILE, NEW)
        self.clock.now += 1
        self.core.poll(force=True)
        self.assertEqual(self.core.programs['web'].refused, {})


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


class StandbyTests(CoreTestBase):
    """standby=60: the old master is stopped, its workers retired; rollback."""
    line_options = 'standby=60'

    def standby(self):
        """hot restart until the new generation serves alone; the deferred."""
        onwait = self.iface.hotRestart('web')
        self.boot_new_master()
        self.tick(0.2)
        self.tick(0.6)                        # settled: standby
        return onwait

    def old_workers_finish(self):
        for pid in (OLD + 1, OLD + 2):
            self.procs.die(pid)               # zombies of the stopped master

    def test_ready_new_generation_stops_the_old_master_and_retires_its_workers(self):
        onwait = self.standby()
        self.assertEqual(self.signals, [(OLD, signal.SIGUSR2), (OLD, signal.SIGSTOP),
                                        (OLD + 1, signal.SIGQUIT),
                                        (OLD + 2, signal.SIGQUIT)])
        self.assertEqual(onwait(), {'name': 'web', 'old_pid': OLD, 'new_pid': NEW,
                                    'seconds': 0.8, 'status': 'done'})
        info = self.iface.getHotRestartInfo('web')
        self.assertEqual((info['phase'], info['old_pid'], info['new_pid'], info['pid'],
                          info['restarts'], info['standby'], info['standby_left']),
                         ('standby', OLD, NEW, OLD, 1, 60.0, 60.0))
        self.assertEqual(self.process.pid, OLD)       # supervisord still tracks it

    def test_the_window_ends_with_the_stop_signal_then_sigcont(self):
        self.standby()
        self.old_workers_finish()
        del self.signals[:]
        self.tick(59.0)
        self.assertEqual(self.signals, [])
        self.tick(1.1)
        self.assertEqual(self.signals, [(OLD, signal.SIGQUIT), (OLD, signal.SIGCONT)])
        self.assertEqual(self.old_master_exits(), [])
        self.assertEqual(self.process.pid, NEW)
        info = self.iface.getHotRestartInfo('web')
        self.assertEqual((info['phase'], info['restarts'], info['last_result']),
                         ('idle', 1, 'done'))          # counted once

    def test_rollback_continues_the_old_master_and_retires_the_new_once_ready(self):
        self.standby()
        self.old_workers_finish()
        del self.signals[:]
        onwait = self.iface.rollback('web')
        self.assertEqual(self.signals, [(OLD, signal.SIGCONT)])
        self.assertIs(onwait(), NOT_DONE_YET)
        self.procs.spawn(OLD + 3, OLD, pgid=OLD)     # respawned workers
        self.procs.spawn(OLD + 4, OLD, pgid=OLD)
        self.readiness.table.update({OLD + 3: Evidence.READY, OLD + 4: Evidence.READY})
        self.tick(0.1)
        self.assertEqual(self.signals[-1], (NEW, signal.SIGQUIT))
        for pid in (NEW, NEW + 1, NEW + 2):
            self.procs.die(pid)
        self.tick(0.2)
        self.assertEqual(onwait(), {'name': 'web', 'from_pid': NEW, 'to_pid': OLD,
                                    'seconds': 0.3, 'status': 'done', 'cause': ''})
        self.assertEqual(self.process.pid, OLD)
        info = self.iface.getHotRestartInfo('web')
        self.assertEqual((info['phase'], info['last_result'], info['rolled_back_from'],
                          info['restarts'], info['pid']),
                         ('idle', 'rolled_back', NEW, 1, OLD))
        self.assertNotIn(signal.SIGKILL, [sig for _, sig in self.signals])

    def test_the_new_master_dying_in_the_window_rolls_back_with_one_warning(self):
        self.standby()
        self.old_workers_finish()
        self.procs.die(NEW)                           # a zombie of the stopped master
        self.tick(0.1)
        self.assertEqual(self.signals[-1], (OLD, signal.SIGCONT))
        warns = [line for line in self.options.logger.data if 'rolling back' in str(line)]
        self.assertEqual(warns, ['hot_restart: web: new master pid %d died; rolling back '
                                 'to old master pid %d instead of a restart' % (NEW, OLD)])
        self.procs.spawn(OLD + 3, OLD, pgid=OLD)
        self.procs.spawn(OLD + 4, OLD, pgid=OLD)
        self.readiness.table.update({OLD + 3: Evidence.READY, OLD + 4: Evidence.READY})
        self.tick(0.1)
        # its workers, left serving, are asked to finish
        self.assertEqual(sorted(self.signals[-2:]), [(NEW + 1, signal.SIGQUIT),
                                                     (NEW + 2, signal.SIGQUIT)])
        self.tick(0.1)
        self.assertEqual(self.iface.getHotRestartInfo('web')['last_result'], 'rolled_back')

    def test_a_stop_during_standby_continues_the_old_master_after_the_signal(self):
        self.standby()
        del self.signals[:]
        self.process.state = ProcessStates.STOPPING
        self.options.kill(OLD, signal.SIGQUIT)        # supervisord's stop, wrapped
        self.assertEqual(self.options.kills, {OLD: signal.SIGQUIT})
        self.assertIn((OLD, signal.SIGCONT), self.signals)
        self.assertIn((NEW, signal.SIGQUIT), self.signals)   # the new one stops too
        self.assertEqual(self.iface.getHotRestartInfo('web')['phase'], 'stopping')

    def test_another_signal_during_standby_leaves_it_stopped(self):
        self.standby()
        del self.signals[:]
        self.options.kill(OLD, signal.SIGHUP)         # supervisorctl signal HUP web
        self.assertNotIn((OLD, signal.SIGCONT), self.signals)

    def test_hot_restart_during_standby_is_refused_in_progress(self):
        from supervisor_unicorn.common.faults import Faults
        self.standby()
        self.clock.now += 20
        e = self.assertRPCError(Faults.IN_PROGRESS, self.iface.hotRestart, 'web')
        self.assertEqual(e.text, 'IN_PROGRESS: old master pid %d of web is on standby for '
                         '40s more; pid %d serving; roll back (supervisorctl rollback '
                         'web) or hot restart again once the standby is retired'
                         % (OLD, NEW))

    def test_rollback_after_the_window_has_no_standby(self):
        from supervisor_unicorn.common.faults import Faults
        self.standby()
        self.old_workers_finish()
        self.tick(61)
        self.old_master_exits()
        e = self.assertRPCError(Faults.NO_STANDBY, self.iface.rollback, 'web')
        self.assertIn('standby=60s window passed); pid %d serving' % NEW, e.text)


class NoStandbyTests(CoreTestBase):

    def test_rollback_without_standby_fails_at_once(self):
        from supervisor_unicorn.common.faults import Faults
        e = self.assertRPCError(Faults.NO_STANDBY, self.iface.rollback, 'web')
        self.assertEqual(e.text, 'NO_STANDBY: web has no standby to roll back to '
                         '(standby=0: the old master is retired once the new one is '
                         'ready; set standby=SECONDS on its programs line); pid %d '
                         'serving' % OLD)
        self.assertEqual(self.signals, [])

    def test_rollback_while_a_hot_restart_boots_has_no_standby_yet(self):
        from supervisor_unicorn.common.faults import Faults
        self.iface.hotRestart('web', False)
        e = self.assertRPCError(Faults.NO_STANDBY, self.iface.rollback, 'web')
        self.assertIn('a hot restart is in progress (booting); pid %d still serving'
                      % OLD, e.text)

"""The hot-restart core driven end to end through the RPC namespace, on fakes.

supervisord is supervisor's PopulatedDummySupervisor; /proc is a FakeProcs
table; signals are recorded instead of sent; time is a hand-moved clock.
The core is made with the fake /proc, clock and readiness reader
(rpcinterface.install_core); the glue's `signal`/`my_pid`/`subreaper` are
replaced on its instance.
"""
import os
import signal
import unittest

from supervisor import events
from supervisor.http import NOT_DONE_YET
from supervisor.states import ProcessStates
from supervisor.tests.base import DummyOptions, DummyPConfig, PopulatedDummySupervisor

from supervisor_unicorn.supervisord.procs import ProcId

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
        self.exes = {}        # pid -> the program it runs, if not the server's

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

    def exe_of(self, pid):
        return self.exes.get(pid, 'server') if self.identify(pid) else None

    def read_pidfile(self, path):
        if path not in self.pidfiles:
            return None, 'missing'
        return self.pidfiles[path], ''

    def file_signature(self, path):
        if path not in self.pidfiles:
            return None
        return (hash(path), self.versions[path], 0)

    def session_of(self, pid):
        # one session: nothing here daemonized (see test_daemonized.py)
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


class TrustTests(CoreTestBase):
    """What the app controls (pidfile, group, children) decides nothing."""

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


if __name__ == '__main__':
    unittest.main()

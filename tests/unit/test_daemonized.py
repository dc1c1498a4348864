"""DaemonWatch: which orphan is a program's daemon, and what happens to it."""
import signal
import unittest

from supervisor_unicorn.common.config import ProgramSpec
from supervisor_unicorn.supervisord.program import Program
from supervisor_unicorn.supervisord.daemonized import LOOK_FOR, DaemonWatch
from supervisor_unicorn.supervisord.procs import ProcId

SUPERVISORD, MY_SESSION, SPAWNED = 50, 40, 1000.0


class Logger:
    def __init__(self):
        self.lines = []

    def warn(self, text):
        self.lines.append('WARN ' + text)

    def info(self, text):
        self.lines.append('INFO ' + text)


class FakeGlue:
    def __init__(self, clock):
        self.logger = Logger()
        self.clock = clock
        self.signals, self.tracked, self.held = [], set(), {}
        self.fatal = None
        self.state = 'STARTING'

    def state_name(self, name):
        return self.state

    def is_stopping(self, name):
        return self.state == 'STOPPING'

    def seconds_since_spawn(self, name):
        return self.clock.now - SPAWNED

    def my_pid(self):
        return SUPERVISORD

    def is_tracked(self, pid):
        return pid in self.tracked

    def program_uid(self, name):
        return 1000

    def stop_settings(self, name):
        return signal.SIGQUIT, False, 10

    def hold_spawn(self, name, reason):
        self.held[name] = reason

    def release_spawn(self, name):
        del self.held[name]

    def give_up(self, name, reason):
        self.fatal = reason

    def signal(self, ident, sig):
        self.signals.append((ident.pid, sig))


class FakeProcs:
    def __init__(self, clock):
        self.clock_ = clock
        self.table = {}    # pid -> dict(ppid, start, session, uid, env, alive)

    def add(self, pid, start=SPAWNED + 0.5, session=None, uid=1000, pgid=None):
        self.table[pid] = dict(ppid=SUPERVISORD, start=start, session=session or pid,
                               uid=uid, alive=True, pgid=pgid or pid)

    def process_group(self, pid):
        return self.table[pid]['pgid']

    def clock(self):
        return self.clock_.now

    def child_pids(self, pid):
        return [p for p, r in sorted(self.table.items()) if r['ppid'] == pid and r['alive']]

    def identify(self, pid):
        r = self.table.get(pid)
        return ProcId(pid, r['start']) if r and r['alive'] else None

    def is_alive(self, ident):
        return ident is not None and self.identify(ident.pid) == ident

    def session_of(self, pid):
        if pid == 0:
            return MY_SESSION
        r = self.table.get(pid)
        return r['session'] if r and r['alive'] else None

    def real_uid(self, pid):
        return self.table[pid]['uid']

    def descendants_of(self, ident):
        return []


class Clock:
    now = SPAWNED + 2.0

    def __call__(self):
        return self.now


class DaemonWatchTests(unittest.TestCase):

    def setUp(self):
        self.clock = Clock()
        self.glue = FakeGlue(self.clock)
        self.procs = FakeProcs(self.clock)
        spec = ProgramSpec('web', 'unicorn_rails', '/x.pid', 60.0)
        self.api = Program(ProgramSpec('api', 'gunicorn', '/y.pid', 60.0))
        programs = {'web': Program(spec), 'api': self.api}
        self.watch = DaemonWatch(self.glue, programs, self.procs, self.clock)

    def exited(self, sts=0):
        self.watch.master_exited('web', 99, sts)

    def test_a_detached_child_born_after_the_spawn_is_retired_and_named(self):
        # its environment is not read: a process title may have blanked it
        self.procs.add(130)
        self.exited()
        self.assertEqual(self.glue.signals, [(130, signal.SIGQUIT)])
        reason = ('the server daemonized itself (pid 130 runs detached); '
                  'remove -D (--daemonize) from the command')
        self.assertEqual(self.glue.logger.lines,
                         ['WARN hot_restart: web: %s; retiring pid 130 with SIGQUIT' % reason])
        self.assertEqual(self.glue.held, {'web': reason})
        # gone: the spawn is released and the program is FATAL with the reason
        self.procs.table[130]['alive'] = False
        self.clock.now += LOOK_FOR
        self.watch.poll()
        self.assertEqual(self.glue.held, {})
        self.assertEqual(self.glue.fatal, reason)
        self.assertFalse(self.watch.pending)

    def test_a_daemon_that_appears_after_the_exit_is_found_within_the_look_window(self):
        self.exited()
        self.assertEqual(self.glue.signals, [])
        self.procs.add(131)
        self.clock.now += 0.5
        self.watch.poll()
        self.assertEqual(self.glue.signals, [(131, signal.SIGQUIT)])

    def test_nothing_is_signalled_when_no_candidate_qualifies(self):
        self.procs.add(201, session=MY_SESSION)        # a worker of a killed master
        self.procs.add(202, start=SPAWNED - 1)         # older than the spawn
        self.procs.add(203, uid=0)                     # another user
        self.procs.add(204)
        self.api.family[204] = ProcId(204, SPAWNED + 0.5)   # another program's child
        self.procs.add(205, start=SPAWNED - 30)         # born long before
        self.procs.add(206)
        self.glue.tracked.add(206)                      # a process supervisord tracks
        self.exited()
        self.clock.now += LOOK_FOR + 1
        self.watch.poll()
        self.assertEqual(self.glue.signals, [])
        self.assertEqual(self.glue.logger.lines, [])
        self.assertIsNone(self.glue.fatal)
        self.assertFalse(self.watch.pending)

    def test_a_daemon_still_running_after_stopwaitsecs_is_killed_once(self):
        self.procs.add(130)
        self.exited()
        self.clock.now += 11
        self.watch.poll()
        self.watch.poll()
        self.assertEqual(self.glue.signals, [(130, signal.SIGQUIT), (130, signal.SIGKILL)])
        self.assertIn('web', self.watch.pending)

    def test_first_fork_still_in_the_session_after_an_early_clean_exit_is_the_daemon(self):
        # gunicorn --daemon: its first process forks and exits 0 at once; the
        # child may not have called setsid() yet when supervisord reaps it
        self.procs.add(100, session=MY_SESSION, pgid=99)
        self.exited()
        self.assertEqual(self.glue.signals, [(100, signal.SIGQUIT)])

    def test_in_the_session_after_running_or_after_a_failure_is_not_a_daemon(self):
        # a new master that a hot restart left behind: the program was RUNNING
        self.procs.add(100, session=MY_SESSION, pgid=99)
        self.glue.state = 'RUNNING'
        self.exited()
        self.glue.state = 'STARTING'
        self.watch.pending.clear()
        self.exited(sts=1 << 8)                         # exit status 1
        self.watch.pending.clear()
        self.procs.table[100]['alive'] = False
        self.procs.add(101, session=MY_SESSION, pgid=7)  # another process group
        self.exited()
        self.assertEqual(self.glue.signals, [])

    def test_a_stop_or_a_crash_starts_no_watch(self):
        self.procs.add(130)
        self.glue.state = 'STOPPING'
        self.exited()                                   # supervisord stopped it
        self.glue.state = 'RUNNING'
        self.exited(sts=signal.SIGKILL)                 # killed
        self.exited(sts=2 << 8)                         # exit status 2
        self.assertEqual(self.glue.signals, [])
        self.assertFalse(self.watch.pending)

"""successors.is_master: the server's own word that a master's child is a
re-exec'd master, read from signal masks and its workers' evidence, never a title;
a crowded master's children, found by one pass over /proc; and the workers a
re-exec child needs to be adopted by ancestry, which a helper it started is not."""
import signal
import unittest

from supervisor_unicorn.supervisord.readiness import Evidence
from supervisor_unicorn.supervisord.successors import is_master

from test_core import NEW, OLD, PIDFILE, CoreTestBase

USR2 = 1 << (signal.SIGUSR2 - 1)
# a gunicorn master: HUP INT QUIT USR1 USR2 ALRM TERM CHLD TTIN TTOU WINCH
GUNICORN_MASTER = int('0000000008036a07', 16) | USR2
# a ready unicorn worker traps USR1 and ignores USR2; a gunicorn worker
# leaves USR2 at its default
WORKER = 1 << (signal.SIGUSR1 - 1) | 1 << (signal.SIGQUIT - 1)


class IsMasterTests(unittest.TestCase):

    def test_a_child_that_catches_usr2_with_server_workers_is_a_master(self):
        self.assertTrue(is_master(GUNICORN_MASTER, [Evidence.READY, Evidence.LOADING]))
        self.assertTrue(is_master(USR2, [Evidence.LOADING]))

    def test_a_worker_running_a_command_does_not_catch_usr2(self):
        self.assertFalse(is_master(WORKER, [Evidence.READY]))
        self.assertFalse(is_master(0, [Evidence.READY]))

    def test_children_without_the_servers_evidence_are_no_workers(self):
        # e.g. a shell and its pipeline, started by a worker
        self.assertFalse(is_master(GUNICORN_MASTER, [Evidence.UNKNOWN, Evidence.UNKNOWN]))
        self.assertFalse(is_master(GUNICORN_MASTER, []))

    def test_an_unreadable_mask_is_no(self):
        self.assertFalse(is_master(None, [Evidence.READY]))


class CrowdedMasterTests(CoreTestBase):
    """A master with too many threads: its children come from one pass over
    /proc, said once."""

    def logged(self, text):
        return [line for line in self.options.logger.data if text in str(line)]

    def test_a_master_with_too_many_threads_is_said_once(self):
        self.procs.crowded = lambda pid: 5000 if pid == OLD else None
        for _ in range(3):
            self.core.poll(force=True)
        warned = self.logged('master pid %d has 5000 threads, more than 64: its children '
                             'are found by one pass over /proc' % OLD)
        self.assertEqual(len(warned), 1)
        self.assertEqual(sorted(self.core.programs['web'].family), [OLD + 1, OLD + 2])

    def test_a_master_with_few_threads_says_nothing(self):
        for _ in range(3):
            self.core.poll(force=True)
        self.assertEqual(self.logged('threads, more than'), [])


class AncestryTests(CoreTestBase):
    """A re-exec child that no pidfile names yet is adopted by ancestry only
    with as many workers as the old master had; a helper it started (fork and
    exec, e.g. at config load, before it writes its pidfile) is no worker."""

    MISMATCH = 'is named by no pidfile'

    def logged(self, text):
        return [line for line in self.options.logger.data if text in str(line)]

    def test_a_helper_of_a_booting_new_master_does_not_make_it_adoptable_by_ancestry(self):
        self.core.poll(force=True)
        self.iface.hotRestart('web', False)
        self.procs.spawn(NEW, OLD, pgid=OLD)        # booting: no pidfile yet
        self.procs.spawn(NEW + 50, NEW, pgid=OLD)   # its helper
        self.procs.exes[NEW + 50] = 'sleep'
        self.procs.spawn(NEW + 1, NEW, pgid=OLD)    # its first worker
        self.tick(0.2)
        self.tick(0.2)
        self.assertEqual(self.logged(self.MISMATCH), [])
        self.assertEqual(self.iface.getHotRestartInfo('web')['new_pid'], 0)
        # then it writes its pidfile: adopted by it, and nothing to warn about
        self.procs.write(PIDFILE + '.oldbin', OLD)
        self.procs.write(PIDFILE, NEW)
        self.procs.spawn(NEW + 2, NEW, pgid=OLD)
        self.tick(0.2)
        self.assertEqual(self.iface.getHotRestartInfo('web')['new_pid'], NEW)
        self.assertEqual(self.logged(self.MISMATCH), [])

    def test_a_new_master_with_its_workers_and_no_pidfile_is_still_adopted_by_ancestry(self):
        self.core.poll(force=True)
        self.iface.hotRestart('web', False)
        self.procs.spawn(NEW, OLD, pgid=OLD)        # `pid` points elsewhere
        self.procs.spawn(NEW + 50, NEW, pgid=OLD)
        self.procs.exes[NEW + 50] = 'sleep'
        self.procs.spawn(NEW + 1, NEW, pgid=OLD)
        self.procs.spawn(NEW + 2, NEW, pgid=OLD)
        self.tick(0.2)
        self.assertEqual(self.iface.getHotRestartInfo('web')['new_pid'], NEW)
        self.assertEqual(len(self.logged(self.MISMATCH)), 1)


if __name__ == '__main__':
    unittest.main()

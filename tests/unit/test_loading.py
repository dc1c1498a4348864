"""Watching new workers load the app (loading.py), driven through the core on fakes."""
import signal
import unittest

from test_core import NEW, OLD, CoreTestBase, FakeReadiness


class ReadinessTestBase(CoreTestBase):

    def setUp(self):
        super().setUp()
        from supervisor_unicorn.supervisord.readiness import Evidence
        self.table = self.readiness.table
        self.table.update({OLD + 1: Evidence.READY, OLD + 2: Evidence.READY})
        # a ready worker leaves USR2 to its master (gunicorn: default; unicorn: ignored)
        self.procs.sigcgt.update({OLD + 1: 0, OLD + 2: 0})
        self.LOADING, self.READY = Evidence.LOADING, Evidence.READY

    def logged(self, text):
        return [line for line in self.options.logger.data if text in str(line)]


class ReadinessTests(ReadinessTestBase):
    """Ready = every new worker has loaded the app, from the server's evidence."""

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


class HelperChildTests(ReadinessTestBase):
    """A child of a master that runs another program (a helper the app
    started: fork and exec) is no worker: it neither hides readiness nor is
    counted or waited for.  Its evidence is unreadable (UNKNOWN in the fake
    readiness table), as a real one's is."""

    HELPER = OLD + 50

    def spawn_helper(self, pid, master):
        self.procs.spawn(pid, master, pgid=OLD)
        self.procs.exes[pid] = 'sleep'
        self.procs.sigcgt[pid] = 0

    def test_a_helper_of_the_first_master_leaves_readiness_observable(self):
        self.spawn_helper(self.HELPER, OLD)
        self.core.poll(force=True)
        self.assertEqual(len(self.logged('readiness of the workers of pid %d is observable'
                                         % OLD)), 1)
        self.assertEqual(self.logged('cannot be observed'), [])

    def test_helpers_of_either_master_are_neither_counted_nor_waited_for(self):
        self.spawn_helper(self.HELPER, OLD)
        self.core.poll(force=True)
        self.iface.hotRestart('web', False)
        self.boot_new_master()
        self.spawn_helper(NEW + 50, NEW)
        self.table.update({NEW + 1: self.LOADING, NEW + 2: self.LOADING})
        self.tick(0.1)
        info = self.iface.getHotRestartInfo('web')
        self.assertEqual((info['phase'], info['workers'], info['workers_ready']),
                         ('loading', 2, 0))
        self.assertEqual(self.logged('cannot be read'), [])
        self.table.update({NEW + 1: self.READY, NEW + 2: self.READY})
        self.tick(0.1)
        self.assertEqual(self.signals[-1], (OLD, signal.SIGQUIT))
        self.assertEqual(len(self.logged('has 2 worker(s) ready; retiring old master')), 1)

    def test_a_helper_does_not_count_among_the_workers_to_wait_for(self):
        # two old workers and a helper: two new workers are enough
        self.spawn_helper(self.HELPER, OLD)
        self.core.poll(force=True)
        self.iface.hotRestart('web', False)
        self.boot_new_master(workers=2)
        self.table.update({NEW + 1: self.READY, NEW + 2: self.READY})
        self.tick(0.1)
        self.assertEqual(self.signals[-1], (OLD, signal.SIGQUIT))

    def test_where_the_program_cannot_be_read_a_child_counts_as_before(self):
        self.spawn_helper(self.HELPER, OLD)
        self.procs.exes[OLD] = None            # not ours to look at
        self.core.poll(force=True)
        self.assertEqual(len(self.logged('readiness cannot be observed')), 1)


class BareUsr2AtStartUpTests(ReadinessTestBase):
    """A bare USR2 (a deploy tool) before the first judgement of readiness:
    the re-exec child is a child of the master that runs the same program,
    and it holds no worker's evidence (it is no worker)."""

    def test_a_re_exec_child_met_at_start_up_leaves_readiness_observable(self):
        # found by test_hostile_app's re-exec test under gunicorn ("readiness
        # cannot be observed: worker pid N holds no wgunicorn-* heartbeat
        # file", N the re-exec child): it is judged later, not as a worker
        self.procs.spawn(NEW, OLD, pgid=OLD)
        self.core.poll(force=True)
        self.assertEqual(self.logged('cannot be observed'), [])
        self.assertEqual(self.logged('is observable'), [])      # not judged yet
        self.procs.die(NEW)                                     # it went
        self.core.poll(force=True)
        self.assertEqual(len(self.logged('readiness of the workers of pid %d is observable'
                                         % OLD)), 1)


class OverLimitReadiness(FakeReadiness):
    """FakeReadiness whose unreadable pids may be past a limit of cost."""

    def __init__(self):
        super().__init__()
        self.limits = {}

    def read(self, server, pid):
        from supervisor_unicorn.supervisord.readiness import Evidence
        if pid in self.limits:
            return Evidence.UNKNOWN, self.limits[pid]
        return super().read(server, pid)

    def over_limit(self, pid):
        return self.limits.get(pid, '')


class CostFallbackTests(CoreTestBase):
    """Past a limit of /proc reading: the time rule, said once."""

    def make_readiness(self):
        return OverLimitReadiness()

    def setUp(self):
        super().setUp()
        from supervisor_unicorn.supervisord.readiness import Evidence
        self.readiness.table.update({OLD + 1: Evidence.READY, OLD + 2: Evidence.READY})
        self.LOADING = Evidence.LOADING

    def logged(self, text):
        return [line for line in self.options.logger.data if text in str(line)]

    def test_a_new_worker_past_the_fd_limit_means_the_time_rule_said_once(self):
        self.core.poll(force=True)                       # observable at start-up
        self.iface.hotRestart('web', False)
        self.boot_new_master()
        self.readiness.table[NEW + 1] = self.LOADING
        self.readiness.limits[NEW + 2] = 'worker pid %d holds more than 2048 open fds' \
            % (NEW + 2)
        self.tick(0.2)
        self.tick(0.6)                                   # up 0.5 s: the time rule
        self.tick(0.2)
        self.assertIn((OLD, signal.SIGQUIT), self.signals)
        warned = self.logged('readiness cannot be observed: worker pid %d holds more '
                             'than 2048 open fds' % (NEW + 2))
        self.assertEqual(len(warned), 1)
        self.assertEqual(len(self.logged('cannot be observed')), 1)
        self.assertIs(self.core.programs['web'].observable, False)


if __name__ == '__main__':
    unittest.main()

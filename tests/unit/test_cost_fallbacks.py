"""Past a limit of /proc reading, the core falls back and says so once: the
time rule for readiness, one pass over /proc for children."""
import signal

from test_core import NEW, OLD, CoreTestBase, FakeReadiness


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

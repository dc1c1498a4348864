"""What supervisord's signals reach (stops.py), driven through the core on fakes."""
import signal
import unittest

from supervisor.states import ProcessStates

from test_core import NEW, OLD, SUPERVISORD, CoreTestBase


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


if __name__ == '__main__':
    unittest.main()

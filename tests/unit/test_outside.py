"""A USR2 from outside supervisord (outside.py), driven through the core on fakes."""
import signal
import unittest

from test_core import NEW, OLD, PIDFILE, SUPERVISORD, CoreTestBase


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


if __name__ == '__main__':
    unittest.main()

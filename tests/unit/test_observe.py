"""What a handover's next step sees (observe.py): when USR2 may go out."""
import signal
import unittest

from test_core import NEW, OLD, PIDFILE, CoreTestBase


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


if __name__ == '__main__':
    unittest.main()

"""The old generation on standby and rollback (standby.py), through the core on fakes."""
import signal
import unittest

from supervisor.http import NOT_DONE_YET
from supervisor.states import ProcessStates

from supervisor_unicorn.supervisord.readiness import Evidence

from test_core import NEW, OLD, CoreTestBase


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

    def test_a_helper_of_the_old_master_is_no_worker_to_retire(self):
        # a child that runs another program (fork and exec): the app's, not ours
        self.procs.spawn(OLD + 50, OLD, pgid=OLD, create_time=901.0)
        self.procs.exes[OLD + 50] = 'sleep'
        self.standby()
        self.assertEqual(self.signals, [(OLD, signal.SIGUSR2), (OLD, signal.SIGSTOP),
                                        (OLD + 1, signal.SIGQUIT),
                                        (OLD + 2, signal.SIGQUIT)])

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


if __name__ == '__main__':
    unittest.main()

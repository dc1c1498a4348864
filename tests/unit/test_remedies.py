"""Unit tests for supervisor_unicorn.listener.remedies: heal decisions carried
out over XML-RPC (hot restart, rollback, stop/start, back-off, RPC trouble),
driven through the watchdog's events with fakes only.
"""

import unittest
import xmlrpc.client

from supervisor.xmlrpc import Faults

from listener_fakes import (OK, SICK, WEB, WatcherTestBase, event, hot_fault, protocol_for,
                            running, tick)


# ---------------------------------------------------------------------------
# Healing

class HealTests(WatcherTestBase):

    def sicken(self, n_ticks, **options):
        self.makeOne(**options)
        self.probe.answer[WEB] = SICK
        return self.feed(*[tick() for _ in range(n_ticks)])

    def heal_calls(self):
        return [c for c in self.rpc.calls
                if c[0] in ('unicorn.hotRestart', 'supervisor.stopProcess',
                            'supervisor.startProcess')]

    def test_the_nth_failure_starts_a_hot_restart_without_waiting_for_it(self):
        self.sicken(3, failures=3)
        self.assertEqual(self.rpc.called('unicorn.hotRestart'),
                         [('unicorn.hotRestart', ('web', False))])
        self.assertLogged('web probe failed (3 in a row): HTTP 500; hot restarting web'
                          ' (pid 100); if still sick, next attempt 60s after it')
        # nothing is claimed before it is over, nor probed meanwhile
        self.assertNotLogged('hot restarted')
        self.assertNotLogged('healed')
        self.assertEqual(len(self.probe.calls), 3)
        self.assertEqual(self.stdout.getvalue(), protocol_for(3))
        self.assertNotIn('supervisor.stopProcess', self.rpc.methods())

    def test_the_next_tick_finds_it_done_logs_it_and_probes_the_new_master(self):
        self.sicken(1, failures=1)
        self.probe.answer[WEB] = OK
        self.feed(tick())
        self.assertLogged('hot restarted web (pid 100 -> 200 in 1.8s)')
        self.assertEqual(self.probe.urls(), [WEB, WEB])
        self.assertLogged('web probe after hot restart (pid 100 -> 200) ok (HTTP 200);'
                          ' web is healthy again')
        # the counter moved because of us: the next tick does not report it again
        self.feed(tick())
        self.assertEqual(sum('after hot restart' in l for l in self.log_lines()), 1)
        self.assertEqual(sum('healthy again' in l for l in self.log_lines()), 1)
        self.assertNotLogged('healed')

    def test_a_hot_restart_in_progress_is_followed_on_each_tick_without_probing(self):
        self.rpc = self.makeRPC()
        self.rpc.hot_reads = 3
        self.makeOne(rpc=self.rpc, failures=1)
        self.probe.answer[WEB] = SICK
        self.feed(tick())
        for _ in range(3):
            self.clock.advance(5)
            self.feed(tick())
            self.assertNotLogged('hot restarted')
        self.assertEqual(len(self.probe.calls), 1)
        self.assertNotLogged('backing off')           # it was not probed at all
        self.clock.advance(5)
        self.probe.answer[WEB] = OK
        self.feed(tick())
        self.assertLogged('hot restarted web (pid 100 -> 200 in 1.8s)')
        self.assertEqual(len(self.probe.calls), 2)
        self.assertEqual(len(self.rpc.called('unicorn.hotRestart')), 1)

    def test_a_sick_program_with_a_standby_is_rolled_back_not_hot_restarted(self):
        self.makeOne(failures=1)
        self.rpc.stand_by('web', 200)
        self.probe.answer[WEB] = SICK
        self.feed(tick())
        self.assertEqual(self.rpc.called('unicorn.rollback'),
                         [('unicorn.rollback', ('web', False))])
        self.assertNotIn('unicorn.hotRestart', self.rpc.methods())
        self.assertLogged('web probe failed (1 in a row): HTTP 500; web has the previous'
                          ' generation on standby (master pid 100); rolling back to it'
                          ' instead of a hot restart')
        self.clock.advance(5)
        self.probe.answer[WEB] = OK
        self.feed(tick())
        self.assertLogged('rolled back web (pid 200 -> 100 in 0.2s)')
        self.assertLogged('web probe after rollback (pid 200 -> 100) ok (HTTP 200)')
        self.assertNotIn('supervisor.stopProcess', self.rpc.methods())

    def test_a_refused_rollback_leaves_the_next_heal_to_a_hot_restart(self):
        self.makeOne(failures=1)
        self.rpc.stand_by('web', 200)
        self.rpc.errors['unicorn.rollback'] = xmlrpc.client.Fault(
            233, 'NO_STANDBY: web has no standby to roll back to')
        self.probe.answer[WEB] = SICK
        self.feed(tick())
        self.assertLogged('web rollback refused: NO_STANDBY: web has no standby to roll'
                          ' back to; the next heal attempt hot restarts it')
        self.assertNotIn('supervisor.stopProcess', self.rpc.methods())

    def test_a_process_state_event_of_the_program_also_looks_at_its_hot_restart(self):
        self.sicken(1, failures=1)
        self.probe.answer[WEB] = OK
        before = len(self.rpc.calls)
        self.feed(event('PROCESS_STATE_BACKOFF',
                        'processname:web groupname:web from_state:STARTING tries:1'))
        self.assertEqual(self.rpc.methods()[before:], ['unicorn.getHotRestartInfo'])
        self.assertLogged('hot restarted web (pid 100 -> 200 in 1.8s)')

    def test_a_failure_right_after_our_hot_restart_counts_no_grace(self):
        self.sicken(2, failures=2)
        self.feed(tick())                         # done; the new master is sick too
        self.assertLogged('web probe after hot restart (pid 100 -> 200) failed (1 of 2): HTTP 500')
        self.assertNotLogged('still starting')

    def test_a_hot_restart_that_ends_within_the_call_is_logged_and_probed_at_once(self):
        self.rpc = self.makeRPC()
        self.rpc.hot_immediate = True
        self.makeOne(rpc=self.rpc, failures=1)
        self.probe.answer[WEB] = SICK
        self.feed(tick())
        self.assertLogged('hot restarted web (pid 100 -> 200 in 0.9s)')
        self.assertEqual(len(self.probe.calls), 2)
        self.assertLogged('web probe after hot restart (pid 100 -> 200) failed (1 in a row):'
                          ' HTTP 500; backing off, next heal attempt in 60s')
        self.feed(tick())        # our restart: not reported a second time
        self.assertEqual(sum('after hot restart' in l for l in self.log_lines()), 1)

    def test_a_hot_restart_already_in_progress_is_waited_for(self):
        self.makeOne(failures=1)
        self.rpc.hot['web']['phase'] = 'waiting'
        self.probe.answer[WEB] = SICK
        self.feed(tick())
        self.assertNotIn('unicorn.hotRestart', self.rpc.methods())
        self.assertNotIn('supervisor.stopProcess', self.rpc.methods())
        self.assertLogged('a hot restart is already in progress (waiting), waiting for it')
        # waiting is not an attempt: once idle, the next failure heals at once
        self.rpc.hot['web']['phase'] = 'idle'
        self.feed(tick())
        self.assertEqual(len(self.rpc.called('unicorn.hotRestart')), 1)

    def test_one_started_by_someone_else_just_before_ours_is_not_fallen_back_from(self):
        self.makeOne(failures=1)
        self.rpc.errors['unicorn.hotRestart'] = xmlrpc.client.Fault(
            230, 'IN_PROGRESS: a hot restart of web is already in progress (booting)')
        self.probe.answer[WEB] = SICK
        self.feed(tick())
        self.assertLogged('web hot restart refused: IN_PROGRESS: a hot restart of web is'
                          ' already in progress (booting); waiting for that one')
        self.assertNotIn('supervisor.stopProcess', self.rpc.methods())

    def test_a_faulting_hot_restart_falls_back_to_stop_then_start_at_once(self):
        self.makeOne(failures=1)
        self.rpc.errors['unicorn.hotRestart'] = hot_fault(
            231, 'UNSUPPORTED: supervisord is not a child subreaper', 'UNSUPPORTED', True)
        self.probe.answer[WEB] = SICK
        self.feed(tick())
        self.assertEqual(self.heal_calls(), [('unicorn.hotRestart', ('web', False)),
                                             ('supervisor.stopProcess', ('web', False)),
                                             ('supervisor.startProcess', ('web', False))])
        self.assertLogged('web hot restart failed (UNSUPPORTED: supervisord is not a'
                          ' child subreaper); falling back to stop/start')
        self.assertLogged('web stop/start: pid 100 stopped in 0.0s; start requested')
        self.assertNotLogged('healed')

    def test_a_hot_restart_that_ends_failed_on_a_hung_master_falls_back_to_stop_start(self):
        self.rpc = self.makeRPC()
        self.rpc.hot_failure = ('master pid 100 did not re-exec within boot_timeout (2s);'
                                ' it may be hung')
        self.makeOne(rpc=self.rpc, failures=1)
        self.probe.answer[WEB] = SICK
        self.feed(tick())
        self.assertNotIn('supervisor.stopProcess', self.rpc.methods())
        self.feed(tick())
        self.assertLogged('web hot restart failed (master pid 100 did not re-exec within'
                          ' boot_timeout (2s); it may be hung); falling back to stop/start')
        self.assertEqual(self.heal_calls()[1:], [('supervisor.stopProcess', ('web', False)),
                                                 ('supervisor.startProcess', ('web', False))])
        self.assertNotLogged('hot restarted')

    def test_a_hot_restart_that_ends_failed_with_the_old_master_serving_backs_off(self):
        # a stop/start would load the same broken code, with downtime
        self.rpc = self.makeRPC()
        self.rpc.hot_failure = 'new master failed to boot (pid 201 exited); pid 100 still serving'
        self.rpc.hot_failure_data = ('BOOT_FAILED', True)
        self.makeOne(rpc=self.rpc, failures=1, backoff=60)
        self.probe.answer[WEB] = SICK
        self.feed(tick())
        self.clock.advance(5)
        self.feed(tick())
        reason = ('web hot restart failed (new master failed to boot (pid 201 exited); pid 100'
                  ' still serving); not stop/starting: the old master still serves and a cold'
                  ' start would load the same code; backing off, next heal attempt in 60s;'
                  ' failed probes not logged until then')
        self.assertEqual(self.log_lines()[-1], 'unicorn_watch: ' + reason)
        lines = len(self.log_lines())
        for _ in range(11):                   # the window: sick, silent, untouched
            self.clock.advance(5)
            self.feed(tick())
        self.assertEqual([l for l in self.log_lines()[lines:] if 'watching' not in l], [])
        self.assertEqual(len(self.probe.calls), 12)
        self.assertEqual(self.heal_calls(), [('unicorn.hotRestart', ('web', False))])
        # the window over, it tries a hot restart again (a deploy may have fixed it)
        self.clock.advance(5)
        self.feed(tick())
        self.assertLogged('web probe failed (12 in a row): HTTP 500; back-off over; hot'
                          ' restarting web (pid 100); if still sick, next attempt 120s after it')
        self.assertEqual(self.heal_calls(), [('unicorn.hotRestart', ('web', False))] * 2)
        self.assertNotIn('supervisor.stopProcess', self.rpc.methods())
        self.assertNotIn('supervisor.startProcess', self.rpc.methods())
        self.assertEqual(sum(reason in l for l in self.log_lines()), 1)

    def test_a_hot_restart_fault_saying_still_serving_backs_off_at_once(self):
        self.makeOne(failures=1)
        self.rpc.errors['unicorn.hotRestart'] = hot_fault(
            Faults.FAILED, 'FAILED: new master failed to boot; pid 100 still serving',
            'BOOT_FAILED', True)
        self.probe.answer[WEB] = SICK
        self.feed(tick())
        self.assertLogged('web hot restart failed (FAILED: new master failed to boot; pid 100'
                          ' still serving); not stop/starting')
        self.assertEqual(self.heal_calls(), [('unicorn.hotRestart', ('web', False))])

    def test_a_hot_restart_that_failed_because_the_program_was_stopped_is_left(self):
        self.rpc = self.makeRPC()
        self.rpc.hot_failure = 'web was stopped during the hot restart'
        self.rpc.hot_failure_data = ('STOPPED', False)
        self.makeOne(rpc=self.rpc, failures=1)
        self.probe.answer[WEB] = SICK
        self.feed(tick())
        self.rpc.procs['web'].update(statename='STOPPED', pid=0)   # supervisorctl stop web
        self.feed(event('PROCESS_STATE_STOPPED',
                        'processname:web groupname:web from_state:STOPPING pid:100'))
        self.assertLogged('not stop/starting web: it is STOPPED')
        self.assertNotIn('supervisor.stopProcess', self.rpc.methods())
        self.assertNotIn('supervisor.startProcess', self.rpc.methods())

    def test_the_start_waits_for_an_event_that_finds_the_program_stopped(self):
        self.rpc = self.makeRPC()
        self.rpc.stop_reads = 2
        self.makeOne(rpc=self.rpc, failures=1)
        self.rpc.errors['unicorn.hotRestart'] = hot_fault(Faults.FAILED, 'FAILED', 'NO_REEXEC', False)
        self.probe.answer[WEB] = SICK
        self.feed(tick())                      # stop requested, still STOPPING: acked
        self.assertEqual(self.stdout.getvalue(), protocol_for(1))
        self.assertNotIn('supervisor.startProcess', self.rpc.methods())
        self.clock.advance(0.3)
        self.feed(event('PROCESS_STATE_STOPPING',
                        'processname:web groupname:web from_state:RUNNING pid:100'))
        self.assertNotIn('supervisor.startProcess', self.rpc.methods())
        self.clock.advance(0.1)
        self.feed(event('PROCESS_STATE_STOPPED',
                        'processname:web groupname:web from_state:STOPPING pid:100'))
        self.assertEqual(self.rpc.called('supervisor.startProcess'),
                         [('supervisor.startProcess', ('web', False))])
        self.assertLogged('web stop/start: pid 100 stopped in 0.4s; start requested')
        methods = self.rpc.methods()
        stop, start = (methods.index('supervisor.stopProcess'),
                       methods.index('supervisor.startProcess'))
        self.assertEqual(methods[stop + 1:start], ['supervisor.getProcessInfo'] * 3)

    def test_a_tick_carries_the_stop_on_too(self):
        self.rpc = self.makeRPC()
        self.rpc.stop_reads = 1
        self.makeOne(rpc=self.rpc, failures=1)
        self.rpc.errors['unicorn.hotRestart'] = hot_fault(Faults.FAILED, 'FAILED', 'NO_REEXEC', False)
        self.probe.answer[WEB] = SICK
        self.feed(tick())
        self.clock.advance(5)
        self.feed(tick())
        self.assertLogged('web stop/start: pid 100 stopped in 5.0s; start requested')
        self.assertEqual(len(self.probe.calls), 1)      # not probed meanwhile

    def test_a_stop_that_never_completes_is_given_up_after_60s_without_start(self):
        self.rpc = self.makeRPC()
        self.rpc.stop_reads = 10 ** 6
        self.makeOne(rpc=self.rpc, failures=1)
        self.rpc.errors['unicorn.hotRestart'] = hot_fault(Faults.FAILED, 'FAILED', 'NO_REEXEC', False)
        self.probe.answer[WEB] = SICK
        self.feed(tick())
        for _ in range(11):
            self.clock.advance(5)
            self.feed(tick())
        self.assertNotLogged('still STOPPING')
        self.clock.advance(5)
        self.feed(tick())
        self.assertLogged('web still STOPPING 60s after stopProcess; not starting it')
        self.assertNotIn('supervisor.startProcess', self.rpc.methods())
        self.assertEqual(self.stdout.getvalue(), protocol_for(1) * 13)

    def test_a_program_started_by_someone_else_during_the_stop_is_not_started(self):
        self.rpc = self.makeRPC()
        self.rpc.stop_reads = 10 ** 6
        self.makeOne(rpc=self.rpc, failures=1)
        self.rpc.errors['unicorn.hotRestart'] = hot_fault(Faults.FAILED, 'FAILED', 'NO_REEXEC', False)
        self.probe.answer[WEB] = SICK
        self.feed(tick())
        self.rpc.procs['web'].update(statename='STARTING', pid=0)
        self.feed(event('PROCESS_STATE_STARTING',
                        'processname:web groupname:web from_state:STOPPED tries:0'))
        self.assertLogged('web was started by someone else meanwhile (STARTING); not starting it')
        self.assertNotIn('supervisor.startProcess', self.rpc.methods())

    def test_a_running_program_without_live_master_is_stop_started_not_hot_restarted(self):
        self.makeOne(failures=1)
        self.probe.answer[WEB] = SICK
        self.feed()
        self.rpc.procs['web']['pid'] = 0
        self.feed(tick())
        self.assertNotIn('unicorn.hotRestart', self.rpc.methods())
        self.assertLogged('web has no live master (RUNNING, pid 0); stop/start instead;'
                          ' if still sick, next attempt 60s after it')
        self.assertEqual(self.heal_calls(), [('supervisor.stopProcess', ('web', False)),
                                             ('supervisor.startProcess', ('web', False))])

    def test_an_exited_program_is_started_directly(self):
        self.makeOne(failures=1, grace=0)
        self.probe.answer[WEB] = SICK
        # probed on its RUNNING event, but it has died since
        self.rpc.procs['web'].update(statename='EXITED', pid=0)
        self.feed(running('web', 100))
        self.assertLogged('web has no live master (EXITED, pid 0)')
        self.assertNotIn('unicorn.hotRestart', self.rpc.methods())
        self.assertEqual(self.rpc.called('supervisor.startProcess'),
                         [('supervisor.startProcess', ('web', False))])
        self.assertLogged('web stop/start: it was not running; start requested')

    def test_a_program_stopped_by_hand_meanwhile_is_left_alone(self):
        self.makeOne(failures=1, grace=0)
        self.probe.answer[WEB] = SICK
        self.rpc.procs['web'].update(statename='STOPPED', pid=0)
        self.feed(running('web', 100))
        self.assertLogged('not healing web: it is STOPPED')
        self.assertFalse({'unicorn.hotRestart', 'supervisor.stopProcess',
                          'supervisor.startProcess'} & set(self.rpc.methods()))

    def test_a_shutting_down_supervisord_gets_no_stop_start(self):
        self.makeOne(failures=1)
        self.rpc.errors['unicorn.hotRestart'] = xmlrpc.client.Fault(
            Faults.SHUTDOWN_STATE, 'SHUTDOWN_STATE')
        self.probe.answer[WEB] = SICK
        self.feed(tick())
        self.assertNotIn('supervisor.stopProcess', self.rpc.methods())
        self.assertLogged('not stop/starting during shutdown')

    def test_a_start_fault_is_logged(self):
        self.makeOne(failures=1)
        self.rpc.errors['unicorn.hotRestart'] = hot_fault(Faults.FAILED, 'FAILED', 'NO_REEXEC', False)
        self.rpc.errors['supervisor.startProcess'] = xmlrpc.client.Fault(
            Faults.SPAWN_ERROR, 'SPAWN_ERROR: web')
        self.probe.answer[WEB] = SICK
        status = self.feed(tick())
        self.assertEqual(status, 0)
        self.assertLogged('web startProcess failed (SPAWN_ERROR: web)')
        self.assertNotLogged('start requested')

    def test_after_the_fallback_the_started_program_gets_its_grace_then_healthy_again(self):
        self.makeOne(failures=1)
        self.rpc.errors['unicorn.hotRestart'] = hot_fault(Faults.FAILED, 'FAILED', 'NO_REEXEC', False)
        self.probe.answer[WEB] = SICK
        self.feed(tick())
        self.rpc.run('web', 300)
        self.probe.answer[WEB] = (False, 'connection refused')
        self.feed(running('web', 300))          # still loading
        self.assertLogged('web still starting')
        self.probe.answer[WEB] = OK
        self.clock.advance(5)
        self.feed(tick())
        self.assertLogged('web probe after start (pid 300) ok (HTTP 200); web is healthy again')
        self.assertEqual(len(self.heal_calls()), 3)

    def test_a_hot_restart_that_ended_unseen_is_dropped_and_probing_resumes(self):
        self.rpc = self.makeRPC()
        self.rpc.hot_reads = 10 ** 6
        self.makeOne(rpc=self.rpc, failures=1)
        self.probe.answer[WEB] = SICK
        self.feed(tick())
        # supervisord was restarted: a new core knows no hot restart
        self.rpc._hot_left.clear()
        self.rpc.hot['web'].update(phase='idle', restarts=0, last_result='')
        self.probe.answer[WEB] = OK
        self.clock.advance(5)
        self.feed(tick())
        self.assertLogged("web hot restart ended unseen (last result 'none', restarts 0);"
                          ' probing it again')
        self.clock.advance(5)
        self.feed(tick())
        self.assertEqual(len(self.probe.calls), 2)
        self.assertLogged('web probe ok (HTTP 200); web is healthy again')

    def test_a_hot_restart_that_never_ends_is_no_longer_followed_after_a_bound(self):
        self.rpc = self.makeRPC()
        self.rpc.hot_reads = 10 ** 6
        self.makeOne(rpc=self.rpc, failures=1)
        self.rpc.hot['web']['boot_timeout'] = 30
        self.probe.answer[WEB] = SICK
        self.feed(tick())
        self.clock.advance(149)
        self.feed(tick())
        self.assertNotLogged('no longer following')
        self.clock.advance(1)
        self.feed(tick())
        self.assertLogged('web hot restart still booting after 150s; no longer following it')

    def test_no_call_ever_waits(self):
        self.rpc = self.makeRPC()
        self.rpc.stop_reads = 1
        self.makeOne(rpc=self.rpc, failures=1, backoff=5, max_backoff=5)
        self.probe.answer[WEB] = SICK
        for _ in range(3):
            self.feed(tick())
            self.clock.advance(5)
        self.rpc.hot_failure = 'master pid 200 did not re-exec within boot_timeout (60s)'
        for _ in range(6):
            self.feed(tick())
            self.clock.advance(5)
        self.assertIn('unicorn.hotRestart', self.rpc.methods())
        self.assertIn('supervisor.startProcess', self.rpc.methods())
        self.assertTrue(self.rpc.waits())
        self.assertEqual(set(self.rpc.waits()), {False})


class BackoffTests(WatcherTestBase):
    """With the fakes, a hot restart is found over on the tick after it was
    started; the back-off window counts from then."""

    def test_a_program_that_stays_sick_is_not_healed_again_before_the_backoff(self):
        self.makeOne(failures=1, backoff=60, max_backoff=960)
        self.probe.answer[WEB] = SICK
        self.feed(tick())                       # t=0: hot restart started
        self.clock.advance(5)
        self.feed(tick())                       # t=5: over, still sick
        self.assertLogged('failed (1 in a row): HTTP 500; backing off, next heal attempt in 60s')
        for _ in range(11):                     # up to t=60
            self.clock.advance(5)
            self.feed(tick())
        self.assertEqual(len(self.rpc.called('unicorn.hotRestart')), 1)
        # said when it began, not on every tick
        self.assertEqual(sum('backing off' in l for l in self.log_lines()), 1)
        self.assertNotLogged('failed (2 in a row)')
        self.clock.advance(5)
        self.feed(tick())                       # t=65
        self.assertEqual(len(self.rpc.called('unicorn.hotRestart')), 2)
        self.assertLogged('web probe failed (13 in a row): HTTP 500; back-off over; hot'
                          ' restarting web (pid 200)')

    def test_the_backoff_counts_from_the_end_of_a_long_hot_restart(self):
        self.rpc = self.makeRPC()
        self.rpc.hot_reads = 5                  # over on the 6th tick: 30 s
        self.makeOne(rpc=self.rpc, failures=1, backoff=60)
        self.probe.answer[WEB] = SICK
        times = []
        for _ in range(40):
            before = len(self.rpc.called('unicorn.hotRestart'))
            self.feed(tick())
            if len(self.rpc.called('unicorn.hotRestart')) > before:
                times.append(self.clock.now())
            self.clock.advance(5)
        self.assertEqual(times[1] - times[0], 30 + 60)

    def test_the_backoff_doubles_while_sick_and_is_capped(self):
        self.makeOne(failures=1, backoff=60, max_backoff=200)
        self.probe.answer[WEB] = SICK
        times = []
        for _ in range(250):
            before = len(self.rpc.called('unicorn.hotRestart'))
            self.feed(tick())
            if len(self.rpc.called('unicorn.hotRestart')) > before:
                times.append(self.clock.now())
            self.clock.advance(5)
        gaps = [b - a for a, b in zip(times, times[1:])]
        # each gap: the 5 s the hot restart took, then the window
        self.assertEqual(gaps[:4], [65, 125, 205, 205])
        self.assertLogged('next attempt 120s after it')
        self.assertLogged('next attempt 200s after it')

    def test_a_good_probe_brings_the_backoff_back_to_its_base(self):
        self.makeOne(failures=1, backoff=60, max_backoff=960)
        self.probe.answer[WEB] = SICK
        self.feed(tick())                      # heal 1, window 60
        self.clock.advance(5)
        self.feed(tick())                      # over, still sick
        self.clock.advance(60)
        self.feed(tick())                      # heal 2, window 120
        self.probe.answer[WEB] = OK
        self.clock.advance(5)
        self.feed(tick())                      # over, healthy again
        self.assertLogged('web is healthy again')
        self.probe.answer[WEB] = SICK
        self.clock.advance(120)
        self.feed(tick())                      # heal 3: window back to 60
        self.assertEqual(len(self.rpc.called('unicorn.hotRestart')), 3)
        self.assertIn('next attempt 60s after it',
                      [l for l in self.log_lines() if 'hot restarting' in l][-1])

    def test_a_failed_heal_attempt_also_backs_off(self):
        self.makeOne(failures=1, backoff=60)
        self.rpc.errors['unicorn.hotRestart'] = hot_fault(Faults.FAILED, 'FAILED', 'NO_REEXEC', False)
        self.rpc.errors['supervisor.stopProcess'] = ConnectionResetError(104, 'reset')
        self.probe.answer[WEB] = SICK
        self.feed(tick())
        self.clock.advance(5)
        self.feed(tick())
        self.assertEqual(len(self.rpc.called('unicorn.hotRestart')), 1)
        self.assertLogged('web stopProcess not done: supervisord unreachable')
        self.assertLogged('backing off, next heal attempt in 55s')


class DecidedFromDataTests(WatcherTestBase):
    """Back off or stop/start follows `failure` and `still_serving`; the
    words of the Fault or of last_result never change the decision."""

    WORDS = ('new master failed to boot; pid 100 still serving',
             'master pid 100 did not re-exec within boot_timeout (60s); it may be hung',
             'something else entirely')
    DATA = ((('BOOT_FAILED', True), False), (('NO_REEXEC', False), True))

    def test_a_hot_restart_fault_is_read_from_its_data_whatever_its_text(self):
        for words in self.WORDS + ('',):
            for (failure, serving), cold in self.DATA:
                with self.subTest(words=words, failure=failure):
                    self.makeOne(failures=1)
                    self.rpc.errors['unicorn.hotRestart'] = hot_fault(
                        Faults.FAILED, 'FAILED: ' + words if words else '', failure, serving)
                    self.probe.answer[WEB] = SICK
                    self.feed(tick())
                    self.assertEqual('supervisor.stopProcess' in self.rpc.methods(), cold)
                    self.assertEqual(any('backing off' in l for l in self.log_lines()),
                                     not cold)

    def test_a_failed_end_is_read_from_its_data_whatever_its_last_result(self):
        for words in self.WORDS:
            for data, cold in self.DATA:
                with self.subTest(words=words, failure=data[0]):
                    self.rpc = self.makeRPC()
                    self.rpc.hot_failure, self.rpc.hot_failure_data = words, data
                    self.makeOne(rpc=self.rpc, failures=1)
                    self.probe.answer[WEB] = SICK
                    self.feed(tick(), tick())
                    self.assertIn('unicorn.hotRestart', self.rpc.methods())
                    self.assertEqual('supervisor.stopProcess' in self.rpc.methods(), cold)
                    self.assertLogged(f'web hot restart failed ({words})')


# ---------------------------------------------------------------------------
# XML-RPC trouble

class RPCErrorTests(WatcherTestBase):

    def test_connection_errors_on_a_tick_are_logged_and_the_listener_goes_on(self):
        self.makeOne()
        self.rpc.errors['supervisor.getAllProcessInfo'] = [
            ConnectionRefusedError(111, 'Connection refused'),
            FileNotFoundError(2, 'No such file or directory'),
            xmlrpc.client.ProtocolError('localhost/RPC2', 500, 'Internal Server Error', {}),
            None]
        status = self.feed(tick(), tick(), tick(), tick())
        self.assertEqual(status, 0)
        self.assertEqual(self.stdout.getvalue(), protocol_for(4))
        self.assertLogged('tick skipped: supervisord unreachable (ConnectionRefusedError')
        self.assertLogged('tick skipped: supervisord answered HTTP 500 Internal Server Error')
        self.assertEqual(self.probe.urls(), [WEB])

    def test_a_failing_hot_restart_info_poll_does_not_stop_the_probes(self):
        self.makeOne()
        self.feed()
        self.rpc.errors['unicorn.getAllHotRestartInfo'] = xmlrpc.client.Fault(
            Faults.SHUTDOWN_STATE, 'SHUTDOWN_STATE')
        self.feed(tick())
        self.assertLogged('cannot poll hot restarts: SHUTDOWN_STATE')
        self.assertEqual(self.probe.urls(), [WEB])

    def test_an_unreachable_supervisord_during_hot_restart_means_no_stop_start(self):
        self.makeOne(failures=1)
        self.rpc.errors['unicorn.hotRestart'] = ConnectionResetError(104, 'Connection reset by peer')
        self.probe.answer[WEB] = SICK
        status = self.feed(tick(), tick())
        self.assertEqual(status, 0)
        self.assertLogged('web hot restart not done: supervisord unreachable')
        self.assertNotIn('supervisor.stopProcess', self.rpc.methods())
        self.assertEqual(self.stdout.getvalue(), protocol_for(2))

    def test_an_rpc_error_while_deciding_to_heal_is_logged_and_not_an_attempt(self):
        self.makeOne(failures=1)
        self.rpc.errors['unicorn.getHotRestartInfo'] = [OSError('socket gone'), None]
        self.probe.answer[WEB] = SICK
        self.feed(tick(), tick())
        self.assertLogged('cannot heal now: supervisord unreachable (OSError: socket gone)')
        self.assertEqual(len(self.rpc.called('unicorn.hotRestart')), 1)

    def test_an_rpc_error_while_following_the_stop_is_logged_and_asked_again_later(self):
        self.makeOne(failures=1)
        self.rpc.errors['unicorn.hotRestart'] = hot_fault(Faults.FAILED, 'FAILED', 'NO_REEXEC', False)
        self.rpc.errors['supervisor.getProcessInfo'] = [None, ConnectionRefusedError(111, 'x')]
        self.probe.answer[WEB] = SICK
        self.feed(tick())
        self.assertLogged('web stop not confirmed: supervisord unreachable')
        self.assertNotIn('supervisor.startProcess', self.rpc.methods())
        self.feed(event('PROCESS_STATE_STOPPED',
                        'processname:web groupname:web from_state:STOPPING pid:100'))
        self.assertEqual(self.rpc.called('supervisor.startProcess'),
                         [('supervisor.startProcess', ('web', False))])

    def test_an_rpc_error_while_following_a_hot_restart_is_logged_and_asked_again(self):
        self.makeOne(failures=1)
        self.probe.answer[WEB] = SICK
        self.feed(tick())
        self.rpc.errors['unicorn.getHotRestartInfo'] = OSError('socket gone')
        self.feed(event('PROCESS_STATE_STOPPING',
                        'processname:web groupname:web from_state:RUNNING pid:100'))
        self.assertLogged('cannot follow the hot restart of web: supervisord unreachable'
                          ' (OSError: socket gone); going on')
        # a tick whose getAllHotRestartInfo fails leaves it pending too
        self.rpc.errors['unicorn.getAllHotRestartInfo'] = [OSError('socket gone'), None]
        self.feed(tick())
        self.assertNotLogged('hot restarted')
        self.probe.answer[WEB] = OK
        self.feed(tick())
        self.assertLogged('hot restarted web (pid 100 -> 200 in 1.8s)')


if __name__ == '__main__':
    unittest.main()

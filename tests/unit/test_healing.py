"""Unit tests for supervisor_unicorn.listener.healing: the listener's heal decisions.

Pure: canned probe results, canned getHotRestartInfo/getProcessInfo answers,
real xmlrpc.client.Fault objects, and a clock that is just a number passed in.
"""

import unittest
import xmlrpc.client
from types import SimpleNamespace

from supervisor.xmlrpc import Faults

from supervisor_unicorn.common.faults import Faults as UnicornFaults

OK = (True, 'HTTP 200')
SICK = (False, 'HTTP 500')
T0 = 1000.0


def fault(code, text):
    """A Fault as the listener's ServerProxy raises it (text carries the
    code name, as HotRestartError builds it)."""
    return xmlrpc.client.Fault(code, text)


class HealerTestBase(unittest.TestCase):

    def makeOne(self, limit=3, backoff=60.0, max_backoff=960.0, grace=60.0):
        from supervisor_unicorn.listener.healing import Healer
        return Healer('web', 'http://127.0.0.1:8080/ping', limit=limit,
                      base_backoff=backoff, max_backoff=max_backoff, grace=grace)

    def sick_until_due(self, h, now=T0):
        """Failed probes until a heal is due; returns that decision."""
        from supervisor_unicorn.listener.decision import Remedy
        for _ in range(h.limit):
            d = h.probed(*SICK, None, now)
        self.assertEqual(d.action, Remedy.HEAL)
        return d

    def hot_restarting(self, h, now=T0, restarts=0):
        """A heal chosen and accepted: a hot restart of pid 100 is running."""
        from supervisor_unicorn.listener.decision import Remedy
        d = h.choose('why', 'idle', 'RUNNING', 100, now)
        self.assertEqual(d.action, Remedy.HOT_RESTART)
        h.hot_restart_accepted({'status': 'started', 'old_pid': 100}, 100,
                               {'restarts': restarts, 'boot_timeout': 10}, now)
        return h.attempt


# ---------------------------------------------------------------------------

class ProbeTests(HealerTestBase):

    def test_failures_below_the_limit_are_counted_and_said(self):
        from supervisor_unicorn.listener.decision import Remedy
        h = self.makeOne(limit=3)
        d = h.probed(*SICK, None, T0)
        self.assertEqual((d.action, d.lines), (Remedy.NOTHING, ('web probe failed (1 of 3): HTTP 500',)))
        self.assertEqual(h.probed(*SICK, None, T0 + 5).lines,
                         ('web probe failed (2 of 3): HTTP 500',))

    def test_the_limit_th_failure_makes_a_heal_due_with_its_reason(self):
        from supervisor_unicorn.listener.decision import Remedy
        h = self.makeOne(limit=2)
        h.probed(*SICK, None, T0)
        d = h.probed(*SICK, 'after hot restart (pid 1 -> 2)', T0 + 5)
        self.assertEqual(d.action, Remedy.HEAL)
        self.assertEqual(d.lines, ())
        self.assertEqual(d.why, 'web probe after hot restart (pid 1 -> 2) failed (2 in a row):'
                                ' HTTP 500')

    def test_healthy_probes_say_nothing_and_a_good_one_resets_the_count(self):
        h = self.makeOne()
        self.assertEqual(h.probed(*OK, None, T0).lines, ())
        h.probed(*SICK, None, T0)
        self.assertEqual(h.probed(*OK, None, T0).lines,
                         ('web probe ok (HTTP 200) after 1 failed; failure count reset',))
        self.assertEqual(h.failures, 0)

    def test_failures_in_the_start_grace_are_said_once_and_not_counted(self):
        from supervisor_unicorn.listener.decision import Remedy
        h = self.makeOne(limit=1, grace=30)
        self.assertEqual(h.running(300, T0).action, Remedy.PROBE)
        d = h.probed(False, 'connection refused', 'after start (pid 300)', T0)
        self.assertEqual(d.lines, ('web probe after start (pid 300) failed: connection refused;'
                                   ' web still starting: probe failures not counted for up'
                                   ' to 30s',))
        self.assertEqual(h.probed(*SICK, None, T0 + 10), h.probed(*SICK, None, T0 + 20))
        self.assertEqual(h.probed(*SICK, None, T0 + 20).lines, ())
        self.assertEqual(h.failures, 0)
        d = h.probed(*SICK, None, T0 + 30)
        self.assertEqual(d.action, Remedy.HEAL)
        self.assertIn('(still failing 30s after start: now counted)', d.why)


class ChooseTests(HealerTestBase):

    def test_a_running_master_is_hot_restarted_and_the_window_opens(self):
        from supervisor_unicorn.listener.decision import Remedy
        h = self.makeOne(backoff=60)
        d = h.choose('web probe failed (3 in a row): HTTP 500', 'idle', 'RUNNING', 100, T0)
        self.assertEqual(d.action, Remedy.HOT_RESTART)
        self.assertEqual(d.lines, ('web probe failed (3 in a row): HTTP 500; hot restarting web'
                                   ' (pid 100); if still sick, next attempt 60s after it',))
        self.assertEqual((h.next_heal_at, h.backoff), (T0 + 60, 120))

    def test_no_live_master_means_a_cold_restart(self):
        from supervisor_unicorn.listener.decision import Remedy
        h = self.makeOne()
        for state, pid in (('RUNNING', 0), ('EXITED', 0), ('BACKOFF', 0), ('FATAL', 0)):
            with self.subTest(state=state):
                d = h.choose('why', 'idle', state, pid, T0)
                self.assertEqual(d.action, Remedy.COLD_RESTART)
                self.assertIn('web has no live master (%s, pid 0); stop/start instead' % state,
                              d.lines[0])

    def test_a_program_someone_else_handles_is_left_alone(self):
        from supervisor_unicorn.listener.decision import Remedy
        h = self.makeOne()
        for state in ('STOPPED', 'STOPPING', 'STARTING'):
            d = h.choose('why', 'idle', state, 0, T0)
            self.assertEqual((d.action, d.lines), (Remedy.NOTHING, (
                'why; not healing web: it is %s' % state,)))
        d = h.choose('why', 'booting', 'RUNNING', 100, T0)
        self.assertEqual(d.action, Remedy.NOTHING)
        self.assertIn('already in progress (booting), waiting for it', d.lines[0])
        self.assertEqual(h.next_heal_at, float('-inf'))     # none was an attempt


class HotRestartFailureTests(HealerTestBase):
    """Issue 10 item 5: never trade a serving master for a cold start."""

    # What each Fault of hotRestart leads to.  The texts are the core's own
    # (core.failure_text and the start() refusals), as the proxy raises them,
    # with the (failure, still_serving) getHotRestartInfo says after them.
    CASES = [
        (Faults.FAILED, 'FAILED: new master failed to boot (pid 201 exited);'
                        ' pid 100 still serving', ('BOOT_FAILED', True), 'back_off'),
        (Faults.FAILED, 'FAILED: new master not ready within boot_timeout (60s);'
                        ' killed pid 201; pid 100 still serving', ('TIMEOUT', True),
         'back_off'),
        (Faults.FAILED, 'FAILED: new workers keep failing to load the app (3 exited);'
                        ' pid 100 still serving', ('LOAD_FAILED', True), 'back_off'),
        (Faults.FAILED, 'FAILED: a new master pid 201 exists but was not adopted: it'
                        " left supervisord's session: a daemon, not a re-exec; run the"
                        ' server in the foreground; pid 100 still serving',
         ('NOT_ADOPTED', True), 'back_off'),
        (Faults.FAILED, 'FAILED: master pid 100 did not re-exec within boot_timeout'
                        ' (60s); it may be hung', ('NO_REEXEC', False), 'cold_restart'),
        (Faults.FAILED, 'FAILED: master pid 100 could not re-exec within boot_timeout'
                        ' (60s): the previous hot restart has not settled',
         ('NOT_READY', False), 'cold_restart'),
        (Faults.NOT_RUNNING, 'NOT_RUNNING: web has no live master (pid 100)',
         ('NOT_RUNNING', False), 'cold_restart'),
        (Faults.NOT_RUNNING, 'NOT_RUNNING: web is not running (state EXITED); nothing to'
                             ' hot restart', ('NOT_RUNNING', False), 'cold_restart'),
        (Faults.ABNORMAL_TERMINATION, 'ABNORMAL_TERMINATION: old master pid 100 exited'
                                      ' before a new master was ready; nothing is serving'
                                      ' until supervisord restarts web',
         ('OLD_EXITED', False), 'cold_restart'),
        # no new code was tried: a cold restart is the only heal that can work
        (UnicornFaults.UNSUPPORTED, 'UNSUPPORTED: supervisord is not a child subreaper, so'
                                    ' it could not supervise a new master; pid 100 still'
                                    ' serving', ('UNSUPPORTED', True), 'cold_restart'),
        (UnicornFaults.IN_PROGRESS, 'IN_PROGRESS: a hot restart of web is already in'
                                    ' progress (booting); pid 100 still serving', ('', False),
         'nothing'),
        (Faults.SHUTDOWN_STATE, 'SHUTDOWN_STATE', ('', False), 'nothing'),
        # its programs line broke at a reload or reread: the master is fine
        (UnicornFaults.BAD_CONFIG, "BAD_CONFIG: programs line 1 ('web unicron /x.pid'):"
                                   " unknown SERVER 'unicron'", ('', False), 'nothing'),
    ]

    def decide(self, code, text, data):
        h = self.makeOne(backoff=60)
        h.choose('why', 'idle', 'RUNNING', 100, T0)
        e = fault(code, text)
        hot = {'phase': 'idle', 'failure': data[0], 'still_serving': data[1]}
        return h, h.hot_restart_refused(e.faultCode, e.faultString, T0 + 1, hot)

    def test_each_fault_of_hot_restart_leads_to_its_decision(self):
        for code, text, data, expected in self.CASES:
            with self.subTest(text=text):
                h, d = self.decide(code, text, data)
                self.assertEqual(d.action.value, expected)
                if expected == 'cold_restart':
                    self.assertEqual(d.lines, ('web hot restart failed (%s); falling back'
                                               ' to stop/start' % text,))
                    self.assertIsNone(h.attempt)
                else:
                    # the attempt is over: the window counts from now
                    self.assertEqual(h.next_heal_at, T0 + 1 + 60)

    def test_the_decision_is_made_from_the_data_never_from_the_text(self):
        for code, text, data, expected in self.CASES:
            for other in ('FAILED: something else entirely', 'pid 1 still serving', ''):
                with self.subTest(text=text, other=other):
                    _, d = self.decide(code, other, data)
                    self.assertEqual(d.action.value, expected)

    def test_a_fault_whose_meaning_cannot_be_read_is_taken_as_still_serving(self):
        h = self.makeOne(backoff=60)
        h.choose('why', 'idle', 'RUNNING', 100, T0)
        d = h.hot_restart_refused(Faults.FAILED, 'FAILED: it may be hung', T0, None)
        self.assertEqual(d.action.value, 'back_off')

    def test_still_serving_backs_off_and_says_why_in_one_line(self):
        h = self.makeOne(backoff=60)
        h.choose('why', 'idle', 'RUNNING', 100, T0)
        d = h.hot_restart_refused(Faults.FAILED, 'FAILED: new master failed to boot; pid 100'
                                                 ' still serving', T0,
                                  {'failure': 'BOOT_FAILED', 'still_serving': True})
        self.assertEqual(d.lines, (
            'web hot restart failed (FAILED: new master failed to boot; pid 100 still'
            ' serving); not stop/starting: the old master still serves and a cold start'
            ' would load the same code; backing off, next heal attempt in 60s; failed'
            ' probes not logged until then',))
        self.assertTrue(h.backing_off)

    def test_every_failure_of_the_core_follows_the_rule(self):
        # the contract, read from the core's Failure data: a failure after
        # which the old master serves backs off, any other one cold restarts;
        # and the text for people says "still serving" exactly then
        from supervisor_unicorn.listener.decision import Remedy
        from supervisor_unicorn.supervisord.core import Core
        from supervisor_unicorn.supervisord.handover import Failure, Handover
        cold = {Failure.NO_REEXEC, Failure.NOT_READY, Failure.OLD_EXITED, Failure.STOPPED}
        for failure in Failure:
            with self.subTest(failure=failure):
                ho = Handover.begin('web', 100, 0.0, 60, 10)
                ho.new_pid, ho.failure = 201, failure
                # failure_text reads only the core's programs (why USR2 waited)
                code, text = Core.failure_text(SimpleNamespace(programs={}), ho)
                self.assertEqual('still serving' in text, failure.still_serving)
                h = self.makeOne()
                self.hot_restarting(h)
                d = h.hot_restart_progress({'phase': 'idle', 'last_result': 'failed: ' + text,
                                            'restarts': 0, 'failure': failure.code,
                                            'still_serving': failure.still_serving}, T0 + 5)
                self.assertEqual(d.action, Remedy.LOOK_THEN_COLD if failure in cold
                                 else Remedy.BACK_OFF, text)

    def test_a_failed_hot_restart_with_no_master_serving_looks_then_cold_restarts(self):
        from supervisor_unicorn.listener.decision import Remedy
        h = self.makeOne(backoff=60)
        self.hot_restarting(h)
        d = h.hot_restart_progress({'phase': 'idle', 'restarts': 0, 'last_result':
                                    'failed: master pid 100 did not re-exec within'
                                    ' boot_timeout (2s); it may be hung',
                                    'failure': 'NO_REEXEC', 'still_serving': False}, T0 + 3)
        self.assertEqual(d.action, Remedy.LOOK_THEN_COLD)
        self.assertEqual(h.fall_back('RUNNING', 100, T0 + 3).action, Remedy.COLD_RESTART)
        h.stop_requested(100, T0 + 3)
        self.assertEqual(h.stop_progress('STOPPING', 100, T0 + 4).action, Remedy.NOTHING)
        d = h.stop_progress('STOPPED', 0, T0 + 5.5)
        self.assertEqual((d.action, d.why), (Remedy.START, 'web stop/start: pid 100 stopped'
                                                        ' in 2.5s; start requested'))
        self.assertIsNone(h.attempt)
        self.assertEqual(h.next_heal_at, T0 + 5.5 + 60)

    def test_someone_else_stopping_or_starting_it_meanwhile_means_no_cold_restart(self):
        from supervisor_unicorn.listener.decision import Remedy
        h = self.makeOne()
        self.hot_restarting(h)
        d = h.fall_back('STARTING', 0, T0 + 1)       # autorestart after OLD_EXITED
        self.assertEqual((d.action, d.lines), (Remedy.NOTHING, ('not stop/starting web: it is'
                                                             ' STARTING',)))
        self.assertIsNone(h.attempt)


class BackOffTests(HealerTestBase):
    """The back-off is said when it starts and when it ends, not per probe."""

    def test_a_program_that_stays_sick_hears_of_its_back_off_twice(self):
        from supervisor_unicorn.listener.decision import Remedy
        h = self.makeOne(limit=1, backoff=30)
        self.sick_until_due(h)
        self.hot_restarting(h)
        now = T0 + 5
        d = h.hot_restart_progress({'phase': 'idle', 'last_result': 'done', 'restarts': 1,
                                    'pid': 200, 'last_seconds': 1.5}, now)
        self.assertEqual(d.lines, ('hot restarted web (pid 100 -> 200 in 1.5s)',))
        d = h.probed(*SICK, d.context, now)
        self.assertEqual((d.action, d.lines), (Remedy.BACK_OFF, (
            'web probe after hot restart (pid 100 -> 200) failed (1 in a row): HTTP 500;'
            ' backing off, next heal attempt in 30s; failed probes not logged until then',)))
        lines = []
        while now < T0 + 5 + 30 - 5:            # every tick of the window
            now += 5
            d = h.probed(*SICK, None, now)
            self.assertEqual(d.action, Remedy.BACK_OFF)
            lines += d.lines
        self.assertEqual(lines, [])
        d = h.probed(*SICK, None, T0 + 5 + 30)
        self.assertEqual(d.action, Remedy.HEAL)
        self.assertEqual(d.why, 'web probe failed (7 in a row): HTTP 500; back-off over')
        self.assertFalse(h.backing_off)

    def test_a_good_probe_ends_a_back_off_and_says_so(self):
        h = self.makeOne(limit=1, backoff=30)
        self.sick_until_due(h)
        self.hot_restarting(h)
        h.hot_restart_refused(Faults.FAILED, 'FAILED: x; pid 100 still serving', T0 + 1)
        h.probed(*SICK, None, T0 + 5)
        d = h.probed(*OK, None, T0 + 10)
        self.assertEqual(d.lines, ('web probe ok (HTTP 200) after 1 failed; failure count'
                                   ' reset; web is healthy again, back-off over',))
        self.assertEqual(h.backoff, 30)          # doubling forgotten
        self.assertFalse(h.backing_off)

    def test_failures_in_a_fresh_window_are_counted_up_to_the_limit_then_back_off(self):
        from supervisor_unicorn.listener.decision import Remedy
        h = self.makeOne(limit=2, backoff=60)
        h.choose('why', 'idle', 'RUNNING', 100, T0)
        h.hot_restart_accepted({'status': 'done', 'old_pid': 100, 'new_pid': 200,
                                'seconds': 0.9}, 100, {'restarts': 0}, T0)
        self.assertEqual(h.probed(*SICK, None, T0 + 5).lines,
                         ('web probe failed (1 of 2): HTTP 500',))
        d = h.probed(*SICK, None, T0 + 10)
        self.assertEqual(d.action, Remedy.BACK_OFF)
        self.assertIn('backing off, next heal attempt in 50s', d.lines[0])
        self.assertEqual(h.probed(*SICK, None, T0 + 15).lines, ())

    def test_the_window_doubles_per_attempt_up_to_the_cap(self):
        h = self.makeOne(limit=1, backoff=60, max_backoff=200)
        windows = []
        now = T0
        for _ in range(4):
            d = h.choose('why', 'idle', 'RUNNING', 100, now)
            windows.append(int(d.lines[0].rsplit('next attempt ', 1)[1].split('s')[0]))
            h.end_attempt(now)
            now = h.next_heal_at
        self.assertEqual(windows, [60, 120, 200, 200])


class FollowTests(HealerTestBase):

    def test_a_hot_restart_in_progress_is_waited_for_up_to_a_bound(self):
        from supervisor_unicorn.listener.attempts import HOT_RESTART_SLACK
        from supervisor_unicorn.listener.decision import Remedy
        h = self.makeOne()
        self.hot_restarting(h)
        booting = {'phase': 'booting', 'restarts': 0, 'last_result': ''}
        self.assertEqual(h.hot_restart_progress(booting, T0 + 10 + HOT_RESTART_SLACK - 1),
                         h.hot_restart_progress(booting, T0))
        self.assertIsNotNone(h.attempt)
        d = h.hot_restart_progress(booting, T0 + 10 + HOT_RESTART_SLACK)
        self.assertEqual((d.action, d.lines), (Remedy.NOTHING, (
            'web hot restart still booting after 130s; no longer following it',)))
        self.assertIsNone(h.attempt)

    def test_a_stop_that_never_ends_is_given_up_without_a_start(self):
        from supervisor_unicorn.listener.attempts import STOP_DEADLINE
        from supervisor_unicorn.listener.decision import Remedy
        h = self.makeOne()
        h.choose('why', 'idle', 'RUNNING', 0, T0)
        h.stop_requested(100, T0)
        self.assertEqual(h.stop_progress('STOPPING', 100, T0 + STOP_DEADLINE - 1).action,
                         Remedy.NOTHING)
        d = h.stop_progress('STOPPING', 100, T0 + STOP_DEADLINE)
        self.assertEqual(d.lines, ('web still STOPPING 60s after stopProcess; not starting it',))
        self.assertIsNone(h.attempt)

    def test_a_hot_restart_seen_through_the_counter_is_probed_without_grace(self):
        from supervisor_unicorn.listener.decision import Remedy
        h = self.makeOne()
        h.ticked('RUNNING', 100, {'restarts': 0}, 5.0, T0)     # a fresh start: grace
        self.assertIsNotNone(h.grace_until)
        d = h.ticked('RUNNING', 200, {'restarts': 1}, 5.0, T0 + 5)
        self.assertEqual((d.action, d.context), (Remedy.PROBE, 'after hot restart (pid 100 -> 200)'))
        self.assertIsNone(h.grace_until)

    def test_a_lost_program_is_said_once(self):
        h = self.makeOne()
        self.assertEqual(len(h.lost().lines), 1)
        self.assertEqual(h.lost().lines, ())


if __name__ == '__main__':
    unittest.main()

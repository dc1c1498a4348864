"""Unit tests for supervisor_unicorn.listener.attempts: a heal attempt
followed to its end (hot restart, rollback, stop/start) by an AttemptFollower.

Most follow a real Healer's follower, to see the end in the Healer's state
(the window, the back-off); HooksTests give it a Healer that has nothing but
the HealerHooks, to show that it needs nothing more.

Pure: canned getHotRestartInfo/getProcessInfo answers, real
xmlrpc.client.Fault objects, and a clock that is just a number passed in.
"""

import unittest
import xmlrpc.client

from supervisor.xmlrpc import Faults

from listener_fakes import T0, HealerTestBase
from supervisor_unicorn.common.faults import Faults as UnicornFaults


def fault(code, text):
    """A Fault as the listener's ServerProxy raises it (text carries the
    code name, as HotRestartError builds it)."""
    return xmlrpc.client.Fault(code, text)


class HotRestartFailureTests(HealerTestBase):
    """A master that still serves is never traded for a cold start."""

    # What each Fault of hotRestart leads to.  The texts are the core's own
    # (failures.failure_text and the start() refusals), as the proxy raises them,
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
        return h, h.follower.hot_restart_refused(e.faultCode, e.faultString, T0 + 1, hot)

    def test_each_fault_of_hot_restart_leads_to_its_decision(self):
        for code, text, data, expected in self.CASES:
            with self.subTest(text=text):
                h, d = self.decide(code, text, data)
                self.assertEqual(d.action.value, expected)
                if expected == 'cold_restart':
                    self.assertEqual(d.lines, ('web hot restart failed (%s); falling back'
                                               ' to stop/start' % text,))
                    self.assertIsNone(h.follower.attempt)
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
        d = h.follower.hot_restart_refused(Faults.FAILED, 'FAILED: it may be hung', T0, None)
        self.assertEqual(d.action.value, 'back_off')

    def test_still_serving_backs_off_and_says_why_in_one_line(self):
        h = self.makeOne(backoff=60)
        h.choose('why', 'idle', 'RUNNING', 100, T0)
        d = h.follower.hot_restart_refused(
            Faults.FAILED, 'FAILED: new master failed to boot; pid 100 still serving', T0,
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
        from supervisor_unicorn.supervisord.failures import failure_text
        from supervisor_unicorn.supervisord.handover import Failure, Handover
        cold = {Failure.NO_REEXEC, Failure.NOT_READY, Failure.OLD_EXITED, Failure.STOPPED}
        for failure in Failure:
            with self.subTest(failure=failure):
                ho = Handover.begin('web', 100, 0.0, 60, 10)
                ho.new_pid, ho.failure = 201, failure
                code, text = failure_text(ho)
                self.assertEqual('still serving' in text, failure.still_serving)
                h = self.makeOne()
                self.hot_restarting(h)
                d = h.follower.hot_restart_progress(
                    {'phase': 'idle', 'last_result': 'failed: ' + text, 'restarts': 0,
                     'failure': failure.code, 'still_serving': failure.still_serving}, T0 + 5)
                self.assertEqual(d.action, Remedy.LOOK_THEN_COLD if failure in cold
                                 else Remedy.BACK_OFF, text)

    def test_a_failed_end_is_decided_from_the_data_never_from_last_result(self):
        from supervisor_unicorn.listener.decision import Remedy
        data = ((('BOOT_FAILED', True), Remedy.BACK_OFF),
                (('NO_REEXEC', False), Remedy.LOOK_THEN_COLD))
        for words in ('failed: pid 100 still serving', 'failed: it may be hung',
                      'failed: ', 'done', ''):
            for (failure, serving), expected in data:
                with self.subTest(words=words, failure=failure):
                    h = self.makeOne()
                    self.hot_restarting(h)
                    d = h.follower.hot_restart_progress(
                        {'phase': 'idle', 'restarts': 0, 'last_result': words,
                         'failure': failure, 'still_serving': serving}, T0 + 5)
                    self.assertEqual(d.action, expected)

    def test_a_failed_hot_restart_with_no_master_serving_looks_then_cold_restarts(self):
        from supervisor_unicorn.listener.decision import Remedy
        h = self.makeOne(backoff=60)
        self.hot_restarting(h)
        d = h.follower.hot_restart_progress(
            {'phase': 'idle', 'restarts': 0, 'last_result': 'failed: master pid 100 did not'
             ' re-exec within boot_timeout (2s); it may be hung',
             'failure': 'NO_REEXEC', 'still_serving': False}, T0 + 3)
        self.assertEqual(d.action, Remedy.LOOK_THEN_COLD)
        f = h.follower
        self.assertEqual(f.fall_back('RUNNING', 100, T0 + 3).action, Remedy.COLD_RESTART)
        f.stop_requested(100, T0 + 3)
        self.assertEqual(f.stop_progress('STOPPING', 100, T0 + 4).action, Remedy.NOTHING)
        d = f.stop_progress('STOPPED', 0, T0 + 5.5)
        self.assertEqual((d.action, d.why), (Remedy.START, 'web stop/start: pid 100 stopped'
                                                        ' in 2.5s; start requested'))
        self.assertIsNone(f.attempt)
        self.assertEqual(h.next_heal_at, T0 + 5.5 + 60)

    def test_someone_else_stopping_or_starting_it_meanwhile_means_no_cold_restart(self):
        from supervisor_unicorn.listener.decision import Remedy
        h = self.makeOne()
        self.hot_restarting(h)
        d = h.follower.fall_back('STARTING', 0, T0 + 1)       # autorestart after OLD_EXITED
        self.assertEqual((d.action, d.lines), (Remedy.NOTHING, ('not stop/starting web: it is'
                                                             ' STARTING',)))
        self.assertIsNone(h.follower.attempt)


class FollowTests(HealerTestBase):

    def test_a_hot_restart_in_progress_is_waited_for_up_to_a_bound(self):
        from supervisor_unicorn.listener.attempts import HOT_RESTART_SLACK
        from supervisor_unicorn.listener.decision import Remedy
        h = self.makeOne()
        self.hot_restarting(h)
        booting = {'phase': 'booting', 'restarts': 0, 'last_result': ''}
        f = h.follower
        self.assertEqual(f.hot_restart_progress(booting, T0 + 10 + HOT_RESTART_SLACK - 1),
                         f.hot_restart_progress(booting, T0))
        self.assertIsNotNone(f.attempt)
        d = f.hot_restart_progress(booting, T0 + 10 + HOT_RESTART_SLACK)
        self.assertEqual((d.action, d.lines), (Remedy.NOTHING, (
            'web hot restart still booting after 130s; no longer following it',)))
        self.assertIsNone(f.attempt)

    def test_a_stop_that_never_ends_is_given_up_without_a_start(self):
        from supervisor_unicorn.listener.attempts import STOP_DEADLINE
        from supervisor_unicorn.listener.decision import Remedy
        h = self.makeOne()
        h.choose('why', 'idle', 'RUNNING', 0, T0)
        f = h.follower
        f.stop_requested(100, T0)
        self.assertEqual(f.stop_progress('STOPPING', 100, T0 + STOP_DEADLINE - 1).action,
                         Remedy.NOTHING)
        d = f.stop_progress('STOPPING', 100, T0 + STOP_DEADLINE)
        self.assertEqual(d.lines, ('web still STOPPING 60s after stopProcess; not starting it',))
        self.assertIsNone(f.attempt)



class OnlyHooks:
    """A Healer with the HealerHooks and nothing else (no __dict__): a follower
    reaching for any other field of its Healer fails the test."""
    __slots__ = ('calls',)

    def __init__(self):
        self.calls = []

    def under_way(self):
        self.calls.append(('under_way',))

    def attempt_over(self, now, window):
        self.calls.append(('attempt_over', now, window))

    def adopted(self, pid, restarts):
        self.calls.append(('adopted', pid, restarts))

    def back_off(self, why, now):
        from supervisor_unicorn.listener.decision import Remedy, decide
        self.calls.append(('back_off', now))
        return decide(Remedy.BACK_OFF, why)


class HooksTests(unittest.TestCase):
    """What a follower tells its Healer, in order: the hooks are all it uses."""

    def makeOne(self, window=60.0):
        from supervisor_unicorn.listener.attempts import AttemptFollower
        self.healer = OnlyHooks()
        f = AttemptFollower('web', self.healer)
        f.chosen(window)
        return f

    def test_a_hot_restart_tells_of_its_start_its_end_and_the_new_master(self):
        f = self.makeOne(window=60)
        f.hot_restart_accepted({'status': 'started', 'old_pid': 100}, 100,
                               {'restarts': 4, 'boot_timeout': 10}, T0)
        self.assertTrue(f.busy)
        self.assertEqual(self.healer.calls, [('under_way',)])
        d = f.hot_restart_progress({'phase': 'idle', 'last_result': 'done', 'restarts': 5,
                                    'pid': 200, 'last_seconds': 1.5}, T0 + 5)
        self.assertEqual(d.lines, ('hot restarted web (pid 100 -> 200 in 1.5s)',))
        self.assertFalse(f.busy)
        self.assertEqual(self.healer.calls[1:], [('attempt_over', T0 + 5, 60),
                                                 ('adopted', 200, 5)])

    def test_a_hot_restart_done_within_the_call_counts_itself_in_restarts(self):
        f = self.makeOne(window=30)
        f.hot_restart_accepted({'status': 'done', 'old_pid': 100, 'new_pid': 200,
                                'seconds': 0.9}, 100, {'restarts': 4}, T0)
        self.assertFalse(f.busy)
        self.assertEqual(self.healer.calls, [('under_way',), ('attempt_over', T0, 30),
                                             ('adopted', 200, 5)])

    def test_a_rollback_ends_the_grace_but_names_no_new_master(self):
        f = self.makeOne(window=60)
        f.rollback_accepted({'from_pid': 200}, {'boot_timeout': 10}, T0)
        f.hot_restart_progress({'phase': 'idle', 'last_result': 'rolled_back',
                                'rolled_back_from': 200, 'pid': 100}, T0 + 1)
        self.assertEqual(self.healer.calls, [('under_way',), ('attempt_over', T0 + 1, 60),
                                             ('adopted', 0, None)])

    def test_a_failure_with_the_old_master_serving_ends_then_backs_off(self):
        from supervisor_unicorn.listener.decision import Remedy
        f = self.makeOne(window=60)
        d = f.hot_restart_refused(Faults.FAILED, 'FAILED: boot failed', T0 + 1,
                                  {'failure': 'BOOT_FAILED', 'still_serving': True})
        self.assertEqual(d.action, Remedy.BACK_OFF)
        self.assertEqual(self.healer.calls, [('attempt_over', T0 + 1, 60),
                                             ('back_off', T0 + 1)])

    def test_a_stop_start_tells_of_its_start_and_of_its_end(self):
        from supervisor_unicorn.listener.decision import Remedy
        f = self.makeOne(window=60)
        self.assertEqual(f.stop_requested(100, T0).action, Remedy.FOLLOW_STOP)
        self.assertEqual(f.follow().action, Remedy.FOLLOW_STOP)
        self.assertEqual(f.stop_progress('STOPPED', 0, T0 + 2).action, Remedy.START)
        self.assertEqual(f.start_refused(Faults.SPAWN_ERROR, 'SPAWN_ERROR: web').lines,
                         ('web startProcess failed (SPAWN_ERROR: web)',))
        self.assertEqual(self.healer.calls, [('under_way',), ('attempt_over', T0 + 2, 60)])

    def test_an_unreachable_supervisord_ends_only_a_call_that_starts_an_attempt(self):
        from supervisor_unicorn.listener.decision import Remedy
        f = self.makeOne(window=60)
        for remedy in (Remedy.HEAL, Remedy.FOLLOW_HOT, Remedy.FOLLOW_STOP, Remedy.START):
            f.unreachable(remedy, T0)
        self.assertEqual(self.healer.calls, [])
        f.unreachable(Remedy.HOT_RESTART, T0 + 1)
        self.assertEqual(self.healer.calls, [('attempt_over', T0 + 1, 60)])

    def test_a_dropped_attempt_is_no_longer_followed_and_has_no_end(self):
        from supervisor_unicorn.listener.decision import NOTHING
        f = self.makeOne()
        f.stop_requested(100, T0)
        f.drop()                         # the program is gone
        self.assertFalse(f.busy)
        self.assertEqual(f.follow(), NOTHING)
        self.assertEqual(self.healer.calls, [('under_way',)])


if __name__ == '__main__':
    unittest.main()

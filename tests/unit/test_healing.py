"""Unit tests for supervisor_unicorn.listener.healing: the listener's heal decisions.

Pure: canned probe results and process states, and a clock that is just a
number passed in. Following a heal attempt is test_attempts.py's; here, only
what its end changes in the Healer (the HealerHooks).
"""

import unittest

from supervisor.xmlrpc import Faults

from listener_fakes import OK, SICK, T0, HealerTestBase


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


class ProgramTests(HealerTestBase):
    """What supervisord says about the program."""

    def test_a_hot_restart_seen_through_the_counter_is_probed_without_grace(self):
        from supervisor_unicorn.listener.decision import Remedy
        h = self.makeOne()
        h.ticked('RUNNING', 100, {'restarts': 0}, 5.0, T0)     # a fresh start: grace
        self.assertIsNotNone(h.grace_until)
        d = h.ticked('RUNNING', 200, {'restarts': 1}, 5.0, T0 + 5)
        self.assertEqual((d.action, d.context),
                         (Remedy.PROBE, 'after hot restart (pid 100 -> 200)'))
        self.assertIsNone(h.grace_until)

    def test_a_lost_program_is_said_once(self):
        h = self.makeOne()
        self.assertEqual(len(h.lost().lines), 1)
        self.assertEqual(h.lost().lines, ())


    def test_a_lost_program_drops_its_attempt_without_ending_it(self):
        h = self.makeOne(backoff=60)
        self.hot_restarting(h)
        h.lost()
        self.assertIsNone(h.follower.attempt)
        self.assertEqual(h.next_heal_at, T0 + 60)     # as the choice opened it

    def test_while_an_attempt_runs_a_tick_advances_it_and_does_not_probe(self):
        from supervisor_unicorn.listener.decision import NOTHING, Remedy
        h = self.makeOne()
        self.hot_restarting(h)
        self.assertEqual(h.ticked('RUNNING', 100, None, None, T0 + 1), NOTHING)
        d = h.ticked('RUNNING', 200, {'phase': 'idle', 'last_result': 'done', 'restarts': 1,
                                      'pid': 200, 'last_seconds': 1.0}, None, T0 + 2)
        self.assertEqual((d.action, d.context),
                         (Remedy.PROBE, 'after hot restart (pid 100 -> 200)'))
        self.assertEqual(h.running(300, T0 + 3).action, Remedy.PROBE)   # over: probed


class HooksTests(HealerTestBase):
    """What the end of an attempt changes in the Healer (attempts.HealerHooks)."""

    def test_choosing_a_remedy_hands_its_window_to_the_follower(self):
        h = self.makeOne(backoff=60)
        h.choose('why', 'idle', 'RUNNING', 100, T0)
        self.assertEqual(h.follower.window, 60)
        h.choose('why', 'idle', 'EXITED', 0, T0 + 100)
        self.assertEqual(h.follower.window, 120)

    def test_an_accepted_heal_makes_the_next_good_probe_say_healthy_again(self):
        h = self.makeOne()
        h.under_way()
        self.assertEqual(h.probed(*OK, None, T0).lines, ('web probe ok (HTTP 200); web is'
                                                         ' healthy again',))
        self.assertEqual(h.probed(*OK, None, T0 + 5).lines, ())

    def test_the_end_of_an_attempt_resets_failures_and_the_window_counts_from_it(self):
        h = self.makeOne(limit=3)
        h.probed(*SICK, None, T0)
        h.attempt_over(T0 + 5, 60)
        self.assertEqual((h.failures, h.next_heal_at), (0, T0 + 65))

    def test_an_adopted_master_ends_the_grace_and_is_the_master_seen(self):
        h = self.makeOne()
        h.running(100, T0)
        h.know_restarts(2)
        self.assertIsNotNone(h.grace_until)
        h.adopted(200, 3)
        self.assertEqual((h.pid, h.started_pid, h.restarts, h.grace_until), (200, 200, 3, None))
        h.running(300, T0 + 10)
        h.adopted(0, None)             # a rollback: no new master, no count
        self.assertEqual((h.pid, h.started_pid, h.restarts, h.grace_until), (300, 300, 3, None))


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


class BackOffTests(HealerTestBase):
    """The back-off is said when it starts and when it ends, not per probe."""

    def test_a_program_that_stays_sick_hears_of_its_back_off_twice(self):
        from supervisor_unicorn.listener.decision import Remedy
        h = self.makeOne(limit=1, backoff=30)
        self.sick_until_due(h)
        self.hot_restarting(h)
        now = T0 + 5
        d = h.follower.hot_restart_progress({'phase': 'idle', 'last_result': 'done',
                                             'restarts': 1, 'pid': 200, 'last_seconds': 1.5},
                                            now)
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
        h.follower.hot_restart_refused(Faults.FAILED, 'FAILED: x; pid 100 still serving', T0 + 1)
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
        h.follower.hot_restart_accepted({'status': 'done', 'old_pid': 100, 'new_pid': 200,
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
            h.follower.end_attempt(now)
            now = h.next_heal_at
        self.assertEqual(windows, [60, 120, 200, 200])



if __name__ == '__main__':
    unittest.main()

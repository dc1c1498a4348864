"""The hot-restart state machine, driven by hand with an injected clock."""
import unittest

OLD = 100
NEW = 200
WORKERS = frozenset({201, 202})


def obs(**kw):
    from supervisor_unicorn.supervisord.handover import Observation
    return Observation(**kw)


def up(workers=WORKERS, **kw):
    """The new master is known, alive and has these workers."""
    return obs(new_pid=NEW, new_alive=True, new_workers=frozenset(workers), **kw)


class HandoverTestBase(unittest.TestCase):
    boot_timeout = 10.0
    retire_timeout = 5.0

    def _getTargetClass(self):
        from supervisor_unicorn.supervisord.handover import Handover
        return Handover

    def _makeOne(self, now=0.0, expected_workers=2, settle=0.5):
        return self._getTargetClass().begin(
            'web', OLD, now, boot_timeout=self.boot_timeout,
            retire_timeout=self.retire_timeout, expected_workers=expected_workers,
            settle=settle)

    def _makeBooting(self, now=0.0, **kw):
        from supervisor_unicorn.supervisord.handover import Action
        h = self._makeOne(now=now, **kw)
        self.assertEqual(h.step(now, obs(can_reexec=True)), [Action.SEND_USR2])
        return h

    def _makeRetiring(self):
        """USR2 at 0, workers up at 1, retired at 2."""
        from supervisor_unicorn.supervisord.handover import Action
        h = self._makeBooting()
        self.assertEqual(h.step(1.0, up()), [])
        self.assertEqual(h.step(2.0, up()), [Action.RETIRE_OLD])
        return h

    def _makeAborting(self):
        """USR2 at 0, new master seen without workers, killed at 10.5."""
        from supervisor_unicorn.supervisord.handover import Action
        h = self._makeBooting()
        self.assertEqual(h.step(1.0, up(workers=())), [])
        self.assertEqual(h.step(10.5, up(workers=())), [Action.KILL_NEW])
        return h


class BeginTests(HandoverTestBase):

    def test_begin_starts_waiting_with_nothing_sent(self):
        from supervisor_unicorn.supervisord.handover import Phase
        h = self._makeOne(now=3.0)
        self.assertEqual(h.phase, Phase.WAITING)
        self.assertEqual((h.name, h.old_pid, h.started), ('web', OLD, 3.0))
        self.assertFalse(h.finished)
        self.assertIsNone(h.usr2_at)
        self.assertIsNone(h.new_pid)

    def test_begin_expects_at_least_one_worker(self):
        h = self._makeOne(expected_workers=0)
        self.assertEqual(h.expected_workers, 1)

    def test_phase_values_are_the_strings_the_info_struct_shows(self):
        from supervisor_unicorn.supervisord.handover import Phase
        self.assertEqual(Phase.BOOTING.value, 'booting')
        self.assertEqual(Phase.WAITING, 'waiting')


class WaitingTests(HandoverTestBase):

    def test_waiting_sends_usr2_when_the_master_can_reexec(self):
        from supervisor_unicorn.supervisord.handover import Action, Phase
        h = self._makeOne()
        actions = h.step(0.2, obs(can_reexec=True))
        self.assertEqual(actions, [Action.SEND_USR2])
        self.assertEqual(h.phase, Phase.BOOTING)
        self.assertEqual(h.usr2_at, 0.2)

    def test_waiting_sends_nothing_while_the_master_cannot_reexec(self):
        from supervisor_unicorn.supervisord.handover import Phase
        h = self._makeOne()
        self.assertEqual(h.step(5.0, obs(can_reexec=False)), [])
        self.assertEqual(h.step(10.0, obs(can_reexec=False)), [])
        self.assertEqual(h.phase, Phase.WAITING)

    def test_waiting_fails_not_ready_after_boot_timeout(self):
        from supervisor_unicorn.supervisord.handover import Failure, Phase
        h = self._makeOne(now=1.0)
        self.assertEqual(h.step(11.5, obs(can_reexec=False)), [])
        self.assertEqual(h.phase, Phase.FAILED)
        self.assertEqual(h.failure, Failure.NOT_READY)
        self.assertTrue(h.finished)
        self.assertEqual(h.finished_at, 11.5)

    def test_waiting_sends_usr2_even_late_if_the_master_can_reexec(self):
        from supervisor_unicorn.supervisord.handover import Action
        h = self._makeOne()
        self.assertEqual(h.step(30.0, obs(can_reexec=True)), [Action.SEND_USR2])

    def test_waiting_and_stopping_fails_stopped_without_usr2(self):
        from supervisor_unicorn.supervisord.handover import Failure, Phase
        h = self._makeOne()
        self.assertEqual(h.step(1.0, obs(can_reexec=True, stopping=True)), [])
        self.assertEqual(h.phase, Phase.FAILED)
        self.assertEqual(h.failure, Failure.STOPPED)
        self.assertIsNone(h.usr2_at)


class BootingTests(HandoverTestBase):

    def test_booting_waits_while_no_new_master_is_known(self):
        from supervisor_unicorn.supervisord.handover import Phase
        h = self._makeBooting()
        self.assertEqual(h.step(3.0, obs()), [])
        self.assertEqual(h.phase, Phase.BOOTING)
        self.assertIsNone(h.new_pid)

    def test_booting_remembers_the_first_new_master_seen(self):
        h = self._makeBooting()
        h.step(1.0, up(workers=()))
        h.step(1.5, obs(new_pid=999, new_alive=True))
        self.assertEqual(h.new_pid, NEW)

    def test_booting_waits_while_workers_are_fewer_than_expected(self):
        from supervisor_unicorn.supervisord.handover import Phase
        h = self._makeBooting()
        for t in (1.0, 2.0, 3.0, 4.0):
            self.assertEqual(h.step(t, up(workers={201})), [])
        self.assertEqual(h.phase, Phase.BOOTING)

    def test_booting_retires_only_after_workers_stay_up_for_settle_seconds(self):
        from supervisor_unicorn.supervisord.handover import Action, Phase
        h = self._makeBooting()
        self.assertEqual(h.step(1.0, up()), [])       # ready: settle starts
        self.assertEqual(h.step(1.3, up()), [])       # 0.3s < settle
        self.assertEqual(h.phase, Phase.BOOTING)
        self.assertEqual(h.step(1.6, up()), [Action.RETIRE_OLD])
        self.assertEqual(h.phase, Phase.RETIRING)
        self.assertEqual(h.retire_at, 1.6)

    def test_more_workers_than_expected_are_ready_too(self):
        from supervisor_unicorn.supervisord.handover import Action
        h = self._makeBooting()
        h.step(1.0, up(workers={201, 202, 203}))
        self.assertEqual(h.step(2.0, up(workers={201, 202, 203})), [Action.RETIRE_OLD])

    def test_a_replaced_worker_restarts_the_settle_time(self):
        from supervisor_unicorn.supervisord.handover import Action, Phase
        h = self._makeBooting()
        self.assertEqual(h.step(1.0, up({201, 202})), [])
        self.assertEqual(h.step(1.4, up({201, 203})), [])   # 202 died, 203 replaced it
        self.assertEqual(h.step(1.6, up({201, 203})), [])   # only 0.2s since the change
        self.assertEqual(h.phase, Phase.BOOTING)
        self.assertEqual(h.step(1.95, up({201, 203})), [Action.RETIRE_OLD])

    def test_a_worker_lost_below_the_expected_count_restarts_the_settle_time(self):
        from supervisor_unicorn.supervisord.handover import Action
        h = self._makeBooting()
        self.assertEqual(h.step(1.0, up({201, 202})), [])
        self.assertEqual(h.step(1.3, up({201})), [])
        self.assertEqual(h.step(1.6, up({201, 203})), [])   # ready again: settle restarts
        self.assertEqual(h.step(2.0, up({201, 203})), [])
        self.assertEqual(h.step(2.2, up({201, 203})), [Action.RETIRE_OLD])

    def test_workers_without_a_known_new_master_are_not_readiness(self):
        from supervisor_unicorn.supervisord.handover import Phase
        h = self._makeBooting()
        h.step(1.0, obs(new_workers=WORKERS))
        h.step(5.0, obs(new_workers=WORKERS))
        self.assertEqual(h.phase, Phase.BOOTING)

    def test_booting_fails_boot_failed_when_the_seen_new_master_dies(self):
        from supervisor_unicorn.supervisord.handover import Failure, Phase
        h = self._makeBooting()
        h.step(1.0, up(workers={201}))
        self.assertEqual(h.step(2.0, obs(new_pid=NEW, new_alive=False)), [])
        self.assertEqual(h.phase, Phase.FAILED)
        self.assertEqual(h.failure, Failure.BOOT_FAILED)
        self.assertEqual(h.finished_at, 2.0)

    def test_booting_fails_boot_failed_when_the_new_master_is_first_seen_dead(self):
        from supervisor_unicorn.supervisord.handover import Failure
        h = self._makeBooting()
        h.step(1.0, obs(new_pid=NEW, new_alive=False))
        self.assertEqual(h.failure, Failure.BOOT_FAILED)

    def test_boot_timeout_without_any_reexec_child_fails_no_reexec_with_nothing_to_kill(self):
        from supervisor_unicorn.supervisord.handover import Failure, Phase
        h = self._makeBooting()
        self.assertEqual(h.step(10.0, obs()), [])      # not yet: strictly more than 10s
        self.assertEqual(h.phase, Phase.BOOTING)
        self.assertEqual(h.step(10.1, obs()), [])
        self.assertEqual(h.phase, Phase.FAILED)
        self.assertEqual(h.failure, Failure.NO_REEXEC)
        self.assertEqual(h.finished_at, 10.1)

    def test_boot_timeout_after_a_reexec_child_was_seen_is_a_timeout_not_no_reexec(self):
        from supervisor_unicorn.supervisord.handover import Action, Failure
        h = self._makeBooting()
        h.step(1.0, obs(new_seen=True, new_alive=True))    # not verified yet
        self.assertEqual(h.step(10.5, obs(new_seen=True, new_alive=True)), [Action.KILL_NEW])
        self.assertEqual(h.failure, Failure.TIMEOUT)

    def test_a_manual_usr2_noticed_through_its_new_master_never_fails_no_reexec(self):
        from supervisor_unicorn.supervisord.handover import Failure, Handover
        h = Handover.noticed('web', OLD, NEW, 0.0, boot_timeout=10, retire_timeout=10)
        h.step(10.5, obs(new_alive=False))
        self.assertEqual(h.failure, Failure.BOOT_FAILED)

    def test_boot_timeout_counts_from_the_usr2_not_from_the_request(self):
        from supervisor_unicorn.supervisord.handover import Phase
        h = self._makeOne(now=0.0)
        h.step(4.0, obs(can_reexec=False))
        h.step(5.0, obs(can_reexec=True))       # USR2 at 5
        h.step(12.0, obs())                     # 7s after the USR2
        self.assertEqual(h.phase, Phase.BOOTING)

    def test_boot_timeout_with_a_live_new_master_aborts_and_kills_it(self):
        from supervisor_unicorn.supervisord.handover import Action, Failure, Phase
        h = self._makeBooting()
        h.step(1.0, up(workers={201}))
        self.assertEqual(h.step(10.5, up(workers={201})), [Action.KILL_NEW])
        self.assertEqual(h.phase, Phase.ABORTING)
        self.assertFalse(h.finished)
        self.assertEqual(h.failure, Failure.TIMEOUT)
        self.assertEqual(h.abort_at, 10.5)

    def test_boot_timeout_wins_over_readiness_reached_too_late(self):
        from supervisor_unicorn.supervisord.handover import Action
        h = self._makeBooting()
        h.step(9.9, up())
        self.assertEqual(h.step(10.6, up()), [Action.KILL_NEW])


class AbortingTests(HandoverTestBase):

    def test_aborting_fails_timeout_once_the_new_master_is_gone(self):
        from supervisor_unicorn.supervisord.handover import Failure, Phase
        h = self._makeAborting()
        self.assertEqual(h.step(11.0, obs(new_pid=NEW, new_alive=False)), [])
        self.assertEqual(h.phase, Phase.FAILED)
        self.assertEqual(h.failure, Failure.TIMEOUT)
        self.assertEqual(h.finished_at, 11.0)

    def test_aborting_waits_abort_grace_before_killing_again(self):
        from supervisor_unicorn.supervisord.handover import ABORT_GRACE, Action, Phase
        h = self._makeAborting()
        self.assertEqual(h.step(10.5 + ABORT_GRACE, up(workers=())), [])
        self.assertEqual(h.step(10.6 + ABORT_GRACE, up(workers=())), [Action.KILL_NEW])
        self.assertEqual(h.phase, Phase.ABORTING)

    def test_aborting_kills_again_every_abort_grace(self):
        from supervisor_unicorn.supervisord.handover import ABORT_GRACE, Action
        h = self._makeAborting()
        t1 = 10.6 + ABORT_GRACE
        self.assertEqual(h.step(t1, up(workers=())), [Action.KILL_NEW])
        self.assertEqual(h.step(t1 + 1.0, up(workers=())), [])
        self.assertEqual(h.step(t1 + ABORT_GRACE + 0.1, up(workers=())),
                         [Action.KILL_NEW])

    def test_aborting_does_not_retire_even_if_workers_come_up(self):
        from supervisor_unicorn.supervisord.handover import Action
        h = self._makeAborting()
        for t in (11.0, 12.0, 13.0):
            self.assertNotIn(Action.RETIRE_OLD, h.step(t, up()))


class RetiringTests(HandoverTestBase):

    def test_retiring_does_nothing_before_retire_timeout(self):
        from supervisor_unicorn.supervisord.handover import Phase
        h = self._makeRetiring()
        self.assertEqual(h.step(4.0, up()), [])
        self.assertEqual(h.step(7.0, up()), [])       # exactly retire_timeout
        self.assertEqual(h.phase, Phase.RETIRING)

    def test_retiring_kills_the_old_master_once_after_retire_timeout(self):
        from supervisor_unicorn.supervisord.handover import Action, Phase
        h = self._makeRetiring()
        self.assertEqual(h.step(7.1, up()), [Action.KILL_OLD])
        self.assertEqual(h.step(20.0, up()), [])
        self.assertEqual(h.step(100.0, up()), [])
        self.assertEqual(h.phase, Phase.RETIRING)

    def test_retiring_is_not_failed_by_boot_timeout(self):
        from supervisor_unicorn.supervisord.handover import Action, Phase
        h = self._makeRetiring()
        self.assertNotIn(Action.KILL_NEW, h.step(50.0, up()))
        self.assertEqual(h.phase, Phase.RETIRING)

    def test_old_master_exit_with_a_live_new_master_adopts_it(self):
        from supervisor_unicorn.supervisord.handover import Phase
        h = self._makeRetiring()
        self.assertTrue(h.old_master_exited(2.5, new_alive=True))
        self.assertEqual(h.phase, Phase.DONE)
        self.assertTrue(h.finished)
        self.assertIsNone(h.failure)
        self.assertEqual(h.finished_at, 2.5)


class OldMasterExitedTests(HandoverTestBase):

    def test_old_master_exit_while_booting_with_a_live_new_master_adopts_it(self):
        # unicorn's before_fork hook retires the old master by itself
        from supervisor_unicorn.supervisord.handover import Phase
        h = self._makeBooting()
        h.step(1.0, up(workers={201}))
        self.assertTrue(h.old_master_exited(1.2, new_alive=True))
        self.assertEqual(h.phase, Phase.DONE)

    def test_old_master_exit_with_a_dead_new_master_is_not_adopted(self):
        from supervisor_unicorn.supervisord.handover import Failure, Phase
        h = self._makeRetiring()
        self.assertFalse(h.old_master_exited(3.0, new_alive=False))
        self.assertEqual(h.phase, Phase.FAILED)
        self.assertEqual(h.failure, Failure.OLD_EXITED)
        self.assertEqual(h.finished_at, 3.0)

    def test_old_master_exit_without_a_known_new_master_is_not_adopted(self):
        from supervisor_unicorn.supervisord.handover import Failure
        h = self._makeBooting()
        self.assertFalse(h.old_master_exited(1.0, new_alive=True))
        self.assertEqual(h.failure, Failure.OLD_EXITED)

    def test_old_master_exit_while_waiting_is_not_adopted(self):
        from supervisor_unicorn.supervisord.handover import Failure
        h = self._makeOne()
        self.assertFalse(h.old_master_exited(1.0, new_alive=False))
        self.assertEqual(h.failure, Failure.OLD_EXITED)

    def test_old_master_exit_after_the_handover_finished_changes_nothing(self):
        from supervisor_unicorn.supervisord.handover import Failure, Phase
        h = self._makeBooting()
        h.step(1.0, obs(new_pid=NEW, new_alive=False))        # BOOT_FAILED at 1.0
        self.assertFalse(h.old_master_exited(5.0, new_alive=True))
        self.assertEqual(h.phase, Phase.FAILED)
        self.assertEqual(h.failure, Failure.BOOT_FAILED)
        self.assertEqual(h.finished_at, 1.0)


class StoppingTests(HandoverTestBase):

    def test_stopping_while_booting_enters_stopping_with_no_action(self):
        from supervisor_unicorn.supervisord.handover import Phase
        h = self._makeBooting()
        self.assertEqual(h.step(1.0, up(stopping=True)), [])
        self.assertEqual(h.phase, Phase.STOPPING)
        self.assertFalse(h.finished)

    def test_stopping_while_booting_neither_retires_nor_kills_later(self):
        from supervisor_unicorn.supervisord.handover import Phase
        h = self._makeBooting()
        h.step(1.0, up(stopping=True))
        for t in (2.0, 5.0, 30.0):
            self.assertEqual(h.step(t, up(stopping=True)), [])
        self.assertEqual(h.phase, Phase.STOPPING)

    def test_stopping_while_retiring_cancels_the_kill_of_the_old_master(self):
        from supervisor_unicorn.supervisord.handover import Phase
        h = self._makeRetiring()
        self.assertEqual(h.step(3.0, up(stopping=True)), [])
        self.assertEqual(h.step(20.0, up(stopping=True)), [])
        self.assertEqual(h.phase, Phase.STOPPING)

    def test_stopping_while_aborting_enters_stopping(self):
        from supervisor_unicorn.supervisord.handover import ABORT_GRACE, Phase
        h = self._makeAborting()
        self.assertEqual(h.step(11.0, up(stopping=True)), [])
        self.assertEqual(h.phase, Phase.STOPPING)
        self.assertEqual(h.step(11.0 + 2 * ABORT_GRACE, up(stopping=True)), [])

    def test_old_master_exit_while_stopping_without_new_master_fails_stopped(self):
        from supervisor_unicorn.supervisord.handover import Failure, Phase
        h = self._makeBooting()
        h.step(1.0, up(stopping=True))
        self.assertFalse(h.old_master_exited(2.0, new_alive=False))
        self.assertEqual(h.phase, Phase.FAILED)
        self.assertEqual(h.failure, Failure.STOPPED)

    # A program stopped during a hot restart is not a hot restart that
    # succeeded.  The live new master must still be adopted (True), so that
    # supervisord waits for it, but the result is a STOPPED failure.
    def test_old_master_exit_while_stopping_adopts_a_live_new_master_but_fails_stopped(self):
        from supervisor_unicorn.supervisord.handover import Failure
        h = self._makeRetiring()
        h.step(3.0, up(stopping=True))
        self.assertTrue(h.old_master_exited(3.5, new_alive=True))
        self.assertTrue(h.finished)
        self.assertEqual(h.failure, Failure.STOPPED)


class FinishedTests(HandoverTestBase):

    def test_step_after_finishing_returns_nothing_and_changes_nothing(self):
        from supervisor_unicorn.supervisord.handover import Phase
        h = self._makeRetiring()
        h.old_master_exited(3.0, new_alive=True)
        self.assertEqual(h.step(50.0, obs(stopping=True)), [])
        self.assertEqual(h.step(60.0, obs(new_pid=NEW, new_alive=False)), [])
        self.assertEqual(h.phase, Phase.DONE)
        self.assertEqual(h.finished_at, 3.0)


class NoticedTests(HandoverTestBase):

    def _makeNoticed(self, now=4.0, expected_workers=2):
        return self._getTargetClass().noticed(
            'web', OLD, NEW, now, boot_timeout=self.boot_timeout,
            retire_timeout=self.retire_timeout, expected_workers=expected_workers)

    def test_noticed_starts_booting_with_the_new_master_known(self):
        from supervisor_unicorn.supervisord.handover import Phase
        h = self._makeNoticed()
        self.assertEqual(h.phase, Phase.BOOTING)
        self.assertEqual(h.new_pid, NEW)
        self.assertEqual((h.started, h.usr2_at), (4.0, 4.0))

    def test_noticed_never_sends_usr2_and_retires_once_ready(self):
        from supervisor_unicorn.supervisord.handover import Action, Phase
        h = self._makeNoticed()
        self.assertEqual(h.step(4.5, up()), [])
        self.assertEqual(h.step(5.1, up()), [Action.RETIRE_OLD])
        self.assertEqual(h.phase, Phase.RETIRING)

    def test_noticed_new_master_found_dead_fails_boot_failed(self):
        from supervisor_unicorn.supervisord.handover import Failure
        h = self._makeNoticed()
        h.step(4.5, obs(new_alive=False))
        self.assertEqual(h.failure, Failure.BOOT_FAILED)

    def test_noticed_expects_at_least_one_worker(self):
        h = self._makeNoticed(expected_workers=0)
        self.assertEqual(h.expected_workers, 1)

    def test_noticed_handover_adopts_on_old_master_exit(self):
        h = self._makeNoticed()
        self.assertTrue(h.old_master_exited(5.0, new_alive=True))


class SecondsTests(HandoverTestBase):

    def test_seconds_runs_with_the_clock_while_pending(self):
        h = self._makeBooting(now=2.0)
        self.assertEqual(h.seconds(3.5), 1.5)
        self.assertEqual(h.seconds(7.0), 5.0)

    def test_seconds_stops_at_the_end_of_the_handover(self):
        h = self._makeRetiring()
        h.old_master_exited(2.5, new_alive=True)
        self.assertEqual(h.seconds(100.0), 2.5)

    def test_seconds_of_a_failed_handover_stops_at_the_failure(self):
        h = self._makeBooting()
        h.step(10.2, obs())
        self.assertEqual(h.seconds(50.0), 10.2)

    def test_seconds_is_never_negative(self):
        h = self._makeOne(now=10.0)
        self.assertEqual(h.seconds(9.0), 0.0)



OLD_WORKERS = frozenset({101, 102})


def back(workers=OLD_WORKERS, ready=OLD_WORKERS, readable=True, **kw):
    """Rolling back: the old master's workers, and which are ready."""
    kw.setdefault('new_alive', True)
    return obs(new_pid=NEW, new_workers=WORKERS, old_workers=frozenset(workers),
               old_ready=frozenset(ready), old_readiness=readable, **kw)


class StandbyTests(HandoverTestBase):
    """standby > 0: the old generation waits, stopped, for a rollback."""

    def _makeStandby(self, standby=60.0, overlap=0.0):
        """USR2 at 0, every new worker ready at 1: standby from 1."""
        from supervisor_unicorn.supervisord.handover import Action, Phase
        h = self._getTargetClass().begin('web', OLD, 0.0, boot_timeout=10.0,
                                         retire_timeout=5.0, expected_workers=2,
                                         overlap=overlap, standby=standby)
        h.step(0.0, obs(can_reexec=True))
        self.assertEqual(h.step(1.0, loading(ready=WORKERS)),
                         [] if overlap else [Action.STANDBY_OLD])
        if overlap:
            self.assertEqual(h.step(1.0 + overlap, loading(ready=WORKERS)),
                             [Action.STANDBY_OLD])
        self.assertEqual(h.phase, Phase.STANDBY)
        return h

    def test_ready_new_generation_puts_the_old_one_on_standby_and_answers_done(self):
        h = self._makeStandby()
        self.assertEqual(h.standby_at, 1.0)
        self.assertTrue(h.answered)
        self.assertFalse(h.finished)
        self.assertEqual(h.hot_restart_seconds(30.0), 1.0)

    def test_standby_follows_the_overlap(self):
        h = self._makeStandby(overlap=4.0)
        self.assertEqual(h.standby_at, 5.0)

    def test_the_window_ends_with_the_retirement_of_the_stopped_master(self):
        from supervisor_unicorn.supervisord.handover import Action, Phase
        h = self._makeStandby(standby=60.0)
        self.assertEqual(h.step(60.9, loading(ready=WORKERS)), [])
        self.assertEqual(h.step(61.0, loading(ready=WORKERS)), [Action.RETIRE_STANDBY])
        self.assertEqual(h.phase, Phase.RETIRING)
        self.assertTrue(h.old_master_exited(61.5, True))
        self.assertEqual((h.phase, h.new_pid), (Phase.DONE, NEW))

    def test_the_window_is_not_boot_time(self):
        h = self._makeStandby(standby=60.0)
        self.assertEqual(h.step(30.0, loading(ready=WORKERS)), [])   # > boot_timeout

    def test_rollback_continues_the_old_master_then_retires_the_new_once_ready(self):
        from supervisor_unicorn.supervisord.handover import Action, Phase
        h = self._makeStandby()
        self.assertEqual(h.rollback(10.0), [Action.RESUME_OLD])
        self.assertEqual(h.phase, Phase.ROLLING_BACK)
        self.assertEqual(h.step(10.05, back(workers=(), ready=())), [])
        self.assertEqual(h.step(10.1, back(ready={101})), [])
        self.assertEqual(h.step(10.2, back()), [Action.RETIRE_NEW])
        self.assertEqual(h.old_ready_at, 10.2)
        self.assertEqual(h.step(10.3, back()), [])          # the new one finishing
        self.assertEqual(h.step(10.4, back(new_alive=False)), [])
        self.assertEqual(h.phase, Phase.ROLLED_BACK)
        self.assertTrue(h.finished)
        self.assertAlmostEqual(h.rollback_seconds(99.0), 0.4)
        self.assertEqual(h.rollback_cause, '')

    def test_rollback_is_only_possible_from_standby(self):
        h = self._makeBooting()
        self.assertEqual(h.rollback(1.0), [])
        h = self._makeRetiring()
        self.assertEqual(h.rollback(3.0), [])

    def test_unreadable_old_workers_are_ready_after_settle(self):
        from supervisor_unicorn.supervisord.handover import Action
        h = self._makeStandby()
        h.rollback(10.0)
        self.assertEqual(h.step(10.1, back(ready=(), readable=False)), [])
        self.assertEqual(h.step(10.5, back(ready=(), readable=False)), [])
        self.assertEqual(h.step(10.6, back(ready=(), readable=False)), [Action.RETIRE_NEW])

    def test_a_new_master_that_outstays_its_retirement_is_killed(self):
        from supervisor_unicorn.supervisord.handover import Action
        h = self._makeStandby()
        h.rollback(10.0)
        h.step(10.2, back())
        self.assertEqual(h.step(15.1, back()), [])
        self.assertEqual(h.step(15.3, back()), [Action.KILL_NEW])

    def test_the_new_master_dying_in_the_window_rolls_back_by_itself(self):
        from supervisor_unicorn.supervisord.handover import Action, Phase
        h = self._makeStandby()
        self.assertEqual(h.step(5.0, obs(new_pid=NEW, new_alive=False)),
                         [Action.RESUME_OLD])
        self.assertEqual((h.phase, h.rollback_cause),
                         (Phase.ROLLING_BACK, 'new master pid %d died' % NEW))
        # its orphaned workers are retired once the old ones serve
        self.assertEqual(h.step(5.1, back(new_alive=False)), [Action.RETIRE_NEW])
        self.assertEqual(h.step(5.2, back(new_alive=False)), [])
        self.assertEqual(h.phase, Phase.ROLLED_BACK)

    def test_new_workers_that_keep_failing_to_load_roll_back(self):
        from supervisor_unicorn.supervisord.handover import Action, Phase
        h = self._makeStandby()
        h.step(2.0, loading({201, 203}, ready={201}))
        h.step(3.0, loading({201, 204}, ready={201}))
        h.step(4.0, loading({201, 205}, ready={201}))
        self.assertEqual(h.step(5.0, loading({201, 206}, ready={201})),
                         [Action.RESUME_OLD])
        self.assertEqual(h.phase, Phase.ROLLING_BACK)
        self.assertIn('keep failing to load', h.rollback_cause)

    def test_old_workers_never_ready_and_the_new_master_gone_ends_the_rollback(self):
        from supervisor_unicorn.supervisord.handover import Phase
        h = self._makeStandby()
        h.step(5.0, obs(new_pid=NEW, new_alive=False))
        self.assertEqual(h.step(14.0, back(ready=(), new_alive=False)), [])
        self.assertEqual(h.phase, Phase.ROLLING_BACK)
        h.step(15.1, back(ready=(), new_alive=False))
        self.assertEqual(h.phase, Phase.ROLLED_BACK)

    def test_stop_during_standby_is_a_stop(self):
        from supervisor_unicorn.supervisord.handover import Failure, Phase
        h = self._makeStandby()
        self.assertEqual(h.step(5.0, loading(ready=WORKERS, stopping=True)), [])
        self.assertEqual(h.phase, Phase.STOPPING)
        self.assertTrue(h.old_master_exited(5.5, True))
        self.assertEqual(h.failure, Failure.STOPPED)

    def test_old_master_dying_in_the_window_adopts_the_new_one(self):
        from supervisor_unicorn.supervisord.handover import Phase
        h = self._makeStandby()
        self.assertTrue(h.old_master_exited(5.0, True))
        self.assertEqual(h.phase, Phase.DONE)

    def test_a_noticed_usr2_gets_the_standby_too(self):
        from supervisor_unicorn.supervisord.handover import Action
        h = self._getTargetClass().noticed('web', OLD, NEW, 0.0, 10.0, 5.0,
                                           expected_workers=2, standby=30.0)
        self.assertEqual(h.step(2.0, loading(ready=WORKERS)), [Action.STANDBY_OLD])


if __name__ == '__main__':
    unittest.main()


def loading(workers=WORKERS, ready=(), **kw):
    """The new master's workers, with readiness observed: `ready` have loaded."""
    return up(workers, readiness=True, ready_workers=frozenset(ready), **kw)


class ReadinessTests(HandoverTestBase):
    """Ready is observed: every new worker has loaded the app; no settle."""

    def test_loading_workers_are_waited_for_however_long_they_stay_up(self):
        from supervisor_unicorn.supervisord.handover import Phase
        h = self._makeBooting()
        for t in (0.5, 2.0, 5.0, 9.9):
            self.assertEqual(h.step(t, loading()), [])
        self.assertEqual(h.phase, Phase.LOADING)
        self.assertEqual((h.workers, h.workers_ready), (2, 0))

    def test_the_old_master_is_retired_as_soon_as_every_new_worker_is_ready(self):
        from supervisor_unicorn.supervisord.handover import Action, Phase
        h = self._makeBooting()
        self.assertEqual(h.step(3.0, loading(ready={201})), [])
        self.assertEqual((h.phase, h.workers, h.workers_ready), (Phase.LOADING, 2, 1))
        self.assertEqual(h.step(3.05, loading(ready=WORKERS)), [Action.RETIRE_OLD])
        self.assertEqual((h.phase, h.ready_at, h.retire_at), (Phase.RETIRING, 3.05, 3.05))

    def test_ready_workers_fewer_than_expected_are_not_enough(self):
        h = self._makeBooting()
        self.assertEqual(h.step(3.0, loading({201}, ready={201})), [])
        self.assertEqual(h.step(4.0, loading({201}, ready={201})), [])

    def test_a_settle_started_by_the_time_rule_does_not_carry_over(self):
        from supervisor_unicorn.supervisord.handover import Action
        h = self._makeBooting()
        self.assertEqual(h.step(1.0, up()), [])              # evidence unreadable
        self.assertEqual(h.step(1.2, loading()), [])         # readable: loading
        self.assertEqual(h.step(1.8, up()), [])              # unreadable again
        self.assertEqual(h.step(2.4, up()), [Action.RETIRE_OLD])

    def test_boot_timeout_still_applies_while_workers_load(self):
        from supervisor_unicorn.supervisord.handover import Action, Failure, Phase
        h = self._makeBooting()
        h.step(5.0, loading())
        self.assertEqual(h.step(10.5, loading()), [Action.KILL_NEW])
        self.assertEqual((h.phase, h.failure), (Phase.ABORTING, Failure.TIMEOUT))

    def test_three_workers_dying_before_ready_kill_the_new_generation(self):
        from supervisor_unicorn.supervisord.handover import Action, Failure, Phase
        h = self._makeBooting()
        self.assertEqual(h.step(1.0, loading({201, 202})), [])
        self.assertEqual(h.step(1.5, loading({203, 202})), [])      # 201 died loading
        self.assertEqual(h.load_failures, 1)
        self.assertEqual(h.step(2.0, loading({203, 204})), [])      # 202 too
        self.assertEqual(h.step(2.5, loading({205, 204})), [Action.KILL_NEW])
        self.assertEqual((h.phase, h.failure, h.load_failures),
                         (Phase.ABORTING, Failure.LOAD_FAILED, 3))
        # once the new generation is gone, the failure is final
        self.assertEqual(h.step(2.6, obs(new_pid=NEW, new_alive=False)), [])
        self.assertEqual((h.phase, h.failure), (Phase.FAILED, Failure.LOAD_FAILED))

    def test_a_worker_gone_after_it_was_ready_is_not_a_load_failure(self):
        h = self._makeBooting(expected_workers=3)
        h.step(1.0, loading({201, 202, 203}, ready={201}))
        h.step(1.5, loading({202, 203, 204}))
        self.assertEqual(h.load_failures, 0)

    def test_load_failures_are_counted_only_from_readable_evidence(self):
        h = self._makeBooting()
        h.step(1.0, up({201, 202}))
        h.step(1.5, up({203, 204}))
        self.assertEqual(h.load_failures, 0)

    def test_failures_late_in_a_long_load_count_the_same(self):
        from supervisor_unicorn.supervisord.handover import Action, Failure
        self.boot_timeout = 120.0
        h = self._makeBooting()
        h.step(1.0, loading({201, 202}))
        h.step(21.0, loading({203, 204}))          # both died after 20 s of loading
        self.assertEqual(h.step(41.0, loading({205, 206})), [Action.KILL_NEW])
        self.assertEqual(h.failure, Failure.LOAD_FAILED)

    def test_overlap_keeps_the_old_master_serving_after_ready(self):
        from supervisor_unicorn.supervisord.handover import Action, Phase
        h = self._getTargetClass().begin('web', OLD, 0.0, boot_timeout=5.0,
                                         retire_timeout=5.0, expected_workers=2, overlap=4.0)
        h.step(0.0, obs(can_reexec=True))
        self.assertEqual(h.step(3.0, loading(ready=WORKERS)), [])
        self.assertEqual((h.phase, h.ready_at), (Phase.OVERLAP, 3.0))
        # the overlap is not boot time: boot_timeout does not cut it short
        self.assertEqual(h.step(6.9, loading(ready=WORKERS)), [])
        self.assertEqual(h.step(7.01, loading(ready=WORKERS)), [Action.RETIRE_OLD])
        self.assertEqual(h.phase, Phase.RETIRING)

    def test_the_new_master_dying_during_the_overlap_is_a_failed_boot(self):
        from supervisor_unicorn.supervisord.handover import Failure, Phase
        h = self._getTargetClass().begin('web', OLD, 0.0, boot_timeout=10.0,
                                         retire_timeout=5.0, expected_workers=2, overlap=4.0)
        h.step(0.0, obs(can_reexec=True))
        h.step(1.0, loading(ready=WORKERS))
        h.step(2.0, obs(new_pid=NEW, new_alive=False))
        self.assertEqual((h.phase, h.failure), (Phase.FAILED, Failure.BOOT_FAILED))

    def test_a_noticed_usr2_waits_for_readiness_too(self):
        from supervisor_unicorn.supervisord.handover import Action
        h = self._getTargetClass().noticed('web', OLD, NEW, 0.0, 10.0, 5.0,
                                           expected_workers=2)
        self.assertEqual(h.step(2.0, loading(ready={201})), [])
        self.assertEqual(h.step(2.1, loading(ready=WORKERS)), [Action.RETIRE_OLD])

    def test_seconds_count_the_load_from_the_request(self):
        h = self._makeBooting(now=0.0)
        h.step(3.2, loading(ready=WORKERS))
        h.old_master_exited(3.4, True)
        self.assertEqual(h.seconds(99.0), 3.4)

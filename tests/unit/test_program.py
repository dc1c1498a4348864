"""Program: a program's state, changed only through its own methods."""
import unittest

from supervisor_unicorn.common.config import ProgramSpec
from supervisor_unicorn.supervisord.handover import Failure, Handover, Phase
from supervisor_unicorn.supervisord.procs import ProcId
from supervisor_unicorn.supervisord.program import Program
from supervisor_unicorn.supervisord.trust import Problem, Refused

OLD, NEW = ProcId(100, 900.0), ProcId(200, 1000.0)


def spec(pidfile='/x.pid', server='unicorn'):
    return ProgramSpec('web', server, pidfile, 60.0)


class ProgramTests(unittest.TestCase):

    def setUp(self):
        self.program = Program(spec())

    def test_a_new_master_pid_forgets_what_was_known_of_the_last_one(self):
        p = self.program
        p.know_master(100, lambda pid: OLD)
        p.family[101] = ProcId(101, 901.0)
        p.pidfile_seen['/x.pid'] = 1
        p.know_master(100, lambda pid: self.fail('the same master is not read again'))
        self.assertEqual((p.master, p.pgid), (OLD, 100))
        p.know_master(300, lambda pid: ProcId(300, 5.0))
        self.assertEqual((p.master.pid, p.pgid, p.family, p.pidfile_seen), (300, 300, {}, {}))

    def test_begin_clears_the_last_hot_restart_and_hands_back_what_was_read(self):
        p = self.program
        p.evidence_of = {201, 202}
        p.note_reexec(NEW)
        p.first_time_pidfile_problem(('/x.pid', 200, Refused.NOT_SEEN))
        p.judge_unnamed(200)
        p.first_time_unreadable('no fds')
        self.assertEqual(p.begin(OLD, {101, 102}), {201, 202})
        self.assertEqual((p.old, p.new, p.workers_before, p.reexec, p.reexec_seen),
                         (OLD, None, {101, 102}, {}, False))
        self.assertEqual((p.pidfile_problems_said, p.unnamed_judged,
                          p.evidence_problems_said), (set(), set(), set()))

    def test_each_kind_of_message_is_said_once_on_its_own(self):
        p = self.program
        self.assertTrue(p.first_time_pidfile_problem(('/x.pid', 200, Refused.TOO_OLD)))
        self.assertFalse(p.first_time_pidfile_problem(('/x.pid', 200, Refused.TOO_OLD)))
        self.assertTrue(p.first_time_unreadable('why'))
        self.assertFalse(p.first_time_unreadable('why'))

    def test_only_a_child_of_the_master_refused_for_good_is_remembered(self):
        p = self.program
        p.family[200] = NEW
        self.assertFalse(p.refuse_child(200, Problem(Refused.NO_WORKERS, 'none')))
        self.assertFalse(p.refuse_child(300, Problem(Refused.DAEMON, 'setsid')))
        self.assertTrue(p.refuse_child(200, Problem(Refused.DAEMON, 'setsid')))
        p.forget_gone_refusals(lambda ident: False)
        self.assertEqual(p.refused, {})

    def test_a_finished_hot_restart_tracks_the_new_master(self):
        p = self.program
        p.begin(OLD, ())
        p.found_new(NEW)
        h = Handover.begin('web', 100, 0.0, 60, 10)
        h.phase = Phase.DONE
        p.take_over(h)
        p.finish(h)
        self.assertEqual((p.handover, p.last, p.master, p.old, p.restarts, p.failure),
                         (None, h, NEW, None, 1, ('', False)))

    def test_a_failure_is_kept_as_data(self):
        h = Handover.begin('web', 100, 0.0, 60, 10)
        h.phase, h.failure = Phase.FAILED, Failure.BOOT_FAILED
        self.program.finish(h)
        self.assertEqual(self.program.failure, ('BOOT_FAILED', True))

    def test_new_workers_are_read_in_turns_and_ready_ones_are_skipped(self):
        p = self.program
        children = [ProcId(pid, 1.0) for pid in (201, 202, 203)]
        self.assertEqual([c.pid for c in p.next_turn(children, 2)], [201, 202])
        p.saw_ready(201)
        self.assertEqual([c.pid for c in p.next_turn(children, 2)], [203, 202])

    def test_another_pidfile_forgets_what_was_said_about_the_old_one(self):
        p = self.program
        p.first_time_unreadable('why')
        p.judged_observable(False)
        p.respec(spec(pidfile='/y.pid'))
        self.assertIsNone(p.observable)
        self.assertTrue(p.first_time_unreadable('why'))


if __name__ == '__main__':
    unittest.main()

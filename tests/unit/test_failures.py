"""The words of a failed hot restart (failures.py), for the Fault and the log."""
import unittest

from supervisor_unicorn.common.faults import Faults
from supervisor_unicorn.supervisord.failures import failure_text
from supervisor_unicorn.supervisord.handover import Failure, Handover


def failed(failure, new_pid=201):
    h = Handover.begin('web', 100, 0.0, 60, 10)
    h.new_pid, h.failure = new_pid, failure
    return h


class FailureTextTests(unittest.TestCase):

    def test_still_serving_is_said_exactly_when_the_old_master_serves(self):
        # the listener decides on that phrase
        for failure in Failure:
            with self.subTest(failure=failure):
                _, text = failure_text(failed(failure))
                self.assertEqual('still serving' in text, failure.still_serving)

    def test_a_failed_boot_names_both_masters(self):
        self.assertEqual(failure_text(failed(Failure.BOOT_FAILED)),
                         (Faults.FAILED, 'new master failed to boot (pid 201 exited); '
                                         'pid 100 still serving'))

    def test_not_ready_says_why_usr2_waited(self):
        h = failed(Failure.NOT_READY, new_pid=None)
        self.assertEqual(failure_text(h, 'it does not catch USR2')[1],
                         'master pid 100 could not re-exec within boot_timeout (60s): '
                         'it does not catch USR2')
        self.assertTrue(failure_text(h)[1].endswith(': it was not ready for USR2'))

    def test_a_stop_or_an_exit_is_abnormal_termination(self):
        self.assertEqual(failure_text(failed(Failure.STOPPED)),
                         (Faults.ABNORMAL_TERMINATION,
                          'web was stopped during the hot restart'))


if __name__ == '__main__':
    unittest.main()

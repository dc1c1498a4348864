"""Unit tests for supervisor_unicorn.listener.decision: the rule that picks a
cold restart over backing off after a failed hot restart, from data only.
"""

import unittest

from supervisor.xmlrpc import Faults

from supervisor_unicorn.common.faults import Faults as UnicornFaults


class NeedsColdRestartTests(unittest.TestCase):

    def callFUT(self, code, hot):
        from supervisor_unicorn.listener.decision import needs_cold_restart
        return needs_cold_restart(code, hot)

    def test_no_master_serving_by_the_faults_code_means_a_cold_restart(self):
        for code in (Faults.NOT_RUNNING, Faults.ABNORMAL_TERMINATION, UnicornFaults.UNSUPPORTED):
            with self.subTest(code=code):
                self.assertTrue(self.callFUT(code, None))

    def test_a_failure_with_the_old_master_serving_is_no_cold_restart(self):
        for failure in ('BOOT_FAILED', 'TIMEOUT', 'LOAD_FAILED', 'NOT_ADOPTED'):
            with self.subTest(failure=failure):
                self.assertFalse(self.callFUT(Faults.FAILED, {'failure': failure,
                                                              'still_serving': True}))

    def test_a_failure_with_nothing_serving_is_a_cold_restart(self):
        for failure in ('NO_REEXEC', 'NOT_READY', 'OLD_EXITED'):
            with self.subTest(failure=failure):
                self.assertTrue(self.callFUT(None, {'failure': failure, 'still_serving': False}))

    def test_no_hot_restart_possible_is_a_cold_restart_even_while_serving(self):
        for failure in ('UNSUPPORTED', 'NOT_RUNNING'):
            with self.subTest(failure=failure):
                self.assertTrue(self.callFUT(Faults.FAILED, {'failure': failure,
                                                             'still_serving': True}))

    def test_unknown_data_is_taken_as_still_serving(self):
        self.assertFalse(self.callFUT(Faults.FAILED, None))
        self.assertFalse(self.callFUT(Faults.FAILED, {}))
        self.assertFalse(self.callFUT(None, {'failure': '', 'still_serving': False}))


class DecisionTests(unittest.TestCase):

    def test_the_default_decision_is_nothing_to_do_and_nothing_to_say(self):
        from supervisor_unicorn.listener.decision import NOTHING, Decision, Remedy
        self.assertEqual(Decision(), NOTHING)
        self.assertEqual((NOTHING.action, NOTHING.lines), (Remedy.NOTHING, ()))

    def test_decide_keeps_the_lines_in_order(self):
        from supervisor_unicorn.listener.decision import Remedy, decide
        d = decide(Remedy.COLD_RESTART, 'one', 'two', pid=100)
        self.assertEqual((d.action, d.lines, d.pid), (Remedy.COLD_RESTART, ('one', 'two'), 100))


if __name__ == '__main__':
    unittest.main()

"""The /proc budget: a token bucket on an injected clock."""
import unittest


class Clock:
    def __init__(self, now=100.0):
        self.now = now

    def __call__(self):
        return self.now


class BudgetTests(unittest.TestCase):

    def _makeOne(self, rate=1000, burst=500):
        from supervisor_unicorn.supervisord.budget import Budget
        self.clock = Clock()
        return Budget(rate=rate, burst=burst, clock=self.clock)

    def test_a_new_budget_is_full(self):
        budget = self._makeOne()
        self.assertTrue(budget.take(500))
        self.assertFalse(budget.take(1))

    def test_what_is_not_there_is_not_spent(self):
        budget = self._makeOne()
        self.assertTrue(budget.take(400))
        self.assertFalse(budget.take(200))
        self.assertTrue(budget.take(100))

    def test_it_refills_at_its_rate_up_to_its_burst(self):
        budget = self._makeOne()
        budget.take(500)
        self.clock.now += 0.25
        self.assertFalse(budget.take(251))
        self.assertTrue(budget.take(250))
        self.clock.now += 60
        self.assertTrue(budget.take(500))
        self.assertFalse(budget.take(1))

    def test_work_done_anyway_is_paid_back_before_more_is_allowed(self):
        budget = self._makeOne()
        budget.spend(1500)              # a pass over /proc that had to be made
        self.clock.now += 1.0
        self.assertFalse(budget.take(1))
        self.clock.now += 0.5
        self.assertTrue(budget.take(400))

    def test_a_clock_going_back_refills_nothing(self):
        budget = self._makeOne()
        budget.take(500)
        self.clock.now -= 10
        self.assertFalse(budget.take(1))

    def test_the_shared_budget_keeps_the_plugin_under_5_percent_of_a_core(self):
        from supervisor_unicorn.supervisord import budget
        self.assertLessEqual(budget.SHARED.rate, 50_000)     # microseconds a second
        self.assertLessEqual(budget.SHARED.burst, 50_000)    # the most in one poll
        self.assertGreaterEqual(budget.SHARED.burst, budget.MAX_FDS * budget.COST_FD)

"""wait_for: the deadline-bound poll the demo, tests and benches synchronize on."""
import unittest

from supervisor_unicorn.tools.waiting import wait_for


class WaitForTests(unittest.TestCase):

    def test_returns_the_first_truthy_value_of_the_predicate(self):
        answers = iter([None, 0, '', 'ready'])
        self.assertEqual(wait_for(lambda: next(answers), 5, 'x', interval=0), 'ready')

    def test_an_exception_in_the_predicate_counts_as_not_yet(self):
        calls = []

        def predicate():
            calls.append(1)
            if len(calls) < 3:
                raise OSError('not there yet')
            return 42
        self.assertEqual(wait_for(predicate, 5, 'x', interval=0), 42)
        self.assertEqual(len(calls), 3)

    def test_times_out_naming_what_it_waited_for(self):
        with self.assertRaises(TimeoutError) as e:
            wait_for(lambda: False, 0.05, 'the moon to answer', interval=0.01)
        self.assertEqual(str(e.exception), 'timed out after 0.1s waiting for the moon to answer')


if __name__ == '__main__':
    unittest.main()

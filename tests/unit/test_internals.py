"""internals.Glue: supervisord as the core sees it, on supervisor's own dummies."""
import signal
import unittest

from supervisor.tests.base import DummyOptions, DummyPConfig, PopulatedDummySupervisor


def make_supervisord(options=None):
    options = options or DummyOptions()
    config = DummyPConfig(options, 'web', '/usr/bin/unicorn', stopsignal=signal.SIGQUIT)
    return PopulatedDummySupervisor(options, 'web', config)


class CheckInternalsTests(unittest.TestCase):

    def test_a_supervisord_without_pidhistory_is_refused_naming_it(self):
        from supervisor_unicorn.supervisord.internals import InternalsError, check_internals
        supervisord = make_supervisord()
        del supervisord.options.pidhistory
        with self.assertRaises(InternalsError) as cm:
            check_internals(supervisord)
        self.assertIn('pidhistory', str(cm.exception))


class GlueTests(unittest.TestCase):

    def setUp(self):
        from supervisor_unicorn.supervisord.internals import Glue
        self.supervisord = make_supervisord()
        self.glue = Glue(self.supervisord)
        self.process = self.supervisord.process_groups['web'].processes['web']

    def test_guarded_logs_a_failure_once_a_minute_and_returns_the_default(self):
        def boom():
            raise ValueError('x')
        self.assertEqual(self.glue.guarded(boom, default=7), 7)
        self.assertIsNone(self.glue.guarded(boom))
        critical = [line for line in self.supervisord.options.logger.data
                    if 'internal error, supervisord carries on: boom failed' in line]
        self.assertEqual(len(critical), 1)

    def test_adopt_moves_the_tracked_pid_to_the_new_master(self):
        self.process.pid = 100
        self.supervisord.options.pidhistory[100] = self.process
        self.glue.adopt('web', 100, 200)
        self.assertEqual(self.process.pid, 200)
        self.assertEqual(self.supervisord.options.pidhistory, {200: self.process})
        self.assertEqual(self.glue.program_of(200, ['web']), 'web')

    def test_a_name_supervisord_does_not_have_is_a_problem(self):
        self.assertIsNone(self.glue.program_problem('web'))
        self.assertEqual(self.glue.program_problem('api'),
                         "no program 'api' in the supervisord configuration")


if __name__ == '__main__':
    unittest.main()

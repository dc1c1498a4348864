"""The core's log lines name the program."""
import unittest

from supervisor.tests.base import DummyLogger

from supervisor_unicorn.supervisord.log import Log


class LogTests(unittest.TestCase):

    def test_lines_name_the_program_after_the_prefix(self):
        logger = DummyLogger()
        log = Log(logger)
        log.info('web', 'hot restarted')
        log.warn('api', 'hot restart failed')
        self.assertEqual(logger.data, ['hot_restart: web: hot restarted',
                                       'hot_restart: api: hot restart failed'])


if __name__ == '__main__':
    unittest.main()

"""Unit tests for supervisor_unicorn.listener.main: the console script's
exit statuses and how it reaches supervisord from its environment.
"""

import contextlib
import io
import os
import unittest
from unittest import mock

from listener_fakes import WEB


class MainTests(unittest.TestCase):

    def main(self, argv, env):
        from supervisor_unicorn.listener.main import main
        err = io.StringIO()
        with mock.patch.dict(os.environ, env, clear=True), \
                contextlib.redirect_stderr(err):
            status = main(argv)
        return status, err.getvalue()

    def test_main_without_supervisor_server_url_exits_2_with_the_message(self):
        status, err = self.main(['--check', f'web={WEB}'], {})
        self.assertEqual(status, 2)
        self.assertEqual(err, 'supervisor-unicorn-listener: must be run as a supervisor'
                              ' event listener (SUPERVISOR_SERVER_URL is not set)\n')

    def test_main_with_a_bad_argument_exits_2_with_usage_and_the_argument_name(self):
        status, err = self.main(['--check', 'web=gopher://x/'],
                                {'SUPERVISOR_SERVER_URL': 'unix:///tmp/none.sock'})
        self.assertEqual(status, 2)
        self.assertTrue(err.startswith('usage: supervisor-unicorn-listener'), err)
        self.assertIn('supervisor-unicorn-listener: error: argument --check:', err)

    def test_main_with_an_unusable_server_url_exits_2(self):
        status, err = self.main(['--check', f'web={WEB}'],
                                {'SUPERVISOR_SERVER_URL': 'ftp://nowhere'})
        self.assertEqual(status, 2)
        self.assertIn('Unknown protocol for serverurl ftp://nowhere', err)

    def test_main_passes_credentials_from_the_environment_to_the_transport(self):
        from supervisor_unicorn.listener import main as listener
        seen = {}

        class Stop(Exception):
            pass

        def fake_watcher(config, **kw):
            transport = kw['rpc']._ServerProxy__transport
            seen.update(user=transport.username, password=transport.password,
                        url=transport.serverurl)
            raise Stop
        with mock.patch.object(listener, 'HealthWatcher', fake_watcher), \
                self.assertRaises(Stop):
            self.main(['--check', f'web={WEB}'],
                      {'SUPERVISOR_SERVER_URL': 'unix:///tmp/s.sock',
                       'SUPERVISOR_USERNAME': 'ops', 'SUPERVISOR_PASSWORD': 'pw'})
        self.assertEqual(seen, {'user': 'ops', 'password': 'pw',
                                'url': 'unix:///tmp/s.sock'})


if __name__ == '__main__':
    unittest.main()

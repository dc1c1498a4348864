"""The server descriptions against the servers' own sources, as installed.

The descriptions (common/servers.py) encode how each server re-executes:
where the new master writes its pid and which signal stops a master
gracefully.  A server release that changes either must fail here, not in a
user's outage.  unicorn is Debian's package, gunicorn the venv's.
"""
import inspect
import os
import signal
import unittest

from supervisor_unicorn.common.servers import GUNICORN, SERVERS, UNICORN, ReadinessEvidence

UNICORN_SERVER = '/usr/lib/ruby/vendor_ruby/unicorn/http_server.rb'


class DescriptionTests(unittest.TestCase):

    def test_aliases_share_their_servers_description(self):
        self.assertIs(SERVERS['unicorn_rails'], UNICORN)
        self.assertIs(SERVERS['rainbows'], UNICORN)
        self.assertIs(SERVERS['gunicorn'], GUNICORN)
        self.assertEqual(set(SERVERS), {'unicorn', 'unicorn_rails', 'rainbows', 'gunicorn'})

    def test_each_description_is_complete(self):
        for name, server in SERVERS.items():
            with self.subTest(name):
                self.assertIn(server.retire_signal, (signal.SIGQUIT, signal.SIGTERM))
                self.assertIn('', server.new_pid_suffixes)   # the promoted new master
                self.assertIsInstance(server.readiness, ReadinessEvidence)
                self.assertGreater(server.settle, 0)
                self.assertIn('-D', server.daemon_hint)
                if server.unpromoted_suffix:
                    self.assertIn(server.unpromoted_suffix, server.new_pid_suffixes)

    def test_new_master_pidfiles_follow_the_suffixes_in_order(self):
        self.assertEqual(GUNICORN.new_master_pidfiles('/run/web.pid'),
                         ('/run/web.pid.2', '/run/web.pid'))
        self.assertEqual(UNICORN.new_master_pidfiles('/run/web.pid'), ('/run/web.pid',))


class UnicornSourceTests(unittest.TestCase):
    """Debian's unicorn: QUIT is graceful, TERM immediate; the old master's
    pidfile becomes PIDFILE.oldbin so the new one can write PIDFILE."""

    def setUp(self):
        with open(UNICORN_SERVER) as f:
            self.source = f.read()

    def test_quit_is_the_graceful_stop(self):
        self.assertEqual(UNICORN.retire_signal, signal.SIGQUIT)
        self.assertIn('when :QUIT # graceful shutdown', self.source)
        self.assertIn('when :TERM, :INT # immediate shutdown', self.source)

    def test_the_new_master_writes_the_configured_pidfile(self):
        self.assertEqual(UNICORN.new_pid_suffixes, ('',))
        self.assertEqual(UNICORN.unpromoted_suffix, '')
        self.assertIn('old_pid = "#{pid}.oldbin"', self.source)


class GunicornSourceTests(unittest.TestCase):
    """gunicorn: TERM is graceful and QUIT the fast stop; a new master writes
    PIDFILE.2 until it promotes itself and renames it to PIDFILE."""

    def setUp(self):
        from gunicorn.arbiter import Arbiter
        self.arbiter = Arbiter

    def test_term_is_the_graceful_stop_and_quit_the_fast_one(self):
        self.assertEqual(GUNICORN.retire_signal, signal.SIGTERM)
        self.assertNotIn('stop(False)', inspect.getsource(self.arbiter.handle_term))
        self.assertIn('stop(False)', inspect.getsource(self.arbiter.handle_quit))

    def test_an_unpromoted_new_master_writes_pidfile_dot_2(self):
        self.assertEqual(GUNICORN.unpromoted_suffix, '.2')
        self.assertEqual(GUNICORN.new_pid_suffixes, ('.2', ''))
        self.assertIn('pidname += ".2"', inspect.getsource(self.arbiter.start))
        self.assertIn('self.pidfile.rename(self.cfg.pidfile)',
                      inspect.getsource(self.arbiter.maybe_promote_master))


if __name__ == '__main__':
    unittest.main()

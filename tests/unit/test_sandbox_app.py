"""sandbox_app.App: the files, [program:x] section and `programs` line of one
program of the private supervisord.  Running it is the integration tests'."""
import os
import socket
import tempfile
import unittest

from supervisor_unicorn.tools import sandbox_app
from supervisor_unicorn.tools.sandbox_app import APP_DIR, App, free_port


class AppTests(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)

    def make_one(self, server='unicorn', **kw):
        app = App(name='web', server=server, dir=self.tmp.name, port=8123, **kw)
        app.prepare()
        return app

    def test_deploy_replaces_the_version_file_whole(self):
        app = self.make_one()
        app.deploy('v1')
        app.deploy('v2')
        with open(os.path.join(app.dir, 'VERSION')) as f:
            self.assertEqual(f.read(), 'v2\n')
        self.assertEqual(sorted(os.listdir(app.dir)), ['VERSION'])

    def test_unicorn_runs_the_demo_app_and_stops_with_quit(self):
        section = self.make_one().section()
        self.assertTrue(section.startswith('[program:web]\n'))
        self.assertIn('command = unicorn -c %s %s' % (os.path.join(APP_DIR, 'unicorn.rb'),
                                                      os.path.join(APP_DIR, 'config.ru')),
                      section)
        self.assertIn('stopsignal = QUIT', section)
        self.assertIn('directory = %s' % APP_DIR, section)
        self.assertIn('PIDFILE="%s"' % os.path.join(self.tmp.name, 'web.pid'), section)

    def test_gunicorn_stops_with_term_and_uses_setproctitle_unless_told_not_to(self):
        section = self.make_one('gunicorn').section()
        self.assertIn('stopsignal = TERM', section)
        self.assertIn('wsgi_app:application', section)
        self.assertNotIn('PYTHONPATH', section)
        self.assertIn('PYTHONPATH="%s"' % os.path.join(APP_DIR, sandbox_app.NO_SETPROCTITLE),
                      self.make_one('gunicorn', setproctitle=False).section())

    def test_an_asgi_worker_class_serves_the_asgi_app(self):
        app = self.make_one('gunicorn', worker_class='uvicorn_worker.UvicornWorker')
        self.assertIn('asgi_app:application', app.command())

    def test_unicorn_rails_runs_in_the_app_directory_with_a_rails_layout(self):
        app = self.make_one('unicorn_rails')
        self.assertEqual(app.command(), 'unicorn_rails -c config/unicorn.rb -E production')
        self.assertTrue(os.path.exists(os.path.join(app.dir, 'config', 'unicorn.rb')))
        self.assertTrue(os.path.exists(os.path.join(app.dir, 'config.ru')))
        self.assertIn('directory = %s' % app.dir, app.section())

    def test_extra_program_keys_win_and_options_end_the_programs_line(self):
        app = self.make_one(program={'stopwaitsecs': '2'}, options='boot_timeout=5')
        self.assertIn('stopwaitsecs = 2\n', app.section())
        self.assertEqual(app.programs_line().split(),
                         ['web', 'unicorn', app.pidfile, 'boot_timeout=5'])

    def test_log_is_empty_before_the_program_wrote_one(self):
        self.assertEqual(self.make_one().log(), '')


class FreePortTests(unittest.TestCase):

    def test_the_port_can_be_listened_on(self):
        port = free_port()
        with socket.socket() as s:
            s.bind(('127.0.0.1', port))


if __name__ == '__main__':
    unittest.main()

"""supervisor-unicorn-demo-app: what it prepares and what it execs.

The exec itself (gunicorn keeps the pid, and re-execs its own command on
USR2) is tested under supervisord in tests/integration/test_examples.py."""
import io
import os
import stat
import sys
import tempfile
import unittest
from unittest import mock

from supervisor_unicorn.tools import demo_app_server as das


def executable(path: str) -> str:
    with open(path, 'w') as f:
        f.write('#!/bin/sh\n')
    os.chmod(path, stat.S_IRWXU)
    return path


class DemoAppServerTests(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        self.root = self.tmp.name
        cwd = os.getcwd()
        self.addCleanup(os.chdir, cwd)
        env = dict(os.environ)
        self.addCleanup(lambda: (os.environ.clear(), os.environ.update(env)))

    def test_defaults_work_as_copied(self):
        args = das.parse_args([])
        self.assertEqual((args.dir, args.port, args.workers),
                         ('/var/lib/supervisor-unicorn-demo', 8090, 2))

    def test_prepare_creates_the_directory_and_a_first_version_only(self):
        app = os.path.join(self.root, 'a', 'b')
        das.prepare(app)
        with open(os.path.join(app, 'VERSION')) as f:
            self.assertEqual(f.read(), 'v1\n')
        # a deployed VERSION is the code: never overwritten
        with open(os.path.join(app, 'VERSION'), 'w') as f:
            f.write('v7\n')
        das.prepare(app)
        with open(os.path.join(app, 'VERSION')) as f:
            self.assertEqual(f.read(), 'v7\n')
        self.assertEqual(sorted(os.listdir(app)), ['VERSION'])

    def test_gunicorn_beside_the_python_wins_over_path(self):
        venv_bin = os.path.join(self.root, 'venv', 'bin')
        path_bin = os.path.join(self.root, 'usr', 'bin')
        os.makedirs(venv_bin)
        os.makedirs(path_bin)
        on_path = executable(os.path.join(path_bin, 'gunicorn'))
        with mock.patch.object(sys, 'executable', os.path.join(venv_bin, 'python')), \
                mock.patch.dict(os.environ, {'PATH': path_bin}):
            self.assertEqual(das.find_gunicorn(), on_path)
            beside = executable(os.path.join(venv_bin, 'gunicorn'))
            self.assertEqual(das.find_gunicorn(), beside)
            os.remove(on_path)
            os.remove(beside)
            self.assertIsNone(das.find_gunicorn())

    def test_command_runs_the_packaged_demo_app_with_its_settings(self):
        args = das.parse_args(['--dir', 'rel', '--port', '9', '--workers', '3'])
        os.chdir(self.root)
        argv, env = das.command('/x/gunicorn', args)
        conf = os.path.join(das.DEMO_APP_DIR, 'gunicorn.conf.py')
        self.assertEqual(argv, ['/x/gunicorn', '-c', conf, '--pythonpath', das.DEMO_APP_DIR,
                                'wsgi_app:application'])
        self.assertTrue(os.path.exists(conf))
        self.assertTrue(os.path.exists(os.path.join(das.DEMO_APP_DIR, 'wsgi_app.py')))
        app = os.path.join(os.path.realpath(self.root), 'rel')
        self.assertEqual(env, {'APP_DIR': app, 'PORT': '9', 'PIDFILE': app + '/demo.pid',
                               'WORKERS': '3', 'PRELOAD': '1', 'WORKER_CLASS': 'sync'})

    def test_main_becomes_gunicorn_in_the_app_directory(self):
        app = os.path.join(self.root, 'app')
        with mock.patch.object(das.os, 'execv') as execv:
            das.main(['--dir', app, '--gunicorn', '/x/gunicorn'])
        path, argv = execv.call_args[0]
        self.assertEqual((path, argv[0], argv[-1]),
                         ('/x/gunicorn', '/x/gunicorn', 'wsgi_app:application'))
        # gunicorn's re-exec inherits these: every generation gets the same
        self.assertEqual(os.environ['APP_DIR'], app)
        self.assertEqual(os.environ['PIDFILE'], os.path.join(app, 'demo.pid'))
        self.assertEqual(os.path.realpath(os.getcwd()), os.path.realpath(app))
        self.assertTrue(os.path.exists(os.path.join(app, 'VERSION')))

    def test_no_gunicorn_or_no_directory_is_one_line_and_exit_2(self):
        err = io.StringIO()
        with mock.patch.object(das, 'find_gunicorn', return_value=None), \
                mock.patch.object(sys, 'stderr', err), \
                mock.patch.object(das.os, 'execv') as execv:
            self.assertEqual(das.main(['--dir', os.path.join(self.root, 'app')]), 2)
        self.assertIn('gunicorn not found', err.getvalue())
        self.assertIn('apt install gunicorn', err.getvalue())
        blocker = os.path.join(self.root, 'file')
        open(blocker, 'w').close()
        err = io.StringIO()
        with mock.patch.object(sys, 'stderr', err), \
                mock.patch.object(das.os, 'execv') as execv:
            code = das.main(['--dir', os.path.join(blocker, 'app'), '--gunicorn', '/x/g'])
        self.assertEqual(code, 2)
        self.assertIn('cannot prepare the app directory', err.getvalue())
        self.assertEqual(len(err.getvalue().splitlines()), 1)
        execv.assert_not_called()


if __name__ == '__main__':
    unittest.main()

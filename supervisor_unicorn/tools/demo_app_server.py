"""supervisor-unicorn-demo-app: the packaged demo app under gunicorn, in the foreground.

conf.d-examples/demo.conf runs it as a supervisord program, so the examples
point at an app that runs as copied.  It prepares an app directory (created if
missing, with a VERSION file: the "deployed code") and then *becomes* gunicorn
(os.execv): no wrapper process stays between supervisord and the master, so
the pid supervisord spawned is the master's, and gunicorn's USR2 re-exec
re-runs gunicorn itself (its own sys.executable and argv), not this script.

The settings reach gunicorn as the environment the demo app's gunicorn.conf.py
and wsgi_app.py read (PORT, PIDFILE, WORKERS, APP_DIR): a re-exec inherits the
environment, so every generation gets the same ones.
"""
import argparse
import os
import shutil
import sys
from typing import Dict, List, Optional, Tuple

# the demo app's files, shipped as package data (wsgi_app.py, gunicorn.conf.py)
DEMO_APP_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                            'demo_app')
DEFAULT_DIR = '/var/lib/supervisor-unicorn-demo'
DEFAULT_PORT = 8090
PIDFILE_NAME = 'demo.pid'
FIRST_VERSION = 'v1'


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog='supervisor-unicorn-demo-app',
        description='Run the demo app of supervisor_unicorn under gunicorn, in the '
                    'foreground (exec: gunicorn keeps this pid), for '
                    'conf.d-examples/demo.conf. The app answers "VERSION MASTER_PID" '
                    'on 127.0.0.1:PORT.',
        epilog='Deploy: write a new DIR/VERSION, then `supervisorctl hot_restart demo`. '
               'VERSION "broken" fails at load, "slow:N" loads for N seconds. '
               '`touch DIR/SICK`: the generation now serving answers 500 until the '
               'next (hot) restart.')
    parser.add_argument('--dir', default=DEFAULT_DIR,
                        help='app directory: VERSION, SICK and the pidfile %s '
                             '(created if missing; default: %s)' % (PIDFILE_NAME, DEFAULT_DIR))
    parser.add_argument('--port', type=int, default=DEFAULT_PORT,
                        help='loopback port (default: %d)' % DEFAULT_PORT)
    parser.add_argument('--workers', type=int, default=2,
                        help='gunicorn workers (default: 2)')
    parser.add_argument('--gunicorn', default=None,
                        help='gunicorn executable (default: the one next to this '
                             "Python, %s, else gunicorn on PATH)"
                             % os.path.join(os.path.dirname(sys.executable), 'gunicorn'))
    return parser.parse_args(argv)


def find_gunicorn() -> Optional[str]:
    """The venv's gunicorn first (pip installs both there), else PATH's
    (Debian's /usr/bin/gunicorn beside the .deb).  Absolute, so that gunicorn's
    sys.argv[0], which its re-exec runs again, does not depend on PATH."""
    beside = os.path.join(os.path.dirname(sys.executable), 'gunicorn')
    if os.access(beside, os.X_OK):
        return beside
    found = shutil.which('gunicorn')
    return os.path.abspath(found) if found else None


def prepare(app_dir: str) -> None:
    """The app directory and a first VERSION; an existing VERSION is the
    deployed code and is left alone."""
    os.makedirs(app_dir, exist_ok=True)
    version = os.path.join(app_dir, 'VERSION')
    if not os.path.exists(version):
        tmp = version + '.tmp'
        with open(tmp, 'w') as f:
            f.write(FIRST_VERSION + '\n')
        os.replace(tmp, version)


def command(gunicorn: str, args: argparse.Namespace) -> Tuple[List[str], Dict[str, str]]:
    """gunicorn's argv and the environment entries it needs."""
    app_dir = os.path.abspath(args.dir)
    argv = [gunicorn, '-c', os.path.join(DEMO_APP_DIR, 'gunicorn.conf.py'),
            '--pythonpath', DEMO_APP_DIR, 'wsgi_app:application']
    env = {'APP_DIR': app_dir, 'PORT': str(args.port),
           'PIDFILE': os.path.join(app_dir, PIDFILE_NAME),
           'WORKERS': str(args.workers), 'PRELOAD': '1', 'WORKER_CLASS': 'sync'}
    return argv, env


def fail(message: str) -> int:
    # stderr: supervisord keeps it (`supervisorctl tail demo stderr`)
    sys.stderr.write('supervisor-unicorn-demo-app: %s\n' % message)
    return 2


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    gunicorn = args.gunicorn or find_gunicorn()
    if not gunicorn:
        return fail('gunicorn not found next to %s or on PATH: `apt install gunicorn` '
                    '(Debian\'s supervisord), `/opt/supervisor/bin/pip install gunicorn` '
                    '(a venv), or give --gunicorn' % sys.executable)
    try:
        prepare(args.dir)
    except OSError as e:
        return fail('cannot prepare the app directory %s (%s): create it, writable by '
                    'the program\'s user, or give --dir' % (args.dir, e.strerror or e))
    new_argv, env = command(gunicorn, args)
    os.environ.update(env)
    # gunicorn records its cwd for the re-exec: the app directory, not wherever
    # supervisord was started
    os.chdir(env['APP_DIR'])
    os.environ['PWD'] = env['APP_DIR']
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execv(gunicorn, new_argv)
    except OSError as e:
        return fail('cannot run %s: %s' % (gunicorn, e.strerror or e))


if __name__ == '__main__':
    sys.exit(main())

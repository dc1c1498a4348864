"""One hot-restartable program of a private supervisord (sandbox.py): the
demo app under unicorn, unicorn_rails or gunicorn, its files, its
[program:x] section and `programs` line, and deploys of new versions.
"""
import os
import shutil
import socket
import sys
from dataclasses import dataclass, field
from typing import Dict, Optional

APP_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'demo_app')
RACKUP = os.path.join(APP_DIR, 'config.ru')
# put first on a gunicorn program's PYTHONPATH, it makes `import setproctitle`
# fail, as if the package were not installed (App.setproctitle = False)
NO_SETPROCTITLE = 'no_setproctitle'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def find_executable(name: str) -> Optional[str]:
    here = os.path.join(os.path.dirname(sys.executable), name)
    return here if os.path.exists(here) else shutil.which(name)


@dataclass
class App:
    """One hot-restartable program and its files."""
    name: str
    server: str                  # SERVER of its `programs` line: unicorn, unicorn_rails, gunicorn
    dir: str
    port: int
    hook: bool = True            # unicorn: the before_fork QUIT idiom
    workers: int = 2
    preload: bool = True
    # gunicorn: sync, gthread, gevent, or uvicorn_worker.UvicornWorker (ASGI app)
    worker_class: str = 'sync'
    options: str = ''            # extra `programs` options, e.g. 'boot_timeout=5'
    program: Dict[str, str] = field(default_factory=dict)   # extra [program:x] keys
    # gunicorn: whether `setproctitle` may be imported (it rewrites the
    # master's /proc/PID/cmdline and environ), as where it is installed, which
    # is the usual case; False hides it, installed or not
    setproctitle: bool = True
    # unicorn: `unicorn -c u.rb` run in the app's directory, a short command
    # line (unicorn_rails always runs as `unicorn_rails -c config/unicorn.rb
    # -E production` in the app's directory, a Rails app's layout)
    short_command: bool = False
    demo_dir: str = APP_DIR      # where the demo app's files are read from
    gunicorn: Optional[str] = None   # gunicorn executable (default: ours)

    @property
    def is_unicorn(self) -> bool:
        return self.server in ('unicorn', 'unicorn_rails')

    def prepare(self) -> None:
        """Copy the files a command run in the app's directory reads."""
        if self.server == 'unicorn_rails':
            os.makedirs(os.path.join(self.dir, 'config'), exist_ok=True)
            shutil.copy(os.path.join(self.demo_dir, 'unicorn.rb'),
                        os.path.join(self.dir, 'config', 'unicorn.rb'))
            shutil.copy(os.path.join(self.demo_dir, 'config.ru'), self.dir)
        elif self.short_command:
            shutil.copy(os.path.join(self.demo_dir, 'unicorn.rb'),
                        os.path.join(self.dir, 'u.rb'))
            shutil.copy(os.path.join(self.demo_dir, 'config.ru'), self.dir)
            # unicorn's launcher as `u`, run as `ruby u -c u.rb`: its master
            # title ("u master -c u.rb") is longer than that command line, so
            # Ruby's $0= overwrites the environment that follows it in memory
            # (the re-exec runs `u` again: found on PATH)
            shutil.copy(shutil.which('unicorn'), os.path.join(self.dir, 'u'))
            os.chmod(os.path.join(self.dir, 'u'), 0o755)

    @property
    def pidfile(self) -> str:
        return os.path.join(self.dir, '%s.pid' % self.name)

    def deploy(self, version: str) -> None:
        tmp = os.path.join(self.dir, 'VERSION.tmp')
        with open(tmp, 'w') as f:
            f.write(version + '\n')
        os.replace(tmp, os.path.join(self.dir, 'VERSION'))

    def make_sick(self) -> None:
        """The generation now serving answers 500; a (hot) restart heals it."""
        path = os.path.join(self.dir, 'SICK')
        with open(path, 'w') as f:
            f.write('sick\n')
        os.utime(path)

    def command(self) -> str:
        if self.server == 'unicorn_rails':
            return 'unicorn_rails -c config/unicorn.rb -E production'
        if self.short_command:
            return 'ruby u -c u.rb'
        if self.server == 'unicorn':
            return 'unicorn -c %s %s' % (os.path.join(self.demo_dir, 'unicorn.rb'),
                                         os.path.join(self.demo_dir, 'config.ru'))
        module = 'asgi_app' if 'uvicorn' in self.worker_class.lower() else 'wsgi_app'
        return '%s -c %s %s:application' % (
            self.gunicorn or find_executable('gunicorn'),
            os.path.join(self.demo_dir, 'gunicorn.conf.py'), module)

    def environment(self) -> str:
        env = {'APP_DIR': self.dir, 'PORT': self.port, 'PIDFILE': self.pidfile,
               'WORKERS': self.workers, 'PRELOAD': int(self.preload),
               'UNICORN_HOOK': int(self.hook), 'HOME': self.dir,
               'WORKER_CLASS': self.worker_class}
        if not self.is_unicorn and not self.setproctitle:
            env['PYTHONPATH'] = os.path.join(self.demo_dir, NO_SETPROCTITLE)
        if self.short_command:
            env['PATH'] = '%s:%%(ENV_PATH)s' % self.dir
        return ','.join('%s="%s"' % (k, v) for k, v in env.items())

    def section(self) -> str:
        in_app_dir = self.server == 'unicorn_rails' or self.short_command
        keys = {
            'command': self.command(),
            'directory': self.dir if in_app_dir else self.demo_dir,
            'environment': self.environment(),
            'autostart': 'true', 'autorestart': 'true',
            'startsecs': '1', 'startretries': '3',
            'stopsignal': 'QUIT' if self.is_unicorn else 'TERM',
            'stopwaitsecs': '10',
            'stdout_logfile': os.path.join(self.dir, 'stdout.log'),
            'stderr_logfile': os.path.join(self.dir, 'stderr.log'),
        }
        keys.update(self.program)
        body = '\n'.join('%s = %s' % kv for kv in keys.items())
        return '[program:%s]\n%s\n' % (self.name, body)

    def programs_line(self) -> str:
        return '    %s %s %s %s' % (self.name, self.server, self.pidfile, self.options)

    def log(self, stream: str = 'stderr') -> str:
        try:
            with open(os.path.join(self.dir, '%s.log' % stream)) as f:
                return f.read()
        except FileNotFoundError:
            return ''

"""A private supervisord in a temporary directory, for the demo, tests and benches.

It writes a supervisord.conf with the plugin and its programs (sandbox_app.App),
starts ``python -m supervisor.supervisord -n``, talks to it over its own unix
socket, runs the real ``supervisorctl``, and on close stops it and kills only
the processes it started (by pid and recorded process group), never by name.
"""
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import xmlrpc.client
from typing import Dict, List, Optional

import psutil
from supervisor.xmlrpc import SupervisorTransport

from supervisor_unicorn.tools.loadgen import get
from supervisor_unicorn.tools.sandbox_app import App, find_executable, free_port
from supervisor_unicorn.tools.waiting import wait_for


def ns_pid(pid: int) -> int:
    """The pid of a host process as its own (innermost) pid namespace sees it."""
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith('NSpid:'):
                return int(line.split()[-1])
    return pid


class Supervisord:
    """A supervisord of our own: start(), rpc, ctl(), close()."""

    def __init__(self, root: Optional[str] = None, plugin: bool = True,
                 extra: str = '', inet_port: Optional[int] = None,
                 rpc_options: str = '', listener: str = '',
                 launcher: Optional[List[str]] = None, user: Optional[str] = None,
                 pid_namespace: bool = False, keep: bool = False):
        # AF_UNIX paths are limited to 107 bytes: keep the socket in a short dir
        self.sockdir = tempfile.mkdtemp(prefix='su-', dir='/tmp')
        self.root = root or tempfile.mkdtemp(prefix='supervisor_unicorn-')
        self._own_root = root is None
        self.keep = keep             # leave the temporary directory (logs, config)
        self.socket = os.path.join(self.sockdir, 's.sock')
        self.conf = os.path.join(self.root, 'supervisord.conf')
        self.logfile = os.path.join(self.root, 'supervisord.log')
        self.plugin = plugin
        self.extra = extra
        self.inet_port = inet_port
        self.rpc_options = rpc_options
        self.listener = listener
        # how supervisord is run; a test may wrap it (e.g. to inject failures)
        self.launcher = launcher or [sys.executable, '-m', 'supervisor.supervisord']
        # supervisord as PID 1 of a PID namespace of its own: the pids it
        # reports are that namespace's; info() and pid() give host pids
        self.pid_namespace = pid_namespace
        self._ns_pids: Dict[int, int] = {}
        if pid_namespace:
            self.launcher = ['unshare', '--pid', '--fork', '--mount-proc'] + self.launcher
        self.user = user             # run supervisord as this user (we are root)
        if user:
            pw = pwd.getpwnam(user)
            for d in (self.sockdir, self.root):
                os.chown(d, pw.pw_uid, pw.pw_gid)
        self.programs_extra = ''     # more `programs` lines (programs not in apps)
        self.env: Optional[Dict[str, str]] = None     # supervisord's; None: ours
        self.apps: Dict[str, App] = {}
        self.proc: Optional[subprocess.Popen] = None
        self.pgids = set()           # process groups of everything we spawned
        self.pids: Dict[int, float] = {}   # pid -> start time, as first seen

    # --- configuration -------------------------------------------------------

    def add_app(self, name: str, server: str, **kw) -> App:
        d = os.path.join(self.root, name)
        os.makedirs(d, exist_ok=True)
        app = App(name=name, server=server, dir=d, port=free_port(), **kw)
        app.prepare()
        app.deploy('v1')
        if self.user:
            pw = pwd.getpwnam(self.user)
            for path in [d] + [os.path.join(top, n) for top, dirs, files in os.walk(d)
                               for n in dirs + files]:
                os.chown(path, pw.pw_uid, pw.pw_gid)
        self.apps[name] = app
        return app

    def write_config(self) -> None:
        parts = ['[unix_http_server]\nfile = %s\n' % self.socket]
        if self.inet_port:
            parts.append('[inet_http_server]\nport = 127.0.0.1:%d\n' % self.inet_port)
        parts.append('[supervisord]\nlogfile = %s\npidfile = %s\nloglevel = info\n'
                     'nodaemon = true\nchildlogdir = %s\n'
                     % (self.logfile, os.path.join(self.root, 'supervisord.pid'), self.root))
        parts.append('[rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = '
                     'supervisor.rpcinterface:make_main_rpcinterface\n')
        parts.append('[supervisorctl]\nserverurl = unix://%s\n' % self.socket)
        if self.plugin:
            lines = '\n'.join([a.programs_line() for a in self.apps.values()] +
                              ([self.programs_extra] if self.programs_extra else []))
            parts.append('[rpcinterface:unicorn]\nsupervisor.rpcinterface_factory = '
                         'supervisor_unicorn.rpcinterface:make_unicorn_rpcinterface\n'
                         'programs =\n%s\n%s\n' % (lines, self.rpc_options))
            parts.append('[ctlplugin:unicorn]\nsupervisor.ctl_factory = '
                         'supervisor_unicorn.controllerplugin:make_unicorn_controllerplugin\n')
        for app in self.apps.values():
            parts.append(app.section())
        if self.listener:
            parts.append(self.listener)
        parts.append(self.extra)
        with open(self.conf, 'w') as f:
            f.write('\n'.join(parts))

    # --- running -------------------------------------------------------------

    def start(self, wait_running: bool = True, timeout: float = 30) -> 'Supervisord':
        self.write_config()
        if getattr(self, 'stdio', None):
            self.stdio.close()       # started again (after a kill)
        self.stdio = open(os.path.join(self.root, 'supervisord.stdio'), 'ab')
        as_user = {'user': self.user, 'group': _group_of(self.user),
                   'extra_groups': []} if self.user else {}
        self.proc = subprocess.Popen(
            self.launcher + ['-n', '-c', self.conf],
            stdout=self.stdio, stderr=subprocess.STDOUT, start_new_session=True,
            env=self.env, **as_user)
        self.pgids.add(self.proc.pid)
        wait_for(lambda: self.proc.poll() is not None or self._ping(), timeout,
                 'supervisord to answer on %s' % self.socket)
        if self.proc.poll() is not None:
            raise RuntimeError('supervisord exited with %s:\n%s'
                               % (self.proc.returncode, self.output()))
        if wait_running:
            for name in self.apps:
                self.wait_state(name, 'RUNNING', timeout)
                self.wait_serving(name, timeout)
        return self

    def _ping(self) -> bool:
        try:
            return self.rpc.supervisor.getState()['statename'] == 'RUNNING'
        except (OSError, xmlrpc.client.Error):
            return False

    @property
    def rpc(self):
        return xmlrpc.client.ServerProxy(
            'http://127.0.0.1', transport=SupervisorTransport(None, None,
                                                              'unix://' + self.socket))

    def ctl(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run(
            [find_executable('supervisorctl') or 'supervisorctl', '-c', self.conf] + list(args),
            capture_output=True, text=True, timeout=timeout)

    def info(self, name: str) -> dict:
        info = self.rpc.supervisor.getProcessInfo(name)
        info['pid'] = self.host_pid(info['pid'])
        return info

    def main_pid(self) -> int:
        """supervisord's (host) pid: our child, or the child of `unshare`."""
        if not self.pid_namespace:
            return self.proc.pid
        kids = psutil.Process(self.proc.pid).children()
        if not kids:
            raise RuntimeError('supervisord is not running under unshare')
        return kids[0].pid

    def host_pid(self, pid: int) -> int:
        """A pid supervisord reports, as the host sees it (0 stays 0)."""
        if not self.pid_namespace or not pid:
            return pid
        for proc in self.family():
            try:
                if self.ns_pid(proc.pid) == pid:
                    return proc.pid
            except OSError:
                pass
        raise LookupError('no process of pid %d in supervisord\'s namespace' % pid)

    def ns_pid(self, pid: int) -> int:
        """A host pid as supervisord and its programs see it (remembered, so
        it is known after the process exited)."""
        if not self.pid_namespace:
            return pid
        if pid not in self._ns_pids:
            self._ns_pids[pid] = ns_pid(pid)
        return self._ns_pids[pid]

    def pid(self, name: str) -> int:
        pid = self.info(name)['pid']
        if pid:
            self._remember(pid)
        return pid

    def _remember(self, pid: int) -> None:
        if pid not in self.pids:
            try:
                self.pids[pid] = psutil.Process(pid).create_time()
            except psutil.Error:
                pass

    def wait_state(self, name: str, state: str, timeout: float = 30) -> dict:
        return wait_for(lambda: (lambda i: i if i['statename'] == state else None)(
            self.info(name)), timeout, '%s to be %s' % (name, state))

    def wait_serving(self, name: str, timeout: float = 30) -> str:
        app = self.apps[name]
        self.pid(name)
        return wait_for(lambda: (lambda r: r[1] if r[0] == 200 else None)(get(app.port)),
                        timeout, '%s to answer on port %d' % (name, app.port))

    def log(self) -> str:
        try:
            with open(self.logfile) as f:
                return f.read()
        except FileNotFoundError:
            return ''

    def output(self) -> str:
        try:
            with open(os.path.join(self.root, 'supervisord.stdio')) as f:
                return f.read()
        except FileNotFoundError:
            return ''

    def masters(self, name: str) -> List[int]:
        """Live masters of the app: processes of its process group that have
        children, or whose parent is outside the group (a master booting)."""
        pgid = os.getpgid(self.pid(name))
        group = {}
        for proc in self.family():
            try:
                if os.getpgid(proc.pid) == pgid:
                    group[proc.pid] = proc
            except OSError:
                pass
        out = []
        for pid, proc in group.items():
            try:
                has_children = any(c.pid in group for c in proc.children())
                if has_children or proc.ppid() not in group:
                    out.append(pid)
            except psutil.Error:
                pass
        return sorted(out)

    def _descendants(self):
        """(process, is_zombie) for every descendant of supervisord now."""
        try:
            procs = psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.Error:
            return []
        out = []
        for p in procs:
            try:
                out.append((p, p.status() == psutil.STATUS_ZOMBIE))
            except psutil.Error:
                pass
        return out

    def family(self) -> List[psutil.Process]:
        """Every live non-zombie descendant of supervisord (and remember it,
        to clean up by pid and process group)."""
        out = []
        for p, zombie in self._descendants():
            if not zombie:
                try:
                    self.pgids.add(os.getpgid(p.pid))
                except OSError:
                    continue
                self._remember(p.pid)
                out.append(p)
        return out

    def zombies(self) -> List[int]:
        return [p.pid for p, zombie in self._descendants() if zombie]

    @staticmethod
    def port_free(port: int) -> bool:
        """Nothing listens on the port (TIME_WAIT leftovers do not count)."""
        with socket.socket() as s:
            s.settimeout(1)
            return s.connect_ex(('127.0.0.1', port)) != 0

    def stop(self, timeout: float = 30) -> Optional[int]:
        """Shut supervisord down (SIGTERM); return its exit code."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.family()
        try:
            os.kill(self.main_pid(), signal.SIGTERM)
        except (OSError, RuntimeError, psutil.Error):
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def close(self) -> None:
        """Stop supervisord, then kill what is left of what we started."""
        try:
            if self.proc is not None and self.stop() is None:
                self.proc.kill()
                self.proc.wait(10)
        finally:
            self._kill_leftovers()
            if getattr(self, 'stdio', None):
                self.stdio.close()
            shutil.rmtree(self.sockdir, ignore_errors=True)
            if self._own_root and not self.keep:
                shutil.rmtree(self.root, ignore_errors=True)

    def _kill_leftovers(self) -> None:
        for pgid in self.pgids:
            try:
                os.killpg(pgid, signal.SIGKILL)
            except OSError:
                pass
        for pid, started in self.pids.items():
            try:
                # by pid and start time: a reused pid is someone else's
                proc = psutil.Process(pid)
                if proc.create_time() == started and proc.status() != psutil.STATUS_ZOMBIE:
                    proc.kill()
            except (psutil.Error, OSError):
                pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _group_of(user: str) -> int:
    return pwd.getpwnam(user).pw_gid

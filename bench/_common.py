"""Shared helpers of the bench scripts: machine description, statistics,
markdown tables, supervisord log timestamps, bare servers outside
supervisord, and a responsiveness probe of supervisord.

Not a test suite: every script prints figures and the targets they are held
against; a missed target is reported, never asserted.
"""
import argparse
import datetime
import json
import os
import platform
import re
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from importlib import metadata
from typing import Dict, Iterable, List, Optional

import psutil

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from supervisor_unicorn.tools import sandbox_app, waiting  # noqa: E402
from supervisor_unicorn.tools.loadgen import get  # noqa: E402

SERVERS = ('unicorn', 'gunicorn')


# --- command line ---------------------------------------------------------------

def parse_args(description: str, argv=None, extra=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=description)
    if extra:
        extra(p)
    p.add_argument('--quick', action='store_true',
                   help='fewer and shorter runs: a smoke run that proves the script works')
    p.add_argument('--no-machine', action='store_true',
                   help='do not print the machine description (run_all prints it once)')
    return p.parse_args(argv)


# --- machine ----------------------------------------------------------------------

def _cpu_model() -> str:
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.lower().startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or 'unknown'


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return 'not installed'


def _unicorn_version() -> str:
    try:
        out = subprocess.run(['unicorn', '-v'], capture_output=True, text=True, timeout=30)
        return (out.stdout or out.stderr).strip().split()[-1]
    except (OSError, subprocess.SubprocessError, IndexError):
        return 'not installed'


def machine() -> Dict[str, str]:
    load = os.getloadavg()
    mem = psutil.virtual_memory().total / 2 ** 30
    return {
        'nproc': str(len(os.sched_getaffinity(0))),
        'CPU': _cpu_model(),
        'memory': '%.1f GiB' % mem,
        'kernel': platform.release(),
        'Python': platform.python_version(),
        'supervisor': _version('supervisor'),
        'supervisor_unicorn': _version('supervisor_unicorn'),
        'unicorn': _unicorn_version(),
        'gunicorn': _version('gunicorn'),
        'load average at start': '%.2f %.2f %.2f' % load,
    }


def machine_table() -> str:
    return table(['machine', ''], [[k, v] for k, v in machine().items()])


def header(title: str, args: argparse.Namespace) -> None:
    print('## %s%s\n' % (title, ' (--quick)' if args.quick else ''))
    if not args.no_machine:
        print(machine_table())
        print()
    sys.stdout.flush()


# --- figures ----------------------------------------------------------------------

def median(xs: Iterable[float]) -> Optional[float]:
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt(x, digits: int = 3, unit: str = '') -> str:
    if x is None:
        return 'n/a'
    return ('%.*f' % (digits, x)) + unit


def table(head: List[str], rows: List[List[object]]) -> str:
    cells = [[str(c) for c in head]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(head))]
    line = lambda r: '| ' + ' | '.join(c.ljust(w) for c, w in zip(r, widths)) + ' |'
    out = [line(cells[0]), '|' + '|'.join('-' * (w + 2) for w in widths) + '|']
    out.extend(line(r) for r in cells[1:])
    return '\n'.join(out)


def verdict(ok: Optional[bool]) -> str:
    return 'n/a' if ok is None else ('met' if ok else 'MISSED')


def progress(text: str) -> None:
    """Progress goes to stderr; the tables alone go to stdout."""
    sys.stderr.write('[%s] %s\n' % (time.strftime('%H:%M:%S'), text))
    sys.stderr.flush()


# --- supervisord's log --------------------------------------------------------------

LOG_LINE = re.compile(r'^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3}) (\w+) (.*)$')


def log_events(text: str, pattern: str) -> List[tuple]:
    """(wall-clock time, message) of every log line whose message matches."""
    rx = re.compile(pattern)
    out = []
    for line in text.splitlines():
        m = LOG_LINE.match(line)
        if m and rx.search(m.group(4)):
            t = datetime.datetime.strptime(m.group(1), '%Y-%m-%d %H:%M:%S').timestamp()
            out.append((t + int(m.group(2)) / 1000.0, m.group(4)))
    return out


def wait_log(sd, pattern: str, after: float, timeout: float) -> float:
    """Wall time of the first log line matching `pattern` logged at or after
    `after` (minus the log's 1 ms resolution); reads the file only, so
    supervisord is not woken by it."""
    def found():
        for t, _ in log_events(sd.log(), pattern):
            if t >= after - 0.002:
                return t
        return None
    return waiting.wait_for(found, timeout, 'a log line matching %r' % pattern, 0.01)


# --- bare servers, outside supervisord ------------------------------------------------

PR_SET_CHILD_SUBREAPER = 36


def become_subreaper() -> bool:
    """Orphaned new masters of bare servers are re-parented to us, so we can
    time their exit with waitpid and reap them."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0


def app_env(app: sandbox_app.App) -> Dict[str, str]:
    """The environment supervisord gives the program (App.environment())."""
    env = dict(os.environ)
    env.update(re.findall(r'(\w+)="([^"]*)"', app.environment()))
    return env


class ExitWatch:
    """Time of a process's exit: waitpid in a thread when it is our child
    (also after re-parenting to us, a subreaper), else /proc polling."""

    def __init__(self, pid: int):
        self.pid = pid
        self.when: Optional[float] = None
        self.done = threading.Event()
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        try:
            os.waitpid(self.pid, 0)
        except ChildProcessError:
            deadline = time.monotonic() + 600
            while time.monotonic() < deadline:
                try:
                    if psutil.Process(self.pid).status() == psutil.STATUS_ZOMBIE:
                        break
                except psutil.NoSuchProcess:
                    break
                time.sleep(0.002)
        self.when = time.monotonic()
        self.done.set()


class BareServer:
    """unicorn or gunicorn run directly by the bench, as supervisord would run
    it (same command, directory and environment), in its own session."""

    def __init__(self, root: str, name: str, server: str, **kw):
        d = os.path.join(root, name)
        os.makedirs(d, exist_ok=True)
        self.app = sandbox_app.App(name=name, server=server, dir=d,
                                   port=sandbox_app.free_port(), **kw)
        self.app.deploy('v1')
        self.proc: Optional[subprocess.Popen] = None
        self.pgid: Optional[int] = None
        self.masters: List[int] = []
        self.steps: List[Dict[str, float]] = []   # per handover: seconds after USR2
        self.out = open(os.path.join(d, 'output.log'), 'ab')

    @property
    def master(self) -> int:
        return self.masters[-1]

    def start(self, timeout: float = 60) -> 'BareServer':
        self.proc = subprocess.Popen(
            shlex.split(self.app.command()), cwd=sandbox_app.APP_DIR, env=app_env(self.app),
            stdout=self.out, stderr=subprocess.STDOUT, start_new_session=True)
        self.pgid = self.proc.pid
        self.masters.append(self.proc.pid)
        self.wait_serving(self.proc.pid, timeout)
        self.wait_workers(self.proc.pid, timeout)
        return self

    def answer_pid(self) -> Optional[int]:
        try:
            status, body = get(self.app.port, timeout=5)
        except OSError:
            return None
        parts = body.split()
        return int(parts[1]) if status == 200 and len(parts) == 2 else None

    def wait_serving(self, master: int, timeout: float) -> None:
        waiting.wait_for(lambda: self.answer_pid() == master, timeout,
                         'bare %s master %d to answer' % (self.app.server, master), 0.005)

    def children(self, pid: int) -> List[int]:
        try:
            return [c.pid for c in psutil.Process(pid).children()
                    if c.status() != psutil.STATUS_ZOMBIE]
        except psutil.Error:
            return []

    def wait_workers(self, master: int, timeout: float) -> None:
        waiting.wait_for(lambda: len(self.children(master)) >= self.app.workers, timeout,
                         '%d workers of bare master %d' % (self.app.workers, master), 0.005)

    def _new_master(self, old: int, old_children: set) -> Optional[int]:
        for path in (self.app.pidfile + '.2', self.app.pidfile):
            pid = self._read(path)
            if pid and pid != old and pid not in old_children:
                return pid
        return None

    def loaded_workers(self, master: int, version: str, offset: int) -> List[int]:
        """Workers of `master` that wrote "app loaded: version=V pid=W" (the demo
        app's line, written once the app is loaded) after `offset` of the output."""
        with open(self.out.name, 'rb') as f:
            f.seek(offset)
            text = f.read().decode('utf-8', 'replace')
        pids = {int(p) for p in re.findall(r'app loaded: version=%s pid=(\d+)'
                                           % re.escape(version), text)}
        return [w for w in self.children(master) if w in pids]

    def handover(self, version: str, timeout: float = 60) -> float:
        """Deploy `version`, USR2 the master, and return the seconds until the
        old master has exited and the new one answers.

        unicorn (before_fork hook): the new master retires the old one itself.
        gunicorn never retires it: when the new master has all its workers the
        bench sends TERM, as a deploy script would.  Without preload_app (and,
        for unicorn, without the hook) the bench retires the old master as soon
        as every new worker has logged that it loaded the app."""
        old = self.master
        old_children = set(self.children(old))
        self.app.deploy(version)
        self.out.flush()
        offset = os.path.getsize(self.out.name)
        watch = ExitWatch(old)
        t0 = time.monotonic()
        os.kill(old, signal.SIGUSR2)
        new = waiting.wait_for(lambda: self._new_master(old, old_children), timeout,
                               'the new bare master', 0.002)
        steps = {'new master seen': time.monotonic() - t0}
        if not self.app.preload:
            waiting.wait_for(lambda: len(self.loaded_workers(new, version, offset))
                             >= self.app.workers, timeout,
                             'the new workers of bare master %d to load the app' % new, 0.002)
            steps['retire sent'] = time.monotonic() - t0
            os.kill(old, signal.SIGQUIT if self.app.server == 'unicorn' else signal.SIGTERM)
        elif self.app.server == 'gunicorn':
            self.wait_workers(new, timeout)
            steps['retire sent'] = time.monotonic() - t0
            os.kill(old, signal.SIGTERM)
        if not watch.done.wait(timeout):
            raise TimeoutError('bare old master %d did not exit' % old)
        steps['old master exited'] = watch.when - t0
        self.wait_serving(new, timeout)
        t1 = time.monotonic()
        self.steps.append(steps)
        self.masters.append(new)
        self.wait_workers(new, timeout)
        if self.app.server == 'gunicorn':
            # it refuses the next USR2 until it has promoted itself (not timed)
            waiting.wait_for(lambda: self._read(self.app.pidfile) == new and
                             not os.path.exists(self.app.pidfile + '.2'), timeout,
                             'bare gunicorn master %d to promote itself' % new)
        return t1 - t0

    @staticmethod
    def _read(path: str) -> Optional[int]:
        try:
            with open(path) as f:
                return int(f.read().strip() or 0)
        except (OSError, ValueError):
            return None

    def close(self) -> None:
        family = set(self.masters)
        if self.pgid:
            for p in psutil.process_iter():
                try:
                    if os.getpgid(p.pid) == self.pgid:
                        family.add(p.pid)
                except OSError:
                    pass
            try:
                os.killpg(self.pgid, signal.SIGKILL)
            except OSError:
                pass
        for pid in family:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        # reap what was our child or was re-parented to us (bounded)
        deadline = time.monotonic() + 5
        pending = set(family)
        while pending and time.monotonic() < deadline:
            for pid in list(pending):
                try:
                    done, _ = os.waitpid(pid, os.WNOHANG)
                    if done:
                        pending.discard(pid)
                except ChildProcessError:
                    if not psutil.pid_exists(pid):
                        pending.discard(pid)
                    else:
                        try:
                            if psutil.Process(pid).ppid() != os.getpid():
                                pending.discard(pid)    # someone else's to reap
                        except psutil.Error:
                            pending.discard(pid)
            time.sleep(0.02)
        if self.proc is not None and self.proc.returncode is None:
            self.proc.returncode = -9    # reaped above
        self.out.close()


# --- supervisord responsiveness --------------------------------------------------------

PROBE = r'''
import json, sys, threading, time, xmlrpc.client
from supervisor.xmlrpc import SupervisorTransport
sock, interval, limit = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
stop = threading.Event()
threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
lat, errors, start = [], 0, time.monotonic()
while not stop.is_set() and time.monotonic() - start < limit:
    rpc = xmlrpc.client.ServerProxy('http://127.0.0.1',
                                    transport=SupervisorTransport(None, None, 'unix://' + sock))
    t0 = time.monotonic()
    try:
        rpc.supervisor.getState()
        lat.append((t0 - start, time.monotonic() - t0))
    except Exception:
        errors += 1
    stop.wait(max(0.0, interval - (time.monotonic() - t0)))
print(json.dumps({'samples': lat, 'errors': errors}))
'''


class Probe:
    """A separate process calling supervisor.getState() every `interval`
    seconds and recording each call's latency: a main loop stuck for X seconds
    shows as a call taking about X seconds.  Its own process, so the bench's
    load generator threads do not delay it."""

    def __init__(self, socket_path: str, interval: float = 0.05, limit: float = 1800):
        self.proc = subprocess.Popen(
            [sys.executable, '-c', PROBE, socket_path, str(interval), str(limit)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.samples: List[tuple] = []
        self.errors = 0

    def stop(self) -> 'Probe':
        out, _ = self.proc.communicate('', timeout=60)
        data = json.loads(out)
        self.samples = [tuple(s) for s in data['samples']]
        self.errors = data['errors']
        return self

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    @property
    def latencies(self) -> List[float]:
        return [s[1] for s in self.samples]

    def summary(self) -> Dict[str, Optional[float]]:
        lat = sorted(self.latencies)
        if not lat:
            return {'n': 0, 'median': None, 'p99': None, 'max': None}
        return {'n': len(lat), 'median': statistics.median(lat),
                'p99': lat[min(len(lat) - 1, int(len(lat) * 0.99))], 'max': lat[-1]}


def supervisord_cpu_seconds(pid: int) -> float:
    t = psutil.Process(pid).cpu_times()
    return t.user + t.system


def rpc_call_seconds(sd, fn) -> tuple:
    """(result, seconds) of one XML-RPC call over a fresh connection."""
    rpc = sd.rpc
    t0 = time.monotonic()
    result = fn(rpc)
    return result, time.monotonic() - t0


def one_master(sd, name: str, timeout: float = 60) -> int:
    return waiting.wait_for(lambda: (lambda m: m[0] if len(m) == 1 else None)(
        sd.masters(name)), timeout, 'exactly one master of %s' % name)


def ready(sd, name: str, timeout: float = 60) -> int:
    """RUNNING, one master with all its workers, answering (gunicorn: promoted,
    its pidfile renamed from PIDFILE.2), so a hot restart starts at once.
    Checked as one snapshot, retried, since a master may be replaced meanwhile."""
    app = sd.apps[name]

    def snapshot():
        info = sd.info(name)
        if info['statename'] != 'RUNNING':
            return None
        master = info['pid']
        if sd.masters(name) != [master]:
            return None
        workers = [ch for ch in psutil.Process(master).children()
                   if ch.status() != psutil.STATUS_ZOMBIE]
        if len(workers) < app.workers:
            return None
        if app.server == 'gunicorn' and (
                BareServer._read(app.pidfile) != master or
                os.path.exists(app.pidfile + '.2')):
            return None    # not promoted yet: it would refuse the next USR2 for now
        status, body = get(app.port, timeout=5)
        if status != 200 or body.split()[1] != str(master):
            return None
        return master
    return waiting.wait_for(snapshot, timeout, '%s to be RUNNING with one master, its '
                            'workers, and answering' % name, 0.05)


def port_in_use(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(('127.0.0.1', port)) == 0

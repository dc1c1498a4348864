"""Has a worker loaded the app?  Read from the server's own evidence in /proc.

A worker forked without preload_app loads the app after the fork, which can
take seconds and can fail; until then it accepts nothing.  Each server shows
the moment it is done, measured on this machine (bench/README.md, README
"Readiness"):

- gunicorn (>= 22): every worker has a heartbeat file, an unlinked
  ``wgunicorn-*`` temp file it holds open.  The master creates it before the
  fork, so its mtime equals its ctime (wall clock).  The worker's notify()
  runs only in its request loop, after load_wsgi(), and sets the mtime to a
  time.monotonic() value: seconds since boot, far from the ctime.  gunicorn
  < 22 toggled the file's mode between 0 and 1 instead (from mkstemp's 0600).
  Both are read with os.stat('/proc/PID/fd/N'), which needs the permission to
  look into the worker's fds (root, or the same user).
- unicorn 5-6: a worker ignores USR1 and USR2 from just after the fork until
  the app is built, then traps USR1 right before its accept loop; USR2 stays
  ignored.  Just after the fork, before that, it still has the master's
  handlers (both caught).  /proc/PID/status is readable by anyone.

Nothing here signals or blocks: a few small reads per worker.
"""
import enum
import os
from typing import Dict, Optional, Tuple

SIGUSR1_BIT = 1 << (10 - 1)
SIGUSR2_BIT = 1 << (12 - 1)
HEARTBEAT_PREFIX = 'wgunicorn-'
# a notify()ed heartbeat has a monotonic mtime: seconds since boot, not a date
MONOTONIC_GAP = 1.0


class Evidence(str, enum.Enum):
    READY = 'ready'          # in its request loop with the app loaded
    LOADING = 'loading'      # forked, the app not loaded yet
    UNKNOWN = 'unknown'      # the evidence cannot be read or is not understood


def gunicorn_heartbeat(mode: int, mtime: float, ctime: float) -> Evidence:
    """What a worker's heartbeat file says (its st_mode, st_mtime, st_ctime)."""
    if mode & 0o777 in (0o000, 0o001):
        return Evidence.READY            # gunicorn < 22: fchmod spinner
    if abs(ctime - mtime) > MONOTONIC_GAP:
        return Evidence.READY            # gunicorn >= 22: utime(monotonic)
    return Evidence.LOADING


def unicorn_signals(status: str) -> Evidence:
    """What a worker's /proc/PID/status text says about it."""
    masks: Dict[str, int] = {}
    for line in status.splitlines():
        key, _, value = line.partition(':')
        if key in ('SigIgn', 'SigCgt'):
            try:
                masks[key] = int(value.strip(), 16)
            except ValueError:
                return Evidence.UNKNOWN
    if len(masks) != 2:
        return Evidence.UNKNOWN
    ignored, caught = masks['SigIgn'], masks['SigCgt']
    if ignored & SIGUSR1_BIT:
        return Evidence.LOADING          # building the app
    if caught & SIGUSR1_BIT and ignored & SIGUSR2_BIT:
        return Evidence.READY            # in the accept loop
    if caught & SIGUSR1_BIT and caught & SIGUSR2_BIT:
        return Evidence.LOADING          # just forked: still the master's handlers
    return Evidence.UNKNOWN


class Reader:
    """Evidence of workers, with each gunicorn worker's heartbeat fd
    remembered (pid -> path) so that its fds are listed once."""

    def __init__(self, proc_root: str = '/proc'):
        self.proc_root = proc_root
        self._heartbeats: Dict[int, str] = {}

    def read(self, server: str, pid: int) -> Tuple[Evidence, str]:
        """(evidence, why it is UNKNOWN or '') for worker pid of `server`."""
        if server == 'unicorn':
            return self._unicorn(pid)
        if server == 'gunicorn':
            return self._gunicorn(pid)
        return Evidence.UNKNOWN, 'no readiness evidence known for %s' % server

    def forget(self, pids) -> None:
        """Drop what is remembered of these pids (gone, or no longer looked at)."""
        for pid in pids:
            self._heartbeats.pop(pid, None)

    def _unicorn(self, pid):
        path = '%s/%d/status' % (self.proc_root, pid)
        try:
            with open(path) as f:
                status = f.read()
        except FileNotFoundError:
            return Evidence.UNKNOWN, 'pid %d is gone' % pid
        except OSError as exc:
            return Evidence.UNKNOWN, 'cannot read %s (%s)' % (path, exc.strerror or exc)
        evidence = unicorn_signals(status)
        if evidence == Evidence.UNKNOWN:
            return evidence, ('worker pid %d does not handle USR1/USR2 as unicorn 5-6 '
                              'workers do' % pid)
        return evidence, ''

    def _gunicorn(self, pid):
        path = self._heartbeats.get(pid)
        if path is None:
            path, why = self._find_heartbeat(pid)
            if path is None:
                return Evidence.UNKNOWN, why
        try:
            st = os.stat(path)
        except OSError as exc:
            self._heartbeats.pop(pid, None)
            return Evidence.UNKNOWN, 'cannot stat %s (%s)' % (path, exc.strerror or exc)
        self._heartbeats[pid] = path
        return gunicorn_heartbeat(st.st_mode, st.st_mtime, st.st_ctime), ''

    def _find_heartbeat(self, pid) -> Tuple[Optional[str], str]:
        fd_dir = '%s/%d/fd' % (self.proc_root, pid)
        try:
            fds = os.listdir(fd_dir)
        except OSError as exc:
            return None, 'cannot list %s (%s)' % (fd_dir, exc.strerror or exc)
        for fd in fds:
            try:
                target = os.readlink('%s/%s' % (fd_dir, fd))
            except OSError:
                continue
            if os.path.basename(target).startswith(HEARTBEAT_PREFIX):
                return '%s/%s' % (fd_dir, fd), ''
        return None, 'worker pid %d holds no %s* heartbeat file' % (pid, HEARTBEAT_PREFIX)

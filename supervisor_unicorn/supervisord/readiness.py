"""Has a worker loaded the app?  Read from the server's own evidence in /proc.

A worker forked without preload_app loads the app after the fork, which can
take seconds and can fail; until then it accepts nothing (README "Readiness"):

- gunicorn: an unlinked ``wgunicorn-*`` heartbeat file each worker holds
  open; the worker's first notify(), in its request loop, sets its mtime to a
  monotonic value far from its ctime (gunicorn < 22 toggled its mode instead).
- unicorn 5-6: a worker ignores USR1 until the app is built, then traps USR1
  right before its accept loop, USR2 staying ignored.

A few small reads per worker, on the shared /proc budget (budget.py); a worker
with more than MAX_FDS fds or MAX_HEARTBEATS heartbeat files is "over the
limit", which the caller turns into the time rule.
"""
import enum
import os
import stat
from typing import Dict, List, Optional, Tuple

from supervisor_unicorn.common.servers import ReadinessEvidence
from supervisor_unicorn.supervisord import budget

SIGUSR1_BIT = 1 << (10 - 1)
SIGUSR2_BIT = 1 << (12 - 1)
HEARTBEAT_PREFIX = 'wgunicorn-'
# a notify()ed heartbeat has a monotonic mtime: seconds since boot, not a date
MONOTONIC_GAP = 1.0
CHUNK = 64               # fds a look at a worker's fds needs budget for, to start


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

    def __init__(self, proc_root: str = '/proc', bucket: Optional[budget.Budget] = None):
        self.proc_root = proc_root
        self.bucket = bucket or budget.SHARED
        self._heartbeats: Dict[int, str] = {}
        # pid -> why its evidence is not read at all (past a limit)
        self._over_limit: Dict[int, str] = {}

    def over_limit(self, pid: int) -> str:
        """Why pid's evidence is past a limit of reading ('' if it is not):
        reading it would cost more than a poll may, every poll."""
        return self._over_limit.get(pid, '')

    def read(self, kind: ReadinessEvidence, pid: int) -> Tuple[Evidence, str]:
        """(evidence, why it is UNKNOWN or '') for a worker pid of a server
        whose workers show readiness as `kind` (servers.Server.readiness)."""
        if kind == ReadinessEvidence.SIGNAL_MASKS:
            return self._unicorn(pid)
        if kind == ReadinessEvidence.HEARTBEAT_FILE:
            return self._gunicorn(pid)
        return Evidence.UNKNOWN, 'no readiness evidence known for %s' % (kind,)

    def forget(self, pids) -> None:
        """Drop what is remembered of these pids (gone, or no longer looked at)."""
        for pid in pids:
            self._heartbeats.pop(pid, None)
            self._over_limit.pop(pid, None)

    def _unicorn(self, pid):
        if not self.bucket.take(budget.COST_STAT):
            return Evidence.LOADING, ''       # not read yet: the budget is spent
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
        if pid in self._over_limit:
            return Evidence.UNKNOWN, self._over_limit[pid]
        path = self._heartbeats.get(pid)
        if path is not None and not self._is_heartbeat(path):
            path = None                  # that fd was closed, its number reused
        if path is None:
            self._heartbeats.pop(pid, None)
            paths, why = self._find_heartbeats(pid)
            if paths is None:
                return Evidence.LOADING, ''   # not read yet: the budget is spent
            if not paths:
                return Evidence.UNKNOWN, why
            if len(paths) > 1:
                # just forked: it still holds its siblings' heartbeat files,
                # which it closes before anything else; which one is its own
                # is known once they are gone
                return Evidence.LOADING, ''
            path = paths[0]
        try:
            st = os.stat(path)
        except OSError as exc:
            return Evidence.UNKNOWN, 'cannot stat %s (%s)' % (path, exc.strerror or exc)
        if not stat.S_ISREG(st.st_mode):
            return Evidence.LOADING, ''  # replaced meanwhile: looked up again next time
        self._heartbeats[pid] = path
        return gunicorn_heartbeat(st.st_mode, st.st_mtime, st.st_ctime), ''

    @staticmethod
    def _is_heartbeat(path: str) -> bool:
        try:
            return os.path.basename(os.readlink(path)).startswith(HEARTBEAT_PREFIX)
        except OSError:
            return False

    def _find_heartbeats(self, pid) -> Tuple[Optional[List[str]], str]:
        """Its heartbeat fds, one per distinct file (a dup() is the same
        file, a sibling's is another), or None if the budget cannot pay for
        a look now.  A readlink per fd, never past MAX_FDS fds.  A look
        starts only while the budget holds a chunk's worth, then runs to its
        end and is paid for (the budget may go into debt, repaid before the
        next read): a look stopped half-way would be wasted, and one that
        costs more than what refills between polls would never finish."""
        if not self.bucket.take(CHUNK * budget.COST_FD):
            return None, ''
        fd_dir = '%s/%d/fd' % (self.proc_root, pid)
        files: Dict[str, str] = {}        # target -> the first fd naming it
        n = 0
        try:
            with os.scandir(fd_dir) as entries:
                # scandir reads the directory a page at a time: stopping
                # early never lists the rest of 18,000 fds
                for n, entry in enumerate(entries, 1):
                    if n > budget.MAX_FDS:
                        return self._too_many(pid, 'worker pid %d holds more than %d '
                                              'open fds' % (pid, budget.MAX_FDS))
                    try:
                        target = os.readlink(entry.path)
                    except OSError:
                        continue
                    if os.path.basename(target).startswith(HEARTBEAT_PREFIX):
                        files.setdefault(target, entry.path)
        except OSError as exc:
            return [], 'cannot list %s (%s)' % (fd_dir, exc.strerror or exc)
        finally:
            self.bucket.spend(max(0, n - CHUNK) * budget.COST_FD)
        if len(files) > budget.MAX_HEARTBEATS:
            return self._too_many(pid, 'worker pid %d holds %d %s* files, more than %d'
                                  % (pid, len(files), HEARTBEAT_PREFIX,
                                     budget.MAX_HEARTBEATS))
        if not files:
            return [], 'worker pid %d holds no %s* heartbeat file' % (pid, HEARTBEAT_PREFIX)
        return list(files.values()), ''

    def _too_many(self, pid: int, why: str) -> Tuple[Optional[List[str]], str]:
        self._over_limit[pid] = why
        return [], why

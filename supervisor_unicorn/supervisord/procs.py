"""Process identity and pidfiles, read from /proc through psutil.

A process is ``(pid, create_time)``, never a bare pid: pids are reused, and a
pidfile is written by the app user while supervisord usually runs as root.
Everything here only reads, except send_signal: the one way a process is
signalled, pinned by pidfd and checked by start time.  Nothing reads a process's
environment or command line: process titles (gunicorn with setproctitle,
Ruby's $0) overwrite both, so neither says who a process is.
"""
import collections
import os
import signal
import time
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

import psutil

from supervisor_unicorn.supervisord import budget, trust

# Process start times are jiffies since boot (/proc/PID/stat), and so is
# /proc/uptime: one clock that wall-clock changes never move.  (A date from
# boot time + jiffies, as psutil gives, moves when NTP steps the clock: a
# process would no longer be itself.)
_UPTIME = '/proc/uptime'
CLK_TCK = os.sysconf('SC_CLK_TCK')


@dataclass(frozen=True)
class ProcId:
    pid: int
    create_time: float      # seconds since boot


def clock() -> float:
    """Now, on the same clock as ``ProcId.create_time`` (seconds since boot)."""
    with open(_UPTIME) as f:
        return float(f.read().split()[0])


# identify() results by pid, checked on each call by the process's start
# time (jiffies since boot) from /proc/PID/task/PID/stat: one small read whose
# cost does not grow with the process's threads, where /proc/PID/stat sums
# over all of them (0.5 ms at 5,000 threads)
_known: Dict[int, Tuple[int, ProcId]] = {}
_KNOWN_MAX = 8192
# {ppid: children} from one pass over /proc, for masters with many threads
_by_ppid: Dict[int, List[int]] = {}
_by_ppid_at = -1.0
PPID_TTL = 0.5           # seconds a pass is reused: children seen that late at most


def parse_stat(text: str) -> Optional[Tuple[str, int, int]]:
    """(state, ppid, start time in jiffies) of a /proc/PID/stat line.  The
    command name is in parentheses and may hold spaces and ')'."""
    _, paren, rest = text.rpartition(')')
    fields = rest.split()
    if not paren or len(fields) < 20:
        return None
    try:
        return fields[0], int(fields[1]), int(fields[19])
    except ValueError:
        return None


def _task_stat(pid: int) -> Optional[Tuple[str, int, int]]:
    try:
        with open('/proc/%d/task/%d/stat' % (pid, pid)) as f:
            return parse_stat(f.read())
    except (OSError, ValueError):
        return None


def identify(pid: int) -> Optional[ProcId]:
    """The live (not zombie) process with this pid, or None."""
    if pid <= 0:
        return None
    return _identify(pid, _task_stat(pid))


def _is_dead(stat: Optional[Tuple[str, int, int]]) -> bool:
    return stat is None or stat[0] in ('Z', 'X', 'x')


def _is_known(pid: int, stat: Optional[Tuple[str, int, int]]) -> bool:
    known = _known.get(pid)
    return known is not None and stat is not None and known[0] == stat[2]


def _identify(pid: int, stat: Optional[Tuple[str, int, int]]) -> Optional[ProcId]:
    if _is_dead(stat):
        _known.pop(pid, None)
        return None
    if _is_known(pid, stat):
        return _known[pid][1]
    ident = ProcId(pid, stat[2] / CLK_TCK)
    if len(_known) >= _KNOWN_MAX:
        _known.clear()
    _known[pid] = (stat[2], ident)
    return ident


def is_alive(ident: Optional[ProcId]) -> bool:
    return ident is not None and identify(ident.pid) == ident


def parent_of(pid: int) -> Optional[int]:
    try:
        return psutil.Process(pid).ppid()
    except (psutil.Error, OSError):
        return None


def process_group(pid: int) -> Optional[int]:
    try:
        return os.getpgid(pid)
    except OSError:
        return None


def thread_count(pid: int) -> Optional[int]:
    """Threads: of /proc/PID/status, or None if it cannot be read."""
    try:
        with open('/proc/%d/status' % pid) as f:
            for line in f:
                if line.startswith('Threads:'):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def crowded(pid: int) -> Optional[int]:
    """pid's thread count if it is past MAX_THREADS (its children then come
    from one pass over /proc), else None."""
    threads = thread_count(pid)
    return threads if threads is not None and threads > budget.MAX_THREADS else None


def child_pids(pid: int) -> List[int]:
    """Direct children, from /proc/PID/task/*/children (Linux >= 3.5).

    psutil's children() reads /proc/*/stat of every process on the machine
    (about 12 us each); this runs many times a second during a hot restart.
    That file is per thread, though: past MAX_THREADS threads (an app can
    start 27,000), one pass over /proc's processes is cheaper, and shared
    by the calls of the next PPID_TTL seconds.
    """
    if crowded(pid):
        return list(_children_by_ppid().get(pid, ()))
    pids: List[int] = []
    try:
        tasks = os.listdir('/proc/%d/task' % pid)
    except OSError:
        return pids
    if len(tasks) > budget.MAX_THREADS:
        return list(_children_by_ppid().get(pid, ()))   # started threads meanwhile
    for task in tasks:
        try:
            with open('/proc/%d/task/%s/children' % (pid, task)) as f:
                pids.extend(int(p) for p in f.read().split())
        except FileNotFoundError:
            # a kernel without CONFIG_PROC_CHILDREN: the slow, complete way
            try:
                return [c.pid for c in psutil.Process(pid).children()]
            except (psutil.Error, OSError):
                return []
        except (OSError, ValueError):
            continue
    return pids


def _children_by_ppid(clock=time.monotonic, fresh: bool = False) -> Dict[int, List[int]]:
    """{ppid: pids} of every process, O(processes) and never O(threads):
    /proc lists thread groups only, and each task/PID/stat is one thread's."""
    global _by_ppid, _by_ppid_at
    now = clock()
    if not fresh and 0 <= now - _by_ppid_at < PPID_TTL:
        return _by_ppid
    index: Dict[int, List[int]] = {}
    try:
        entries = [int(e) for e in os.listdir('/proc') if e.isdigit()]
    except OSError:
        entries = []
    for pid in entries:
        stat = _task_stat(pid)
        if stat is not None:
            index.setdefault(stat[1], []).append(pid)
            _identify(pid, stat)          # known now: no second read to identify it
    budget.SHARED.spend(len(entries) * budget.COST_STAT)
    _by_ppid, _by_ppid_at = index, now
    return index


def live_children(pid: int, bucket: Optional[budget.Budget] = None) -> List[ProcId]:
    """Direct children that are alive (zombies excluded).  Each costs a
    small read, and one met for the first time a psutil look-up, drawn on
    the budget (an app can fork 5,000 children at once).  Past it, a child
    identified before is returned as it was (a caller acting on it checks
    is_alive first) and a new one is left for a later call."""
    bucket = bucket or budget.SHARED
    out = []
    for child in child_pids(pid):
        if not bucket.has(budget.COST_STAT):
            if child in _known:
                out.append(_known[child][1])
            continue
        started = time.perf_counter()
        stat = _task_stat(child)
        if not _is_dead(stat):
            ident = _identify(child, stat)
            if ident is not None:
                out.append(ident)
        # what it really took, in microseconds
        bucket.spend((time.perf_counter() - started) * 1e6)
    return out


def descendants_of(ident: ProcId) -> List[ProcId]:
    """The descendants of exactly that process: none if its pid no longer
    names it once they are listed (a reused pid's children are not its)."""
    found = descendants(ident.pid)
    return found if is_alive(ident) else []


def descendants(pid: int) -> List[ProcId]:
    """Every live descendant, from one fresh pass over /proc: O(processes),
    where psutil's children(recursive=True) also reads each one's create
    time through /proc/PID/stat (an aborted new master may have 5,000)."""
    index = _children_by_ppid(fresh=True)
    out: List[ProcId] = []
    todo, seen = collections.deque(index.get(pid, ())), {pid}
    while todo:
        child = todo.popleft()
        if child in seen:
            continue
        seen.add(child)
        known = _known.get(child)        # identified by the pass just made
        if known is not None:
            out.append(known[1])
        todo.extend(index.get(child, ()))
    return out


def real_uid(pid: int) -> Optional[int]:
    try:
        return psutil.Process(pid).uids().real
    except (psutil.Error, OSError):
        return None


def read_pidfile(path: str) -> Tuple[Optional[int], str]:
    """Read a pid written by the server (see trust.read_pidfile).

    @return (pid, '') or (None, why it is unusable)
    """
    return trust.read_pidfile(path)


def exe_of(pid: int, bucket: Optional[budget.Budget] = None) -> Optional[Tuple[int, int]]:
    """(device, inode) of the program pid runs; None when that cannot be
    read (gone, not ours to look at, past the budget).  Unlike the command
    line, no process title changes it."""
    bucket = bucket or budget.SHARED
    if not bucket.has(budget.COST_STAT):
        return None
    started = time.perf_counter()
    try:
        st = os.stat('/proc/%d/exe' % pid)
    except OSError:
        return None
    finally:
        bucket.spend((time.perf_counter() - started) * 1e6)
    return st.st_dev, st.st_ino


def caught_signals(pid: int) -> Optional[int]:
    """The SigCgt mask of /proc/PID/status: the signals it has handlers for."""
    try:
        with open('/proc/%d/status' % pid) as f:
            for line in f:
                if line.startswith('SigCgt:'):
                    return int(line.split()[1], 16)
    except (OSError, ValueError, IndexError):
        return None
    return None


def file_signature(path: str) -> Optional[Tuple[int, int, int]]:
    """Cheap change detection for a pidfile: (inode, mtime_ns, size)."""
    try:
        st = os.lstat(path)     # a symlink is looked at, never followed
    except OSError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def session_of(pid: int) -> Optional[int]:
    """The session id of pid (0: this process), or None if it is gone."""
    try:
        return os.getsid(pid)
    except OSError:
        return None


def send_signal(ident: ProcId, sig: int) -> Optional[str]:
    """Signal exactly the process `ident` names; None, or why not.

    The pid is pinned with a pidfd first and its start time checked after:
    if the process died and its number was reused in between, the pidfd
    still refers to the dead one and the signal goes nowhere.
    """
    try:
        fd = os.pidfd_open(ident.pid)
    except ProcessLookupError:
        return 'pid %d is gone' % ident.pid
    except OSError as exc:
        return _send_unpinned(ident, sig, exc)
    try:
        if identify(ident.pid) != ident:
            return 'pid %d is no longer the process it was' % ident.pid
        signal.pidfd_send_signal(fd, sig)
    except OSError as exc:
        return exc.strerror or str(exc)
    finally:
        os.close(fd)
    return None


def _send_unpinned(ident: ProcId, sig: int, why: OSError) -> Optional[str]:
    # a kernel before 5.3 has no pidfd: check, then signal at once
    if identify(ident.pid) != ident:
        return 'pid %d is no longer the process it was' % ident.pid
    try:
        os.kill(ident.pid, sig)
    except OSError as exc:
        return exc.strerror or str(exc)
    return None

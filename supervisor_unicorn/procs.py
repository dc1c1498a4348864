"""Process identity and pidfiles, read from /proc through psutil.

A process is ``(pid, create_time)``, never a bare pid: pids are reused, and a
pidfile is written by the app user while supervisord usually runs as root.
Everything here only reads, except send_signal: the one way a process is
signalled, pinned by pidfd and checked by start time.  Nothing reads a process's
environment or command line: process titles (gunicorn with setproctitle,
Ruby's $0) overwrite both, so neither says who a process is.
"""
import os
import signal
from dataclasses import dataclass
from typing import List, Optional, Tuple

import psutil

from supervisor_unicorn import trust

# /proc/uptime and process start times share one clock (boot time + jiffies);
# time.time() does not, and psutil's boot time is rounded to whole seconds.
_UPTIME = '/proc/uptime'


@dataclass(frozen=True)
class ProcId:
    pid: int
    create_time: float


def clock() -> float:
    """Now, on the same clock as ``ProcId.create_time``."""
    with open(_UPTIME) as f:
        return psutil.boot_time() + float(f.read().split()[0])


def identify(pid: int) -> Optional[ProcId]:
    """The live (not zombie) process with this pid, or None."""
    if pid <= 0:
        return None
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return None
        return ProcId(pid, proc.create_time())
    except (psutil.Error, OSError):
        return None


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


def child_pids(pid: int) -> List[int]:
    """Direct children, from /proc/PID/task/*/children (Linux >= 3.5).

    psutil's children() reads /proc/*/stat of every process on the machine
    (about 12 us each); this runs many times a second during a hot restart.
    """
    pids: List[int] = []
    try:
        tasks = os.listdir('/proc/%d/task' % pid)
    except OSError:
        return pids
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


def live_children(pid: int) -> List[ProcId]:
    """Direct children that are alive (zombies excluded)."""
    out = []
    for child in child_pids(pid):
        ident = identify(child)
        if ident is not None:
            out.append(ident)
    return out


def descendants_of(ident: ProcId) -> List[ProcId]:
    """The descendants of exactly that process: none if its pid no longer
    names it once they are listed (a reused pid's children are not its)."""
    found = descendants(ident.pid)
    return found if is_alive(ident) else []


def descendants(pid: int) -> List[ProcId]:
    try:
        procs = psutil.Process(pid).children(recursive=True)
    except (psutil.Error, OSError):
        return []
    out = []
    for proc in procs:
        try:
            out.append(ProcId(proc.pid, proc.create_time()))
        except (psutil.Error, OSError):
            continue
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

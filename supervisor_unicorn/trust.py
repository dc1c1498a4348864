"""What supervisord may believe about an app, and what it may signal.

supervisord usually runs as root; the app's code runs in its master.  So the
master's process group, its pidfile, its children and its signal handlers are
the app's to forge.  The rules, in one place (README "What supervisord
trusts"):

1. Signal only what supervisord created or verified.  A process group is
   the one supervisord created at spawn (the spawned pid: supervisord's child
   calls setpgrp), never one read from /proc.  Never group 0 or 1, never
   supervisord's own group, never a group that another program was spawned
   into.  Workers left behind by a dead master are the children recorded
   while it lived, never "whatever is in its group".
2. Adopt only a process watched being born: a child of the tracked master,
   seen as such while that master lived, started after the USR2 (or after
   the master, for a USR2 from outside), running as the program's user, not
   tracked by another program, still in supervisord's session (exec keeps
   it; a daemonizing server leaves it).  For a USR2 from outside, it must also carry
   the program's SUPERVISOR_PROCESS_NAME/SUPERVISOR_GROUP_NAME and have
   workers of its own; if its master died before a scan saw the child (a
   fast re-exec with unicorn's before_fork hook), an orphan that is now
   supervisord's child (named by a pidfile, or in the program's spawn group)
   passes on these checks alone.  A pidfile only says which candidate to
   look at first.
3. A pidfile is read without blocking, without following a final symlink,
   only if it is a regular file, a few bytes at most, and its content is
   never quoted in a log.
4. USR2 goes only to a master that catches it (SigCgt), so that a hot
   restart is never the signal that kills it.

Pure functions over facts the caller gathered (procs.py reads /proc), except
read_pidfile, which is the one way a pidfile is opened.
"""
import errno
import os
import stat
from dataclasses import dataclass
from typing import Collection, Mapping, Optional, Tuple

PIDFILE_MAX = 32        # bytes read: a pid and some whitespace
PID_MAX = 4194304       # Linux's ceiling for /proc/sys/kernel/pid_max


def read_pidfile(path: str) -> Tuple[Optional[int], str]:
    """Read a pid from an untrusted file.

    @return (pid, '') or (None, why it is unusable; never the content)
    """
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_NOCTTY
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        return None, 'missing'
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return None, 'a symlink, not a regular file'
        return None, 'unreadable (%s)' % (exc.strerror or exc.__class__.__name__)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return None, 'not a regular file'
        if st.st_size > PIDFILE_MAX:
            return None, 'not a pid (%d bytes)' % st.st_size
        data = os.read(fd, PIDFILE_MAX)
    except OSError as exc:
        return None, 'unreadable (%s)' % (exc.strerror or exc.__class__.__name__)
    finally:
        os.close(fd)
    text = data.strip()
    if not text:
        return None, 'empty'
    if not text.isdigit() or int(text) > PID_MAX:
        return None, 'not a pid'
    pid = int(text)
    if pid <= 1:
        return None, 'names pid %d' % pid
    return pid, ''


def group_problem(pgid: int, own_pgid: int, other_groups: Collection[int]) -> Optional[str]:
    """Why supervisord must not signal process group `pgid`, or None.

    @param own_pgid      supervisord's own process group
    @param other_groups  the groups supervisord spawned the other programs into
    """
    if pgid <= 1:
        return 'it would be process group %d' % pgid
    if pgid == own_pgid:
        return "it is supervisord's own process group"
    if pgid in other_groups:
        return "it is another program's process group"
    return None


def catches(sigcgt_mask: Optional[int], signum: int) -> bool:
    """Whether a process with this SigCgt mask has a handler for signum."""
    return sigcgt_mask is not None and bool(sigcgt_mask >> (signum - 1) & 1)


@dataclass(frozen=True)
class Candidate:
    """What was found out about a process that might be the new master."""
    pid: int
    create_time: float
    seen_as_child: bool            # child of the tracked master while it lived
    uid: Optional[int]
    tracked_by_other: bool
    orphan: bool = False           # else: supervisord's child since the master died
    workers: int = 0               # its own children now
    environ: Optional[Mapping[str, str]] = None   # read only for a USR2 from outside
    same_session: bool = True      # in supervisord's session, as every re-exec is


def successor_problem(c: Candidate, born_after: float, uid: int,
                      names: Optional[Tuple[str, str]] = None) -> Optional[str]:
    """Why `c` is not a new master of the program, or None.

    @param born_after  the USR2 we sent, or the tracked master's start (outside USR2)
    @param uid         the program's user
    @param names       (group, process) when the USR2 came from outside: then
                       the environment and workers of its own are required too
    """
    if not c.seen_as_child and not (names is not None and c.orphan):
        return 'it was never seen as a child of the master'
    if not c.same_session:
        # exec keeps the session; a server that daemonizes calls setsid
        return "it left supervisord's session: a daemon, not a re-exec"
    if c.create_time < born_after:
        return 'it started before the hot restart'
    if c.uid != uid:
        return 'it runs as uid %s, the program as uid %d' % (c.uid, uid)
    if c.tracked_by_other:
        return 'supervisord already tracks it'
    if names is not None:
        env = c.environ or {}
        group, process = names
        if env.get('SUPERVISOR_GROUP_NAME') != group \
                or env.get('SUPERVISOR_PROCESS_NAME') != process:
            return "its environment does not name the program"
        if c.workers < 1:
            return 'it has no workers'
    return None

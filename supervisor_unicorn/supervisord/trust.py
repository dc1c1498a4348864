"""What supervisord may believe about an app, and what it may signal.

supervisord usually runs as root, and the master's group, pidfile, children
and signal handlers are the app's to forge.  The rules (README "What
supervisord trusts"):

1. Signal only what supervisord created or verified: the group it spawned the
   program into (never 0, 1, its own or another program's), and recorded
   children, never "whatever is in the group".
2. Adopt only a process watched being born: a child of the tracked master,
   born after the USR2 (or the master), as the program's user, untracked, in
   supervisord's session (with workers, for a USR2 from outside; or an orphan
   in the spawn group if its master died first).  A pidfile only says where
   to look first; never the environment or the command line (process titles).
3. A pidfile is read without blocking or following a symlink, a few bytes
   of a regular file, and never quoted in a log.
4. USR2 goes only to a master that catches it (SigCgt).
5. After a supervisord died, its leftovers are what it recorded in its own
   state file (ledger.py), used only while supervisord's user alone can write it.
6. A self-daemonized server is an untracked child of supervisord outside its
   session (or the first fork, in the group of a first process that exited
   before RUNNING), as the program's user, born around the spawn or the exit,
   never another program's child.

Pure functions over facts the caller gathered (procs.py reads /proc), except
read_pidfile, the one way a pidfile is opened.
"""
import enum
import errno
import os
import stat
from dataclasses import dataclass
from typing import AbstractSet, Collection, Optional, Tuple

PIDFILE_MAX = 32        # bytes read: a pid and some whitespace
PID_MAX = 4194304       # Linux's ceiling for /proc/sys/kernel/pid_max
# start times are whole jiffies, and a spawn time comes from supervisord's
# wall clock: two times this close may be the same moment
CLOCK_SLACK = 0.1


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
        return None, 'naming pid %d, which no master has' % pid
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
    orphan: bool = False           # supervisord's child since the master died,
    #                                in the group the program was spawned into
    workers: int = 0               # its own children now
    same_session: bool = True      # in supervisord's session, as every re-exec is


class Refused(str, enum.Enum):
    """Why a process is not the program's new master.  FINAL ones hold for
    good: a hot restart cannot succeed while such a child of the master lives."""
    NOT_SEEN = 'not-seen'
    DAEMON = 'daemon'
    TOO_OLD = 'too-old'
    OTHER_UID = 'other-uid'
    TRACKED = 'tracked'
    NO_WORKERS = 'no-workers'

    @property
    def final(self) -> bool:
        return self is not Refused.NO_WORKERS


# what an operator can do about each refusal
HINTS = {
    Refused.NOT_SEEN: 'check that nothing else writes PIDFILE',
    Refused.DAEMON: 'run the server in the foreground (no -D, --daemon or daemon = True)',
    Refused.TOO_OLD: 'check that nothing else writes PIDFILE',
    Refused.OTHER_UID: "the server must not change users: set user= in the "
                       "[program:x] section instead",
    Refused.TRACKED: 'two programs must not share a pidfile',
    Refused.NO_WORKERS: 'it may still be booting',
}


@dataclass(frozen=True)
class Problem:
    code: Refused
    text: str

    @property
    def hint(self) -> str:
        return HINTS[self.code]

    def __str__(self) -> str:
        return self.text


def earliest_successor_start(usr2_clock: Optional[float], master_start: float) -> float:
    """When a new master may have started at the earliest (rule 2): after
    our USR2 (`usr2_clock`, within CLOCK_SLACK), or, for a USR2 from outside
    (`usr2_clock` None), after the master it re-exec'd from."""
    return master_start if usr2_clock is None else usr2_clock - CLOCK_SLACK


def successor_problem(c: Candidate, born_after: float, uid: int,
                      outside: bool = False) -> Optional[Problem]:
    """Why `c` is not a new master of the program, or None.

    Identity comes only from what supervisord watched: ancestry recorded while
    the master lived, start times, uid and session.  Never the environment or
    the command line: process titles (setproctitle, Ruby's $0) overwrite both.

    @param born_after  the USR2 we sent, or the tracked master's start (outside USR2)
    @param uid         the program's user
    @param outside     the USR2 came from outside: workers of its own are
                       required too, and an orphan in the spawn group may pass
    """
    if not c.seen_as_child and not (outside and c.orphan):
        return Problem(Refused.NOT_SEEN, 'it was never seen as a child of the master')
    if not c.same_session:
        # exec keeps the session; a server that daemonizes calls setsid
        return Problem(Refused.DAEMON,
                       "it left supervisord's session: a daemon, not a re-exec")
    if c.create_time < born_after:
        return Problem(Refused.TOO_OLD, 'it started before the hot restart')
    if c.uid != uid:
        return Problem(Refused.OTHER_UID, 'it runs as uid %s, the program as uid %d'
                       % (c.uid, uid))
    if c.tracked_by_other:
        return Problem(Refused.TRACKED, 'supervisord already tracks it')
    if outside and c.workers < 1:
        return Problem(Refused.NO_WORKERS, 'it has no workers')
    return None


def private_file_problem(file_st: os.stat_result, dir_st: os.stat_result,
                         euid: int) -> Optional[str]:
    """Why a file of supervisord's own (rule 5) may have been written by
    someone else, or None.  Both stats are lstat()s."""
    if not stat.S_ISREG(file_st.st_mode):
        return 'it is not a regular file'
    if file_st.st_uid != euid:
        return 'it is owned by uid %d, not by supervisord (uid %d)' % (file_st.st_uid, euid)
    if file_st.st_mode & 0o022:
        return 'others may write it (mode %o)' % (file_st.st_mode & 0o777)
    return private_dir_problem(dir_st, euid)


def private_dir_problem(dir_st: os.stat_result, euid: int) -> Optional[str]:
    if dir_st.st_uid not in (euid, 0):
        return 'its directory is owned by uid %d' % dir_st.st_uid
    # a sticky directory (/tmp) keeps others from replacing our file
    if dir_st.st_mode & 0o022 and not dir_st.st_mode & stat.S_ISVTX:
        return 'others may write its directory (mode %o)' % (dir_st.st_mode & 0o777)
    return None


@dataclass(frozen=True)
class Detached:
    """What was found out about a child of supervisord that may be a daemon."""
    create_time: float
    uid: Optional[int]
    same_session: bool
    # the program's first process exited before RUNNING and this is in its
    # group: the first fork of a server that daemonizes at once (gunicorn)
    first_fork: bool
    tracked: bool                  # supervisord tracks it (any program)
    anothers_child: bool           # recorded as a child of another program's master


def daemon_problem(d: Detached, spawned: float, exited: float, uid: int,
                   window: float) -> Optional[str]:
    """Why `d` is not the daemon of a program whose first process was
    spawned at `spawned` and exited at `exited` (rule 6), or None.

    @param window  seconds after the spawn, and around the exit, in which
                   a daemonizing server forks its daemon
    """
    if d.tracked or d.anothers_child:
        return "it is another program's process"
    if d.same_session and not d.first_fork:
        return "it is in supervisord's session"
    near_spawn = d.create_time <= spawned + window
    near_exit = exited - window <= d.create_time <= exited + window
    if d.create_time < spawned or not (near_spawn or near_exit):
        return 'it was not born while the program started or exited'
    if d.uid != uid:
        return 'it runs as uid %s, the program as uid %d' % (d.uid, uid)
    return None


def leftover_problem(recorded_uid: int, uid_now: Optional[int]) -> Optional[str]:
    """Why a live process the ledger names is not the master it recorded
    (rule 5: pid and start time already match), or None."""
    if uid_now != recorded_uid:
        return 'now runs as uid %s, not %d' % (uid_now, recorded_uid)
    return None


def is_leftovers_child(child_uid: Optional[int], leftover_uid: Optional[int]) -> bool:
    """A child of a retired leftover master is retired with it only while it
    runs as that master's user (a booting re-exec child, or a worker)."""
    return child_uid is not None and child_uid == leftover_uid


def is_abandoned_orphan(tracked: bool, create_time: float, pgid: Optional[int],
                        uid: Optional[int], born_after: float, groups: AbstractSet[int],
                        program_uid: int) -> bool:
    """Whether an untracked child of supervisord is what an abandoned new
    generation left (abort.py): born after the USR2 (`born_after`), as the
    program's user, in one of `groups` (the spawn group, and the groups its
    new masters were in, read while each was verified alive).  Each orphan
    is signalled alone: the group narrows, it is never signalled."""
    return not tracked and create_time >= born_after and pgid in groups \
        and uid == program_uid

"""supervisord's own record of the masters it runs, for the next supervisord.

A supervisord killed without a chance to stop its programs (SIGKILL, the OOM
killer) leaves their masters running, adopted ones included; the next one must
retire them before it spawns the programs again (leftovers.py).  Which
processes those are is read from this file, which supervisord alone writes
(trust rule 5), never from a pidfile or an environment the app controls.

The file sits beside supervisord's pidfile as PIDFILE.hot_restart:

    {"version": 1, "boot_id": "...", "supervisord": [pid, start],
     "programs": {"web": [[pid, start, uid], ...]}}

It is replaced whole (a temporary file renamed over it), mode 0600, and only
when what it records changed: a few writes per hot restart.
"""
import json
import os
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

from supervisor_unicorn.supervisord import trust
from supervisor_unicorn.supervisord.procs import ProcId

VERSION = 1
SUFFIX = '.hot_restart'
MAX_SIZE = 1 << 20          # bytes read; a record is about 40 bytes
BOOT_ID = '/proc/sys/kernel/random/boot_id'


@dataclass(frozen=True)
class Record:
    ident: ProcId
    uid: int


@dataclass
class Entries:
    """What a ledger says: a supervisord and the masters of each program."""
    supervisord: Optional[ProcId]
    programs: Dict[str, List[Record]]


def boot_id() -> str:
    try:
        with open(BOOT_ID) as f:
            return f.read().strip()
    except OSError:
        return ''


def path_for(supervisord_pidfile: str) -> str:
    return supervisord_pidfile + SUFFIX


class Ledger:
    """The state file at `path`; None: none is kept (nothing written, and
    nothing read but 'missing')."""

    def __init__(self, path: Optional[str], euid: Optional[int] = None):
        self.path = path
        self.euid = os.geteuid() if euid is None else euid
        self._written: Optional[str] = None
        self._boot = boot_id()

    def write(self, supervisord: ProcId, programs: Dict[str, List[Record]]) -> bool:
        """Record these masters (replacing what was there).  True if the file
        was written, False if it already said so.  Raises OSError."""
        data = json.dumps({
            'version': VERSION, 'boot_id': self._boot,
            'supervisord': [supervisord.pid, supervisord.create_time],
            'programs': {name: [[r.ident.pid, r.ident.create_time, r.uid] for r in recs]
                         for name, recs in sorted(programs.items()) if recs},
        }, sort_keys=True)
        if data == self._written or self.path is None:
            return False
        directory = os.path.dirname(self.path) or '.'
        problem = trust.private_dir_problem(os.lstat(directory), self.euid)
        if problem:
            raise PermissionError('%s: %s' % (self.path, problem))
        tmp = '%s.%d.tmp' % (self.path, os.getpid())
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
        try:
            os.unlink(tmp)                  # a leftover of a killed supervisord
        except FileNotFoundError:
            pass
        fd = os.open(tmp, flags, 0o600)
        try:
            os.write(fd, data.encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self.path)
        self._written = data
        return True

    def read(self) -> Tuple[Optional[Entries], str]:
        """(what the file records, '') or (None, why there is nothing to use:
        'missing', or why the file cannot be trusted or read)."""
        if self.path is None:
            return None, 'missing'
        flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_NOCTTY
        try:
            fd = os.open(self.path, flags)
        except FileNotFoundError:
            return None, 'missing'
        except OSError as exc:
            return None, 'unreadable (%s)' % (exc.strerror or exc)
        try:
            st = os.fstat(fd)
            problem = trust.private_file_problem(
                st, os.lstat(os.path.dirname(self.path) or '.'), self.euid)
            if problem:
                return None, 'not trusted: %s' % problem
            if st.st_size > MAX_SIZE:
                return None, 'too large (%d bytes)' % st.st_size
            raw = os.read(fd, MAX_SIZE)
        except OSError as exc:
            return None, 'unreadable (%s)' % (exc.strerror or exc)
        finally:
            os.close(fd)
        return parse(raw, boot_id())


def parse(raw: bytes, current_boot: str) -> Tuple[Optional[Entries], str]:
    try:
        doc = json.loads(raw.decode())
        if doc.get('version') != VERSION:
            return None, 'written by another version (%r)' % doc.get('version')
        if doc.get('boot_id') != current_boot:
            return Entries(None, {}), ''     # before a reboot: nothing is left
        pid, start = doc['supervisord']
        programs = {
            str(name): [Record(ProcId(int(p), float(t)), int(u)) for p, t, u in recs]
            for name, recs in doc['programs'].items()}
        return Entries(ProcId(int(pid), float(start)), programs), ''
    except (ValueError, TypeError, KeyError, AttributeError, UnicodeDecodeError) as exc:
        return None, 'malformed (%s)' % exc.__class__.__name__

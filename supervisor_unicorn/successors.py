"""Which process is a program's new master (trust rule 2, see trust.py).

Candidates come from the pidfiles, looked at first, and from the master's
children recorded while it lived (``Program.family``, and ``Program.reexec``
after a USR2 of ours).  Each is verified by ``trust.successor_problem`` on
facts read from /proc.  Nothing here signals or adopts: the core does, with
exactly the identity returned.
"""
from typing import Optional, Tuple

from supervisor_unicorn import trust
from supervisor_unicorn.procs import ProcId

CLOCK_SLACK = 0.05       # /proc start times are in jiffies

# the server setting that must name the same path as PIDFILE in `programs`
PID_SETTING = {'unicorn': 'pid', 'gunicorn': 'pidfile'}
# what a server's re-exec puts in the new master's environment: the old
# master's pid (gunicorn's reexec(); unicorn passes only UNICORN_FD)
REEXEC_MARK = {'gunicorn': 'GUNICORN_PID'}
# unicorn's reexec retitles the old master; the new one runs as "master"
UNICORN_OLD_TITLE = ' master (old)'


def says_reexec(server: str, master_title: str, master_pid: int, child_title: str,
                child_env) -> bool:
    """The server's own word that a child of the master is its re-exec child
    (not a worker that runs commands): gunicorn's GUNICORN_PID names the old
    master; unicorn titles the old master "master (old)" right after the
    fork and the new one "master".  App code can forge either, but only
    about its own processes, which the other checks have already verified."""
    mark = REEXEC_MARK.get(server)
    if mark:
        return (child_env or {}).get(mark) == str(master_pid)
    if server == 'unicorn':
        words = child_title.split()
        return UNICORN_OLD_TITLE in master_title and 'master' in words \
            and '(old)' not in words and not any(w.startswith('worker[') for w in words)
    return False
MISMATCH = ('new master pid %d (re-exec child of pid %d) is named by no pidfile: '
            'PIDFILE in `programs` is %s, and the server\'s `%s` setting must be that '
            'same path; adopting it by ancestry')


class Successors:
    """The core's eyes for new masters; it reads the core's procs and glue
    at each call (tests replace them on the instance)."""

    def __init__(self, core):
        self._core = core

    def _log(self, level: str, program, text: str) -> None:
        getattr(self._core.glue.logger, level)('hot_restart: %s: %s'
                                               % (program.spec.name, text))

    def record_family(self, program, master_pid: int) -> None:
        """Remember the master's children with their identities (trust rules
        1 and 2): after its death they are known only from this record."""
        procs = self._core.procs
        current = set(procs.child_pids(master_pid))
        family = program.family
        for pid in [p for p in family if p not in current]:
            del family[pid]          # exited: the master still lives
        for pid in current - set(family):
            ident = procs.identify(pid)
            if ident is not None:
                family[pid] = ident

    def find(self, program, min_workers: Optional[int] = None,
             at_exit: bool = False) -> Optional[ProcId]:
        """The verified new master, or None.  A pidfile names the candidate to
        look at first; without one, a re-exec child found by ancestry with
        `min_workers` workers of its own (None: not without a pidfile).  At
        the old master's exit, say in one line why nothing qualified."""
        why_not = []
        for path in program.protocol.new_master_pidfiles(program.spec.pidfile):
            pid, why = self._core.procs.read_pidfile(path)
            if pid is None or pid == program.old.pid:
                why_not.append('%s %s' % (path, why or 'names the old master'))
                continue
            ident, problem = self.verify(program, pid, orphan_at_exit=at_exit)
            if ident is not None:
                return ident
            if at_exit:
                why_not.append('%s names pid %d: %s' % (path, pid, problem))
            else:
                self.report(program, path, pid, problem)
        if at_exit:
            # ours: proven by ancestry and time; from outside: needs workers
            min_workers = 1 if program.usr2_clock is None else 0
        if min_workers is not None:
            new = self._by_ancestry(program, min_workers, at_exit)
            if new is not None:
                return new
        if at_exit and why_not:
            self._log('info', program, 'master pid %d exited; no new master to adopt '
                      '(%s)' % (program.old.pid, '; '.join(why_not)))
        return None

    def _by_ancestry(self, program, min_workers: int, at_exit: bool) -> Optional[ProcId]:
        """The earliest-born verified re-exec child with workers, which no
        pidfile names: the server's pid setting is not PIDFILE (or the file
        went away).  Adopted, and said in one line."""
        procs, glue = self._core.procs, self._core.glue
        outside = program.usr2_clock is None
        pool = list(program.family.values() if outside else program.reexec.values())
        if outside and at_exit:
            # its master died before a scan saw it: an orphan in the group the
            # program was spawned into (checked, not chosen, by /proc)
            pool += [c for c in procs.live_children(glue.my_pid())
                     if c.pid not in program.family
                     and procs.process_group(c.pid) == program.pgid]
        for cand in sorted(pool, key=lambda c: c.create_time):
            if cand.pid == program.old.pid or not procs.is_alive(cand) \
                    or len(procs.child_pids(cand.pid)) < min_workers:
                continue
            ident, _ = self.verify(program, cand.pid, orphan_at_exit=at_exit)
            if ident is None:
                continue
            self._log('warn', program, MISMATCH % (
                ident.pid, program.old.pid, program.spec.pidfile,
                PID_SETTING[program.spec.server]))
            return ident
        return None

    def unnamed_reexec(self, program, pid: int) -> Optional[ProcId]:
        """A child of master `pid` with workers of its own that no pidfile
        names: a re-exec whose server writes its pid elsewhere.  Returned to
        take over when the server marks it as its re-exec child (says_reexec);
        else said once, and adopted if the old master goes."""
        procs = self._core.procs
        server = program.spec.server
        # as many workers as the master has: not a worker running a command
        enough = max(1, len(program.family) - 1)
        named = None
        for child in sorted(program.family.values(), key=lambda c: c.create_time):
            if ('unnamed', child.pid) in program.reported \
                    or len(procs.child_pids(child.pid)) < enough:
                continue
            if named is None:
                named = {procs.read_pidfile(path)[0] for path in
                         program.protocol.new_master_pidfiles(program.spec.pidfile)}
            if child.pid in named:
                continue                 # the pidfile path is right: scanned already
            program.reported.add(('unnamed', child.pid))
            new, _ = self.verify(program, child.pid)
            if new is None:
                continue
            setting = PID_SETTING[program.spec.server]
            if says_reexec(server, procs.cmdline(pid), pid, procs.cmdline(new.pid),
                           procs.environ(new.pid) if server in REEXEC_MARK else None):
                self._log('warn', program, MISMATCH % (
                    new.pid, pid, program.spec.pidfile, setting))
                return new
            self._log('warn', program, 'pid %d, a child of master pid %d with workers '
                      'of its own, is named by no pidfile: if it is a new master, the '
                      'server\'s `%s` setting must be PIDFILE %s from `programs`'
                      % (new.pid, pid, setting, program.spec.pidfile))
        return None

    def report(self, program, path: str, pid: int, problem: str) -> None:
        if (path, pid, problem) not in program.reported:
            program.reported.add((path, pid, problem))
            self._log('info', program, 'pidfile %s names pid %d: %s; not adopted, '
                      'not signalled' % (path, pid, problem))

    def verify(self, program, pid: int,
               orphan_at_exit: bool = False) -> Tuple[Optional[ProcId], str]:
        """(the identity that was verified, '') or (None, why pid is not a new
        master of `program`): the caller adopts exactly what was checked."""
        procs, glue = self._core.procs, self._core.glue
        ident = procs.identify(pid)
        if ident is None:
            return None, 'no such live process'
        outside = program.usr2_clock is None
        if outside:
            seen = program.family.get(pid) == ident
            born_after = program.old.create_time
            names = glue.split_name(program.spec.name)
        else:
            seen = program.reexec.get(pid) == ident
            born_after = program.usr2_clock - CLOCK_SLACK
            names = None
        cand = trust.Candidate(
            pid=pid, create_time=ident.create_time, seen_as_child=seen,
            orphan=orphan_at_exit and procs.parent_of(pid) == glue.my_pid(),
            uid=procs.real_uid(pid),
            tracked_by_other=glue.tracks(pid),
            same_session=procs.session_of(pid) == procs.session_of(0),
            workers=len(procs.child_pids(pid)) if outside else 0,
            environ=procs.environ(pid) if outside else None)
        problem = trust.successor_problem(cand, born_after,
                                          glue.program_uid(program.spec.name), names)
        if problem:
            return None, problem
        return ident, ''

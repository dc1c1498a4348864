"""Which process is a program's new master (trust rule 2, see trust.py).

Candidates come from the pidfiles, looked at first, and from the master's
children recorded while it lived (``Program.family``, and ``Program.reexec``
after a USR2 of ours).  Each is verified by ``trust.successor_problem`` on
facts read from /proc.  Nothing here signals or adopts: the core does, with
exactly the identity returned.
"""
import signal
from typing import Optional, Set, Tuple

from supervisor_unicorn.supervisord import budget, trust
from supervisor_unicorn.supervisord.budget import MAX_THREADS
from supervisor_unicorn.supervisord.loading import worker_count
from supervisor_unicorn.supervisord.procs import PPID_TTL, ProcId
from supervisor_unicorn.supervisord.readiness import Evidence


def is_master(caught_signals, worker_evidence) -> bool:
    """The server's own word that a child of the master (with workers of its
    own) is a re-exec'd master, not a worker running a command: a master of
    either server catches USR2, which a ready worker ignores (unicorn) or
    leaves at its default (gunicorn), and its children show the server's
    readiness evidence.  Never a title: setproctitle and Ruby's $0 write it.

    @param caught_signals   the child's SigCgt mask
    @param worker_evidence  readiness.Evidence of each of its children
    """
    return trust.catches(caught_signals, signal.SIGUSR2) \
        and any(e != Evidence.UNKNOWN for e in worker_evidence)


MISMATCH = ('new master pid %d (re-exec child of pid %d) is named by no pidfile: '
            'PIDFILE in `programs` is %s, and the server\'s `%s` setting must be that '
            'same path; adopting it by ancestry')


class Successors:
    """The core's eyes for new masters."""

    def __init__(self, glue, procs, readiness, log):
        self.glue = glue
        self.procs = procs
        self.readiness = readiness
        self.log = log
        self._crowded_said: Set[Tuple[str, int]] = set()

    def _log(self, level: str, program, text: str) -> None:
        getattr(self.log, level)(program.spec.name, text)

    def record_family(self, program, master_pid: int) -> None:
        """Remember the master's children with their identities (trust rules
        1 and 2): after its death they are known only from this record."""
        self._say_crowded(program, master_pid)
        self.record_children(program.family, master_pid)

    def record_children(self, family, master_pid: int) -> None:
        """Bring `family` (pid -> identity) in line with master_pid's children
        now: the ones that exited go, new ones are identified once."""
        procs = self.procs
        current = set(procs.child_pids(master_pid))
        for pid in [p for p in family if p not in current]:
            del family[pid]          # exited: the master still lives
        for pid in current - set(family):
            ident = procs.identify(pid)
            if ident is not None:
                family[pid] = ident

    def _say_crowded(self, program, master_pid: int) -> None:
        """Once per master: its children come from a pass over /proc, as its
        threads are too many to read each one's children one by one in a poll."""
        key = (program.spec.name, master_pid)
        if key in self._crowded_said:
            return
        threads = self.procs.crowded(master_pid)
        if threads:
            self._crowded_said.add(key)
            self._log('warn', program, 'master pid %d has %d threads, more than %d: '
                      'its children are found by one pass over /proc every %gs, not '
                      'thread by thread' % (master_pid, threads, MAX_THREADS, PPID_TTL))

    def find(self, program, min_workers: Optional[int] = None,
             at_exit: bool = False) -> Optional[ProcId]:
        """The verified new master, or None.  A pidfile names the candidate to
        look at first; without one, a re-exec child found by ancestry with
        `min_workers` workers of its own (None: not without a pidfile).  At
        the old master's exit, say in one line why nothing qualified."""
        why_not = []
        for path in program.protocol.new_master_pidfiles(program.spec.pidfile):
            pid, why = self.procs.read_pidfile(path)
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
        procs, glue = self.procs, self.glue
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
                    or (min_workers and self._workers(cand.pid) < min_workers):
                continue
            ident, _ = self.verify(program, cand.pid, orphan_at_exit=at_exit)
            if ident is None:
                continue
            self._log('warn', program, MISMATCH % (
                ident.pid, program.old.pid, program.spec.pidfile,
                program.protocol.pid_setting))
            return ident
        return None

    def _workers(self, pid: int) -> int:
        """How many workers master `pid` has: its children, but a helper it
        started (fork and exec of another program) is none.  A new master may
        start one before it writes its pidfile (at config load): counted, it
        would make the master adoptable by ancestry, with a false WARN that
        the server's pid setting is not PIDFILE."""
        return worker_count(self.procs, pid, self.procs.live_children(pid))

    def unnamed_reexec(self, program, pid: int) -> Optional[ProcId]:
        """A child of master `pid` with workers of its own that no pidfile
        names: a re-exec whose server writes its pid elsewhere.  Returned to
        take over when the server marks it as its re-exec child (says_reexec);
        else said once, and adopted if the old master goes."""
        procs = self.procs
        # as many workers as the master has: not a worker running a command
        enough = max(1, len(program.family) - 1)
        named = None
        for child in sorted(program.family.values(), key=lambda c: c.create_time):
            if child.pid in program.unnamed_judged:
                continue
            if not budget.SHARED.take(budget.COST_CHILDREN):
                break                    # 5,000 children: the rest at a later scan
            if len(procs.child_pids(child.pid)) < enough:
                continue
            if named is None:
                named = {procs.read_pidfile(path)[0] for path in
                         program.protocol.new_master_pidfiles(program.spec.pidfile)}
            if child.pid in named:
                continue                 # the pidfile path is right: scanned already
            program.judge_unnamed(child.pid)
            new, problem = self.verify(program, child.pid)
            if new is None:
                if program.refuse_child(child.pid, problem):
                    self._log('warn', program, 'pid %d, a child of master pid %d with '
                              'workers of its own, is not adopted: %s; %s'
                              % (child.pid, pid, problem, problem.hint))
                continue
            setting = program.protocol.pid_setting
            if self._is_master(program, new.pid):
                self._log('warn', program, MISMATCH % (
                    new.pid, pid, program.spec.pidfile, setting))
                return new
            self._log('warn', program, 'pid %d, a child of master pid %d with workers '
                      'of its own, is named by no pidfile: if it is a new master, the '
                      'server\'s `%s` setting must be PIDFILE %s from `programs`'
                      % (new.pid, pid, setting, program.spec.pidfile))
        return None

    def _is_master(self, program, pid: int) -> bool:
        reader = self.readiness
        workers = self.procs.child_pids(pid)
        evidence = [reader.read(program.protocol.readiness, w)[0] for w in workers]
        reader.forget(workers)
        return is_master(self.procs.caught_signals(pid), evidence)

    def report(self, program, path: str, pid: int, problem: trust.Problem) -> None:
        """Say once why a pidfile's pid is not adopted.  A child of the master
        refused for good is remembered: no hot restart can succeed while it
        lives (the server refuses a second re-exec), so hotRestart says so."""
        if not program.first_time_pidfile_problem((path, pid, problem.code)):
            return
        if program.refuse_child(pid, problem):
            self._log('warn', program, 'pidfile %s names pid %d, a child of master pid %d, '
                      'but it is not adopted: %s; %s. It is not signalled; hot restarts '
                      'fail until it exits' % (path, pid, program.old.pid, problem,
                                               problem.hint))
        else:
            self._log('info', program, 'pidfile %s names pid %d: %s; not adopted, '
                      'not signalled' % (path, pid, problem))

    def verify(self, program, pid: int,
               orphan_at_exit: bool = False) -> Tuple[Optional[ProcId], Optional[trust.Problem]]:
        """(the identity that was verified, None) or (None, why pid is not a
        new master of `program`): the caller adopts exactly what was checked."""
        procs, glue = self.procs, self.glue
        ident = procs.identify(pid)
        if ident is None:
            return None, trust.Problem(trust.Refused.NOT_SEEN, 'no such live process')
        outside = program.usr2_clock is None
        seen = (program.family if outside else program.reexec).get(pid) == ident
        born_after = trust.earliest_successor_start(program.usr2_clock,
                                                    program.old.create_time)
        # an orphan since its master died: known by the group the program was
        # spawned into, which exec keeps (checked, never chosen, from /proc)
        orphan = orphan_at_exit and procs.parent_of(pid) == glue.my_pid() \
            and program.pgid is not None and procs.process_group(pid) == program.pgid
        cand = trust.Candidate(
            pid=pid, create_time=ident.create_time, seen_as_child=seen, orphan=orphan,
            uid=procs.real_uid(pid),
            tracked_by_other=glue.tracks(pid),
            same_session=procs.session_of(pid) == procs.session_of(0),
            workers=len(procs.child_pids(pid)) if outside else 0)
        problem = trust.successor_problem(cand, born_after,
                                          glue.program_uid(program.spec.name), outside)
        if problem:
            return None, problem
        return ident, None

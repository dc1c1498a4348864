"""One hot-restartable program: what is known of its masters and of its hot
restarts.  Its state changes only through its own methods, each one step
that the core or a helper takes (tests may set a field to stage a case)."""
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterable, List, Optional, Set, Tuple

from supervisor_unicorn.common.config import ProgramSpec
from supervisor_unicorn.common.servers import SERVERS
from supervisor_unicorn.supervisord.handover import Handover, Phase
from supervisor_unicorn.supervisord.procs import ProcId


@dataclass
class Program:
    spec: ProgramSpec
    handover: Optional[Handover] = None
    last: Optional[Handover] = None
    restarts: int = 0
    master: Optional[ProcId] = None      # identity of the tracked master
    pgid: Optional[int] = None           # the group supervisord spawned it into (the
    #                                      spawned pid); never read from /proc
    old: Optional[ProcId] = None         # during a handover
    new: Optional[ProcId] = None
    usr2_clock: Optional[float] = None   # procs.clock() when USR2 went out
    workers_before: Set[int] = field(default_factory=set)   # old master's children
    reexec: Dict[int, ProcId] = field(default_factory=dict)  # its children since USR2
    reexec_seen: bool = False            # one was seen, even if gone (and forgotten) since
    pidfile_seen: Dict[str, object] = field(default_factory=dict)   # path -> signature
    # can the workers' readiness be read?  None: not known yet (README "Readiness")
    observable: Optional[bool] = None
    loading_since: Optional[float] = None    # the master's workers looked loading
    progress: tuple = ()                     # the last readiness progress logged
    evidence_of: Set[int] = field(default_factory=set)   # new workers last read
    ready_seen: Set[int] = field(default_factory=set)    # new workers seen ready
    read_cursor: int = 0                 # the last new worker read (they take turns)
    not_workers: Set[ProcId] = field(default_factory=set)  # new master's children
    #                                    that run another program (loading.py)
    # the tracked master's children, recorded while it lived: its workers, or
    # a re-exec child; "left behind" and "re-exec'd from outside" come from here
    family: Dict[int, ProcId] = field(default_factory=dict)
    waiting_why: str = ''                # why USR2 was not sent yet
    # children of the master refused as its new master for good (pid ->
    # (identity, trust.Problem)): the server will not re-exec while one lives
    refused: Dict[int, tuple] = field(default_factory=dict)
    new_family: Dict[int, ProcId] = field(default_factory=dict)   # the new master's
    #                                    children, recorded during a handover
    # the last hot restart's failure, as data: (code, still_serving); ('', False)
    # after a success.  A refusal before USR2 counts (NOT_ADOPTED, NOT_RUNNING).
    failure: Tuple[str, bool] = ('', False)
    paused: Optional[ProcId] = None      # the old master we SIGSTOPped (standby.py)
    # said once per hot restart, one set per kind of message
    pidfile_problems_said: Set[tuple] = field(default_factory=set)  # (path, pid, code)
    unnamed_judged: Set[int] = field(default_factory=set)   # children no pidfile names
    evidence_problems_said: Set[str] = field(default_factory=set)   # why unreadable

    @property
    def protocol(self):
        return SERVERS[self.spec.server]

    # --- the tracked master ---------------------------------------------------

    def know_master(self, pid: int, identify: Callable[[int], Optional[ProcId]]) -> None:
        """supervisord tracks `pid`: a pid we did not adopt is one it spawned;
        its child called setpgrp, so the group is the pid (never read from /proc)."""
        if self.master is None or self.master.pid != pid:
            self.master = identify(pid)
            self.pgid = pid
            self.pidfile_seen.clear()
            self.family.clear()
            self.refused.clear()

    def adopt_new(self) -> None:
        """The new master is tracked now; its workers are known from now on."""
        self.master = self.new           # adopted, not spawned: the group stays
        self.family = dict(self.new_family)

    def watch_outside(self) -> None:
        """Between hot restarts: a USR2 from outside re-execs the tracked master."""
        self.old, self.usr2_clock = self.master, None

    def forget_family(self) -> None:
        self.family.clear()

    def pidfile_changed(self, path: str, signature) -> bool:
        if signature == self.pidfile_seen.get(path):
            return False
        self.pidfile_seen[path] = signature
        return True

    def look_again(self, path: str) -> None:
        self.pidfile_seen.pop(path, None)

    # --- a hot restart ----------------------------------------------------------

    def begin(self, old: ProcId, workers_before: Iterable[int]) -> Set[int]:
        """Forget the last hot restart's traces; return the workers whose
        readiness evidence the reader may forget."""
        self.old, self.new, self.usr2_clock = old, None, None
        self.workers_before = set(workers_before)
        self.reexec.clear()
        self.reexec_seen = False
        self.new_family.clear()
        self.pidfile_problems_said.clear()
        self.unnamed_judged.clear()
        self.evidence_problems_said.clear()
        self.progress = ()
        forget, self.evidence_of = self.evidence_of, set()
        self.ready_seen = set()
        self.read_cursor = 0
        self.not_workers = set()
        self.waiting_why = ''
        return forget

    def refuse_before_usr2(self, failure: str, still_serving: bool) -> None:
        self.failure = (failure, still_serving)

    def forget_gone_refusals(self, is_alive: Callable[[ProcId], bool]) -> None:
        self.refused = {p: (ident, why) for p, (ident, why) in self.refused.items()
                        if is_alive(ident)}

    def refuse_child(self, pid: int, problem) -> bool:
        """Remember a child of the master refused for good; True if it is one."""
        child = self.family.get(pid)
        if child is None or not problem.code.final:
            return False
        self.refused[pid] = (child, problem)
        return True

    def wait_because(self, why: str) -> None:
        self.waiting_why = why

    def usr2_sent(self, clock: float) -> None:
        self.usr2_clock = clock

    def note_reexec(self, child: ProcId) -> None:
        self.reexec[child.pid] = child
        self.reexec_seen = True

    def forget_gone_reexec(self, is_alive: Callable[[ProcId], bool]) -> None:
        # a recorded pid is forgotten once its process is gone: the number
        # may soon name another process
        for pid in [p for p, c in self.reexec.items() if not is_alive(c)]:
            del self.reexec[pid]

    def found_new(self, new: Optional[ProcId]) -> None:
        self.new = new

    def take_over(self, handover: Handover) -> None:
        self.handover = handover

    def finish(self, h: Handover) -> None:
        self.handover, self.last = None, h
        self.failure = ('', False) if h.failure is None \
            else (h.failure.code, h.failure.still_serving)
        if h.phase == Phase.ROLLED_BACK:
            self.old = self.new = None
            self.new_family.clear()
        elif h.phase == Phase.DONE:
            if h.standby_at is None:     # else counted when the standby began
                self.restarts += 1
            self.master, self.old = self.new, None
            self.family.clear()
        self.pidfile_seen.clear()

    def new_generation(self) -> List[ProcId]:
        """The new master if verified, else the re-exec children seen so far."""
        if self.new is not None:
            return [self.new]
        return list(self.reexec.values())

    def members(self) -> List[ProcId]:
        """The processes known to be the program's (alive or not): its
        masters and the children recorded while they lived."""
        known = [self.master, self.old, self.new]
        known += list(self.family.values()) + list(self.reexec.values())
        known += list(self.new_family.values())
        return [p for p in known if p is not None]

    # --- standby ----------------------------------------------------------------

    def stand_by(self) -> None:
        self.restarts += 1              # the new generation serves: done

    def pause(self, old: ProcId) -> None:
        self.paused = old

    def take_paused(self) -> Optional[ProcId]:
        paused, self.paused = self.paused, None
        return paused

    def reaped(self, pid: int) -> None:
        if self.paused is not None and self.paused.pid == pid:
            self.paused = None           # gone: nothing to continue

    # --- readiness of the new workers -------------------------------------------

    def next_turn(self, children: List[ProcId], limit: int) -> List[ProcId]:
        """Of the new workers not seen ready, the next `limit` to read, in
        turns: an app may fork thousands of children."""
        self.ready_seen &= {c.pid for c in children}
        pending = sorted((c for c in children if c.pid not in self.ready_seen),
                         key=lambda c: c.pid)
        turn = [c for c in pending if c.pid > self.read_cursor]
        turn = (turn + [c for c in pending if c.pid <= self.read_cursor])[:limit]
        self.read_cursor = turn[-1].pid if turn else 0
        return turn

    def saw_ready(self, pid: int) -> None:
        self.ready_seen.add(pid)

    def saw_not_workers(self, children: Iterable[ProcId]) -> None:
        self.not_workers |= set(children)

    def reading(self, workers: Set[int]) -> Set[int]:
        """The workers whose evidence is read now; return the ones no longer read."""
        gone, self.evidence_of = self.evidence_of - workers, workers
        return gone

    def first_time_unreadable(self, why: str) -> bool:
        if why in self.evidence_problems_said:
            return False
        self.evidence_problems_said.add(why)
        return True

    def judged_observable(self, observable: bool) -> None:
        self.observable = observable
        if observable:
            self.loading_since = None

    def loading_seen(self, now: float) -> float:
        """Since when the master's workers look loading."""
        if self.loading_since is None:
            self.loading_since = now
        return self.loading_since

    def progress_logged(self, progress: tuple) -> None:
        self.progress = progress

    # --- what is said once --------------------------------------------------------

    def first_time_pidfile_problem(self, key: tuple) -> bool:
        if key in self.pidfile_problems_said:
            return False
        self.pidfile_problems_said.add(key)
        return True

    def judge_unnamed(self, pid: int) -> None:
        self.unnamed_judged.add(pid)

    # --- configuration --------------------------------------------------------------

    def respec(self, spec: ProgramSpec) -> None:
        old, self.spec = self.spec, spec
        if (old.server, old.pidfile) != (spec.server, spec.pidfile):
            # what was read and reported about the old pidfile says nothing now
            self.pidfile_seen.clear()
            self.pidfile_problems_said.clear()
            self.unnamed_judged.clear()
            self.evidence_problems_said.clear()
            self.observable = None

"""Watching a new generation load the app, for the core.

Which new workers have loaded the app (the evidence itself is read by
readiness.py), one log line per change in how many are ready, and, once per
program, whether its workers' evidence can be read at all: if not, or if
reading it is past a limit of cost (budget.py), a WARN says why and hot
restarts fall back to the time rule (handover.py's settle).
The state is the program's (program.py), changed through its methods.
"""
import signal
from typing import Iterable, Sequence, Set

from supervisor_unicorn.supervisord import trust
from supervisor_unicorn.supervisord.handover import Observation, Phase
from supervisor_unicorn.supervisord.procs import ProcId
from supervisor_unicorn.supervisord.readiness import Evidence

READS_PER_POLL = 64      # new workers whose evidence one poll reads (the rest: next polls)


def not_workers(procs, master_pid: int, children: Iterable[ProcId]) -> Set[ProcId]:
    """The children that run another program than their master.  A server
    forks its workers without exec (or execs its own binary again), so a
    child that exec'd something else, a helper the app started, is no
    worker: its readiness means nothing, and it is neither counted nor
    waited for.  Where either program cannot be read, a child counts."""
    own = procs.exe_of(master_pid)
    if own is None:
        return set()
    return {c for c in children if procs.exe_of(c.pid) not in (None, own)}


def worker_count(procs, master_pid: int, children: Sequence[ProcId]) -> int:
    """How many of the master's `children` are its workers (see not_workers)."""
    return len(children) - len(not_workers(procs, master_pid, children))


class LoadWatch:
    def __init__(self, glue, procs, readiness, now, log):
        self.glue = glue
        self.procs = procs
        self.readiness = readiness
        self.now = now
        self.log = log

    def _read(self, program, pid):
        return self.readiness.read(program.protocol.readiness, pid)

    def observe_workers(self, program, obs: Observation) -> None:
        """The new master's workers, and which of them have loaded the app.
        A worker seen ready stays ready (it is in its request loop) and is
        not read again; of the others, READS_PER_POLL are read a poll, in
        turn: an app may fork thousands of children, each a few reads."""
        workers, ready, unknown = set(), set(), []
        children = [c for c in self.procs.live_children(program.new.pid)
                    if c not in program.not_workers]
        turn = program.next_turn(children, READS_PER_POLL)
        others = not_workers(self.procs, program.new.pid, turn)
        if others:
            program.saw_not_workers(others)
            children = [c for c in children if c not in others]
            turn = [c for c in turn if c not in others]
        workers |= {c.pid for c in children} - {c.pid for c in turn}
        ready |= program.ready_seen
        for child in turn:
            if program.observable is False:
                workers.add(child.pid)
                continue
            evidence, why = self._read(program, child.pid)
            if evidence == Evidence.UNKNOWN and not self.procs.is_alive(child):
                continue                   # gone since it was listed
            workers.add(child.pid)
            if evidence == Evidence.READY:
                ready.add(child.pid)
                program.saw_ready(child.pid)
            elif evidence == Evidence.UNKNOWN and self.readiness.over_limit(child.pid):
                # reading it would cost more than a poll may, every poll:
                # the time rule from now on, said once
                self._not_observable(program, why)
            elif evidence == Evidence.UNKNOWN and program.observable is not True:
                unknown.append(why)
            # else: where readiness is known to be readable, a worker whose
            # evidence vanished is on its way out (a failed load closes its
            # fds first): not ready, and no reason to fall back to the time rule
        self.readiness.forget(program.reading(workers))
        obs.new_workers = frozenset(workers)
        obs.ready_workers = frozenset(ready)
        obs.readiness = program.observable is not False and not unknown
        if unknown and program.first_time_unreadable(unknown[0]):
            self.log.info(program.spec.name, 'readiness of a new worker cannot be read '
                            '(%s); the time rule applies meanwhile' % unknown[0])

    def log_progress(self, program, h) -> None:
        """One line for each change in how many new workers are ready."""
        if h.phase not in (Phase.LOADING, Phase.OVERLAP, Phase.RETIRING) or not h.workers:
            return
        name, took = program.spec.name, h.seconds(self.now())
        counts = (h.workers, h.workers_ready)
        if counts != program.progress[1:]:
            self.log.info(name, 'new workers ready: %d/%d (%.1fs after the request)'
                            % (counts[1], counts[0], took))
        if h.phase == Phase.OVERLAP and program.progress[:1] != (Phase.OVERLAP,):
            self.log.info(name, 'every new worker is ready; old master pid %d keeps '
                            'serving for overlap=%gs' % (h.old_pid, h.overlap))
        program.progress_logged((h.phase,) + counts)

    def check_evidence(self, program) -> None:
        """Once per program: can its workers' readiness be read?  Judged on
        the workers of the running master, which have loaded the app."""
        name = program.spec.name
        pid = self.glue.tracked_pid(name)
        if not pid or not self.glue.is_running(name):
            return
        children = self.procs.live_children(pid)
        others = not_workers(self.procs, pid, children)
        found, why, reexec_child = set(), '', False
        for child in children:
            if child in others:
                continue
            evidence, problem = self._read(program, child.pid)
            if evidence == Evidence.UNKNOWN and self.procs.is_alive(child):
                # no worker's evidence, and USR2 handled as only a master
                # handles it: a re-exec child (a bare USR2 came first), not a
                # worker; judged on a later scan
                reexec_child = trust.catches(self.procs.caught_signals(child.pid),
                                             signal.SIGUSR2)
                why = problem
                break
            found.add(evidence)
        self.readiness.forget(c.pid for c in children)
        if reexec_child:
            return
        if why:
            self._not_observable(program, why)
        elif found == {Evidence.READY}:
            program.judged_observable(True)
            self.log.info(name, 'readiness of the workers of pid %d is observable; a '
                            'hot restart waits for every new worker to load the app' % pid)
        elif Evidence.LOADING in found:
            # still loading after start-up, or evidence this version shows differently
            now = self.now()
            if now - program.loading_seen(now) > program.spec.boot_timeout:
                self._not_observable(program, 'the workers of pid %d still look like '
                                     'loading the app after %gs'
                                     % (pid, program.spec.boot_timeout))

    def _not_observable(self, program, why: str) -> None:
        program.judged_observable(False)
        self.log.warn(program.spec.name, 'readiness cannot be observed: %s; a hot '
                        'restart retires the old master once the new workers have been '
                        'up %gs, whether they have loaded the app or not'
                        % (why, program.protocol.settle))

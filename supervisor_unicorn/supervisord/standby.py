"""The old generation on standby after a hot restart, and rollback to it.

With ``standby=SECONDS``, once every new worker is ready the old master is
stopped (SIGSTOP) and its workers get the graceful stop signal: a stopped
master neither reaps nor respawns, so the new generation serves alone while
the old master keeps the app in memory (the one way that works for both
servers in the foreground; README "Standby and rollback").  The window ends
with the graceful stop then SIGCONT (it acts on the stop first, and the new
master is adopted as usual).  Rollback is SIGCONT alone: the old master
respawns its workers; once every one is ready (readiness.py) the new master
gets its graceful stop.  The state machine is handover.py's; this module
carries out its standby actions and observes the old generation coming back.
"""
import signal
from typing import List, Optional

from supervisor_unicorn.supervisord.handover import Action, Handover, Observation, Phase
from supervisor_unicorn.supervisord.loading import not_workers
from supervisor_unicorn.supervisord.readiness import Evidence

STANDBY_ACTIONS = (Action.STANDBY_OLD, Action.RETIRE_STANDBY, Action.RESUME_OLD,
                   Action.RETIRE_NEW)


class StandbyOps:
    def __init__(self, glue, procs, readiness, now, log):
        self.glue = glue
        self.procs = procs
        self.readiness = readiness
        self.now = now
        self.log = log

    # --- API ----------------------------------------------------------------

    def begin_rollback(self, h: Handover) -> List[Action]:
        """The actions that start going back to the old generation on standby."""
        self.log.info(h.name, 'rollback requested: going back to old master pid %d; new '
                      'master pid %s serves until the old workers are ready'
                      % (h.old_pid, h.new_pid))
        return h.rollback(self.now())

    @staticmethod
    def no_standby_text(program, h: Optional[Handover], serving: int) -> str:
        """Why `program` has nothing to roll back to (the NO_STANDBY Fault)."""
        name = program.spec.name
        if h is not None:
            return ('%s has no standby to roll back to yet: a hot restart is in '
                    'progress (%s); pid %d still serving' % (name, h.phase.value,
                                                            h.old_pid))
        if not program.spec.standby:
            return ('%s has no standby to roll back to (standby=0: the old master is '
                    'retired once the new one is ready; set standby=SECONDS on its '
                    'programs line); pid %d serving' % (name, serving))
        return ('%s has no standby to roll back to (none since the last hot restart '
                'ended or its standby=%gs window passed); pid %d serving'
                % (name, program.spec.standby, serving))

    def in_progress_text(self, h: Handover) -> Optional[str]:
        """hotRestart during a standby is refused (IN_PROGRESS): which
        generation to keep is the caller's to say, by rollback or by waiting."""
        if h.phase == Phase.STANDBY:
            left = max(0.0, h.standby - (self.now() - h.standby_at))
            return ('old master pid %d of %s is on standby for %.0fs more; pid %s '
                    'serving; roll back (supervisorctl rollback %s) or hot restart '
                    'again once the standby is retired'
                    % (h.old_pid, h.name, left, h.new_pid, h.name))
        if h.phase == Phase.ROLLING_BACK:
            return ('%s is rolling back to pid %d; pid %s still serving'
                    % (h.name, h.old_pid, h.new_pid))
        return None

    # --- observing ------------------------------------------------------------

    def observe_old(self, program, obs: Observation) -> None:
        """Rolling back: the old master's workers, and which are ready."""
        workers, ready, readable = set(), set(), program.observable is not False
        for child in self._old_workers(program):
            workers.add(child.pid)
            if program.observable is False:
                continue
            evidence, _ = self.readiness.read(program.protocol.readiness, child.pid)
            if evidence == Evidence.READY:
                ready.add(child.pid)
            elif evidence == Evidence.UNKNOWN:
                readable = False
        obs.old_workers = frozenset(workers)
        obs.old_ready = frozenset(ready)
        obs.old_readiness = readable

    # --- actions ---------------------------------------------------------------

    def do(self, program, h: Handover, action: Action) -> bool:
        """Carry out a standby action; False if `action` is not one."""
        if action == Action.STANDBY_OLD:
            self._stand_by(program, h)
        elif action == Action.RETIRE_STANDBY:
            self._retire_standby(program, h)
        elif action == Action.RESUME_OLD:
            self._resume(program, h)
        elif action == Action.RETIRE_NEW:
            self._retire_new(program, h)
        elif action == Action.KILL_NEW and h.phase == Phase.ROLLING_BACK:
            self.log.warn(h.name, 'new master pid %s still running %gs after it was '
                          'asked to finish; sending KILL' % (h.new_pid, h.retire_timeout))
            for ident in program.new_generation():
                self.glue.signal(ident, signal.SIGKILL)
        else:
            return False
        return True

    def _stand_by(self, program, h: Handover) -> None:
        name = h.name
        program.stand_by()
        # stopped first: a running master would respawn the workers we retire
        err = self.glue.signal(program.old, signal.SIGSTOP)
        if err:
            self.log.warn(name, 'could not stop old master pid %d (%s); it is retired '
                       'instead' % (h.old_pid, err))
            h.standby = 0.0                # the next step retires it
            return
        program.pause(program.old)
        sig = program.protocol.retire_signal
        workers = self._old_workers(program)
        for worker in workers:
            self.glue.signal(worker, sig)
        self.log.info(name, 'hot restarted (pid %d -> %d in %.1fs); old master pid %d on '
                      'standby for %gs (stopped; its %d worker(s) asked to finish with %s)'
                      % (h.old_pid, h.new_pid, h.hot_restart_seconds(self.now()), h.old_pid,
                         h.standby, len(workers), signal.Signals(sig).name))

    def _old_workers(self, program) -> List:
        skip = set(program.reexec) | ({program.new.pid} if program.new else set())
        children = [c for c in self.procs.live_children(program.old.pid)
                    if c.pid not in skip]
        others = not_workers(self.procs, program.old.pid, children)
        return [c for c in children if c not in others]

    def _retire_standby(self, program, h: Handover) -> None:
        sig = program.protocol.retire_signal
        # the stop signal first, while it is stopped: continued, it acts on
        # that before it could respawn a worker
        err = self.glue.signal(program.old, sig)
        self.resume(program)
        self.log.info(h.name, 'standby of %gs over; retiring old master pid %d with '
                      '%s%s' % (h.standby, h.old_pid, signal.Signals(sig).name,
                                ' (%s)' % err if err else ''))

    def _resume(self, program, h: Handover) -> None:
        err = self.resume(program)
        if h.rollback_cause:
            self.log.warn(h.name, '%s; rolling back to old master pid %d instead of '
                          'a restart%s' % (h.rollback_cause, h.old_pid,
                                           ' (%s)' % err if err else ''))
        else:
            self.log.info(h.name, 'continued old master pid %d: it respawns its '
                          'workers%s' % (h.old_pid, ' (%s)' % err if err else ''))

    def _retire_new(self, program, h: Handover) -> None:
        sig = program.protocol.retire_signal
        back = h.old_ready_at - h.rollback_at
        targets = program.new_generation()
        if program.new is None or not self.procs.is_alive(program.new):
            # it died: the workers it left (our children now) still serve
            targets = [w for w in program.new_family.values() if self.procs.is_alive(w)]
        for ident in targets:
            self.glue.signal(ident, sig)
        self.log.info(h.name, 'old workers of pid %d ready again (%.2fs after the rollback '
                   'began); retiring %s with %s' % (
                       h.old_pid, back, ', '.join('pid %d' % t.pid for t in targets)
                       or 'nothing (the new generation is gone)', signal.Signals(sig).name))

    def resume(self, program) -> Optional[str]:
        """SIGCONT the master we stopped, if any."""
        paused = program.take_paused()
        if paused is None:
            return None
        return self.glue.signal(paused, signal.SIGCONT)

    # --- hooks --------------------------------------------------------------------

    def after_kill(self, program, sig: int) -> None:
        """supervisord just signalled the program.  While it stops it, a
        stopped old master must be continued to act on that signal (and a
        SIGKILL needs nothing).  Any other signal stays pending until the
        standby ends or is rolled back."""
        if program.paused is None or sig == signal.SIGKILL:
            return
        if self.glue.is_stopping(program.spec.name):
            err = self.resume(program)
            self.log.info(program.spec.name, 'stop during standby: continued old '
                          'master pid %d so that it stops%s'
                          % (program.old.pid if program.old else 0,
                             ' (%s)' % err if err else ''))

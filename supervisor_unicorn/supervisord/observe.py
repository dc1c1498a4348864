"""What a pending handover's next step sees (handover.Observation).

Read from /proc through the helpers that own each part: the new master
(successors.py), its workers' readiness (loading.py), the old generation
coming back (standby.py).  Nothing here signals.
"""
import signal

from supervisor_unicorn.supervisord import trust
from supervisor_unicorn.supervisord.handover import Handover, Observation, Phase


class Observer:
    def __init__(self, glue, procs, successors, loading, standby, log):
        self.glue = glue
        self.procs = procs
        self.successors = successors
        self.loading = loading
        self.standby = standby
        self.log = log

    def observe(self, program, h: Handover) -> Observation:
        name = program.spec.name
        obs = Observation(stopping=self.glue.is_stopping(name),
                          old_alive=self.procs.is_alive(program.old))
        if h.phase == Phase.WAITING:
            obs.can_reexec = self._can_reexec(program)
            return obs
        if h.phase == Phase.ROLLING_BACK and obs.old_alive:
            self.standby.observe_old(program, obs)
        if program.new is None and obs.old_alive:
            self._note_reexec_children(program)
            program.found_new(self.successors.find(program, min_workers=h.expected_workers))
            if program.new is not None:
                self.log.info(name, 'new master pid %d is up (child of pid %d)'
                              % (program.new.pid, h.old_pid))
        if program.new is not None:
            obs.new_pid = program.new.pid
            obs.new_seen = True
            obs.new_alive = self.procs.is_alive(program.new)
            if obs.new_alive:
                self.loading.observe_workers(program, obs)
                # its workers, for whoever must stop them if it dies first
                self.successors.record_children(program.new_family, program.new.pid)
        else:
            # before its pidfile exists (gunicorn writes it after preloading
            # the app), the re-exec child is known only as a new child
            obs.new_seen = program.reexec_seen
            obs.new_alive = any(self.procs.is_alive(c) for c in program.reexec.values())
        return obs

    def _note_reexec_children(self, program) -> None:
        self.successors.record_family(program, program.old.pid)
        program.forget_gone_reexec(self.procs.is_alive)
        if program.usr2_clock is None:
            return
        for child in program.family.values():
            if child.pid not in program.workers_before and child.pid not in program.reexec \
                    and child.create_time >= trust.earliest_successor_start(
                        program.usr2_clock, program.old.create_time):
                program.note_reexec(child)

    def _can_reexec(self, program) -> bool:
        # rule 4: USR2 to a master with no handler yet would kill it
        if not trust.catches(self.procs.caught_signals(program.old.pid), signal.SIGUSR2):
            if not program.waiting_why:
                self.log.info(program.spec.name, 'master pid %d does not catch USR2 yet '
                              '(still loading?); waiting up to boot_timeout'
                              % program.old.pid)
            program.wait_because('it does not catch USR2')
            return False
        suffix = program.protocol.unpromoted_suffix
        if not suffix:
            return True
        pid, _ = self.procs.read_pidfile(program.spec.pidfile + suffix)
        if pid == program.old.pid:
            program.wait_because('the previous hot restart has not settled')
            return False
        return True

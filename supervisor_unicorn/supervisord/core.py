"""The hot-restart core: one per supervisord run, shared by its HTTP servers.

It coordinates: the pure state machine (handover.py) decides, the helpers
look at /proc (procs.py) and act through supervisord (internals.Glue, the only
door to its internals), each given what it needs when the core is made.  It
runs inside supervisord's loop, so nothing here blocks: every wait is a phase
that the next poll() looks at again.  poll() is driven by the reap hook (every
loop pass), a timer fd while a hot restart is pending, Tick5, and the deferred
response of a waiting client; any of them alone is enough to finish.
"""
import signal
from typing import Dict, List, Optional

from supervisor_unicorn.common.config import ProgramSpec
from supervisor_unicorn.common.faults import Faults, HotRestartError
from supervisor_unicorn.supervisord import procs
from supervisor_unicorn.supervisord.abort import Aborts
from supervisor_unicorn.supervisord.daemonized import DaemonWatch
from supervisor_unicorn.supervisord.failures import failure_text
from supervisor_unicorn.supervisord.handover import Action, Failure, Handover, Phase
from supervisor_unicorn.supervisord.ledger import Ledger
from supervisor_unicorn.supervisord.leftovers import LeftoverMasters
from supervisor_unicorn.supervisord.loading import LoadWatch, worker_count
from supervisor_unicorn.supervisord.log import Log
from supervisor_unicorn.supervisord.observe import Observer
from supervisor_unicorn.supervisord.outside import OutsideUsr2
from supervisor_unicorn.supervisord.program import Program
from supervisor_unicorn.supervisord.programs_table import ProgramsTable, Section
from supervisor_unicorn.supervisord.readiness import Reader
from supervisor_unicorn.supervisord.standby import STANDBY_ACTIONS, StandbyOps
from supervisor_unicorn.supervisord.stops import Stops
from supervisor_unicorn.supervisord.successors import Successors

POLL_INTERVAL = 0.05     # timer period while a hot restart is pending
SCAN_INTERVAL = 0.25     # how often masters' children and pidfiles are looked at
LINGER = 2.0             # keep the timer after a handover, for waiting clients


class Core:
    def __init__(self, glue, specs: List[ProgramSpec], clock=None, proc=procs,
                 readiness=None, section: Optional[Section] = None):
        self.glue = glue
        self.now = clock or glue.now
        self.procs = proc
        self.readiness = readiness or Reader()
        self.log = Log(glue.logger)
        self.programs: Dict[str, Program] = {s.name: Program(s) for s in specs}
        self._last_poll = 0.0
        self._last_scan = 0.0
        self._linger_until = 0.0
        self.leftovers = LeftoverMasters(glue, self.programs, proc, self.now,
                                         Ledger(glue.ledger_path()))
        self.daemons = DaemonWatch(glue, self.programs, proc, self.now)
        self.aborts = Aborts(glue, proc, self.now)
        self.loading = LoadWatch(glue, proc, self.readiness, self.now, self.log)
        self.successors = Successors(glue, proc, self.readiness, self.log)
        self.standby = StandbyOps(glue, proc, self.readiness, self.now, self.log)
        self.observer = Observer(glue, proc, self.successors, self.loading, self.standby,
                                 self.log)
        self.outside = OutsideUsr2(glue, proc, self.readiness, self.successors, self.now,
                                   self.log)
        self.stops = Stops(glue, proc, self.programs, self.log)
        # with a section, the programs follow it through reread/update/reload
        self.table = ProgramsTable(glue, self.programs, self._busy, Program, section)

    def _busy(self, name: str) -> bool:
        """Work is in flight for `name`: its spec must not change under it."""
        return (self.programs[name].handover is not None
                or name in self.leftovers.pending or name in self.daemons.pending)

    # --- API ----------------------------------------------------------------

    def program(self, name: str) -> Program:
        if not isinstance(name, str) or not name:
            raise HotRestartError(Faults.BAD_NAME, 'process name must be a non-empty '
                                  'string, not %r' % (name,))
        self.table.sync()
        program = self.programs.get(name)
        if program is not None and self.glue.program_problem(name):
            program = None           # removed from supervisord by `update`
        if program is None:
            if self.table.problem(name):
                raise HotRestartError(Faults.BAD_CONFIG, self.table.problem(name))
            if self.glue.has_process(name):
                raise HotRestartError(
                    Faults.BAD_NAME, '%s is not configured for hot restart; add it '
                    'to "programs" in [rpcinterface:unicorn]' % name)
            raise HotRestartError(Faults.BAD_NAME, 'no such process: %s' % name)
        return program

    def configured(self) -> List[str]:
        """The configured names still in supervisord (`update` may remove one)."""
        self.table.sync()
        return [name for name in self.programs if not self.glue.program_problem(name)]

    def start(self, name: str) -> Handover:
        """Send USR2 to the master of `name` (or wait until it may get one)."""
        program = self.program(name)
        pid = self.glue.tracked_pid(name)
        if program.handover is not None:
            h = program.handover
            standing_by = self.standby.in_progress_text(h)
            if standing_by:
                raise HotRestartError(Faults.IN_PROGRESS, standing_by)
            raise HotRestartError(
                Faults.IN_PROGRESS, 'a hot restart of %s is already in progress '
                '(%s); pid %d still serving' % (name, h.phase.value, h.old_pid))
        if not self.glue.is_running(name):
            self._refuse(program, Faults.NOT_RUNNING, 'NOT_RUNNING', False,
                         '%s is not running (state %s); nothing to hot restart'
                         % (name, self.glue.state_name(name)))
        if not self.glue.subreaper:
            self._refuse(program, Faults.UNSUPPORTED, 'UNSUPPORTED', True,
                         'supervisord is not a child subreaper, so it could not '
                         'supervise a new master; pid %d still serving' % pid)
        old = self.procs.identify(pid)
        if old is None:
            self._refuse(program, Faults.NOT_RUNNING, 'NOT_RUNNING', False,
                         '%s has no live master (pid %d)' % (name, pid))
        _, _, stopwaitsecs = self.glue.stop_settings(name)
        program.know_master(pid, self.procs.identify)
        self._refuse_if_unadopted(program, pid)
        children = self.procs.live_children(old.pid)
        self.readiness.forget(program.begin(old, {c.pid for c in children}))
        h = Handover.begin(name, pid, self.now(), program.spec.boot_timeout,
                           retire_timeout=stopwaitsecs,
                           expected_workers=worker_count(self.procs, old.pid, children),
                           settle=program.protocol.settle, overlap=program.spec.overlap,
                           standby=program.spec.standby)
        program.take_over(h)
        self.log.info(name, 'hot restart requested (pid %d, %s)' % (pid, program.spec.server))
        self._advance(program)
        self._update_timer()
        return h

    def _refuse_if_unadopted(self, program: Program, pid: int) -> None:
        # the server will not re-exec while its previous re-exec child lives:
        # say why that child was not adopted now, not "may be hung" later
        program.forget_gone_refusals(self.procs.is_alive)
        for child, problem in program.refused.values():
            self._refuse(program, Faults.FAILED, 'NOT_ADOPTED', True,
                         'a new master pid %d exists but was not adopted: %s; %s; pid %d '
                         'still serving' % (child.pid, problem, problem.hint, pid))

    @staticmethod
    def _refuse(program: Program, fault: int, failure: str, still_serving: bool,
                text: str) -> None:
        """Raise the Fault of a hot restart refused before USR2, and keep
        what it means as data for getHotRestartInfo."""
        program.refuse_before_usr2(failure, still_serving)
        raise HotRestartError(fault, text)

    def rollback(self, name: str) -> Handover:
        """Start going back to the old generation of `name` (or join the
        rollback under way); raise NO_STANDBY when there is none."""
        program = self.program(name)
        h = program.handover
        if h is not None and h.phase == Phase.ROLLING_BACK:
            return h
        if h is None or h.phase != Phase.STANDBY:
            raise HotRestartError(Faults.NO_STANDBY, self.standby.no_standby_text(
                program, h, self.glue.tracked_pid(name)))
        for action in self.standby.begin_rollback(h):
            self._do(program, h, action)
        self._advance(program)
        self._update_timer()
        return h

    def poll_one(self, name: str) -> None:
        program = self.programs[name]
        if program.handover is not None:
            self._advance(program)
            self._update_timer()

    # --- driving ------------------------------------------------------------

    def on_running(self) -> None:
        # before the loop's first transition() spawns anything
        if self.glue.first_start():
            self.leftovers.check()
        self._update_timer()

    def poll(self, force: bool = False) -> None:
        """Advance pending handovers; now and then, look for a foreign USR2."""
        now = self.now()
        if not force and now - self._last_poll < POLL_INTERVAL / 2:
            return
        self._last_poll = now
        if self.leftovers.pending:
            self.leftovers.poll()
        if self.daemons.pending:
            self.glue.guarded(self.daemons.poll)
        if self.aborts.pending:
            self.glue.guarded(self.aborts.poll)
        # one program's trouble must not hold up the others
        for program in self.programs.values():
            if program.handover is not None:
                self.glue.guarded(self._advance, program)
        if force or now - self._last_scan >= SCAN_INTERVAL:
            self._last_scan = now
            self.glue.guarded(self.table.sync)
            for program in self.programs.values():
                if program.handover is None:
                    self.glue.guarded(self.outside.scan, program)
                if program.handover is None and program.observable is None:
                    self.glue.guarded(self.loading.check_evidence, program)
        self.glue.guarded(self.leftovers.record)
        self._update_timer()

    def _update_timer(self) -> None:
        pending = any(p.handover is not None for p in self.programs.values()) \
            or bool(self.aborts.pending) \
            or bool(self.leftovers.pending) or bool(self.daemons.pending)
        now = self.now()
        if pending:
            self._linger_until = now + LINGER
        # idle, a scan every SCAN_INTERVAL: a USR2 from outside is seen while
        # its re-exec child is still a child of the master (trust rule 2)
        idle = SCAN_INTERVAL if self.programs else 0
        self.glue.set_timer(POLL_INTERVAL if pending or now < self._linger_until else idle)

    def _advance(self, program: Program) -> None:
        h = program.handover
        obs = self.observer.observe(program, h)
        actions = h.step(self.now(), obs)
        self.loading.log_progress(program, h)
        for action in actions:
            self._do(program, h, action)
        if h.finished:
            self._finish(program, h)

    def _do(self, program: Program, h: Handover, action: Action) -> None:
        name = program.spec.name
        if action in STANDBY_ACTIONS or h.phase == Phase.ROLLING_BACK:
            if self.standby.do(program, h, action):
                return
        if action == Action.SEND_USR2:
            program.usr2_sent(self.procs.clock())
            err = self.glue.signal(program.old, signal.SIGUSR2)
            self.log.info(name, 'sent USR2 to master pid %d%s'
                          % (h.old_pid, ' (%s)' % err if err else ''))
        elif action == Action.RETIRE_OLD:
            sig = program.protocol.retire_signal
            err = self.glue.signal(program.old, sig)
            self.log.info(name, 'new master pid %d has %d worker(s) %s; retiring old '
                          'master pid %d with %s%s'
                          % (h.new_pid, h.workers or h.expected_workers,
                             'ready' if h.workers else 'up (time rule)',
                             h.old_pid, signal.Signals(sig).name,
                             ' (%s)' % err if err else ''))
        elif action == Action.KILL_OLD:
            self.log.warn(name, 'old master pid %d still running after %gs; sending KILL'
                          % (h.old_pid, h.retire_timeout))
            if program.old is not None:
                self.glue.signal(program.old, signal.SIGKILL)
        elif action == Action.KILL_NEW:
            if h.failure == Failure.LOAD_FAILED:
                why = 'new workers keep failing to load the app (%d exited)' % h.load_failures
            else:
                why = 'not ready within %gs' % h.boot_timeout
            self.log.warn(name, 'new master pid %s: %s; killing it and its workers; pid %d '
                          'still serving' % (h.new_pid, why, h.old_pid))
            # the recorded re-exec pids that still name their process (a
            # dead one's number may be anyone's now), then what they left (abort.py)
            self.aborts.begin(name, program.new_generation(),
                              program.new_family.values(),
                              program.usr2_clock or program.old.create_time,
                              program.pgid, self.glue.program_uid(name))

    def _finish(self, program: Program, h: Handover) -> None:
        name = program.spec.name
        program.finish(h)
        self.standby.resume(program)     # never leave a master stopped
        if h.phase == Phase.ROLLED_BACK:
            self.log.info(name, 'rolled back (pid %s -> %d in %.1fs)%s'
                          % (h.new_pid, h.old_pid, h.rollback_seconds(self.now()),
                             '; ' + h.rollback_cause if h.rollback_cause else ''))
        elif h.phase == Phase.DONE:
            if program.master is not None:
                # its workers, now: a SIGKILL before the next scan must not
                # leave them unknown (and holding the port)
                self.successors.record_family(program, program.master.pid)
            self.log.info(name, 'hot restarted (pid %d -> %d in %.1fs)'
                          % (h.old_pid, h.new_pid, h.seconds(self.now())))
        else:
            self.log.warn(name, 'hot restart failed: %s'
                          % failure_text(h, program.waiting_why)[1])

    # --- hooks --------------------------------------------------------------

    def on_reaped(self, pid: int, sts) -> bool:
        """A child was reaped.  True: it was an old master whose successor is
        now tracked, so supervisord must not see this exit."""
        name = self.glue.program_of(pid, self.programs)
        if name is None:
            return False
        program = self.programs[name]
        status = self.glue.describe_status(sts)
        program.reaped(pid)
        h = program.handover
        if h is None:
            h = self.outside.notice_after_exit(program, pid)
            if h is None:
                self.glue.guarded(self.daemons.master_exited, name, pid, sts)
                self.stops.retire_orphans(program, pid, keep=0)
                return False
        if h.new_pid is None:
            # the old master went before we saw its successor: find it now
            program.found_new(self.successors.find(program, at_exit=True))
            if program.new is not None:
                h.new_pid = program.new.pid
        adopt = h.old_master_exited(self.now(), self.procs.is_alive(program.new))
        self.stops.retire_orphans(program, pid, keep=h.new_pid if adopt else 0)
        if not adopt:
            self.log.warn(name, 'old master pid %d exited (%s) and no new master is alive'
                          % (pid, status))
            self._finish(program, h)
            return False
        self.glue.adopt(name, pid, h.new_pid)
        program.adopt_new()
        self.successors.record_family(program, h.new_pid)
        self.log.info(name, 'old master pid %d exited (%s); now tracking new master pid %d'
                      % (pid, status, h.new_pid))
        if self.glue.is_stopping(name):
            self.stops.stop_adopted(program)
        self._finish(program, h)
        self._update_timer()
        return True

    def on_kill(self, pid: int, sig: int) -> int:
        """supervisord is about to signal pid; return the pid to signal."""
        name = self.glue.program_of(abs(pid), self.programs)
        if name is None:
            return pid
        program = self.programs[name]
        if pid < 0:
            pid = self.stops.group_target(program, -pid, sig)
        if program.handover is not None and self.glue.is_stopping(name):
            self._advance(program)   # notes the stop: nothing is retired or aborted now
            if pid > 0:
                self.stops.also_new_generation(program, sig)
        return pid

    def after_kill(self, pid: int, sig: int) -> None:
        """supervisord has just signalled pid (on_kill chose the target)."""
        name = self.glue.program_of(abs(pid), self.programs)
        if name is not None:
            self.standby.after_kill(self.programs[name], sig)

    def on_master_running(self, pid: int) -> None:
        """A program entered RUNNING: know its master by identity from now on."""
        name = self.glue.program_of(pid, self.programs)
        if name is not None:
            self.programs[name].know_master(pid, self.procs.identify)

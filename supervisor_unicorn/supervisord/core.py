"""The hot-restart core: one per supervisord run, shared by its HTTP servers.

It joins three things: the pure state machine (handover.py), what /proc says
(procs.py) and what supervisord tracks (internals.Glue, the only door to
supervisord's internals).  It runs inside supervisord's loop, so nothing here
blocks: every wait is a phase that the next poll() looks at again.  poll() is
driven by the reap hook (every loop pass), a timer fd while a hot restart is
pending, Tick5, and the deferred response of a waiting client; any of them
alone is enough to finish a hot restart.
"""
import os
import signal
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Set, Tuple

from supervisor_unicorn.common.config import ProgramSpec
from supervisor_unicorn.common.faults import Faults, HotRestartError
from supervisor_unicorn.common.servers import SERVERS
from supervisor_unicorn.supervisord import procs, trust
from supervisor_unicorn.supervisord.abort import Aborts
from supervisor_unicorn.supervisord.daemonized import DaemonWatch
from supervisor_unicorn.supervisord.handover import Action, Failure, Handover, Observation, Phase
from supervisor_unicorn.supervisord.ledger import Ledger, Record
from supervisor_unicorn.supervisord.leftovers import LeftoverMasters
from supervisor_unicorn.supervisord.loading import LoadWatch
from supervisor_unicorn.supervisord.procs import ProcId
from supervisor_unicorn.supervisord.programs_table import ProgramsTable, Section
from supervisor_unicorn.supervisord.readiness import Reader
from supervisor_unicorn.supervisord.standby import STANDBY_ACTIONS, StandbyOps
from supervisor_unicorn.supervisord.successors import Successors

POLL_INTERVAL = 0.05     # timer period while a hot restart is pending
SCAN_INTERVAL = 0.25     # how often masters' children and pidfiles are looked at
LINGER = 2.0             # keep the timer after a handover, for waiting clients


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
    pidfile_seen: Dict[str, object] = field(default_factory=dict)
    reported: Set[tuple] = field(default_factory=set)    # pidfile problems logged
    # can the workers' readiness be read?  None: not known yet (README "Readiness")
    observable: Optional[bool] = None
    loading_since: Optional[float] = None    # the master's workers looked loading
    progress: tuple = ()                     # the last readiness progress logged
    evidence_of: Set[int] = field(default_factory=set)   # new workers last read
    ready_seen: Set[int] = field(default_factory=set)    # new workers seen ready
    read_cursor: int = 0                 # the last new worker read (they take turns)
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

    @property
    def protocol(self):
        return SERVERS[self.spec.server]


class Core:
    def __init__(self, glue, specs: List[ProgramSpec], clock=None, proc=procs,
                 readiness=None, section: Optional[Section] = None):
        self.glue = glue
        self.now = clock or glue.now
        self.procs = proc
        self.readiness = readiness or Reader()
        self.programs: Dict[str, Program] = {s.name: Program(s) for s in specs}
        self._last_poll = 0.0
        self._last_scan = 0.0
        self._linger_until = 0.0
        self.ledger = Ledger(glue.ledger_path())
        self._ledger_problem = ''
        self._me: Optional[ProcId] = None     # supervisord, as the ledger names it
        self.leftovers = LeftoverMasters(glue, self.programs, proc, self.now, self.ledger)
        self.daemons = DaemonWatch(self)
        self.aborts = Aborts(glue, proc, lambda: self.now())
        self.loading = LoadWatch(self)
        self.successors = Successors(self)
        self.standby = StandbyOps(self)
        # with a section, the programs follow it through reread/update/reload
        self.table = ProgramsTable(self, Program, section)

    # --- logging ------------------------------------------------------------

    def _info(self, name, text):
        self.glue.logger.info('hot_restart: %s: %s' % (name, text))

    def _warn(self, name, text):
        self.glue.logger.warn('hot_restart: %s: %s' % (name, text))

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
        self._know_master(program, pid)
        self._refuse_if_unadopted(program, pid)
        self._reset(program, old)
        h = Handover.begin(name, pid, self.now(), program.spec.boot_timeout,
                           retire_timeout=stopwaitsecs,
                           expected_workers=len(program.workers_before),
                           settle=program.protocol.settle, overlap=program.spec.overlap,
                           standby=program.spec.standby)
        program.handover = h
        self._info(name, 'hot restart requested (pid %d, %s)' % (pid, program.spec.server))
        self._advance(program)
        self._update_timer()
        return h

    def _refuse_if_unadopted(self, program: Program, pid: int) -> None:
        # the server will not re-exec while its previous re-exec child lives:
        # say why that child was not adopted now, not "may be hung" later
        program.refused = {p: (ident, why) for p, (ident, why) in program.refused.items()
                           if self.procs.is_alive(ident)}
        for child, problem in program.refused.values():
            self._refuse(program, Faults.FAILED, 'NOT_ADOPTED', True,
                         'a new master pid %d exists but was not adopted: %s; %s; pid %d '
                         'still serving' % (child.pid, problem, problem.hint, pid))

    @staticmethod
    def _refuse(program: Program, fault: int, failure: str, still_serving: bool,
                text: str) -> None:
        """Raise the Fault of a hot restart refused before USR2, and keep
        what it means as data for getHotRestartInfo."""
        program.failure = (failure, still_serving)
        raise HotRestartError(fault, text)

    def _reset(self, program: Program, old: ProcId) -> None:
        program.old, program.new, program.usr2_clock = old, None, None
        program.workers_before = {c.pid for c in self.procs.live_children(old.pid)}
        program.reexec.clear()
        program.reexec_seen = False
        program.new_family.clear()
        program.reported.clear()
        program.progress = ()
        self.readiness.forget(program.evidence_of)
        program.evidence_of = set()
        program.ready_seen = set()
        program.read_cursor = 0
        program.waiting_why = ''

    def result(self, h: Handover) -> dict:
        """The hotRestart struct of an answered handover, or raise its Fault.
        Once the old generation went on standby, the hot restart is done,
        whatever the standby leads to."""
        if h.phase != Phase.DONE and h.standby_at is None:
            code, text = self.failure_text(h)
            raise HotRestartError(code, text)
        return {'name': h.name, 'old_pid': h.old_pid, 'new_pid': h.new_pid or 0,
                'seconds': round(h.hot_restart_seconds(self.now()), 3), 'status': 'done'}

    def failure_text(self, h: Handover) -> Tuple[int, str]:
        old, new = h.old_pid, h.new_pid
        f = h.failure
        if f == Failure.BOOT_FAILED:
            return Faults.FAILED, ('new master failed to boot%s; pid %d still serving'
                                   % (' (pid %d exited)' % new if new else '', old))
        if f == Failure.LOAD_FAILED:
            return Faults.FAILED, ('new workers keep failing to load the app (%d exited); '
                                   'pid %d still serving' % (h.load_failures, old))
        if f == Failure.TIMEOUT:
            return Faults.FAILED, (
                'new master not ready within boot_timeout (%gs)%s; pid %d still serving'
                % (h.boot_timeout, '; killed pid %d' % new if new else '', old))
        # no "still serving" in these two: nothing shows that the master
        # still works, and the listener reads that phrase (COORD contract)
        if f == Failure.NOT_READY:
            program = self.programs.get(h.name)
            why = (program and program.waiting_why) or 'it was not ready for USR2'
            return Faults.FAILED, ('master pid %d could not re-exec within boot_timeout '
                                   '(%gs): %s' % (old, h.boot_timeout, why))
        if f == Failure.NO_REEXEC:
            return Faults.FAILED, (
                'master pid %d did not re-exec within boot_timeout (%gs); it may be hung'
                % (old, h.boot_timeout))
        if f == Failure.STOPPED:
            return Faults.ABNORMAL_TERMINATION, ('%s was stopped during the hot restart'
                                                 % h.name)
        return Faults.ABNORMAL_TERMINATION, (
            'old master pid %d exited before a new master was ready; nothing is serving '
            'until supervisord restarts %s' % (old, h.name))

    def poll_one(self, name: str) -> None:
        program = self.programs[name]
        if program.handover is not None:
            self._advance(program)
            self._update_timer()

    def info(self, name: str) -> dict:
        program = self.program(name)
        h = program.handover
        last = program.last
        if last is None:
            last_result = ''
        elif last.phase == Phase.DONE:
            last_result = 'done'
        elif last.phase == Phase.ROLLED_BACK:
            last_result = 'rolled_back'
        else:
            last_result = 'failed: ' + self.failure_text(last)[1]
        return {
            'name': name,
            'server': program.spec.server,
            'pidfile': program.spec.pidfile,
            'boot_timeout': program.spec.boot_timeout,
            'pid': self.glue.tracked_pid(name),
            'state': self.glue.state_name(name),
            'phase': h.phase.value if h is not None else 'idle',
            'old_pid': h.old_pid if h is not None else 0,
            'new_pid': (h.new_pid or 0) if h is not None else 0,
            'last_result': last_result,
            'last_seconds': round(last.seconds(self.now()), 3) if last else 0.0,
            'restarts': program.restarts,
            'overlap': program.spec.overlap,
            # the new generation, while one boots: ready out of how many
            'workers': h.workers if h is not None else 0,
            'workers_ready': h.workers_ready if h is not None else 0,
            # the last failure as data (the texts are for people): a code, and
            # whether the old master is known to serve on
            'failure': program.failure[0],
            'still_serving': program.failure[1],
            **self.standby.info(program, h),
        }

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
                    self.glue.guarded(self._scan, program)
                if program.handover is None and program.observable is None:
                    self.glue.guarded(self.loading.check_evidence, program)
        self.glue.guarded(self._record)
        self._update_timer()

    def _record(self) -> None:
        """Keep the ledger in step with the masters that run (trust rule 5):
        after a SIGKILL, the next supervisord retires what it names."""
        masters: Dict[str, List[Record]] = {}
        retiring = self.leftovers.recorded()
        for name, program in self.programs.items():
            if not self.glue.has_process(name):
                continue                    # removed by `update`
            pid = self.glue.tracked_pid(name)
            if pid > 0:
                self._know_master(program, pid)
            idents = [program.master] if pid > 0 else []
            if program.handover is not None:
                idents += [program.old, program.new] + list(program.reexec.values())
            idents += retiring.get(name, [])
            uid = self.glue.program_uid(name)
            unique = {i for i in idents if i is not None}
            masters[name] = [Record(i, uid) for i in sorted(unique, key=lambda i: i.pid)]
        try:
            if self._me is None:
                self._me = self.procs.identify(self.glue.my_pid())
            self.ledger.write(self._me, masters)
            self._ledger_problem = ''
        except OSError as exc:
            problem = str(exc)
            if problem != self._ledger_problem:
                self._ledger_problem = problem
                self.glue.logger.warn('hot_restart: cannot write state file %s (%s); a '
                                      'supervisord killed now would leave masters that '
                                      'the next one cannot retire'
                                      % (self.ledger.path, problem))

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
        obs = self._observe(program, h)
        actions = h.step(self.now(), obs)
        self.loading.log_progress(program, h)
        for action in actions:
            self._do(program, h, action)
        if h.finished:
            self._finish(program, h)

    def _observe(self, program: Program, h: Handover) -> Observation:
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
            program.new = self.successors.find(program, min_workers=h.expected_workers)
            if program.new is not None:
                self._info(name, 'new master pid %d is up (child of pid %d)'
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

    def _note_reexec_children(self, program: Program) -> None:
        self.successors.record_family(program, program.old.pid)
        # a recorded pid is forgotten once its process is gone: the number
        # may soon name another process
        for pid in [p for p, c in program.reexec.items() if not self.procs.is_alive(c)]:
            del program.reexec[pid]
        if program.usr2_clock is None:
            return
        for child in program.family.values():
            if child.pid not in program.workers_before and child.pid not in program.reexec \
                    and child.create_time >= program.usr2_clock - trust.CLOCK_SLACK:
                program.reexec[child.pid] = child
                program.reexec_seen = True

    def _new_generation(self, program: Program) -> List[ProcId]:
        """The new master if verified, else the re-exec children seen so far."""
        if program.new is not None:
            return [program.new]
        return list(program.reexec.values())

    def _can_reexec(self, program: Program) -> bool:
        # rule 4: USR2 to a master with no handler yet would kill it
        if not trust.catches(self.procs.caught_signals(program.old.pid), signal.SIGUSR2):
            if not program.waiting_why:
                self._info(program.spec.name, 'master pid %d does not catch USR2 yet '
                           '(still loading?); waiting up to boot_timeout'
                           % program.old.pid)
            program.waiting_why = 'it does not catch USR2'
            return False
        suffix = program.protocol.unpromoted_suffix
        if not suffix:
            return True
        pid, _ = self.procs.read_pidfile(program.spec.pidfile + suffix)
        if pid == program.old.pid:
            program.waiting_why = 'the previous hot restart has not settled'
            return False
        return True

    def _do(self, program: Program, h: Handover, action: Action) -> None:
        name = program.spec.name
        if action in STANDBY_ACTIONS or h.phase == Phase.ROLLING_BACK:
            if self.standby.do(program, h, action):
                return
        if action == Action.SEND_USR2:
            program.usr2_clock = self.procs.clock()
            err = self.glue.signal(program.old, signal.SIGUSR2)
            self._info(name, 'sent USR2 to master pid %d%s'
                       % (h.old_pid, ' (%s)' % err if err else ''))
        elif action == Action.RETIRE_OLD:
            sig = program.protocol.retire_signal
            err = self.glue.signal(program.old, sig)
            self._info(name, 'new master pid %d has %d worker(s) %s; retiring old master '
                       'pid %d with %s%s' % (h.new_pid, h.workers or h.expected_workers,
                                             'ready' if h.workers else 'up (time rule)',
                                             h.old_pid, signal.Signals(sig).name,
                                             ' (%s)' % err if err else ''))
        elif action == Action.KILL_OLD:
            self._warn(name, 'old master pid %d still running after %gs; sending KILL'
                       % (h.old_pid, h.retire_timeout))
            self._kill_verified(program.old)
        elif action == Action.KILL_NEW:
            if h.failure == Failure.LOAD_FAILED:
                why = 'new workers keep failing to load the app (%d exited)' % h.load_failures
            else:
                why = 'not ready within %gs' % h.boot_timeout
            self._warn(name, 'new master pid %s: %s; killing it and its workers; pid %d '
                       'still serving' % (h.new_pid, why, h.old_pid))
            # the recorded re-exec pids that still name their process (a
            # dead one's number may be anyone's now), then what they left (abort.py)
            self.aborts.begin(name, self._new_generation(program),
                              program.new_family.values(),
                              program.usr2_clock or program.old.create_time,
                              program.pgid, self.glue.program_uid(name))

    def _kill_verified(self, ident: Optional[ProcId]) -> None:
        if ident is not None:
            self.glue.signal(ident, signal.SIGKILL)

    def _finish(self, program: Program, h: Handover) -> None:
        name = program.spec.name
        program.handover = None
        program.last = h
        program.failure = ('', False) if h.failure is None \
            else (h.failure.code, h.failure.still_serving)
        self.standby.resume(program)     # never leave a master stopped
        if h.phase == Phase.ROLLED_BACK:
            program.old = program.new = None
            program.new_family.clear()
            self._info(name, 'rolled back (pid %s -> %d in %.1fs)%s'
                       % (h.new_pid, h.old_pid, h.rollback_seconds(self.now()),
                          '; ' + h.rollback_cause if h.rollback_cause else ''))
        elif h.phase == Phase.DONE:
            if h.standby_at is None:     # else counted when the standby began
                program.restarts += 1
            program.master, program.old = program.new, None
            program.family.clear()
            if program.master is not None:
                # its workers, now: a SIGKILL before the next scan must not
                # leave them unknown (and holding the port)
                self.successors.record_family(program, program.master.pid)
            self._info(name, 'hot restarted (pid %d -> %d in %.1fs)'
                       % (h.old_pid, h.new_pid, h.seconds(self.now())))
        else:
            self._warn(name, 'hot restart failed: %s' % self.failure_text(h)[1])
        program.pidfile_seen.clear()

    # --- hooks --------------------------------------------------------------

    def on_reaped(self, pid: int, sts) -> bool:
        """A child was reaped.  True: it was an old master whose successor is
        now tracked, so supervisord must not see this exit."""
        name = self.glue.program_of(pid, self.programs)
        if name is None:
            return False
        program = self.programs[name]
        status = self.glue.describe_status(sts)
        if program.paused is not None and program.paused.pid == pid:
            program.paused = None        # gone: nothing to continue
        h = program.handover
        if h is None:
            h = self._notice_after_exit(program, pid)
            if h is None:
                self.glue.guarded(self.daemons.master_exited, name, pid, sts)
                self._retire_orphans(program, pid, keep=0)
                return False
        if h.new_pid is None:
            # the old master went before we saw its successor: find it now
            program.new = self.successors.find(program, at_exit=True)
            if program.new is not None:
                h.new_pid = program.new.pid
        adopt = h.old_master_exited(self.now(), self.procs.is_alive(program.new))
        self._retire_orphans(program, pid, keep=h.new_pid if adopt else 0)
        if not adopt:
            self._warn(name, 'old master pid %d exited (%s) and no new master is alive'
                       % (pid, status))
            self._finish(program, h)
            return False
        self.glue.adopt(name, pid, h.new_pid)
        program.master = program.new     # adopted, not spawned: the group stays
        # its workers are known from now on, even if it dies before a scan
        program.family = dict(program.new_family)
        self.successors.record_family(program, h.new_pid)
        self._info(name, 'old master pid %d exited (%s); now tracking new master pid %d'
                   % (pid, status, h.new_pid))
        if self.glue.is_stopping(name):
            self._stop_adopted(program)
        self._finish(program, h)
        self._update_timer()
        return True

    def _retire_orphans(self, program: Program, pid: int, keep: int) -> None:
        """Workers of a master that died without stopping them are now our
        children (the subreaper) and keep the listening socket: a restarted
        master could not bind it until they notice.  Ask them to finish, or,
        while supervisord stops the program, kill them: the stop ends now.
        They are the children recorded while it lived (trust rule 1), never
        "what is in its process group"."""
        me = self.glue.my_pid()
        orphans = [c for c in sorted(program.family.values(), key=lambda c: c.pid)
                   if c.pid not in (keep, pid) and self.procs.is_alive(c)
                   and self.procs.parent_of(c.pid) == me and not self.glue.tracks(c.pid)]
        program.family.clear()
        if not orphans:
            return
        name = program.spec.name
        if self.glue.is_stopping(name):
            sig, how = signal.SIGKILL, 'stopping %s: killing them' % name
        else:
            sig = program.protocol.retire_signal
            how = 'asking them to finish with %s' % signal.Signals(sig).name
        self._info(name, 'master pid %d left %d worker(s) behind (%s); %s'
                   % (pid, len(orphans), ', '.join(str(c.pid) for c in orphans), how))
        for orphan in orphans:
            self.glue.signal(orphan, sig)

    def _notice_after_exit(self, program: Program, pid: int) -> Optional[Handover]:
        """A master exited with no handover pending: was it a foreign USR2
        whose old master was retired (unicorn's before_fork hook)?"""
        if program.master is None or program.master.pid != pid \
                or self.glue.is_stopping(program.spec.name):
            return None
        self._reset(program, program.master)
        new = self.successors.find(program, at_exit=True)
        if new is None:
            return None
        program.new = new
        _, _, stopwaitsecs = self.glue.stop_settings(program.spec.name)
        self._info(program.spec.name, 'master pid %d re-executed itself as pid %d '
                   '(USR2 from outside supervisord)' % (pid, new.pid))
        return Handover.noticed(program.spec.name, pid, new.pid, self.now(),
                                program.spec.boot_timeout, stopwaitsecs)

    def _stop_adopted(self, program: Program) -> None:
        # supervisord signalled the old master; the adopted one must stop too
        name = program.spec.name
        stopsignal, asgroup, _ = self.glue.stop_settings(name)
        if not asgroup and program.master is not None:
            self.glue.signal(program.master, stopsignal)
            self._info(name, 'stopping adopted master pid %d' % program.master.pid)

    def on_kill(self, pid: int, sig: int) -> int:
        """supervisord is about to signal pid; return the pid to signal."""
        name = self.glue.program_of(abs(pid), self.programs)
        if name is None:
            return pid
        program = self.programs[name]
        if pid < 0:
            pid = self._group_target(program, -pid, sig)
        h = program.handover
        if h is not None and self.glue.is_stopping(name):
            self._advance(program)   # notes the stop: nothing is retired or aborted now
            if pid > 0:
                for new in self._new_generation(program):
                    if self.glue.signal(new, sig) is None:
                        self._info(name, 'stop during hot restart: also signalled new '
                                   'master pid %d' % new.pid)
        return pid

    def after_kill(self, pid: int, sig: int) -> None:
        """supervisord has just signalled pid (on_kill chose the target)."""
        name = self.glue.program_of(abs(pid), self.programs)
        if name is not None:
            self.standby.after_kill(self.programs[name], sig)

    def _group_target(self, program: Program, master: int, sig: int) -> int:
        """-group for a group signal to the tracked master (trust rule 1): the
        group supervisord spawned the program into, which every re-exec'd
        master keeps, while a verified process of the program is still in it
        (the kernel reuses no number while its group exists).  Otherwise the
        master alone, and its recorded workers one by one."""
        name = program.spec.name
        self._know_master(program, master)   # a fresh spawn (even STARTING) leads its group
        pgid = program.pgid
        others = self.glue.other_pids(name) | {
            p.pgid for p in self.programs.values() if p is not program and p.pgid}
        problem = trust.group_problem(pgid, os.getpgrp(), others)
        if problem:
            self._warn(name, 'not signalling process group %d: %s; signalling master '
                       'pid %d only' % (pgid, problem, master))
            return master
        members = [m for m in self._members(program)
                   if self.procs.process_group(m.pid) == pgid]
        if not members:
            workers = [w for w in program.family.values() if w.pid != master]
            self._warn(name, 'process group %d holds no process of %s any more (its '
                       'master left it); signalling master pid %d and its %d worker(s) '
                       'one by one' % (pgid, name, master, len(workers)))
            for worker in workers:
                self.glue.signal(worker, sig)
            return master
        if all(m.pid != master for m in members):
            # the master left the group it was spawned into: that group no longer reaches it
            err = self.glue.signal(program.master, sig) if program.master else 'unknown'
            self._warn(name, 'master pid %d left process group %d; signalled it '
                       'directly%s' % (master, pgid, ' (%s)' % err if err else ''))
        return -pgid

    def _members(self, program: Program) -> List[ProcId]:
        """The live processes known to be the program's: its masters and the
        children recorded while they lived."""
        known = [program.master, program.old, program.new]
        known += list(program.family.values()) + list(program.reexec.values())
        known += list(program.new_family.values())
        return [p for p in known if p is not None and self.procs.is_alive(p)]

    def on_master_running(self, pid: int) -> None:
        """A program entered RUNNING: know its master by identity from now on."""
        name = self.glue.program_of(pid, self.programs)
        if name is not None:
            self._know_master(self.programs[name], pid)

    def _know_master(self, program: Program, pid: int) -> None:
        if program.master is None or program.master.pid != pid:
            # a pid we did not adopt is one supervisord spawned; its child
            # called setpgrp, so the group is the pid (never read from /proc)
            program.master = self.procs.identify(pid)
            program.pgid = pid
            program.pidfile_seen.clear()
            program.family.clear()
            program.refused.clear()

    def _scan(self, program: Program) -> None:
        """Record the master's children; notice a USR2 we did not send: a
        verified child of the master (with workers) that a new-master pidfile
        names.  Each pidfile is read only when it changed, or while the child
        it names is still booting."""
        name = program.spec.name
        pid = self.glue.tracked_pid(name)
        if not pid or not self.glue.is_running(name):
            return
        self._know_master(program, pid)
        if program.master is None:
            return
        program.old, program.usr2_clock = program.master, None   # for a USR2 from outside
        self.successors.record_family(program, pid)
        for path in program.protocol.new_master_pidfiles(program.spec.pidfile):
            signature = self.procs.file_signature(path)
            if signature == program.pidfile_seen.get(path):
                continue
            program.pidfile_seen[path] = signature
            if signature is None:
                continue
            new_pid, why = self.procs.read_pidfile(path)
            if new_pid is None:
                self._info(name, 'pidfile %s is %s; ignored' % (path, why))
                continue
            if new_pid == pid:
                continue
            new, problem = self.successors.verify(program, new_pid)
            if new is None:
                if new_pid in program.family:
                    del program.pidfile_seen[path]   # its workers may come: look again
                self.successors.report(program, path, new_pid, problem)
                continue
            self._take_over(program, pid, new)
            return
        new = self.successors.unnamed_reexec(program, pid)
        if new is not None:
            self._take_over(program, pid, new)

    def _take_over(self, program: Program, pid: int, new: ProcId) -> None:
        name = program.spec.name
        self._reset(program, program.master)
        program.new = new
        program.workers_before.discard(new.pid)
        _, _, stopwaitsecs = self.glue.stop_settings(name)
        program.handover = Handover.noticed(
            name, pid, new.pid, self.now(), program.spec.boot_timeout,
            stopwaitsecs, expected_workers=len(program.workers_before),
            settle=program.protocol.settle, overlap=program.spec.overlap,
            standby=program.spec.standby)
        self._info(name, 'master pid %d re-executed itself as pid %d (USR2 from '
                   'outside supervisord); taking over the handover' % (pid, new.pid))

"""The hot-restart state machine of one program, pure.

It never reads /proc, never signals and never looks at a clock: the caller
feeds it ``Observation``s with the time, and carries out the ``Action``s it
returns.  The moment the old master is reaped is told to it apart
(``old_master_exited``), because that is when supervisord must decide between
adopting the new master and its normal exit handling.

Phases::

    waiting   -> booting      the master may re-exec (gunicorn: it is promoted)
    booting   -> loading      the new master has forked workers that load the app
    loading   -> overlap      every new worker is ready; the old master keeps
                              serving `overlap` seconds more
    loading   -> retiring     every new worker is ready (no overlap)
    loading   -> aborting     new workers keep dying before they are ready
    booting   -> aborting     boot_timeout passed: the new master is killed
    booting   -> failed       the new master died; the old one keeps serving
                              (loading and overlap: the same as booting)
    booting   -> failed       boot_timeout passed and the master never re-exec'd
    loading   -> standby      every new worker is ready (overlap: after it) and
                              `standby` > 0: the old master is stopped (SIGSTOP)
                              and its workers retired; the new one serves alone
    standby   -> retiring     the standby window ended (the old master is
                              retired: its graceful stop, then SIGCONT)
    standby   -> rolling_back rollback() was asked for, or the new master died,
                              or its workers keep failing to load: SIGCONT
    rolling_back -> rolled_back  every old worker is ready again and the new
                              generation is gone (retired gracefully)
    retiring  -> done         the old master exited and the new one is adopted
    any       -> stopping     supervisord is stopping the program
"""
import enum
from dataclasses import dataclass, field
from typing import FrozenSet, List, Optional

ABORT_GRACE = 5.0      # seconds between SIGKILL rounds while aborting
LOAD_FAILURES = 3      # new workers that died before being ready: a failed boot


class Phase(str, enum.Enum):
    WAITING = 'waiting'
    BOOTING = 'booting'
    LOADING = 'loading'              # new workers are loading the app
    OVERLAP = 'overlap'              # ready; the old master serves `overlap` more
    RETIRING = 'retiring'
    ABORTING = 'aborting'
    STOPPING = 'stopping'
    STANDBY = 'standby'              # the new generation serves; the old is stopped
    ROLLING_BACK = 'rolling_back'    # the old generation comes back
    DONE = 'done'
    FAILED = 'failed'
    ROLLED_BACK = 'rolled_back'      # the old master serves again, the new is gone


FINISHED = (Phase.DONE, Phase.FAILED, Phase.ROLLED_BACK)


class Action(str, enum.Enum):
    SEND_USR2 = 'send_usr2'          # to the old master
    RETIRE_OLD = 'retire_old'        # the server's graceful stop, to the old master
    KILL_OLD = 'kill_old'            # SIGKILL, the old master overran its retire time
    KILL_NEW = 'kill_new'            # SIGKILL to the new master and its descendants
    STANDBY_OLD = 'standby_old'      # SIGSTOP the old master, retire its workers
    RETIRE_STANDBY = 'retire_standby'  # the graceful stop, then SIGCONT, to the old
    RESUME_OLD = 'resume_old'        # SIGCONT the old master: it respawns its workers
    RETIRE_NEW = 'retire_new'        # the graceful stop, to the new master (or, if
    #                                  it died, to the workers it left)


class Failure(str, enum.Enum):
    BOOT_FAILED = 'boot_failed'      # new master died; old serves
    TIMEOUT = 'timeout'              # new master never ready; killed; old serves
    NOT_READY = 'not_ready'          # master never became able to re-exec
    NO_REEXEC = 'no_reexec'          # USR2 sent, no re-exec child ever seen: hung?
    LOAD_FAILED = 'load_failed'      # new workers kept dying before ready; killed
    OLD_EXITED = 'old_exited'        # old master died, nothing to adopt
    STOPPED = 'stopped'              # supervisord stopped the program meanwhile

    @property
    def code(self) -> str:
        """getHotRestartInfo's `failure`: what a listener or script decides on."""
        return self.name

    @property
    def still_serving(self) -> bool:
        """The old master is known to serve on: nothing new was adopted and
        nothing shows it hung or gone."""
        return self in (Failure.BOOT_FAILED, Failure.TIMEOUT, Failure.LOAD_FAILED)


@dataclass
class Observation:
    old_alive: bool = True
    can_reexec: bool = True          # only read in WAITING
    new_pid: Optional[int] = None    # the verified new master, if known
    new_seen: bool = False           # a re-exec child of the old master was seen
    new_alive: bool = False          # ... and it (or the verified master) lives
    new_workers: FrozenSet[int] = frozenset()
    # readiness: True when every new worker's evidence could be read; then
    # ready_workers is the subset of new_workers that has loaded the app
    readiness: bool = False
    ready_workers: FrozenSet[int] = frozenset()
    stopping: bool = False           # supervisord is stopping the program
    # rolling back: the old master's live workers, and (old_readiness: when
    # every one's evidence could be read) which of them have loaded the app
    old_workers: FrozenSet[int] = frozenset()
    old_readiness: bool = False
    old_ready: FrozenSet[int] = frozenset()


@dataclass
class Handover:
    name: str
    old_pid: int
    started: float
    boot_timeout: float
    retire_timeout: float
    expected_workers: int = 1
    settle: float = 0.5              # the time rule, when readiness is not observable
    overlap: float = 0.0
    standby: float = 0.0             # seconds the old generation stays on standby
    phase: Phase = Phase.WAITING
    new_pid: Optional[int] = None
    failure: Optional[Failure] = None
    finished_at: Optional[float] = None
    usr2_at: Optional[float] = None
    retire_at: Optional[float] = None
    abort_at: Optional[float] = None
    ready_at: Optional[float] = None     # every new worker ready (or settled)
    load_failures: int = 0               # new workers gone before they were ready
    workers: int = 0                     # new workers now, and how many are ready
    workers_ready: int = 0
    standby_at: Optional[float] = None   # the new generation serves alone since
    rollback_at: Optional[float] = None
    rollback_cause: str = ''             # '' when asked for; else why automatic
    new_retire_at: Optional[float] = None
    old_ready_at: Optional[float] = None  # rolling back: the old workers serve again
    _old_since: Optional[float] = None
    _loading: FrozenSet[int] = field(default_factory=frozenset)
    _ready_since: Optional[float] = None
    _ready_workers: FrozenSet[int] = field(default_factory=frozenset)

    @classmethod
    def begin(cls, name, old_pid, now, boot_timeout, retire_timeout,
              expected_workers=1, settle=0.5, overlap=0.0, standby=0.0):
        """A hot restart we were asked for: USR2 is ours to send."""
        return cls(name=name, old_pid=old_pid, started=now,
                   boot_timeout=boot_timeout, retire_timeout=retire_timeout,
                   expected_workers=max(1, expected_workers), settle=settle,
                   overlap=overlap, standby=standby)

    @classmethod
    def noticed(cls, name, old_pid, new_pid, now, boot_timeout, retire_timeout,
                expected_workers=1, settle=0.5, overlap=0.0, standby=0.0):
        """A USR2 sent by somebody else, noticed through the new master."""
        return cls(name=name, old_pid=old_pid, started=now,
                   boot_timeout=boot_timeout, retire_timeout=retire_timeout,
                   expected_workers=max(1, expected_workers), settle=settle,
                   overlap=overlap, standby=standby,
                   phase=Phase.BOOTING, new_pid=new_pid, usr2_at=now)

    @property
    def finished(self) -> bool:
        return self.phase in FINISHED

    @property
    def answered(self) -> bool:
        """A waiting hotRestart client has its answer: finished, or the new
        generation serves alone with the old one on standby ('done')."""
        return self.finished or self.standby_at is not None

    def seconds(self, now: float) -> float:
        end = self.finished_at if self.finished_at is not None else now
        return max(0.0, end - self.started)

    def hot_restart_seconds(self, now: float) -> float:
        """From the request until the new generation served alone."""
        if self.standby_at is not None:
            return max(0.0, self.standby_at - self.started)
        return self.seconds(now)

    def rollback_seconds(self, now: float) -> float:
        if self.rollback_at is None:
            return 0.0
        end = self.finished_at if self.finished_at is not None else now
        return max(0.0, end - self.rollback_at)

    def rollback(self, now: float, cause: str = '') -> List[Action]:
        """Go back to the old generation: only from STANDBY (else [])."""
        if self.phase != Phase.STANDBY:
            return []
        self.phase = Phase.ROLLING_BACK
        self.rollback_at = now
        self.rollback_cause = cause
        return [Action.RESUME_OLD]

    def step(self, now: float, obs: Observation) -> List[Action]:
        """Advance on a fresh observation; return what the caller must do."""
        if self.finished:
            return []
        if obs.new_pid is not None and self.new_pid is None:
            self.new_pid = obs.new_pid
        if obs.stopping and self.phase != Phase.STOPPING:
            # WAITING has sent nothing yet: there is nothing to hand over
            if self.phase == Phase.WAITING:
                return self._fail(now, Failure.STOPPED)
            self.phase = Phase.STOPPING
            return []
        if self.phase == Phase.WAITING:
            return self._step_waiting(now, obs)
        if self.phase in (Phase.BOOTING, Phase.LOADING, Phase.OVERLAP):
            return self._step_booting(now, obs)
        if self.phase == Phase.STANDBY:
            return self._step_standby(now, obs)
        if self.phase == Phase.ROLLING_BACK:
            return self._step_rolling_back(now, obs)
        if self.phase == Phase.RETIRING:
            if self.retire_at is not None and now - self.retire_at > self.retire_timeout:
                self.retire_at = None    # escalate once
                return [Action.KILL_OLD]
            return []
        if self.phase == Phase.ABORTING:
            if not obs.new_alive:
                return self._fail(now, self.failure or Failure.TIMEOUT)
            if self.abort_at is not None and now - self.abort_at > ABORT_GRACE:
                self.abort_at = now
                return [Action.KILL_NEW]
        return []

    def _step_waiting(self, now, obs):
        if obs.can_reexec:
            self.phase = Phase.BOOTING
            self.usr2_at = now
            return [Action.SEND_USR2]
        if now - self.started > self.boot_timeout:
            return self._fail(now, Failure.NOT_READY)
        return []

    def _step_booting(self, now, obs):
        if (obs.new_seen or self.new_pid is not None) and not obs.new_alive:
            # seen, then gone while the old master lives: it reaped its child
            return self._fail(now, Failure.BOOT_FAILED)
        if self.phase == Phase.OVERLAP:
            return self._step_overlap(now)
        if self._count_load_failures(obs) >= LOAD_FAILURES:
            self.failure = Failure.LOAD_FAILED
            self.phase = Phase.ABORTING
            self.abort_at = now
            return [Action.KILL_NEW]
        if now - self.usr2_at > self.boot_timeout:
            if not obs.new_seen and self.new_pid is None:
                # nothing to kill, and nothing says the old master still
                # works: it never acted on USR2
                return self._fail(now, Failure.NO_REEXEC)
            self.failure = Failure.TIMEOUT
            if not obs.new_alive:
                return self._fail(now, Failure.TIMEOUT)
            self.phase = Phase.ABORTING
            self.abort_at = now
            return [Action.KILL_NEW]
        if obs.readiness:
            return self._step_readiness(now, obs)
        if self.new_pid is None or len(obs.new_workers) < self.expected_workers:
            self._ready_since = None
            return []
        if self._ready_since is None or not self._ready_workers <= obs.new_workers:
            # a worker that died meanwhile restarts the settle time
            self._ready_since = now
            self._ready_workers = obs.new_workers
            return []
        if now - self._ready_since < self.settle:
            return []
        return self._ready(now)

    def _count_load_failures(self, obs) -> int:
        """Add the new workers seen loading that are gone now."""
        if obs.readiness:
            gone = self._loading - obs.new_workers
            self.load_failures += len(gone)
            self._loading = obs.new_workers - obs.ready_workers
        return self.load_failures

    def _step_readiness(self, now, obs):
        # ready is observed, not timed: no settle (and none left from the time rule)
        self._ready_since = None
        self.workers = len(obs.new_workers)
        self.workers_ready = len(obs.ready_workers & obs.new_workers)
        if self.new_pid is not None and self.workers:
            self.phase = Phase.LOADING
        if self.new_pid is None or self.workers < self.expected_workers \
                or self.workers_ready < self.workers:
            return []
        return self._ready(now)

    def _ready(self, now):
        self.ready_at = now
        if self.overlap > 0:
            self.phase = Phase.OVERLAP
            return []
        return self._retire(now)

    def _retire(self, now):
        if self.standby > 0:
            self.phase = Phase.STANDBY
            self.standby_at = now
            self._loading = frozenset()     # load failures count afresh
            self.load_failures = 0
            return [Action.STANDBY_OLD]
        return self._retire_now(now)

    def _step_overlap(self, now):
        if now - self.ready_at < self.overlap:
            return []
        return self._retire(now)

    def _step_standby(self, now, obs):
        # the new master is the stopped old master's child: dead, it is a
        # zombie there (not alive) until the old master is continued
        if not obs.new_alive:
            return self.rollback(now, 'new master pid %s died' % self.new_pid)
        if self._count_load_failures(obs) >= LOAD_FAILURES:
            return self.rollback(now, 'new workers keep failing to load the app '
                                      '(%d exited)' % self.load_failures)
        if now - self.standby_at < self.standby:
            return []
        self.phase = Phase.RETIRING
        self.retire_at = now
        return [Action.RETIRE_STANDBY]

    def _step_rolling_back(self, now, obs):
        if self.new_retire_at is not None:
            if not obs.new_alive:
                self.phase = Phase.ROLLED_BACK
                self.finished_at = now
                return []
            if now - self.new_retire_at > self.retire_timeout:
                self.new_retire_at = now       # once per retire_timeout
                return [Action.KILL_NEW]
            return []
        if not self._old_generation_ready(now, obs):
            if now - self.rollback_at > self.boot_timeout and not obs.new_alive:
                # nothing else to serve: the old master is what supervisord
                # tracks, whatever its workers do
                self.phase = Phase.ROLLED_BACK
                self.finished_at = now
            return []
        self.old_ready_at = now
        self.new_retire_at = now
        # a dead new master may have left workers (our children now) serving
        return [Action.RETIRE_NEW]

    def _old_generation_ready(self, now, obs) -> bool:
        """The same rule as for a new generation: every worker's evidence
        says ready; where it cannot be read, `settle` seconds up."""
        if len(obs.old_workers) < self.expected_workers:
            self._old_since = None
            return False
        if obs.old_readiness:
            return obs.old_ready >= obs.old_workers
        if self._old_since is None:
            self._old_since = now
        return now - self._old_since >= self.settle

    def _retire_now(self, now):
        self.phase = Phase.RETIRING
        self.retire_at = now
        return [Action.RETIRE_OLD]

    def old_master_exited(self, now: float, new_alive: bool) -> bool:
        """The old master was reaped.  Return True when the new master is to be
        adopted, False when supervisord's normal exit handling must run."""
        if self.finished:
            return False
        adopt = new_alive and self.new_pid is not None
        if self.phase == Phase.STOPPING:
            # adopted all the same, so that supervisord waits for it to stop
            self._fail(now, Failure.STOPPED)
        elif adopt:
            self.phase = Phase.DONE
            self.finished_at = now
        else:
            self._fail(now, Failure.OLD_EXITED)
        return adopt

    def _fail(self, now, failure) -> List[Action]:
        self.phase = Phase.FAILED
        self.failure = failure
        self.finished_at = now
        return []

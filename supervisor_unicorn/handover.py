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
    DONE = 'done'
    FAILED = 'failed'


FINISHED = (Phase.DONE, Phase.FAILED)


class Action(str, enum.Enum):
    SEND_USR2 = 'send_usr2'          # to the old master
    RETIRE_OLD = 'retire_old'        # the server's graceful stop, to the old master
    KILL_OLD = 'kill_old'            # SIGKILL, the old master overran its retire time
    KILL_NEW = 'kill_new'            # SIGKILL to the new master and its descendants


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
    manual: bool = False             # the USR2 came from outside
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
    _loading: FrozenSet[int] = field(default_factory=frozenset)
    _ready_since: Optional[float] = None
    _ready_workers: FrozenSet[int] = field(default_factory=frozenset)

    @classmethod
    def begin(cls, name, old_pid, now, boot_timeout, retire_timeout,
              expected_workers=1, settle=0.5, overlap=0.0):
        """A hot restart we were asked for: USR2 is ours to send."""
        return cls(name=name, old_pid=old_pid, started=now,
                   boot_timeout=boot_timeout, retire_timeout=retire_timeout,
                   expected_workers=max(1, expected_workers), settle=settle,
                   overlap=overlap)

    @classmethod
    def noticed(cls, name, old_pid, new_pid, now, boot_timeout, retire_timeout,
                expected_workers=1, settle=0.5, overlap=0.0):
        """A USR2 sent by somebody else, noticed through the new master."""
        return cls(name=name, old_pid=old_pid, started=now,
                   boot_timeout=boot_timeout, retire_timeout=retire_timeout,
                   expected_workers=max(1, expected_workers), settle=settle,
                   overlap=overlap,
                   manual=True, phase=Phase.BOOTING, new_pid=new_pid, usr2_at=now)

    @property
    def finished(self) -> bool:
        return self.phase in FINISHED

    def seconds(self, now: float) -> float:
        end = self.finished_at if self.finished_at is not None else now
        return max(0.0, end - self.started)

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

    def _step_overlap(self, now):
        if now - self.ready_at < self.overlap:
            return []
        return self._retire(now)

    def _retire(self, now):
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

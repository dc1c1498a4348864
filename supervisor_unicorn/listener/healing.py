"""The heal decisions of supervisor-unicorn-listener: one ``Healer`` per
checked program.

Pure: no I/O and no clock of its own. The watchdog tells a Healer what it
learned (a probe result, a process state, a hot restart's outcome, a Fault)
with the time, and carries out the ``Decision`` it gets back: it logs the
lines and does the action. Between events the Healer remembers the heal
attempt in progress, the failure count, the start grace and the back-off.

The rule for a failed hot restart (issue 10): a master that still serves is
never traded for a cold start of the same code. A Fault text that says "still
serving" (the new master failed to boot, timed out, its workers kept failing)
means back off; a cold restart (stopProcess, then startProcess) is only for a
program with no live master, or a master that could not re-exec at all (hung).
"""

import enum
import math
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from supervisor.xmlrpc import Faults

from supervisor_unicorn.common.config import DEFAULT_BOOT_TIMEOUT
from supervisor_unicorn.common.faults import Faults as UnicornFaults

# After stopProcess(wait=False) the cold restart starts the program again once
# a later event finds it in one of these. supervisord's own stopwaitsecs
# (default 10 s) escalates to SIGKILL well before STOP_DEADLINE, so reaching
# the deadline means something is badly wrong: the start is not attempted.
STOPPED_STATES = ('STOPPED', 'EXITED', 'FATAL')
STOP_DEADLINE = 60.0

# A hot restart always ends on supervisord's side (boot_timeout, then the old
# master's retirement within stopwaitsecs). Should the listener not see it end
# within boot_timeout + this, it stops following it and probes again.
HOT_RESTART_SLACK = 120.0

# States in which a failing probe is someone else's business: an operator
# stopped the program, or supervisord is already (re)starting it.
HANDS_OFF_STATES = ('STOPPED', 'STOPPING', 'STARTING')

# getHotRestartInfo's `failure` codes after which no new code was tried and a
# cold start is the only heal (the texts are for people; this is decided from
# codes and the `still_serving` flag)
NO_HOT_RESTART_POSSIBLE = ('UNSUPPORTED', 'NOT_RUNNING')


class Act(str, enum.Enum):
    NOTHING = 'nothing'
    PROBE = 'probe'                  # probe it now (Decision.context says why)
    HEAL = 'heal'                    # due: read its state, then choose()
    HOT_RESTART = 'hot_restart'      # unicorn.hotRestart(name, False)
    ROLLBACK = 'rollback'            # unicorn.rollback(name, False): a standby waits
    COLD_RESTART = 'cold_restart'    # supervisor.stopProcess(name, False)
    LOOK_THEN_COLD = 'look_then_cold'  # read its state, then fall_back()
    START = 'start'                  # supervisor.startProcess(name, False)
    BACK_OFF = 'back_off'            # not healed now: the window is open


@dataclass(frozen=True)
class Decision:
    action: Act = Act.NOTHING
    lines: Tuple[str, ...] = ()
    context: Optional[str] = None    # PROBE: 'after start (pid 3)'...
    # HEAL: the start of the decision line; START: the line to log once
    # startProcess accepted
    why: str = ''


NOTHING = Decision()


def _do(action: Act, *lines: str, **kw: Any) -> Decision:
    return Decision(action, tuple(lines), **kw)


@dataclass
class Attempt:
    """A heal attempt in progress, advanced by later events.

    kind 'hot': unicorn.hotRestart(name, False) was accepted; its outcome is
    read from getHotRestartInfo.  kind 'rollback': unicorn.rollback(name,
    False) was accepted; the same. kind 'stop': the cold restart's stopProcess
    was requested; startProcess follows once the program is stopped.
    """
    kind: str
    since: float                     # clock value when this step began
    deadline: float                  # stop following it after this
    old_pid: int                     # the master being replaced (0: none)
    window: float                    # back-off that starts when it ends
    restarts: Optional[int] = None   # hot: the restarts counter before it


def needs_cold_restart(code: Optional[int], hot: Optional[Dict[str, Any]]) -> bool:
    """After a failed hot restart: is a stop/start the heal?  Only when no
    master serves or none can be hot restarted, judged from the Fault's code
    and getHotRestartInfo's `failure` and `still_serving` read after it; when
    those are unknown, the old master is assumed to serve (a stop/start would
    take down what may still work)."""
    if code in (Faults.NOT_RUNNING, Faults.ABNORMAL_TERMINATION, UnicornFaults.UNSUPPORTED):
        return True
    failure = (hot or {}).get('failure') or ''
    if not failure:
        return False
    return failure in NO_HOT_RESTART_POSSIBLE or not (hot or {}).get('still_serving')


@dataclass
class Healer:
    """What the listener knows and decides about one checked program.

    Built from the command line (name, url, --failures, --backoff,
    --max-backoff, --grace); the rest is state carried between events.
    """
    name: str
    url: str
    limit: int = 3                   # --failures
    base_backoff: float = 60.0
    max_backoff: float = 960.0
    grace: float = 60.0
    failures: int = field(default=0, init=False)
    backoff: float = field(default=0.0, init=False)  # the next attempt's window
    pid: Optional[int] = field(default=None, init=False)   # last master seen
    # getHotRestartInfo()['restarts'] last seen
    restarts: Optional[int] = field(default=None, init=False)
    # clock value before which we do not heal
    next_heal_at: float = field(default=-math.inf, init=False)
    missing: bool = field(default=False, init=False)  # said supervisord lost it
    attempt: Optional[Attempt] = field(default=None, init=False)
    recovering: bool = field(default=False, init=False)  # no good probe since a heal
    started_pid: int = field(default=0, init=False)  # the last start we saw
    # after a start: failures not counted until then
    grace_until: Optional[float] = field(default=None, init=False)
    grace_logged: bool = field(default=False, init=False)  # said so once
    # said "backing off", and not yet that it is over
    backing_off: bool = field(default=False, init=False)
    _window: float = field(default=0.0, init=False)  # of the attempt starting

    def __post_init__(self) -> None:
        self.backoff = self.base_backoff

    # -- what supervisord says about the program ----------------------------

    def lost(self) -> Decision:
        """supervisord no longer knows the program (removed by update?)."""
        self.attempt = None
        if self.missing:
            return NOTHING
        self.missing = True
        return _do(Act.NOTHING, f'{self.name} is not a process supervisord'
                                ' knows (removed by update?); not probing it')

    def ticked(self, state: str, pid: int, hot: Optional[Dict[str, Any]],
               uptime: Optional[float], now: float) -> Decision:
        """A tick found the program (no attempt in progress): probe it when
        RUNNING. ``hot`` is its getHotRestartInfo (None when unknown);
        ``uptime`` the seconds since supervisord started it."""
        lines: List[str] = []
        context = None
        if hot is not None and self._restarts_changed(hot.get('restarts')):
            # hot restarts produce no PROCESS_STATE event (the program stays
            # RUNNING); the counter is how we learn of them
            context = (f'after hot restart (pid {self.pid} -> {pid})'
                       if self.pid else f'after hot restart (pid {pid})')
            self.failures = 0
            self.grace_until = None      # the new master was ready
            self.started_pid = pid
            if pid:
                self.pid = pid
        else:
            lines += self._note_pid(pid)
            if state == 'RUNNING' and pid and pid != self.started_pid:
                # its RUNNING event may still be on its way: a TICK queued
                # while it was STARTING can come first
                self._started(pid, uptime, now)
        action = Act.PROBE if state == 'RUNNING' else Act.NOTHING
        return Decision(action, tuple(lines), context=context)

    def running(self, pid: int, now: float) -> Decision:
        """PROCESS_STATE_RUNNING: open the start grace, probe right away."""
        if pid and pid == self.started_pid:
            return NOTHING               # a tick saw this start already
        lines = self._note_pid(pid)
        self.failures = 0
        self._started(pid, 0.0, now)
        if self.attempt is not None:
            return Decision(Act.NOTHING, tuple(lines))
        return Decision(Act.PROBE, tuple(lines), context=f'after start (pid {pid})')

    def _started(self, pid: int, uptime: Optional[float], now: float) -> None:
        """A new master started (not by hot restart) `uptime` seconds ago.

        RUNNING only means startsecs passed: the app may still be loading, so
        the start grace runs until --grace seconds after the start. An unknown
        uptime (or a long one: the listener itself just started) means none.
        """
        self.started_pid = pid
        self.grace_logged = False
        if uptime is not None and uptime < self.grace:
            self.grace_until = now + self.grace - max(uptime, 0.0)
        else:
            self.grace_until = None

    def _restarts_changed(self, restarts: Optional[int]) -> bool:
        previous, self.restarts = self.restarts, restarts
        # a smaller count is a new supervisord (reload), not a hot restart
        return (previous is not None and restarts is not None
                and restarts > previous)

    def _note_pid(self, pid: int) -> List[str]:
        lines = []
        # a new master is a new app: its predecessor's failures say nothing
        if pid and self.pid is not None and pid != self.pid:
            if self.failures:
                lines.append(f'{self.name} master pid changed ({self.pid} ->'
                             f' {pid}); failure count reset')
            self.failures = 0
        if pid:
            self.pid = pid
        return lines

    # -- probes -------------------------------------------------------------

    def _probe_context(self, context: Optional[str], now: float) -> Optional[str]:
        # a probe in the start grace is one 'after start'
        if self.grace_until is not None and now < self.grace_until and not context:
            return f'after start (pid {self.started_pid})'
        return context

    def probed(self, ok: bool, detail: str, context: Optional[str],
               now: float) -> Decision:
        """Count a probe result; HEAL when it is due.

        Within --grace seconds of a start, failures are not counted until the
        first good probe: RUNNING only means startsecs passed, and a slow app
        may still be loading. While the back-off window is open, failures are
        counted but only the first one that would heal is logged.
        """
        name = self.name
        in_grace = self.grace_until is not None and now < self.grace_until
        context = self._probe_context(context, now)
        label = f'{name} probe' + (f' {context}' if context else '')
        if ok:
            return self._healthy(label, detail, context)
        if in_grace:
            if self.grace_logged:
                return NOTHING
            self.grace_logged = True
            left = self.grace_until - now
            return _do(Act.NOTHING, f'{label} failed: {detail}; {name} still'
                                    f' starting: probe failures not counted for'
                                    f' up to {left:.0f}s')
        grace_over = ''
        if self.grace_until is not None:
            grace_over = (f' (still failing {self.grace:g}s after start: now'
                          ' counted)')
            self.grace_until = None
        self.failures += 1
        open_window = now < self.next_heal_at
        if open_window and self.backing_off:
            return _do(Act.BACK_OFF)     # said so when it began
        if self.failures < self.limit:
            return _do(Act.NOTHING, f'{label} failed ({self.failures} of'
                                    f' {self.limit}): {detail}{grace_over}')
        why = f'{label} failed ({self.failures} in a row): {detail}{grace_over}'
        if open_window:
            return self._back_off(why, now)
        if self.backing_off:
            self.backing_off = False
            why += '; back-off over'
        return _do(Act.HEAL, why=why)

    def _healthy(self, label: str, detail: str,
                 context: Optional[str]) -> Decision:
        ends = [f'{self.name} is healthy again'] if self.recovering else []
        if self.backing_off:
            ends.append('back-off over')
        healthy = '; ' + ', '.join(ends) if ends else ''
        line = None
        if self.failures:
            line = (f'{label} ok ({detail}) after {self.failures} failed;'
                    f' failure count reset{healthy}')
        elif context or healthy:
            line = f'{label} ok ({detail}){healthy}'
        self.failures = 0
        self.recovering = False
        self.grace_until = None
        self.backing_off = False
        self.backoff = self.base_backoff   # healthy: forget doubling
        return Decision(Act.NOTHING, (line,) if line else ())

    def _back_off(self, why: str, now: float) -> Decision:
        self.backing_off = True
        return _do(Act.BACK_OFF, f'{why}; backing off, next heal attempt in'
                                 f' {self.next_heal_at - now:.0f}s; failed'
                                 ' probes not logged until then')

    # -- starting a heal ----------------------------------------------------

    def choose(self, why: str, phase: str, state: str, pid: int,
               now: float) -> Decision:
        """A heal is due and supervisord said the hot restart ``phase`` and
        the program's ``state`` and ``pid``: hot restart, cold restart, or
        leave it.

        Attempts are spaced by a back-off window counted from the end of the
        previous one, which doubles while the program stays sick (a good
        probe shrinks it back to --backoff), so a broken app is never
        restarted in a tight loop.
        """
        name = self.name
        if phase == 'standby' and state == 'RUNNING':
            # the generation before the last hot restart waits, stopped: going
            # back to it takes a fork, where a hot restart would load the
            # same sick code again
            window = self._window = self.backoff
            self.next_heal_at = now + window
            self.backoff = min(window * 2, self.max_backoff)
            return _do(Act.ROLLBACK, f'{why}; {name} has the previous generation on'
                                     f' standby (master pid {pid}); rolling back to it'
                                     f' instead of a hot restart; if still sick, next'
                                     f' attempt {window:g}s after it')
        if phase != 'idle':
            return _do(Act.NOTHING, f'{why}; a hot restart is already in'
                                    f' progress ({phase}), waiting for it')
        if state in HANDS_OFF_STATES:
            return _do(Act.NOTHING, f'{why}; not healing {name}: it is {state}')
        # Open the back-off window before trying, so that an attempt which
        # errors out half-way is not repeated on the very next tick; it opens
        # again, in full, when the attempt ends.
        window = self._window = self.backoff
        self.next_heal_at = now + window
        self.backoff = min(window * 2, self.max_backoff)
        then = f'if still sick, next attempt {window:g}s after it'
        if state == 'RUNNING' and pid:
            return _do(Act.HOT_RESTART, f'{why}; hot restarting {name} (pid'
                                        f' {pid}); {then}')
        return _do(Act.COLD_RESTART, f'{why}; {name} has no live master'
                                     f' ({state}, pid {pid}); stop/start'
                                     f' instead; {then}')

    def hot_restart_refused(self, code: int, text: str, now: float,
                            hot: Optional[Dict[str, Any]] = None) -> Decision:
        """unicorn.hotRestart answered with a Fault; ``hot`` is the
        getHotRestartInfo read after it (None: could not be read)."""
        name = self.name
        if code == Faults.SHUTDOWN_STATE:
            self.end_attempt(now)
            return _do(Act.NOTHING, f'{name} hot restart refused: {text};'
                                    ' not stop/starting during shutdown')
        if code == UnicornFaults.IN_PROGRESS:
            self.end_attempt(now)
            return _do(Act.NOTHING, f'{name} hot restart refused: {text};'
                                    ' waiting for that one')
        if code == UnicornFaults.BAD_CONFIG:
            # its programs line broke (reload, reread): the master is fine
            self.end_attempt(now)
            return _do(Act.NOTHING, f'{name} hot restart refused: {text};'
                                    ' not stop/starting: the line must be fixed')
        return self._hot_restart_failed(code, text, now, hot)

    def _hot_restart_failed(self, code: Optional[int], text: str, now: float,
                            hot: Optional[Dict[str, Any]]) -> Decision:
        name = self.name
        if needs_cold_restart(code, hot):
            action = (Act.COLD_RESTART if self.attempt is None
                      else Act.LOOK_THEN_COLD)
            return _do(action, f'{name} hot restart failed ({text});'
                               ' falling back to stop/start')
        self.end_attempt(now)
        return self._back_off(
            f'{name} hot restart failed ({text}); not stop/starting: the old'
            ' master still serves and a cold start would load the same code',
            now)

    def hot_restart_accepted(self, result: Dict[str, Any], pid: int,
                             hot: Dict[str, Any], now: float) -> Decision:
        """unicorn.hotRestart(name, False) answered ``result``; ``hot`` is
        the getHotRestartInfo read before it."""
        self.recovering = True
        old = result.get('old_pid') or pid
        before = hot.get('restarts')
        if result.get('status') == 'done':   # it ended within the call
            return self._hot_restart_done(
                old, result.get('new_pid', 0), result.get('seconds', 0.0),
                None if before is None else before + 1, self._window, now)
        boot_timeout = hot.get('boot_timeout') or DEFAULT_BOOT_TIMEOUT
        self.attempt = Attempt('hot', since=now,
                               deadline=now + boot_timeout + HOT_RESTART_SLACK,
                               old_pid=old, window=self._window,
                               restarts=before)
        return NOTHING

    def rollback_refused(self, text: str, now: float) -> Decision:
        """unicorn.rollback answered with a Fault (the window ended between
        the read and the call, say): the next heal is a hot restart."""
        self.end_attempt(now, 0.0)
        return _do(Act.NOTHING, f'{self.name} rollback refused: {text}; the next'
                                ' heal attempt hot restarts it')

    def rollback_accepted(self, result: Dict[str, Any], hot: Dict[str, Any],
                          now: float) -> Decision:
        """unicorn.rollback(name, False) answered ``result``."""
        self.recovering = True
        boot_timeout = hot.get('boot_timeout') or DEFAULT_BOOT_TIMEOUT
        self.attempt = Attempt('rollback', since=now,
                               deadline=now + boot_timeout + HOT_RESTART_SLACK,
                               old_pid=result.get('from_pid', 0), window=self._window)
        return NOTHING

    def _rollback_progress(self, hot: Dict[str, Any], now: float) -> Decision:
        attempt = self.attempt
        phase = hot.get('phase', 'idle')
        if phase != 'idle':
            if now < attempt.deadline:
                return NOTHING
            self.end_attempt(now)
            return _do(Act.NOTHING, f'{self.name} rollback still {phase} after'
                                    f' {now - attempt.since:.0f}s; no longer following it')
        self.end_attempt(now, attempt.window)
        self.grace_until = None
        result = hot.get('last_result', '') or ''
        if result != 'rolled_back':
            return _do(Act.PROBE, f'{self.name} rollback ended as {result or "nothing"!r};'
                                  ' probing it again', context='after a rollback')
        old, to = hot.get('rolled_back_from', 0), hot.get('pid', 0)
        return _do(Act.PROBE, f'rolled back {self.name} (pid {old} -> {to} in'
                              f' {hot.get("last_seconds", 0.0):.1f}s)',
                   context=f'after rollback (pid {old} -> {to})')

    def hot_restart_progress(self, hot: Dict[str, Any], now: float) -> Decision:
        """getHotRestartInfo of the program, while our hot restart (or
        rollback) runs."""
        attempt = self.attempt
        assert attempt is not None and attempt.kind in ('hot', 'rollback')
        if attempt.kind == 'rollback':
            return self._rollback_progress(hot, now)
        name = self.name
        phase = hot.get('phase', 'idle')
        result = hot.get('last_result', '') or ''
        restarts = hot.get('restarts')
        if phase != 'idle':
            if now < attempt.deadline:
                return NOTHING
            self.end_attempt(now)
            return _do(Act.NOTHING, f'{name} hot restart still {phase} after'
                                    f' {now - attempt.since:.0f}s; no longer'
                                    ' following it')
        if (result == 'done' and restarts is not None
                and attempt.restarts is not None and restarts > attempt.restarts):
            return self._hot_restart_done(
                attempt.old_pid, hot.get('pid', 0), hot.get('last_seconds', 0.0),
                restarts, attempt.window, now)
        if hot.get('failure'):
            return self._hot_restart_failed(
                None, result.partition(':')[2].strip() or result, now, hot)
        # e.g. supervisord was restarted meanwhile: a new one knows nothing
        self.end_attempt(now)
        return _do(Act.NOTHING, f'{name} hot restart ended unseen (last result'
                                f' {result or "none"!r}, restarts {restarts});'
                                ' probing it again')

    def _hot_restart_done(self, old: int, new: int, seconds: float,
                          restarts: Optional[int], window: float,
                          now: float) -> Decision:
        self.end_attempt(now, window)
        if new:
            self.pid = new
            self.started_pid = new
        if restarts is not None:
            # our own restart: the next tick must not report it a second time
            self.restarts = restarts
        # the new master was ready when adopted: no start grace, and the old
        # master served until then, so a failure now is the new one's
        self.grace_until = None
        return _do(Act.PROBE, f'hot restarted {self.name} (pid {old} -> {new}'
                              f' in {seconds:.1f}s)',
                   context=f'after hot restart (pid {old} -> {new})')

    # -- the cold restart ---------------------------------------------------

    def fall_back(self, state: str, pid: int, now: float) -> Decision:
        """The hot restart failed with no master serving: stop/start, unless
        someone else already stopped or is starting the program."""
        if state in HANDS_OFF_STATES:
            self.end_attempt(now)
            return _do(Act.NOTHING, f'not stop/starting {self.name}: it is {state}')
        return _do(Act.COLD_RESTART)

    def stop_requested(self, pid: int, now: float) -> None:
        """stopProcess(name, False) was accepted (or the program was not
        running): startProcess follows once it is stopped."""
        self.recovering = True
        window = self.attempt.window if self.attempt else self._window
        self.attempt = Attempt('stop', since=now, deadline=now + STOP_DEADLINE,
                               old_pid=pid, window=window)

    def stop_refused(self, text: str, now: float) -> Decision:
        self.end_attempt(now)
        return _do(Act.NOTHING, f'{self.name} stopProcess failed ({text});'
                                ' not starting it')

    def stop_progress(self, state: str, pid: int, now: float) -> Decision:
        """The program's state while the cold restart's stop runs."""
        attempt = self.attempt
        assert attempt is not None and attempt.kind == 'stop'
        name = self.name
        if state in STOPPED_STATES:
            self.end_attempt(now)
            what = (f'pid {attempt.old_pid} stopped in {now - attempt.since:.1f}s'
                    if attempt.old_pid else 'it was not running')
            self.failures = 0
            # the line is the watchdog's to write once the start is accepted
            return Decision(Act.START, (), why=f'{name} stop/start: {what};'
                                               ' start requested')
        if state in ('STARTING', 'BACKOFF') or (
                state == 'RUNNING' and pid != attempt.old_pid):
            self.end_attempt(now)
            return _do(Act.NOTHING, f'{name} was started by someone else'
                                    f' meanwhile ({state}); not starting it')
        if now >= attempt.deadline:
            self.end_attempt(now)
            return _do(Act.NOTHING, f'{name} still {state} {STOP_DEADLINE:g}s'
                                    ' after stopProcess; not starting it')
        return NOTHING

    def start_refused(self, code: int, text: str) -> Decision:
        if code == Faults.ALREADY_STARTED:
            return _do(Act.NOTHING, f'{self.name} was started by someone else'
                                    ' meanwhile')
        return _do(Act.NOTHING, f'{self.name} startProcess failed ({text})')

    # -- the end of an attempt ----------------------------------------------

    def end_attempt(self, now: float, window: Optional[float] = None) -> None:
        """The heal attempt is over (whatever came of it): the back-off window
        counts from now, and so do failures."""
        if window is None:
            window = self.attempt.window if self.attempt else self._window
        self.attempt = None
        self.failures = 0
        self.next_heal_at = now + window

"""A heal attempt carried from its start to its end: the hot restart, the
rollback and the cold restart (stop, then start).

Pure: Remedies reports what supervisord answered and the program's
``AttemptFollower`` says what comes next. When to heal, and how, is the
Healer's (healing.py): the follower touches none of its state and tells it
what an attempt changes through the four ``HealerHooks``.
"""

from dataclasses import dataclass
from typing import Any, Dict, Optional, Protocol

from supervisor.xmlrpc import Faults

from supervisor_unicorn.common.config import DEFAULT_BOOT_TIMEOUT
from supervisor_unicorn.common.faults import Faults as UnicornFaults
from supervisor_unicorn.listener.decision import (NOTHING, Decision, Remedy, decide,
                                                  needs_cold_restart)

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

# a call that failed on the way (supervisord restarting) ends the attempt it
# would have started; a failed read is asked again on the next event
_STARTS_AN_ATTEMPT = (Remedy.HOT_RESTART, Remedy.ROLLBACK, Remedy.LOOK_THEN_COLD,
                      Remedy.COLD_RESTART)


@dataclass
class Attempt:
    """A heal attempt in progress, advanced by later events.

    kind 'hot' or 'rollback': unicorn.hotRestart / unicorn.rollback(name,
    False) was accepted; its outcome is read from getHotRestartInfo. kind
    'stop': the cold restart's stopProcess was requested; startProcess
    follows once the program is stopped.
    """
    kind: str
    since: float                     # clock value when this step began
    deadline: float                  # stop following it after this
    old_pid: int                     # the master being replaced (0: none)
    window: float                    # back-off that starts when it ends
    restarts: Optional[int] = None   # hot: the restarts counter before it


class HealerHooks(Protocol):
    """All an AttemptFollower tells the Healer of its program: the Healer keeps
    the failure count, the back-off, the start grace and the master seen."""

    def under_way(self) -> None:
        """A heal was accepted: the next good probe says healthy again."""

    def attempt_over(self, now: float, window: float) -> None:
        """The attempt ended, whatever came of it: failures are counted
        afresh and the next heal waits `window` seconds from `now`."""

    def adopted(self, pid: int, restarts: Optional[int]) -> None:
        """A hot restart or a rollback ended: the master serving was ready, so
        no start grace. `pid` is the new master (0: unchanged), `restarts` the
        count that includes ours (None: unknown)."""

    def back_off(self, why: str, now: float) -> Decision:
        """No stop/start: wait out the window that is open, saying `why` once."""


class AttemptFollower:
    """The heal attempt in progress of one program, from the remedy the Healer
    chose to its end. ``name`` is the program; ``healer`` hears of each
    attempt's start and end (HealerHooks).

    The Healer calls chosen(window) when it picks a remedy, asks ``busy`` and
    drop()s the attempt of a program that is gone; Remedies hands the steps
    below supervisord's answers.
    """

    def __init__(self, name: str, healer: HealerHooks):
        self.name = name
        self.healer = healer
        self.attempt: Optional[Attempt] = None
        # the back-off window of the attempt the Healer chose last: it opens
        # again, in full, when that attempt ends
        self.window = 0.0

    @property
    def busy(self) -> bool:
        """Whether an attempt is in progress (the Healer then does not probe)."""
        return self.attempt is not None

    def chosen(self, window: float) -> None:
        """The Healer chose a remedy; `window` seconds of back-off follow it."""
        self.window = window

    def drop(self) -> None:
        """Stop following the attempt, with no end: the program is gone."""
        self.attempt = None

    # -- on any event ---------------------------------------------------------

    def follow(self) -> Decision:
        """A state change of the program: how is the attempt in progress doing?"""
        if self.attempt is None:
            return NOTHING
        if self.attempt.kind == 'stop':
            return Decision(Remedy.FOLLOW_STOP)
        return Decision(Remedy.FOLLOW_HOT)

    def progress(self, state: str, pid: int, hot: Optional[Dict[str, Any]],
                 now: float) -> Decision:
        """A tick's news of the program while an attempt runs; its probe
        waits until the heal is over (the end of a hot restart probes it)."""
        assert self.attempt is not None
        if self.attempt.kind == 'stop':
            return self.stop_progress(state, pid, now)
        return NOTHING if hot is None else self.hot_restart_progress(hot, now)

    def unreachable(self, remedy: Remedy, now: float) -> Decision:
        """supervisord could not be asked for `remedy` (not a Fault: it is
        restarting, say). A stop/start would meet the same dead socket."""
        if remedy in _STARTS_AN_ATTEMPT:
            self.end_attempt(now)
        return NOTHING

    # -- the hot restart and the rollback ------------------------------------

    def hot_restart_refused(self, code: int, text: str, now: float,
                            hot: Optional[Dict[str, Any]] = None,
                            pid: int = 0) -> Decision:
        """unicorn.hotRestart of master `pid` answered with a Fault; ``hot``
        is the getHotRestartInfo read after it (None: could not be read)."""
        name = self.name
        if code == Faults.SHUTDOWN_STATE:
            self.end_attempt(now)
            return decide(Remedy.NOTHING, f'{name} hot restart refused: {text};'
                                          ' not stop/starting during shutdown')
        if code == UnicornFaults.IN_PROGRESS:
            self.end_attempt(now)
            return decide(Remedy.NOTHING, f'{name} hot restart refused: {text};'
                                          ' waiting for that one')
        if code == UnicornFaults.BAD_CONFIG:
            # its programs line broke (reload, reread): the master is fine
            self.end_attempt(now)
            return decide(Remedy.NOTHING, f'{name} hot restart refused: {text};'
                                          ' not stop/starting: the line must be fixed')
        return self._hot_restart_failed(code, text, now, hot, pid)

    def _hot_restart_failed(self, code: Optional[int], text: str, now: float,
                            hot: Optional[Dict[str, Any]], pid: int = 0) -> Decision:
        name = self.name
        if needs_cold_restart(code, hot):
            action = (Remedy.COLD_RESTART if self.attempt is None
                      else Remedy.LOOK_THEN_COLD)
            return decide(action, f'{name} hot restart failed ({text});'
                                  ' falling back to stop/start', pid=pid)
        self.end_attempt(now)
        return self.healer.back_off(
            f'{name} hot restart failed ({text}); not stop/starting: the old'
            ' master still serves and a cold start would load the same code',
            now)

    def hot_restart_accepted(self, result: Dict[str, Any], pid: int,
                             hot: Dict[str, Any], now: float) -> Decision:
        """unicorn.hotRestart(name, False) answered ``result``; ``hot`` is
        the getHotRestartInfo read before it."""
        self.healer.under_way()
        old = result.get('old_pid') or pid
        before = hot.get('restarts')
        if result.get('status') == 'done':   # it ended within the call
            return self._hot_restart_done(
                old, result.get('new_pid', 0), result.get('seconds', 0.0),
                None if before is None else before + 1, self.window, now)
        boot_timeout = hot.get('boot_timeout') or DEFAULT_BOOT_TIMEOUT
        self.attempt = Attempt('hot', since=now,
                               deadline=now + boot_timeout + HOT_RESTART_SLACK,
                               old_pid=old, window=self.window,
                               restarts=before)
        return NOTHING

    def rollback_refused(self, text: str, now: float) -> Decision:
        """unicorn.rollback answered with a Fault (the window ended between
        the read and the call, say): the next heal is a hot restart."""
        self.end_attempt(now, 0.0)
        return decide(Remedy.NOTHING, f'{self.name} rollback refused: {text}; the next'
                                      ' heal attempt hot restarts it')

    def rollback_accepted(self, result: Dict[str, Any], hot: Dict[str, Any],
                          now: float) -> Decision:
        """unicorn.rollback(name, False) answered ``result``."""
        self.healer.under_way()
        boot_timeout = hot.get('boot_timeout') or DEFAULT_BOOT_TIMEOUT
        self.attempt = Attempt('rollback', since=now,
                               deadline=now + boot_timeout + HOT_RESTART_SLACK,
                               old_pid=result.get('from_pid', 0), window=self.window)
        return NOTHING

    def _still_going(self, what: str, phase: str, now: float) -> Decision:
        attempt = self.attempt
        if now < attempt.deadline:
            return NOTHING
        self.end_attempt(now)
        return decide(Remedy.NOTHING, f'{self.name} {what} still {phase} after'
                                      f' {now - attempt.since:.0f}s; no longer following it')

    def _rollback_progress(self, hot: Dict[str, Any], now: float) -> Decision:
        phase = hot.get('phase', 'idle')
        if phase != 'idle':
            return self._still_going('rollback', phase, now)
        self.end_attempt(now, self.attempt.window)
        self.healer.adopted(0, None)     # whichever master serves now was ready
        result = hot.get('last_result', '') or ''
        if result != 'rolled_back':
            return decide(Remedy.PROBE, f'{self.name} rollback ended as'
                                        f' {result or "nothing"!r}; probing it again',
                          context='after a rollback')
        old, to = hot.get('rolled_back_from', 0), hot.get('pid', 0)
        return decide(Remedy.PROBE, f'rolled back {self.name} (pid {old} -> {to} in'
                                    f' {hot.get("last_seconds", 0.0):.1f}s)',
                      context=f'after rollback (pid {old} -> {to})')

    def hot_restart_progress(self, hot: Dict[str, Any], now: float) -> Decision:
        """getHotRestartInfo of the program, while our hot restart (or
        rollback) runs."""
        attempt = self.attempt
        assert attempt is not None and attempt.kind in ('hot', 'rollback')
        if attempt.kind == 'rollback':
            return self._rollback_progress(hot, now)
        phase = hot.get('phase', 'idle')
        result = hot.get('last_result', '') or ''
        restarts = hot.get('restarts')
        if phase != 'idle':
            return self._still_going('hot restart', phase, now)
        # ours is the one that ended, not an earlier one: the count moved on
        if (result == 'done' and restarts is not None
                and attempt.restarts is not None and restarts > attempt.restarts):
            return self._hot_restart_done(
                attempt.old_pid, hot.get('pid', 0), hot.get('last_seconds', 0.0),
                restarts, attempt.window, now)
        if hot.get('failure'):
            # decided from `failure` and `still_serving`; last_result's words
            # (after "failed: ") only go into the log line
            return self._hot_restart_failed(None, _words(result), now, hot)
        # e.g. supervisord was restarted meanwhile: a new one knows nothing
        self.end_attempt(now)
        return decide(Remedy.NOTHING, f'{self.name} hot restart ended unseen (last'
                                      f' result {result or "none"!r}, restarts'
                                      f' {restarts}); probing it again')

    def _hot_restart_done(self, old: int, new: int, seconds: float,
                          restarts: Optional[int], window: float,
                          now: float) -> Decision:
        self.end_attempt(now, window)
        self.healer.adopted(new, restarts)
        return decide(Remedy.PROBE, f'hot restarted {self.name} (pid {old} -> {new}'
                                    f' in {seconds:.1f}s)',
                      context=f'after hot restart (pid {old} -> {new})')

    # -- the cold restart -------------------------------------------------------

    def fall_back(self, state: str, pid: int, now: float) -> Decision:
        """The hot restart failed with no master serving: stop/start, unless
        someone else already stopped or is starting the program."""
        if state in HANDS_OFF_STATES:
            self.end_attempt(now)
            return decide(Remedy.NOTHING, f'not stop/starting {self.name}: it is {state}')
        return Decision(Remedy.COLD_RESTART, pid=pid)

    def stop_requested(self, pid: int, now: float) -> Decision:
        """stopProcess(name, False) was accepted (or the program was not
        running): startProcess follows once it is stopped (often already)."""
        self.healer.under_way()
        window = self.attempt.window if self.attempt else self.window
        self.attempt = Attempt('stop', since=now, deadline=now + STOP_DEADLINE,
                               old_pid=pid, window=window)
        return Decision(Remedy.FOLLOW_STOP)

    def stop_refused(self, code: int, text: str, pid: int, now: float) -> Decision:
        # NOT_RUNNING: EXITED, FATAL or STOPPING already; a start fixes the
        # first two, following the stop covers the third
        if code == Faults.NOT_RUNNING:
            return self.stop_requested(pid, now)
        self.end_attempt(now)
        return decide(Remedy.NOTHING, f'{self.name} stopProcess failed ({text});'
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
            # the line is the watchdog's to write once the start is accepted
            return Decision(Remedy.START, (), why=f'{name} stop/start: {what};'
                                                  ' start requested')
        if state in ('STARTING', 'BACKOFF') or (
                state == 'RUNNING' and pid != attempt.old_pid):
            self.end_attempt(now)
            return decide(Remedy.NOTHING, f'{name} was started by someone else'
                                          f' meanwhile ({state}); not starting it')
        if now >= attempt.deadline:
            self.end_attempt(now)
            return decide(Remedy.NOTHING, f'{name} still {state} {STOP_DEADLINE:g}s'
                                          ' after stopProcess; not starting it')
        return NOTHING

    def start_refused(self, code: int, text: str) -> Decision:
        if code == Faults.ALREADY_STARTED:
            return decide(Remedy.NOTHING, f'{self.name} was started by someone else'
                                          ' meanwhile')
        return decide(Remedy.NOTHING, f'{self.name} startProcess failed ({text})')

    # -- the end of an attempt ----------------------------------------------

    def end_attempt(self, now: float, window: Optional[float] = None) -> None:
        """The heal attempt is over (whatever came of it): the back-off window
        counts from now, and so do failures."""
        if window is None:
            window = self.attempt.window if self.attempt else self.window
        self.attempt = None
        self.healer.attempt_over(now, window)


def _words(last_result: str) -> str:
    """getHotRestartInfo's last_result without its "failed: " tag, for people."""
    return last_result.partition(':')[2].strip() or last_result


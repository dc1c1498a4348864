"""The heal decisions of supervisor-unicorn-listener: one ``Healer`` per
checked program.

Pure: no I/O and no clock of its own. The watchdog tells a Healer what it
learned (a probe result, a process state) with the time, and carries out
the ``Decision`` it gets back. The Healer decides when to heal and how: it
keeps the failure count, the start grace and the back-off. Following the
attempt it chose to its end is its ``follower``'s (attempts.py), which tells
it what the attempt changed through the HealerHooks methods at the end.
"""

import math
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from supervisor_unicorn.listener.attempts import HANDS_OFF_STATES, AttemptFollower
from supervisor_unicorn.listener.decision import NOTHING, Decision, Remedy, decide


@dataclass
class Healer:
    """What the listener knows and decides about one checked program.

    Built from the command line (name, url, --failures, --backoff,
    --max-backoff, --grace); the rest is state carried between events.
    Implements attempts.HealerHooks for its ``follower``.
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
    recovering: bool = field(default=False, init=False)  # no good probe since a heal
    started_pid: int = field(default=0, init=False)  # the last start we saw
    # after a start: failures not counted until then
    grace_until: Optional[float] = field(default=None, init=False)
    grace_logged: bool = field(default=False, init=False)  # said so once
    # said "backing off", and not yet that it is over
    backing_off: bool = field(default=False, init=False)
    # the heal attempt in progress, from the remedy chosen to its end
    follower: AttemptFollower = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.backoff = self.base_backoff
        self.follower = AttemptFollower(self.name, self)

    # -- what supervisord says about the program ----------------------------

    def lost(self) -> Decision:
        """supervisord no longer knows the program (removed by update?)."""
        self.follower.drop()
        if self.missing:
            return NOTHING
        self.missing = True
        return decide(Remedy.NOTHING, f'{self.name} is not a process supervisord'
                                      ' knows (removed by update?); not probing it')

    def found(self) -> None:
        """supervisord knows the program (again)."""
        self.missing = False

    def know_restarts(self, restarts: Optional[int]) -> None:
        """getHotRestartInfo's count at the start: a later rise is news."""
        self.restarts = restarts

    def ticked(self, state: str, pid: int, hot: Optional[Dict[str, Any]],
               uptime: Optional[float], now: float) -> Decision:
        """A tick found the program: advance the heal in progress, else
        probe it when RUNNING. ``hot`` is its getHotRestartInfo (None when
        unknown); ``uptime`` the seconds since supervisord started it."""
        if self.follower.busy:
            return self.follower.progress(state, pid, hot, now)
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
        action = Remedy.PROBE if state == 'RUNNING' else Remedy.NOTHING
        return Decision(action, tuple(lines), context=context)

    def running(self, pid: int, now: float) -> Decision:
        """PROCESS_STATE_RUNNING: open the start grace, probe right away."""
        if pid and pid == self.started_pid:
            return NOTHING               # a tick saw this start already
        lines = self._note_pid(pid)
        self.failures = 0
        self._started(pid, 0.0, now)
        if self.follower.busy:
            return Decision(Remedy.NOTHING, tuple(lines))
        return Decision(Remedy.PROBE, tuple(lines), context=f'after start (pid {pid})')

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
            return decide(Remedy.NOTHING, f'{label} failed: {detail}; {name} still'
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
            return decide(Remedy.BACK_OFF)     # said so when it began
        if self.failures < self.limit:
            return decide(Remedy.NOTHING, f'{label} failed ({self.failures} of'
                                          f' {self.limit}): {detail}{grace_over}')
        why = f'{label} failed ({self.failures} in a row): {detail}{grace_over}'
        if open_window:
            return self.back_off(why, now)
        if self.backing_off:
            self.backing_off = False
            why += '; back-off over'
        return decide(Remedy.HEAL, why=why)

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
        return Decision(Remedy.NOTHING, (line,) if line else ())

    def back_off(self, why: str, now: float) -> Decision:
        self.backing_off = True
        return decide(Remedy.BACK_OFF, f'{why}; backing off, next heal attempt in'
                                       f' {self.next_heal_at - now:.0f}s; failed'
                                       ' probes not logged until then')

    # -- starting a heal ----------------------------------------------------

    def choose(self, why: str, phase: str, state: str, pid: int, now: float,
               info: Optional[Dict[str, Any]] = None) -> Decision:
        """A heal is due and supervisord said the hot restart ``phase`` and
        the program's ``state`` and ``pid``: hot restart, cold restart, or
        leave it. ``info``, the getHotRestartInfo read, goes with the call.

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
            window = self._open_window(now)
            return decide(Remedy.ROLLBACK, f'{why}; {name} has the previous generation on'
                                           f' standby (master pid {pid}); rolling back to it'
                                           f' instead of a hot restart; if still sick, next'
                                           f' attempt {window:g}s after it',
                          info=info or {})
        if phase != 'idle':
            return decide(Remedy.NOTHING, f'{why}; a hot restart is already in'
                                          f' progress ({phase}), waiting for it')
        if state in HANDS_OFF_STATES:
            return decide(Remedy.NOTHING, f'{why}; not healing {name}: it is {state}')
        window = self._open_window(now)
        then = f'if still sick, next attempt {window:g}s after it'
        if state == 'RUNNING' and pid:
            return decide(Remedy.HOT_RESTART, f'{why}; hot restarting {name} (pid'
                                              f' {pid}); {then}', pid=pid, info=info or {})
        return decide(Remedy.COLD_RESTART, f'{why}; {name} has no live master'
                                           f' ({state}, pid {pid}); stop/start'
                                           f' instead; {then}', pid=pid)

    def _open_window(self, now: float) -> float:
        # Open the back-off window before trying, so that an attempt which
        # errors out half-way is not repeated on the very next tick; it opens
        # again, in full, when the attempt ends.
        window = self.backoff
        self.follower.chosen(window)
        self.next_heal_at = now + window
        self.backoff = min(window * 2, self.max_backoff)
        return window

    # -- the attempt's news, from its follower (attempts.HealerHooks) -------

    def under_way(self) -> None:
        self.recovering = True

    def attempt_over(self, now: float, window: float) -> None:
        self.failures = 0
        self.next_heal_at = now + window

    def adopted(self, pid: int, restarts: Optional[int]) -> None:
        if pid:
            self.pid = pid
            self.started_pid = pid
        if restarts is not None:
            # our own restart: the next tick must not report it a second time
            self.restarts = restarts
        # the new master was ready when adopted: no start grace, and the old
        # master served until then, so a failure now is the new one's
        self.grace_until = None

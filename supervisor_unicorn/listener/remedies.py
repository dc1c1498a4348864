"""Carrying out what a ``Healer`` decides: the probe and the XML-RPC calls.

``Remedies.carry_out`` is the one place a Decision is acted on. Each step
makes one short call (or one probe) and hands its outcome back to the object
that owns the step: the Healer for the probe and the choice of a remedy, its
``follower`` (attempts.py) for the attempt that follows; the answer is the
next Decision. No call waits: a hot restart is started with wait=False and
followed on later events, a stop likewise, so the listener acknowledges its
event within a few short calls.
"""

import xmlrpc.client
from typing import Callable, Dict

from supervisor_unicorn.client import RPC_ERRORS
from supervisor_unicorn.listener.decision import NOTHING, Decision, Remedy
from supervisor_unicorn.listener.healing import Healer
from supervisor_unicorn.listener.link import Link
from supervisor_unicorn.listener.probe import Probe

Step = Callable[[Healer, Decision], Decision]


class Remedies:
    """``link`` reaches supervisord, ``probe(url, timeout)`` the app, ``now``
    is a monotonic clock."""

    def __init__(self, link: Link, probe: Probe, timeout: float,
                 now: Callable[[], float]):
        self.link = link
        self.probe = probe
        self.timeout = timeout
        self.now = now
        self._steps: Dict[Remedy, Step] = {
            Remedy.PROBE: self._probe,
            Remedy.HEAL: self._choose,
            Remedy.HOT_RESTART: self._hot_restart,
            Remedy.ROLLBACK: self._rollback,
            Remedy.FOLLOW_HOT: self._follow_hot,
            Remedy.LOOK_THEN_COLD: self._look_then_stop,
            Remedy.COLD_RESTART: self._stop,
            Remedy.FOLLOW_STOP: self._follow_stop,
            Remedy.START: self._start,
        }

    def carry_out(self, healer: Healer, decision: Decision) -> None:
        """Log the decision's lines and do its remedy, then the same for the
        decision its outcome brings, until one asks for nothing more."""
        while True:
            for line in decision.lines:
                self.link.log(line)
            step = self._steps.get(decision.action)
            if step is None:            # NOTHING, BACK_OFF
                return
            decision = step(healer, decision)

    def _unreachable(self, healer: Healer, decision: Decision, what: str,
                     exc: BaseException) -> Decision:
        self.link.trouble(what, exc)
        return healer.follower.unreachable(decision.action, self.now())

    # -- the steps: one call each, its outcome to the Healer or its follower ---

    def _probe(self, healer: Healer, decision: Decision) -> Decision:
        try:
            ok, detail = self.probe(healer.url, self.timeout)
        except Exception as e:      # a broken probe is a failed probe
            ok, detail = False, f'probe error {e!r}'
        return healer.probed(ok, detail, decision.context, self.now())

    def _choose(self, healer: Healer, decision: Decision) -> Decision:
        try:
            hot = self.link.unicorn.getHotRestartInfo(healer.name)
            info = self.link.supervisor.getProcessInfo(healer.name)
        except RPC_ERRORS as e:
            return self._unreachable(healer, decision, f'{decision.why}; cannot heal now', e)
        return healer.choose(decision.why, hot.get('phase', 'idle'), info['statename'],
                             info['pid'], self.now(), info=hot)

    def _hot_restart(self, healer: Healer, decision: Decision) -> Decision:
        unicorn = self.link.unicorn
        try:
            # wait=False: the answer comes at once; supervisord carries the
            # hot restart on and getHotRestartInfo tells how it ended
            result = unicorn.hotRestart(healer.name, False)
        except xmlrpc.client.Fault as e:
            # what the refusal means is data in the info struct, not the text
            try:
                after = unicorn.getHotRestartInfo(healer.name)
            except RPC_ERRORS:
                after = None
            return healer.follower.hot_restart_refused(e.faultCode, e.faultString, self.now(),
                                                       after, pid=decision.pid)
        except RPC_ERRORS as e:
            return self._unreachable(healer, decision, f'{healer.name} hot restart not done', e)
        return healer.follower.hot_restart_accepted(result, decision.pid, decision.info,
                                                    self.now())

    def _rollback(self, healer: Healer, decision: Decision) -> Decision:
        try:
            # wait=False, as for a hot restart: followed on the next events
            result = self.link.unicorn.rollback(healer.name, False)
        except xmlrpc.client.Fault as e:
            return healer.follower.rollback_refused(e.faultString, self.now())
        except RPC_ERRORS as e:
            return self._unreachable(healer, decision, f'{healer.name} rollback not done', e)
        return healer.follower.rollback_accepted(result, decision.info, self.now())

    def _follow_hot(self, healer: Healer, decision: Decision) -> Decision:
        try:
            hot = self.link.unicorn.getHotRestartInfo(healer.name)
        except RPC_ERRORS as e:
            return self._unreachable(
                healer, decision, f'cannot follow the hot restart of {healer.name}', e)
        return healer.follower.hot_restart_progress(hot, self.now())

    def _look_then_stop(self, healer: Healer, decision: Decision) -> Decision:
        try:
            info = self.link.supervisor.getProcessInfo(healer.name)
        except RPC_ERRORS as e:
            return self._unreachable(healer, decision, f'{healer.name} stop/start not done', e)
        return healer.follower.fall_back(info['statename'], info['pid'], self.now())

    def _stop(self, healer: Healer, decision: Decision) -> Decision:
        # Never wait=True: supervisord's stopProcess deferred has delay=0 and
        # spins its main loop at 100% CPU until the stop completes; and the
        # listener must acknowledge its event meanwhile.
        try:
            self.link.supervisor.stopProcess(healer.name, False)
        except xmlrpc.client.Fault as e:
            return healer.follower.stop_refused(e.faultCode, e.faultString, decision.pid,
                                                self.now())
        except RPC_ERRORS as e:
            return self._unreachable(healer, decision, f'{healer.name} stopProcess not done', e)
        return healer.follower.stop_requested(decision.pid, self.now())

    def _follow_stop(self, healer: Healer, decision: Decision) -> Decision:
        try:
            info = self.link.supervisor.getProcessInfo(healer.name)
        except RPC_ERRORS as e:
            # the next event asks again, within the deadline
            return self._unreachable(healer, decision, f'{healer.name} stop not confirmed', e)
        return healer.follower.stop_progress(info['statename'], info['pid'], self.now())

    def _start(self, healer: Healer, decision: Decision) -> Decision:
        try:
            self.link.supervisor.startProcess(healer.name, False)
        except xmlrpc.client.Fault as e:
            return healer.follower.start_refused(e.faultCode, e.faultString)
        except RPC_ERRORS as e:
            return self._unreachable(healer, decision, f'{healer.name} startProcess not done', e)
        self.link.log(decision.why)
        return NOTHING

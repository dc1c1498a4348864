"""What a ``Healer`` asks the watchdog to do (a ``Decision``), and the rule
that picks a cold restart over backing off after a failed hot restart.

Pure: no I/O, no clock.
"""

import enum
from dataclasses import dataclass, field
from typing import Any, Dict, Optional, Tuple

from supervisor.xmlrpc import Faults

from supervisor_unicorn.common.faults import Faults as UnicornFaults

# getHotRestartInfo's `failure` codes after which no new code was tried and a
# cold start is the only heal (the texts are for people; this is decided from
# codes and the `still_serving` flag)
NO_HOT_RESTART_POSSIBLE = ('UNSUPPORTED', 'NOT_RUNNING')


class Remedy(str, enum.Enum):
    """The step a Decision asks for; the watchdog reports its outcome back to
    the Healer, which answers with the next Decision."""
    NOTHING = 'nothing'
    PROBE = 'probe'                  # probe it now (Decision.context says why)
    HEAL = 'heal'                    # due: read its state, then choose()
    HOT_RESTART = 'hot_restart'      # unicorn.hotRestart(name, False)
    ROLLBACK = 'rollback'            # unicorn.rollback(name, False): a standby waits
    FOLLOW_HOT = 'follow_hot'        # read getHotRestartInfo: how is ours going?
    COLD_RESTART = 'cold_restart'    # supervisor.stopProcess(name, False)
    LOOK_THEN_COLD = 'look_then_cold'  # read its state, then fall_back()
    FOLLOW_STOP = 'follow_stop'      # read its state: is the stop over?
    START = 'start'                  # supervisor.startProcess(name, False)
    BACK_OFF = 'back_off'            # not healed now: the window is open


@dataclass(frozen=True)
class Decision:
    action: Remedy = Remedy.NOTHING
    lines: Tuple[str, ...] = ()      # to log before acting
    context: Optional[str] = None    # PROBE: 'after start (pid 3)'...
    # HEAL: the start of the decision line; START: the line to log once
    # startProcess accepted
    why: str = ''
    pid: int = 0                     # HOT_RESTART, COLD_RESTART: the master
    # HOT_RESTART, ROLLBACK: getHotRestartInfo as read before the call
    info: Dict[str, Any] = field(default_factory=dict, compare=False)


NOTHING = Decision()


def decide(action: Remedy, *lines: str, **kw: Any) -> Decision:
    return Decision(action, tuple(lines), **kw)


def needs_cold_restart(code: Optional[int], hot: Optional[Dict[str, Any]]) -> bool:
    """After a failed hot restart: is a stop/start the heal?

    Only when no master serves or none can be hot restarted, judged from the
    Fault's code and getHotRestartInfo's `failure` and `still_serving` read
    after it. When those are unknown the old master is taken to serve: a
    stop/start would take down what may still work. A master that serves is
    never traded for a cold start of the same code.
    """
    if code in (Faults.NOT_RUNNING, Faults.ABNORMAL_TERMINATION, UnicornFaults.UNSUPPORTED):
        return True
    failure = (hot or {}).get('failure') or ''
    if not failure:
        return False
    return failure in NO_HOT_RESTART_POSSIBLE or not (hot or {}).get('still_serving')

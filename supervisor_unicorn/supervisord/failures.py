"""How a failed hot restart is said: the Fault of hotRestart (and of
rollback, getHotRestartInfo's last_result) and the core's WARN line use the
same words.  Clients and the listener read them: keep them as they are."""
from typing import Tuple

from supervisor_unicorn.common.faults import Faults
from supervisor_unicorn.supervisord.handover import Failure, Handover


def failure_text(h: Handover, waiting_why: str = '') -> Tuple[int, str]:
    """(Fault code, text) of a failed handover.

    @param waiting_why  why USR2 was not sent (a NOT_READY failure says it)
    """
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
    # no "still serving" in these two: nothing shows that the master still
    # works (still_serving is false: the data, not these words, decides)
    if f == Failure.NOT_READY:
        why = waiting_why or 'it was not ready for USR2'
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

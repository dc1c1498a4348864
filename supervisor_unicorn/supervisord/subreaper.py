"""Becoming the reaper of our programs' orphaned descendants.

A re-exec'd master is its old master's child; once the old master exits, the
kernel hands it to the nearest child subreaper: supervisord, when it is one,
so it can wait for (and track) the adopted master.  Linux >= 3.4 only.
"""
import ctypes

PR_SET_CHILD_SUBREAPER = 36
PR_GET_CHILD_SUBREAPER = 37


def set_subreaper() -> bool:
    """Make this process the reaper of orphaned descendants (Linux >= 3.4)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        return False
    flag = ctypes.c_int(0)
    return libc.prctl(PR_GET_CHILD_SUBREAPER, ctypes.byref(flag), 0, 0, 0) == 0 \
        and flag.value == 1

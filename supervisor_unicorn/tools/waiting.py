"""Waiting on an observable fact with a deadline, for the demo, tests and benches.

Tests synchronize on conditions (a log line, a state, an answer), never on bare
sleeps: a condition that is never met fails with what was awaited.
"""
import time
from typing import Callable


def wait_for(predicate: Callable[[], object], timeout: float, what: str,
             interval: float = 0.05):
    """Poll until predicate() is truthy; return its value or raise naming `what`."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = predicate()
        except Exception:
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError('timed out after %.1fs waiting for %s' % (timeout, what))
        time.sleep(interval)

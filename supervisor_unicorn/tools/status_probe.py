"""`supervisorctl status` run again and again from a thread, for the tests and
benches that measure how responsive supervisord stays.

Each run's wall time includes supervisorctl's own start-up: that is what an
operator waits for.
"""
import subprocess
import threading
import time
from typing import List

from supervisor_unicorn.tools.sandbox_app import find_executable


class StatusProbe:
    """`with StatusProbe(conf) as probe:` then `probe.times`, in seconds."""

    def __init__(self, conf: str, timeout: float = 30, pause: float = 0.1):
        self.conf, self.timeout, self.pause = conf, timeout, pause
        self.times: List[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        ctl = find_executable('supervisorctl') or 'supervisorctl'
        while not self._stop.is_set():
            t0 = time.monotonic()
            subprocess.run([ctl, '-c', self.conf, 'status'], capture_output=True,
                           timeout=self.timeout)
            self.times.append(time.monotonic() - t0)
            self._stop.wait(self.pause)

    def __enter__(self) -> 'StatusProbe':
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        # the run under way ends within its timeout
        self._thread.join(2 * self.timeout)

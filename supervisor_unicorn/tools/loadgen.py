"""A small open-loop HTTP load on loopback, for the demo, tests and benches.

Open loop: requests start on a fixed schedule whether or not earlier ones
have answered, one new TCP connection each, so a gap in service shows up as
failures instead of as a slower client.  Traffic goes to 127.0.0.1 only.
"""
import http.client
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import List, Optional, Tuple

LOOPBACK = '127.0.0.1'


@dataclass
class Reply:
    started: float
    ok: bool
    body: str = ''
    error: str = ''


@dataclass
class Traffic:
    replies: List[Reply] = field(default_factory=list)

    @property
    def sent(self) -> int:
        return len(self.replies)

    @property
    def failed(self) -> int:
        return sum(1 for r in self.replies if not r.ok)

    @property
    def ok(self) -> int:
        return self.sent - self.failed

    def errors(self) -> Counter:
        return Counter(r.error for r in self.replies if not r.ok)

    def generations(self) -> List[Tuple[str, int]]:
        """(version, master pid) in the order they first answered."""
        seen: List[Tuple[str, int]] = []
        for r in sorted(self.replies, key=lambda r: r.started):
            if r.ok:
                version, _, pid = r.body.strip().partition(' ')
                gen = (version, int(pid) if pid.isdigit() else 0)
                if gen not in seen:
                    seen.append(gen)
        return seen

    def last_ok(self) -> Optional[Reply]:
        oks = [r for r in self.replies if r.ok]
        return max(oks, key=lambda r: r.started) if oks else None


def get(port: int, path: str = '/', timeout: float = 2.0) -> Tuple[int, str]:
    conn = http.client.HTTPConnection(LOOPBACK, port, timeout=timeout)
    try:
        conn.request('GET', path, headers={'Connection': 'close'})
        resp = conn.getresponse()
        return resp.status, resp.read().decode('utf-8', 'replace')
    finally:
        conn.close()


class Load:
    """`with Load(port, rate) as traffic:` sends `rate` requests a second."""

    def __init__(self, port: int, rate: float = 200, timeout: float = 2.0,
                 max_seconds: float = 300, path: str = '/'):
        self.port, self.rate, self.timeout, self.path = port, rate, timeout, path
        self.max_seconds = max_seconds    # a forgotten load stops by itself
        self.traffic = Traffic()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=64)
        self._thread = threading.Thread(target=self._schedule, daemon=True)

    def _one(self, started: float) -> None:
        try:
            status, body = get(self.port, self.path, self.timeout)
            reply = Reply(started, status == 200, body,
                          '' if status == 200 else 'HTTP %d' % status)
        except Exception as exc:
            reply = Reply(started, False, error=type(exc).__name__)
        with self._lock:
            self.traffic.replies.append(reply)

    def _schedule(self) -> None:
        interval = 1.0 / self.rate
        start = time.monotonic()
        n = 0
        while not self._stop.is_set():
            due = start + n * interval
            now = time.monotonic()
            if now - start > self.max_seconds:
                break
            if due > now:
                self._stop.wait(due - now)
                continue
            self._pool.submit(self._one, due)
            n += 1

    def __enter__(self) -> Traffic:
        self._thread.start()
        return self.traffic

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self._pool.shutdown(wait=True)

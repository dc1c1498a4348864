"""How much /proc reading the plugin may do, whatever the app does.

Everything in the plugin runs in supervisord's single loop, so reading /proc
for an app that holds 18,000 fds or forks 5,000 children would stall every
client of supervisord.  The reads whose number the app controls
(a worker's fds, a master's children) draw on one token bucket; work that
does not fit waits for a later poll, and the caller treats it as not read
yet.  Past the limits below, the reads are not done at all: the caller falls
back to a cheaper method or to the time rule and says so once.

Costs are estimated microseconds of supervisord's CPU, measured on a 2-core
VM (bench/README.md, hostile_cost.py): a bucket of 50 ms that refills at
50 ms a second keeps the plugin under 5 % of a core and no poll longer than
about 50 ms.
"""
import time
from typing import Callable

# estimated cost of one read, in microseconds
COST_FD = 12            # one entry of /proc/PID/fd listed and readlink()ed
COST_STAT = 15          # one small /proc file read (stat, status, children)
COST_CHILDREN = 45      # procs.child_pids of a process with one thread

RATE = 50_000           # refill, per second: 5 % of a core
BURST = 50_000          # the most one poll may spend

# limits past which a reading is not attempted (readiness.py, procs.py)
MAX_FDS = 2048          # a worker's fds searched for its heartbeat file; gthread
#                         workers hold ~worker_connections (1000) when busy
MAX_HEARTBEATS = 256    # distinct heartbeat files one worker holds: its
#                         siblings' right after the fork, so about `workers`
MAX_THREADS = 64        # threads whose children files are read one by one;
#                         past this, children come from one pass over /proc


class Budget:
    """A token bucket of estimated microseconds, refilled by an injected clock."""

    def __init__(self, rate: float = RATE, burst: float = BURST,
                 clock: Callable[[], float] = time.monotonic):
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self.tokens = burst
        self._at = clock()

    def _refill(self) -> None:
        now = self.clock()
        if now > self._at:
            self.tokens = min(self.burst, self.tokens + (now - self._at) * self.rate)
        self._at = now

    def take(self, cost: float) -> bool:
        """Spend `cost` if it is there; False (nothing spent) if it is not."""
        self._refill()
        if self.tokens < cost:
            return False
        self.tokens -= cost
        return True

    def has(self, cost: float) -> bool:
        """Is `cost` there?  Nothing spent: the caller spends what the work
        really took (a loaded machine makes every read dearer)."""
        self._refill()
        return self.tokens >= cost

    def spend(self, cost: float) -> None:
        """Spend what was done anyway (bounded work that must not wait)."""
        self._refill()
        self.tokens -= cost


# one per supervisord: procs.py and readiness.Reader draw on the same bucket
SHARED = Budget()

"""An abandoned new generation, killed without stalling supervisord.

When a hot restart is abandoned (boot_timeout, new workers that keep failing
to load), the new master and everything it forked must go.  An app may have
forked thousands of processes: listing them in one pass over /proc, or
signalling them all in one loop pass, stalls every client of supervisord for
a noticeable time.  So the re-exec masters go first (they fork no more), then
the workers recorded while they lived, KILL_BATCH a poll.  What they leave
becomes supervisord's children (it is the subreaper) and is swept for
SWEEP_FOR seconds, KILL_BATCH a poll: untracked children of supervisord, born
after the USR2, running as the program's user, in the group the program was
spawned into or in the one its new master was in when it was killed (an app
may move itself; a worker forked as the master dies is met only there).
Every signal is pinned to the identity listed (procs.send_signal).
"""
import signal
from dataclasses import dataclass
from typing import Callable, Dict, FrozenSet, Iterable, List

from supervisor_unicorn.supervisord import trust
from supervisor_unicorn.supervisord.procs import ProcId

KILL_BATCH = 64          # SIGKILLs a poll (a pinned signal costs ~0.4 ms here)
SWEEP_FOR = 10.0         # seconds during which orphans of the generation are swept


@dataclass
class Abort:
    doomed: List[ProcId]
    born_after: float        # the USR2, on procs.clock()
    groups: FrozenSet[int]   # the spawn group, and the new masters' groups
    uid: int
    sweep_until: float


class Aborts:
    def __init__(self, glue, procs, now: Callable[[], float]):
        self.glue, self.procs, self.now = glue, procs, now
        self.pending: Dict[str, Abort] = {}

    def begin(self, name: str, masters: Iterable[ProcId], workers: Iterable[ProcId],
              born_after: float, pgid: int, uid: int) -> None:
        masters = list(masters)
        groups = {pgid}
        for master in masters:
            group = self.procs.process_group(master.pid)
            if group and self.procs.is_alive(master):    # still that process's group
                groups.add(group)
            self.glue.signal(master, signal.SIGKILL)
        known = {m.pid for m in masters}
        doomed = [w for w in workers if w.pid not in known]
        self.pending[name] = Abort(doomed, born_after, frozenset(groups), uid,
                                   self.now() + SWEEP_FOR)
        self.poll()

    def poll(self) -> None:
        for name, abort in list(self.pending.items()):
            if not abort.doomed:
                if self.now() >= abort.sweep_until:
                    del self.pending[name]
                    continue
                abort.doomed = self._orphans(abort)
            batch, abort.doomed = abort.doomed[:KILL_BATCH], abort.doomed[KILL_BATCH:]
            for ident in batch:
                self.glue.signal(ident, signal.SIGKILL)

    def _orphans(self, abort: Abort) -> List[ProcId]:
        out = []
        for child in self.procs.live_children(self.glue.my_pid()):
            if trust.is_abandoned_orphan(
                    self.glue.is_tracked(child.pid), child.create_time,
                    self.procs.process_group(child.pid), self.procs.real_uid(child.pid),
                    abort.born_after, abort.groups, abort.uid):
                out.append(child)
        return out

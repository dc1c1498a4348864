"""Masters left running by a supervisord that died (SIGKILL, OOM killer).

An adopted master outlives a supervisord killed without a chance to stop it.
The next supervisord would spawn the program again, and the server would
refuse ("Already running on PID ...") until the program went FATAL, with the
old master serving unsupervised for good.

At start, before the first spawn, every pidfile of each configured program's
protocol is read (a handover cut short leaves two masters: one in PIDFILE, one
in PIDFILE.oldbin or PIDFILE.2), and every pid found there is retired, each
only when it is verifiably that program's master
from a supervisord of this same configuration: alive, not under any live
supervisord, running as the program's user, and carrying in its environment
the SUPERVISOR_PROCESS_NAME, SUPERVISOR_GROUP_NAME and SUPERVISOR_SERVER_URL
that supervisord gave it.  Each gets the server's graceful stop signal, and the
program's spawn waits until all are gone (SIGKILL after stopwaitsecs).  There is
a short gap in service between the two generations: the old master cannot be
adopted, since it is not our descendant and its output pipes are gone.
"""
import signal
from dataclasses import dataclass
from typing import Dict, List, Optional

from supervisor_unicorn.procs import ProcId

# where a master of each server may have written its pid
PIDFILE_SUFFIXES = ('', '.2', '.oldbin')


@dataclass
class Leftover:
    name: str
    ident: ProcId
    deadline: float
    killed: bool = False


class LeftoverMasters:
    def __init__(self, glue, programs, procs, now):
        self.glue = glue
        self.programs = programs          # name -> core.Program
        self.procs = procs
        self.now = now
        self.pending: Dict[str, List[Leftover]] = {}

    def check(self) -> None:
        """Look for leftovers of every program; hold the spawn of those found."""
        for name, program in self.programs.items():
            if name in self.pending:
                continue
            found = []
            for suffix in PIDFILE_SUFFIXES:
                path = program.spec.pidfile + suffix
                pid, _ = self.procs.read_pidfile(path)
                if pid is None or pid in [left.ident.pid for left in found]:
                    continue
                problem = self._not_ours(name, pid)
                if problem:
                    self.glue.logger.info('hot_restart: %s: %s names pid %d: %s; left alone'
                                          % (name, path, pid, problem))
                    continue
                left = self._retire(name, program, pid, path)
                if left is not None:
                    found.append(left)
            found += self._children_of(name, program, found)
            if found:
                self.pending[name] = found
                self.glue.hold_spawn(name, 'waiting for master pid(s) %s, left by a '
                                     'previous supervisord, to exit'
                                     % ', '.join(str(left.ident.pid) for left in found))

    def _children_of(self, name, program, found: List[Leftover]) -> List[Leftover]:
        """A re-exec child still booting is in no pidfile yet, and outlives
        its parent's retirement: retire the verified children of every
        leftover too (workers take the same signal as a graceful stop)."""
        known = {left.ident.pid for left in found}
        out = []
        for left in found:
            for child in self.procs.live_children(left.ident.pid):
                if child.pid not in known and self._not_ours(name, child.pid) is None:
                    known.add(child.pid)
                    self.glue.signal(child.pid, program.protocol.retire_signal)
                    out.append(Leftover(name, child, left.deadline))
        if out:
            self.glue.logger.info('hot_restart: %s: retiring their children too (%s)'
                                  % (name, ', '.join(str(c.ident.pid) for c in out)))
        return out

    def _not_ours(self, name: str, pid: int) -> Optional[str]:
        ident = self.procs.identify(pid)
        if ident is None:
            return 'no such live process (stale)'
        for ancestor, cmdline in self.procs.ancestors(pid):
            if 'supervisord' in cmdline:
                return 'a supervisord (pid %d) still runs it' % ancestor
        uid = self.procs.real_uid(pid)
        expected = self.glue.program_uid(name)
        if uid != expected:
            return 'it runs as uid %s, the program as uid %d' % (uid, expected)
        env = self.procs.environ(pid)
        group_name, process_name = self.glue.split_name(name)
        wanted = {'SUPERVISOR_PROCESS_NAME': process_name,
                  'SUPERVISOR_GROUP_NAME': group_name}
        url = self.glue.server_url()
        if url:
            wanted['SUPERVISOR_SERVER_URL'] = url
        for key, value in wanted.items():
            if env.get(key) != value:
                # the value is the app's to write: not quoted
                return 'its environment has no %s=%s' % (key, value)
        return None

    def _retire(self, name, program, pid, path) -> Optional[Leftover]:
        ident = self.procs.identify(pid)
        if ident is None:
            return None
        _, _, stopwaitsecs = self.glue.stop_settings(name)
        sig = program.protocol.retire_signal
        self.glue.logger.warn(
            'hot_restart: %s: master pid %d (from %s) was left running by a previous '
            'supervisord; retiring it with %s before starting %s'
            % (name, pid, path, signal.Signals(sig).name, name))
        self.glue.signal(pid, sig)
        return Leftover(name, ident, self.now() + stopwaitsecs)

    def poll(self) -> None:
        for name, lefts in list(self.pending.items()):
            for left in lefts:
                self._poll_one(left)
            if not any(self.procs.is_alive(left.ident) for left in lefts):
                del self.pending[name]
                self.glue.release_spawn(name)
                self.glue.logger.info('hot_restart: %s: leftover master pid(s) %s gone; '
                                      'starting %s' % (
                                          name, ', '.join(str(left.ident.pid)
                                                          for left in lefts), name))

    def _poll_one(self, left: Leftover) -> None:
        if self.procs.is_alive(left.ident):
            if self.now() > left.deadline and not left.killed:
                left.killed = True
                self.glue.logger.warn('hot_restart: %s: leftover master pid %d still '
                                      'running; sending KILL' % (left.name, left.ident.pid))
                # the same checked identities as everywhere: a pid may be reused
                for proc in self.procs.descendants(left.ident.pid) + [left.ident]:
                    if self.procs.is_alive(proc):
                        self.glue.signal(proc.pid, signal.SIGKILL)

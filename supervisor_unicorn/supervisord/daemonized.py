"""Servers that daemonize themselves (`unicorn -D`, gunicorn `daemon = True`).

Such a server leaves supervisord's session and its first process exits; a
respawn would collide with the detached daemon until FATAL, and the daemon
serves on unsupervised.  So when a master exits 0, unasked and with no hot
restart to explain it, its daemon is looked for among supervisord's children
for LOOK_FOR seconds (which one it is: trust rule 6, trust.py).  It gets the
server's graceful stop signal while the spawn waits (SIGKILL after
stopwaitsecs, to it and its verified descendants); then the program is FATAL
with the reason, until the command runs in the foreground (`update`/`start`).
"""
import os
import signal
from dataclasses import dataclass, field
from typing import Dict, Optional

from supervisor_unicorn.supervisord import trust
from supervisor_unicorn.supervisord.procs import ProcId

LOOK_FOR = 3.0          # seconds after the exit during which a daemon may appear
WINDOW = 10.0           # a daemon is born this soon after the spawn, or near the exit


@dataclass
class Watch:
    name: str
    exited_pid: int
    early_exit: bool            # before the program was RUNNING
    spawned: float              # the exited master's spawn, on ProcId's clock
    exited: float               # its exit, on the same clock
    look_until: float
    daemons: Dict[int, ProcId] = field(default_factory=dict)
    kill_at: Optional[float] = None
    killed: bool = False
    reason: str = ''


class DaemonWatch:
    def __init__(self, glue, programs, procs, now):
        self.glue = glue
        self.programs = programs          # name -> program.Program, shared with the core
        self.procs = procs
        self.now = now
        self.pending: Dict[str, Watch] = {}

    def master_exited(self, name: str, pid: int, sts: int) -> None:
        """The tracked master of `name` exited (wait status `sts`) with no hot
        restart pending; supervisord has not seen the exit yet."""
        # a daemonizing parent exits 0 on its own; a stop or a crash is no daemon
        if name in self.pending or self.glue.is_stopping(name) \
                or not (os.WIFEXITED(sts) and os.WEXITSTATUS(sts) == 0):
            return
        early_exit = self.glue.state_name(name) == 'STARTING'
        exited = self.procs.clock()
        spawned = exited - self.glue.seconds_since_spawn(name)
        watch = Watch(name, pid, early_exit, spawned, exited, self.now() + LOOK_FOR)
        self.pending[name] = watch
        self._look(watch)

    def poll(self) -> None:
        for name, watch in list(self.pending.items()):
            now = self.now()
            if now < watch.look_until:
                self._look(watch)
            watch.daemons = {pid: ident for pid, ident in watch.daemons.items()
                             if self.procs.is_alive(ident)}
            if watch.daemons:
                if watch.kill_at is not None and now > watch.kill_at and not watch.killed:
                    self._kill(watch)
                continue
            if now < watch.look_until:
                continue
            del self.pending[name]
            if watch.reason:
                self.glue.release_spawn(name)
                self.glue.give_up(name, watch.reason)
                self.glue.logger.info(
                    'hot_restart: %s: the daemon is gone; %s stays FATAL until it runs '
                    'in the foreground (then `supervisorctl update` or `start %s`)'
                    % (name, name, name))

    def _look(self, watch: Watch) -> None:
        me = self.glue.my_pid()
        for pid in self.procs.child_pids(me):
            if pid in watch.daemons or self.glue.is_tracked(pid):
                continue
            ident = self._verify(watch, pid, self.procs.session_of(0))
            if ident is not None:
                self._retire(watch, ident)

    def _verify(self, watch: Watch, pid: int, my_session) -> Optional[ProcId]:
        ident = self.procs.identify(pid)
        session = self.procs.session_of(pid)
        if ident is None or session is None:
            return None
        others = any(pid in p.family for name, p in self.programs.items()
                     if name != watch.name)
        detached = trust.Detached(
            create_time=ident.create_time, uid=self.procs.real_uid(pid),
            same_session=session == my_session,
            first_fork=watch.early_exit
            and self.procs.process_group(pid) == watch.exited_pid,
            tracked=self.glue.is_tracked(pid), anothers_child=others)
        problem = trust.daemon_problem(detached, watch.spawned - trust.CLOCK_SLACK,
                                       watch.exited, self.glue.program_uid(watch.name),
                                       WINDOW)
        return ident if problem is None else None

    def _retire(self, watch: Watch, ident: ProcId) -> None:
        protocol = self.programs[watch.name].protocol
        sig = protocol.retire_signal
        if not watch.reason:
            watch.reason = ('the server daemonized itself (pid %d runs detached); %s'
                            % (ident.pid, protocol.daemon_hint))
            self.glue.hold_spawn(watch.name, watch.reason)
            _, _, stopwaitsecs = self.glue.stop_settings(watch.name)
            watch.kill_at = self.now() + stopwaitsecs
            self.glue.logger.warn('hot_restart: %s: %s; retiring pid %d with %s'
                                  % (watch.name, watch.reason, ident.pid,
                                     signal.Signals(sig).name))
        else:
            self.glue.logger.info('hot_restart: %s: retiring daemonized pid %d too, '
                                  'with %s' % (watch.name, ident.pid,
                                               signal.Signals(sig).name))
        watch.daemons[ident.pid] = ident
        self.glue.signal(ident, sig)

    def _kill(self, watch: Watch) -> None:
        watch.killed = True
        for ident in list(watch.daemons.values()):
            self.glue.logger.warn('hot_restart: %s: daemonized pid %d still running; '
                                  'sending KILL' % (watch.name, ident.pid))
            for proc in self.procs.descendants_of(ident) + [ident]:
                if self.procs.is_alive(proc):
                    self.glue.signal(proc, signal.SIGKILL)

"""The one module that touches supervisord's internals (supervisor 4.2, 4.3).

- ``options.waitpid``, wrapped: reap() would call Subprocess.finish() for the
  old master, closing the pipes the new master writes to; for a handover the
  wrapper moves ``pidhistory`` and ``Subprocess.pid`` to the new master instead.
- ``options.kill``, wrapped: a group signal goes to the group supervisord
  spawned the program into, if trust.py allows it (a re-exec keeps it).
- ``options.pidhistory``, ``Subprocess.pid/state/config/laststart``: what
  is tracked; ``options.pidfile``: the ledger goes beside it.
- ``options.get_socket_map()``: our wake-up fds (waker.py) join supervisord's.
- ``Subprocess.spawn`` (replaced on one instance), ``spawnerr`` and
  ``give_up()``'s steps: a spawn waits while leftovers or a daemon are retired,
  and a self-daemonizing program goes FATAL with the reason.
- ``configroot.supervisord.rpcinterface_factories``: reread/update's new settings.
- ``events``: Running (subreaper), Stopping (close our fds), Tick5, ProcessRunning.

Every entry from supervisord into our code goes through ``guarded``: an
exception escaping into supervisord's loop would kill it and orphan every
child, so it is logged and supervisord's own behaviour goes on.
"""
import os
import time
import traceback
from typing import Callable, Dict, List, Optional, Set, Tuple

from supervisor import events
from supervisor.options import decode_wait_status, split_namespec
from supervisor.states import ProcessStates, SupervisorStates, getProcessStateDescription

from supervisor_unicorn.supervisord import ledger, procs
from supervisor_unicorn.supervisord.subreaper import set_subreaper
from supervisor_unicorn.supervisord.waker import SignalPipe, Timer

_MARK = '_supervisor_unicorn_wrapped'
CRITICAL_EVERY = 60.0      # seconds between repeated tracebacks of one failure


class InternalsError(RuntimeError):
    """This supervisord does not look like the one we were written for."""


def check_internals(supervisord) -> None:
    options = getattr(supervisord, 'options', None)
    needed = [(options, 'waitpid'), (options, 'kill'), (options, 'pidhistory'),
              (options, 'get_socket_map'), (options, 'logger'), (options, 'mood'),
              (supervisord, 'process_groups')]
    for obj, attr in needed:
        if obj is None or not hasattr(obj, attr):
            raise InternalsError(
                'supervisor_unicorn needs supervisord internals this supervisor '
                'does not have (%s); supported: supervisor 4.2 and 4.3' % attr)
    if not isinstance(options.pidhistory, dict):
        raise InternalsError('supervisord options.pidhistory is not a dict')


class _FdDispatcher:
    """Just enough of an asyncore dispatcher for supervisord's loop."""

    def __init__(self, fd: int, on_read: Callable[[], None], glue: 'Glue'):
        self.fd = fd
        self._on_read = on_read
        self._glue = glue

    def readable(self):
        return True

    def writable(self):
        return False

    def handle_read_event(self):
        self._glue.guarded(self._on_read)

    def handle_write_event(self):
        pass

    def handle_error(self):
        self._glue.log_critical('wake-up fd %d' % self.fd)

    def __repr__(self):
        return '<supervisor_unicorn wake-up fd %d>' % self.fd


class Glue:
    """supervisord as the hot-restart core sees it."""

    def __init__(self, supervisord):
        check_internals(supervisord)
        self.supervisord = supervisord
        self.options = supervisord.options
        self.logger = supervisord.options.logger
        self.subreaper = False
        self._core = None
        self._orig_waitpid = None
        self._orig_kill = None
        self._timer: Optional[Timer] = None
        self._sigpipe: Optional[SignalPipe] = None
        self._reported: Dict[tuple, tuple] = {}

    # --- entry points from supervisord ------------------------------------

    def install(self, core) -> None:
        """Wrap waitpid and kill, subscribe to events.  Idempotent per options."""
        self._core = core
        if getattr(self.options, _MARK, False):
            return
        self._orig_waitpid = self.options.waitpid
        self._orig_kill = self.options.kill
        self.options.waitpid = self._waitpid
        self.options.kill = self._kill
        setattr(self.options, _MARK, True)
        events.subscribe(events.SupervisorRunningEvent, self._on_running)
        events.subscribe(events.SupervisorStoppingEvent, self._on_stopping)
        events.subscribe(events.Tick5Event, self._on_tick)
        events.subscribe(events.ProcessStateRunningEvent, self._on_process_running)

    def guarded(self, func, *args, default=None):
        try:
            return func(*args)
        except Exception as exc:
            self.log_critical('%s failed' % getattr(func, '__name__', func), exc)
            return default

    def log_critical(self, what: str, exc: Optional[BaseException] = None) -> None:
        # a hook that fails once fails on every loop pass: one traceback a minute
        try:
            key = (what, type(exc).__name__)
            now = time.monotonic()
            last, count = self._reported.get(key, (None, 0))
            if last is not None and now - last < CRITICAL_EVERY:
                self._reported[key] = (last, count + 1)
                return
            self._reported[key] = (now, 0)
            again = ' (%d more times since the last report)' % count if count else ''
            self.logger.critical('hot_restart: internal error, supervisord carries on: '
                                 '%s%s:\n%s' % (what, again, traceback.format_exc()))
        except Exception:
            pass

    def _waitpid(self):
        # reap() calls this until it returns no pid; a pid we consume is the
        # old master of a finished handover, and the next one is looked at
        for _ in range(100):
            pid, sts = self._orig_waitpid()
            if not pid:
                self.guarded(self._core.poll)
                return pid, sts
            if not self.guarded(self._core.on_reaped, pid, sts, default=False):
                return pid, sts
        return None, None

    def _kill(self, pid, sig):
        target = self.guarded(self._core.on_kill, pid, sig, default=pid)
        try:
            return self._orig_kill(pid if target is None else target, sig)
        finally:
            # a master on standby is stopped (SIGSTOP): continued only now,
            # with supervisord's signal pending, it acts on that first
            self.guarded(self._core.after_kill, pid, sig)

    def _on_running(self, event):
        self.guarded(self._start_running)

    def _start_running(self):
        # after daemonize(): the flag is per process and not inherited by fork
        self.subreaper = set_subreaper()
        if self.subreaper:
            self.logger.info('hot_restart: supervisord (pid %d) is now the child '
                             'subreaper of its programs' % os.getpid())
        else:
            self.logger.warn('hot_restart: could not become a child subreaper; '
                             'hot restarts are refused')
        self._open_wakers()
        self._core.on_running()

    def _on_stopping(self, event):
        self.guarded(self._close_wakers)

    def _on_process_running(self, event):
        self.guarded(self._core.on_master_running, getattr(event.process, 'pid', 0))

    def _on_tick(self, event):
        self.guarded(self._core.poll, True)

    # --- wake-up fds --------------------------------------------------------

    def _open_wakers(self):
        self._close_wakers()
        socket_map = self.options.get_socket_map()
        self._timer = Timer()
        socket_map[self._timer.fd] = _FdDispatcher(self._timer.fd, self._on_timer, self)
        sigpipe = SignalPipe()
        if sigpipe.start():
            self._sigpipe = sigpipe
            socket_map[sigpipe.fd] = _FdDispatcher(sigpipe.fd, sigpipe.drain, self)
        else:
            sigpipe.close()
            self.logger.warn('hot_restart: another signal wakeup fd (%s) is set; '
                             'exits are noticed on the next loop pass only'
                             % sigpipe.previous)

    def _on_timer(self):
        self._timer.drain()
        self._core.poll()

    def _close_wakers(self):
        socket_map = self.options.get_socket_map()
        for waker in (self._timer, self._sigpipe):
            if waker is not None:
                socket_map.pop(waker.fd, None)
                waker.close()
        self._timer = self._sigpipe = None

    def set_timer(self, period: float) -> None:
        """Wake the loop every `period` seconds (0: stop)."""
        if self._timer is None:
            return
        if period:
            self._timer.arm(period)
        else:
            self._timer.disarm()

    # --- what the core may ask and do ---------------------------------------

    def first_start(self) -> bool:
        """True for supervisord's first run, False after a reload (whose stop
        phase has already stopped every program it tracked)."""
        return bool(getattr(self.options, 'first', True))

    def mood_running(self) -> bool:
        return self.options.mood >= SupervisorStates.RUNNING

    def ledger_path(self) -> Optional[str]:
        """Where supervisord records the masters it runs (ledger.py): beside
        its own pidfile, a place supervisord's user alone writes."""
        pidfile = getattr(self.options, 'pidfile', None)
        return ledger.path_for(os.path.abspath(pidfile)) if pidfile else None

    def has_process(self, name: str) -> bool:
        return self._process(name) is not None

    def rpcinterface_sections(self, factory) -> List[Tuple[str, dict]]:
        """(name, settings) of each [rpcinterface:name] that `factory` makes,
        as supervisord last read its file (a new dict per read)."""
        read = getattr(getattr(self.options, 'configroot', None), 'supervisord', None)
        entries = getattr(read, 'rpcinterface_factories', None)
        if entries is None:
            entries = getattr(self.options, 'rpcinterface_factories', None) or ()
        ours = (factory.__module__, factory.__qualname__)
        return [(name, settings) for name, made_by, settings in entries
                if (getattr(made_by, '__module__', None),
                    getattr(made_by, '__qualname__', None)) == ours]

    def program_problem(self, name: str) -> Optional[str]:
        """Why `name` cannot be hot restarted, judged from the config alone."""
        group_name, process_name = split_namespec(name)
        group = self.supervisord.process_groups.get(group_name)
        if group is None or process_name not in group.processes:
            return 'no program %r in the supervisord configuration' % name
        if type(group.config).__name__ == 'EventListenerPoolConfig':
            return '%r is an eventlistener, not a program' % name
        return None

    def _process(self, name: str):
        group_name, process_name = split_namespec(name)
        group = self.supervisord.process_groups.get(group_name)
        if group is None or process_name is None:
            return None
        return group.processes.get(process_name)

    def tracked_pid(self, name: str) -> int:
        process = self._process(name)
        return process.pid if process is not None else 0

    def state_name(self, name: str) -> str:
        process = self._process(name)
        return getProcessStateDescription(process.get_state()) if process else 'UNKNOWN'

    def is_running(self, name: str) -> bool:
        process = self._process(name)
        return process is not None and process.pid > 0 \
            and process.get_state() == ProcessStates.RUNNING

    def is_stopping(self, name: str) -> bool:
        process = self._process(name)
        return process is not None and (process.get_state() == ProcessStates.STOPPING
                                        or self.options.mood < SupervisorStates.RUNNING)

    def stop_settings(self, name: str):
        """(stopsignal, stopasgroup, stopwaitsecs) of the program."""
        config = self._process(name).config
        return config.stopsignal, config.stopasgroup, config.stopwaitsecs

    def program_uid(self, name: str) -> int:
        uid = self._process(name).config.uid
        return os.geteuid() if uid is None else uid

    def hold_spawn(self, name: str, reason: str) -> None:
        """Make Subprocess.spawn() a no-op until release_spawn(): transition()
        retries an autostart on every pass while laststart is 0, and
        startProcess reports spawnerr as its SPAWN_ERROR text."""
        process = self._process(name)

        def spawn():
            process.spawnerr = reason
            return None
        process.spawn = spawn

    def release_spawn(self, name: str) -> None:
        process = self._process(name)
        process.__dict__.pop('spawn', None)
        process.spawnerr = None

    def seconds_since_spawn(self, name: str) -> float:
        process = self._process(name)
        return max(0.0, time.time() - process.laststart) if process else 0.0

    def is_tracked(self, pid: int) -> bool:
        """supervisord tracks pid as one of its processes (any program)."""
        return pid in self.options.pidhistory

    def give_up(self, name: str, reason: str) -> None:
        """No more automatic spawns of `name`; `status` shows `reason`.
        Subprocess.give_up() does this from BACKOFF only; a program that ran
        past startsecs before exiting is EXITED, and autorestart would spawn
        it again.  A later start or update spawns it as usual."""
        process = self._process(name)
        if process is None:
            return
        if process.get_state() in (ProcessStates.BACKOFF, ProcessStates.EXITED):
            process.delay = 0
            process.backoff = 0
            process.system_stop = True
            process.change_state(ProcessStates.FATAL)
        process.spawnerr = reason

    def adopt(self, name: str, old_pid: int, new_pid: int) -> None:
        """Track new_pid in place of old_pid.  Pipes, dispatchers, state and
        laststart stay as they are: the new master writes to the same pipes,
        and a fresh laststart would trip finish()'s startsecs assertion."""
        process = self._process(name)
        history = self.options.pidhistory
        history.pop(old_pid, None)
        history[new_pid] = process
        process.pid = new_pid

    @staticmethod
    def signal(ident, sig: int) -> Optional[str]:
        """Signal the process `ident` (a procs.ProcId) and no other, without
        going through our kill wrapper; None or an error."""
        return procs.send_signal(ident, sig)

    @staticmethod
    def describe_status(sts) -> str:
        return decode_wait_status(sts)[1]

    @staticmethod
    def now() -> float:
        return time.monotonic()

    @staticmethod
    def my_pid() -> int:
        return os.getpid()

    def _all_processes(self):
        for group in self.supervisord.process_groups.values():
            yield from group.processes.values()

    def tracks(self, pid: int) -> bool:
        """Whether any process of supervisord (ours or not) is tracked as pid."""
        return any(p.pid == pid for p in self._all_processes())

    def other_pids(self, name: str) -> Set[int]:
        """The tracked pids of every process but `name`: each was spawned into
        a process group of its own, numbered like its pid."""
        mine = self._process(name)
        return {p.pid for p in self._all_processes() if p is not mine and p.pid > 0}

    def program_of(self, pid: int, names) -> Optional[str]:
        """Which of `names` tracks pid, if any."""
        for name in names:
            process = self._process(name)
            if process is not None and process.pid == pid:
                return name
        return None

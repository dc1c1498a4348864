"""The health watchdog: supervisor-unicorn-listener's eventlistener loop and
its heal state machine (``HealthWatcher``).

It speaks supervisord's eventlistener protocol (stdin/stdout, see supervisor's
``childutils``) for PROCESS_STATE and TICK_5 events. It probes an HTTP URL
for each checked program and, after ``--failures`` failed probes in a row,
hot restarts the program through ``unicorn.hotRestart`` (no downtime), falling
back to ``supervisor.stopProcess`` + ``supervisor.startProcess`` when the hot
restart fails or there is no live master.

It lives outside supervisord on purpose: an HTTP probe may block, and nothing
inside supervisord's single-threaded loop may. It never blocks for long
itself either: supervisord holds back every other event (and drops the oldest
once buffer_size is full) while the listener is BUSY, so each event is
acknowledged after a few short XML-RPC calls and probes bounded by --timeout.
A heal is a small state machine driven by the following events: the hot
restart is started with wait=False and its outcome read from
``getHotRestartInfo`` on later TICKs; the fallback's stop is requested with
wait=False and the start follows once a later event finds the program stopped.
"""

import http.client
import math
import xmlrpc.client
from dataclasses import dataclass
from typing import Any, Callable, Dict, Optional, TextIO

from supervisor import childutils
from supervisor.options import make_namespec
from supervisor.xmlrpc import Faults

from supervisor_unicorn.faults import Faults as UnicornFaults
from supervisor_unicorn.listener_options import Config
from supervisor_unicorn.probe import Probe

LOG_PREFIX = 'unicorn_watch'

# After stopProcess(wait=False) the fallback starts the program again once a
# later event finds it in one of these. supervisord's own stopwaitsecs
# (default 10 s) escalates to SIGKILL well before STOP_DEADLINE, so reaching
# the deadline means something is badly wrong: the start is not attempted.
STOPPED_STATES = ('STOPPED', 'EXITED', 'FATAL')
STOP_DEADLINE = 60.0

# A hot restart always ends on supervisord's side (boot_timeout, then the old
# master's retirement within stopwaitsecs). Should the listener not see it end
# within boot_timeout + this, it stops following it and probes again.
HOT_RESTART_SLACK = 120.0
DEFAULT_BOOT_TIMEOUT = 60.0

# States in which a failing probe is someone else's business: an operator
# stopped the program, or supervisord is already (re)starting it.
HANDS_OFF_STATES = ('STOPPED', 'STOPPING', 'STARTING')

# Everything a call through supervisor's ServerProxy may raise when
# supervisord answers with a Fault, is restarting, or went away:
# xmlrpc.client.Error covers Fault, ProtocolError and ResponseError; OSError
# covers refused/reset connections and a missing unix socket; HTTPException
# covers RemoteDisconnected's siblings (BadStatusLine, CannotSendRequest).
RPC_ERRORS = (xmlrpc.client.Error, OSError, http.client.HTTPException)


class ConfigError(Exception):
    """The configuration cannot work (unconfigured NAME, no rpcinterface,
    bad credentials); the listener exits 2 so supervisord shows it FATAL."""


@dataclass
class _Heal:
    """A heal attempt in progress, advanced by later events.

    kind 'hot': unicorn.hotRestart(name, False) was accepted; its outcome is
    read from getHotRestartInfo. kind 'stop': the fallback's stopProcess was
    requested; startProcess follows once the program is stopped.
    """
    kind: str
    since: float                     # clock value when this step began
    deadline: float                  # stop following it after this
    old_pid: int                     # the master being replaced (0: none)
    window: float                    # back-off that starts when it ends
    restarts: Optional[int] = None   # hot: the restarts counter before it


@dataclass
class _Program:
    """What the listener remembers about one checked program."""
    name: str
    url: str
    backoff: float                   # the window the next heal attempt will open
    failures: int = 0
    pid: Optional[int] = None        # last master pid seen (never 0)
    restarts: Optional[int] = None   # getHotRestartInfo()['restarts'] last seen
    next_heal_at: float = -math.inf  # clock value before which we do not heal
    missing: bool = False            # already logged that supervisord lost it
    heal: Optional[_Heal] = None     # the heal attempt in progress
    recovering: bool = False         # healed, no good probe since
    started_pid: int = 0             # the last master whose start we saw
    grace_until: Optional[float] = None  # after a start: failures not counted
    grace_logged: bool = False       # said so once for this start


def _uptime(info: Dict[str, Any]) -> Optional[float]:
    """Seconds since supervisord started the process, from getProcessInfo's
    ``start`` and ``now`` (whole epoch seconds); None when unknown."""
    start, now = info.get('start'), info.get('now')
    if not start or not now:
        return None
    return float(now - start)


def describe_rpc_error(exc: BaseException) -> str:
    """One readable phrase for an XML-RPC or transport failure."""
    if isinstance(exc, xmlrpc.client.Fault):
        return exc.faultString
    if isinstance(exc, xmlrpc.client.ProtocolError):
        text = f'supervisord answered HTTP {exc.errcode} {exc.errmsg}'.rstrip()
        if exc.errcode == 401:
            text += (' (set SUPERVISOR_USERNAME and SUPERVISOR_PASSWORD with'
                     ' environment= in the [eventlistener:...] section)')
        return text
    return f'supervisord unreachable ({type(exc).__name__}: {exc})'


class HealthWatcher:
    """The eventlistener: protocol loop, probes and healing decisions.

    Everything it touches is injected so unit tests can use fakes:
    stdin/stdout/stderr streams, ``rpc`` (a ServerProxy-like object with a
    ``supervisor`` namespace and the ``config.namespace`` one), ``now`` (a
    monotonic clock) and ``probe(url, timeout) -> (ok, detail)``. It never
    sleeps: whatever has to wait is resumed by a later event.
    """

    def __init__(self, config: Config, *, stdin: TextIO, stdout: TextIO,
                 stderr: TextIO, rpc: Any, now: Callable[[], float],
                 probe: Probe):
        self.config = config
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = stderr
        self.rpc = rpc
        self.now = now
        self.probe = probe
        self.programs: Dict[str, _Program] = {
            name: _Program(name, url, backoff=config.backoff)
            for name, url in config.checks.items()}
        self.validated = False

    @property
    def _supervisor(self) -> Any:
        return self.rpc.supervisor

    @property
    def _unicorn(self) -> Any:
        return getattr(self.rpc, self.config.namespace)

    # -- output --------------------------------------------------------------

    def log(self, message: str) -> None:
        """One decision, one line on stderr (supervisord's log for us)."""
        try:
            self.stderr.write(f'{LOG_PREFIX}: {message}\n')
            self.stderr.flush()
        except OSError:
            pass  # a lost log line must not take the listener down

    def _send(self, data: str) -> None:
        # Any byte supervisord does not expect on stdout puts the listener in
        # the UNKNOWN state for good, so stdout carries these writes only.
        self.stdout.write(data)
        self.stdout.flush()

    # -- protocol loop ---------------------------------------------------------

    def run(self) -> int:
        """Serve events until supervisord closes stdin; return the exit status.

        Returns 0 on EOF and 2 on a configuration error. Configuration is
        checked before the first READY so that a bad NAME makes the listener
        exit within startsecs, and supervisord marks it FATAL instead of
        respawning it forever; if supervisord cannot answer yet, the check is
        retried on each event.
        """
        self._log_start()
        if not self.validated:
            try:
                self.validate()
            except ConfigError as e:
                self.log(str(e))
                return 2
        while True:
            self._send('READY\n')
            line = self.stdin.readline()
            if not line:                        # supervisord closed our stdin
                return 0
            try:
                headers = childutils.get_headers(line)
                length = int(headers['len'])
                if length < 0:
                    raise ValueError(length)
            except (ValueError, KeyError):
                # get_headers raises ValueError on a token without exactly one
                # ':'; without a length there is no payload we could skip
                self.log(f'malformed event header {line.strip()!r};'
                         ' acknowledged and ignored')
                self._send('RESULT 2\nOK')
                continue
            payload = self.stdin.read(length) if length else ''
            if len(payload) < length:           # EOF in the middle of an event
                return 0
            status = None
            try:
                self.handle_event(headers, payload)
            except ConfigError as e:
                self.log(str(e))
                status = 2
            except Exception as e:
                self.log(f'error handling {headers.get("eventname", "event")}:'
                         f' {e!r}; acknowledged and going on')
            self._send('RESULT 2\nOK')
            if status is not None:
                return status

    def handle_event(self, headers: Dict[str, str], payload: str) -> None:
        if not self.validated:
            self.validate()
            if not self.validated:
                return
        eventname = headers.get('eventname', '')
        # TICK_60/TICK_3600 work as well, for whoever subscribes to those
        if eventname.startswith('TICK_'):
            self.handle_tick()
        elif eventname.startswith('PROCESS_STATE_'):
            self.handle_process_state(eventname, childutils.get_headers(payload))

    def _log_start(self) -> None:
        c = self.config
        checks = ', '.join(f'{n}={u}' for n, u in c.checks.items())
        self.log(f'watching {checks}; hot restart after {c.failures} failed'
                 f' probes in a row (timeout {c.timeout:g}s, start grace'
                 f' {c.grace:g}s, back-off {c.backoff:g}s doubling up to'
                 f' {c.max_backoff:g}s)')

    # -- configuration check ---------------------------------------------------

    def validate(self) -> None:
        """Check that every NAME is configured for hot restart.

        Raises ConfigError when it cannot work; logs and leaves
        ``self.validated`` False when supervisord cannot answer right now.
        """
        ns = self.config.namespace
        try:
            infos = self._unicorn.getAllHotRestartInfo()
        except xmlrpc.client.Fault as e:
            if e.faultCode == Faults.UNKNOWN_METHOD:
                raise ConfigError(
                    f'supervisord has no [rpcinterface:{ns}] section'
                    f' ({ns}.getAllHotRestartInfo: {e.faultString})') from None
            self.log(f'cannot check the configuration yet'
                     f' ({describe_rpc_error(e)}); retrying on the next event')
            return
        except xmlrpc.client.ProtocolError as e:
            if e.errcode == 401:
                raise ConfigError(describe_rpc_error(e)) from None
            self._rpc_trouble('cannot check the configuration yet', e,
                              ' retrying on the next event')
            return
        except RPC_ERRORS as e:
            self._rpc_trouble('cannot check the configuration yet', e,
                              ' retrying on the next event')
            return
        configured = {info['name']: info for info in infos}
        missing = [name for name in self.programs if name not in configured]
        if missing:
            known = ', '.join(sorted(configured)) or 'none'
            raise ConfigError(
                f'--check {", ".join(missing)}: not configured for hot restart'
                f' (add to "programs" of [rpcinterface:{ns}]; configured: {known})')
        for name, program in self.programs.items():
            program.restarts = configured[name].get('restarts')
        self.validated = True

    # -- events ----------------------------------------------------------------

    def handle_tick(self) -> None:
        """Advance heals in progress; probe every other checked program that
        supervisord says is RUNNING."""
        try:
            processes = self._supervisor.getAllProcessInfo()
        except RPC_ERRORS as e:
            self._rpc_trouble('tick skipped', e)
            return
        hot = self._all_hot_restart_info()
        by_name = {make_namespec(p['group'], p['name']): p for p in processes}
        for program in self.programs.values():
            info = by_name.get(program.name)
            if info is None:
                if not program.missing:
                    self.log(f'{program.name} is not a process supervisord'
                             ' knows (removed by update?); not probing it')
                    program.missing = True
                program.heal = None
                continue
            program.missing = False
            if program.heal is not None:
                # its probe waits until the heal is over (the hot restart's
                # end probes it at once)
                if program.heal.kind == 'hot':
                    if program.name in hot:
                        self._advance_hot(program, hot[program.name])
                else:
                    self._advance_stop(program, info)
                continue
            pid = info['pid']
            context = None
            if self._restarts_changed(program, hot.get(program.name)):
                # hot restarts produce no PROCESS_STATE event (the program
                # stays RUNNING); the counter is how we learn of them
                context = (f'after hot restart (pid {program.pid} -> {pid})'
                           if program.pid else f'after hot restart (pid {pid})')
                program.failures = 0
                program.grace_until = None   # the new master was ready
                program.started_pid = pid
                if pid:
                    program.pid = pid
            else:
                self._note_pid(program, pid)
                if (info['statename'] == 'RUNNING' and pid
                        and pid != program.started_pid):
                    # its RUNNING event may still be on its way: a TICK queued
                    # while it was STARTING can come first
                    self._started(program, pid, _uptime(info))
            if info['statename'] == 'RUNNING':
                self.check(program, context)

    def handle_process_state(self, eventname: str,
                             payload: Dict[str, str]) -> None:
        """A checked program changed state: advance its heal, if any; when it
        just became RUNNING, open its start grace and probe it right away."""
        name = make_namespec(payload['groupname'], payload['processname'])
        program = self.programs.get(name)
        if program is None:
            return
        if program.heal is not None:
            self._follow(program)
        if eventname == 'PROCESS_STATE_RUNNING':
            self.handle_running(program, int(payload.get('pid', 0)))

    def handle_running(self, program: _Program, pid: int) -> None:
        if pid and pid == program.started_pid:
            return                       # a tick saw this start already
        self._note_pid(program, pid)
        program.failures = 0
        self._started(program, pid, 0.0)
        if program.heal is None:
            self.check(program, f'after start (pid {pid})')

    def _started(self, program: _Program, pid: int,
                 uptime: Optional[float]) -> None:
        """A new master started (not by hot restart) `uptime` seconds ago.

        RUNNING only means startsecs passed: the app may still be loading, so
        the start grace runs until --grace seconds after the start. An unknown
        uptime (or a long one: the listener itself just started) means none.
        """
        program.started_pid = pid
        program.grace_logged = False
        if uptime is not None and uptime < self.config.grace:
            program.grace_until = self.now() + self.config.grace - max(uptime, 0.0)
        else:
            program.grace_until = None

    def _all_hot_restart_info(self) -> Dict[str, Dict[str, Any]]:
        try:
            infos = self._unicorn.getAllHotRestartInfo()
        except RPC_ERRORS as e:
            self._rpc_trouble('cannot poll hot restarts', e)
            return {}
        return {info['name']: info for info in infos}

    def _restarts_changed(self, program: _Program,
                          info: Optional[Dict[str, Any]]) -> bool:
        if info is None:
            return False
        previous, program.restarts = program.restarts, info.get('restarts')
        # a smaller count is a new supervisord (reload), not a hot restart
        return (previous is not None and program.restarts is not None
                and program.restarts > previous)

    def _note_pid(self, program: _Program, pid: int) -> None:
        # a new master is a new app: its predecessor's failures say nothing
        if pid and program.pid is not None and pid != program.pid:
            if program.failures:
                self.log(f'{program.name} master pid changed ({program.pid} ->'
                         f' {pid}); failure count reset')
            program.failures = 0
        if pid:
            program.pid = pid

    # -- probing ---------------------------------------------------------------

    def check(self, program: _Program, context: Optional[str] = None) -> None:
        """Probe one program, count the result, heal when it is due.

        Within --grace seconds of a start, failures are not counted until the
        first good probe: RUNNING only means startsecs passed, and a slow app
        may still be loading.
        """
        name = program.name
        grace_over = ''
        in_grace = False
        if program.grace_until is not None:
            if self.now() < program.grace_until:
                in_grace = True
                context = context or f'after start (pid {program.started_pid})'
        try:
            ok, detail = self.probe(program.url, self.config.timeout)
        except Exception as e:      # a broken probe is a failed probe
            ok, detail = False, f'probe error {e!r}'
        label = f'{name} probe' + (f' {context}' if context else '')
        if ok:
            healthy = f'; {name} is healthy again' if program.recovering else ''
            if program.failures:
                self.log(f'{label} ok ({detail}) after {program.failures}'
                         f' failed; failure count reset{healthy}')
            elif context or healthy:
                self.log(f'{label} ok ({detail}){healthy}')
            program.failures = 0
            program.recovering = False
            program.grace_until = None
            program.backoff = self.config.backoff   # healthy: forget doubling
            return
        if in_grace:
            if not program.grace_logged:
                left = program.grace_until - self.now()
                self.log(f'{label} failed: {detail}; {name} still starting:'
                         f' probe failures not counted for up to {left:.0f}s')
                program.grace_logged = True
            return
        if program.grace_until is not None:
            grace_over = (f' (still failing {self.config.grace:g}s after'
                          ' start: now counted)')
            program.grace_until = None
        program.failures += 1
        limit = self.config.failures
        if program.failures < limit:
            self.log(f'{label} failed ({program.failures} of {limit}):'
                     f' {detail}{grace_over}')
            return
        self.heal(program, f'{label} failed ({program.failures} in a row):'
                           f' {detail}{grace_over}')

    # -- healing: start ----------------------------------------------------------

    def heal(self, program: _Program, why: str) -> None:
        """Start a hot restart of a sick program, or stop/start it when that
        cannot work; later events carry the attempt on (_follow).

        ``why`` starts the decision line. Attempts are spaced by a back-off
        window counted from the end of the previous one, which doubles while
        the program stays sick (a good probe shrinks it back to --backoff),
        so a broken app is never restarted in a tight loop.
        """
        name = program.name
        now = self.now()
        if now < program.next_heal_at:
            self.log(f'{why}; backing off, next heal attempt in'
                     f' {program.next_heal_at - now:.0f}s')
            return
        try:
            hot = self._unicorn.getHotRestartInfo(name)
            info = self._supervisor.getProcessInfo(name)
        except RPC_ERRORS as e:
            self._rpc_trouble(f'{why}; cannot heal now', e)
            return
        phase = hot.get('phase', 'idle')
        if phase != 'idle':
            self.log(f'{why}; a hot restart is already in progress ({phase}),'
                     ' waiting for it')
            return
        state, pid = info['statename'], info['pid']
        if state in HANDS_OFF_STATES:
            self.log(f'{why}; not healing {name}: it is {state}')
            return
        # Open the back-off window before trying, so that an attempt which
        # errors out half-way is not repeated on the very next tick; it opens
        # again, in full, when the attempt ends.
        window = program.backoff
        program.next_heal_at = now + window
        program.backoff = min(window * 2, self.config.max_backoff)
        if state == 'RUNNING' and pid:
            self.log(f'{why}; hot restarting {name} (pid {pid}); if still'
                     f' sick, next attempt {window:g}s after it')
            self._start_hot_restart(program, pid, hot, window)
        else:
            self.log(f'{why}; {name} has no live master ({state}, pid {pid});'
                     f' stop/start instead; if still sick, next attempt'
                     f' {window:g}s after it')
            self._start_stop(program, pid, window)

    def _start_hot_restart(self, program: _Program, pid: int,
                           hot: Dict[str, Any], window: float) -> None:
        name = program.name
        try:
            # wait=False: the answer comes at once; supervisord carries the
            # hot restart on and getHotRestartInfo tells how it ended
            result = self._unicorn.hotRestart(name, False)
        except xmlrpc.client.Fault as e:
            if e.faultCode == Faults.SHUTDOWN_STATE:
                self.log(f'{name} hot restart refused: {e.faultString};'
                         ' not stop/starting during shutdown')
            elif e.faultCode == UnicornFaults.IN_PROGRESS:
                self.log(f'{name} hot restart refused: {e.faultString};'
                         ' waiting for that one')
            else:
                self.log(f'{name} hot restart failed ({e.faultString});'
                         ' falling back to stop/start')
                self._start_stop(program, pid, window)
                return
            self._end_attempt(program, window)
            return
        except RPC_ERRORS as e:
            # the stop/start would meet the same dead socket
            self._rpc_trouble(f'{name} hot restart not done', e)
            self._end_attempt(program, window)
            return
        program.recovering = True
        old = result.get('old_pid') or pid
        before = hot.get('restarts')
        if result.get('status') == 'done':   # it ended within the call
            self._hot_restart_done(
                program, old, result.get('new_pid', 0),
                result.get('seconds', 0.0),
                None if before is None else before + 1, window)
            return
        now = self.now()
        boot_timeout = hot.get('boot_timeout') or DEFAULT_BOOT_TIMEOUT
        program.heal = _Heal('hot', since=now,
                             deadline=now + boot_timeout + HOT_RESTART_SLACK,
                             old_pid=old, window=window, restarts=before)

    def _start_stop(self, program: _Program, pid: int, window: float) -> None:
        # Never wait=True: supervisord's stopProcess deferred has delay=0 and
        # spins its main loop at 100% CPU until the stop completes; and the
        # listener must acknowledge its event meanwhile.
        name = program.name
        try:
            self._supervisor.stopProcess(name, False)
        except xmlrpc.client.Fault as e:
            # NOT_RUNNING: EXITED, FATAL or STOPPING already; a start fixes
            # the first two, the wait below covers the third
            if e.faultCode != Faults.NOT_RUNNING:
                self.log(f'{name} stopProcess failed ({e.faultString});'
                         ' not starting it')
                self._end_attempt(program, window)
                return
        except RPC_ERRORS as e:
            self._rpc_trouble(f'{name} stopProcess not done', e)
            self._end_attempt(program, window)
            return
        now = self.now()
        program.recovering = True
        program.heal = _Heal('stop', since=now, deadline=now + STOP_DEADLINE,
                             old_pid=pid, window=window)
        self._advance_stop(program)    # often stopped already

    # -- healing: carried on by later events -------------------------------------

    def _follow(self, program: _Program) -> None:
        """A PROCESS_STATE event for a program with a heal in progress."""
        heal = program.heal
        assert heal is not None
        if heal.kind == 'stop':
            self._advance_stop(program)
            return
        try:
            hot = self._unicorn.getHotRestartInfo(program.name)
        except RPC_ERRORS as e:
            self._rpc_trouble(f'cannot follow the hot restart of'
                              f' {program.name}', e)
            return
        self._advance_hot(program, hot)

    def _advance_hot(self, program: _Program, hot: Dict[str, Any]) -> None:
        heal = program.heal
        assert heal is not None and heal.kind == 'hot'
        name = program.name
        phase = hot.get('phase', 'idle')
        result = hot.get('last_result', '') or ''
        restarts = hot.get('restarts')
        if phase != 'idle':
            now = self.now()
            if now >= heal.deadline:
                self.log(f'{name} hot restart still {phase} after'
                         f' {now - heal.since:.0f}s; no longer following it')
                self._end_attempt(program, heal.window)
            return
        if (result == 'done' and restarts is not None
                and heal.restarts is not None and restarts > heal.restarts):
            self._hot_restart_done(program, heal.old_pid, hot.get('pid', 0),
                                   hot.get('last_seconds', 0.0), restarts,
                                   heal.window)
        elif result.startswith('failed'):
            why = result.partition(':')[2].strip() or result
            self.log(f'{name} hot restart failed ({why});'
                     ' falling back to stop/start')
            self._fall_back(program)
        else:
            # e.g. supervisord was restarted meanwhile: a new one knows nothing
            self.log(f'{name} hot restart ended unseen (last result'
                     f' {result or "none"!r}, restarts {restarts});'
                     ' probing it again')
            self._end_attempt(program, heal.window)

    def _hot_restart_done(self, program: _Program, old: int, new: int,
                          seconds: float, restarts: Optional[int],
                          window: float) -> None:
        self.log(f'hot restarted {program.name} (pid {old} -> {new} in'
                 f' {seconds:.1f}s)')
        self._end_attempt(program, window)
        if new:
            program.pid = new
            program.started_pid = new
        if restarts is not None:
            # our own restart: the next tick must not report it a second time
            program.restarts = restarts
        # the new master was ready when adopted: no start grace, and the old
        # master served until then, so a failure now is the new one's
        program.grace_until = None
        self.check(program, f'after hot restart (pid {old} -> {new})')

    def _fall_back(self, program: _Program) -> None:
        """The hot restart failed: stop/start, unless someone else already
        stopped or is starting the program."""
        heal = program.heal
        assert heal is not None
        name = program.name
        try:
            info = self._supervisor.getProcessInfo(name)
        except RPC_ERRORS as e:
            self._rpc_trouble(f'{name} stop/start not done', e)
            self._end_attempt(program, heal.window)
            return
        state = info['statename']
        if state in HANDS_OFF_STATES:
            self.log(f'not stop/starting {name}: it is {state}')
            self._end_attempt(program, heal.window)
            return
        self._start_stop(program, info['pid'], heal.window)

    def _advance_stop(self, program: _Program,
                      info: Optional[Dict[str, Any]] = None) -> None:
        heal = program.heal
        assert heal is not None and heal.kind == 'stop'
        name = program.name
        if info is None:
            try:
                info = self._supervisor.getProcessInfo(name)
            except RPC_ERRORS as e:
                # the next event asks again, within the deadline
                self._rpc_trouble(f'{name} stop not confirmed', e)
                return
        state = info['statename']
        now = self.now()
        if state in STOPPED_STATES:
            self._start_after_stop(program, now - heal.since)
        elif state in ('STARTING', 'BACKOFF') or (
                state == 'RUNNING' and info['pid'] != heal.old_pid):
            self.log(f'{name} was started by someone else meanwhile ({state});'
                     ' not starting it')
            self._end_attempt(program, heal.window)
        elif now >= heal.deadline:
            self.log(f'{name} still {state} {STOP_DEADLINE:g}s after'
                     ' stopProcess; not starting it')
            self._end_attempt(program, heal.window)

    def _start_after_stop(self, program: _Program, stopped_in: float) -> None:
        heal = program.heal
        assert heal is not None
        name = program.name
        self._end_attempt(program, heal.window)
        try:
            self._supervisor.startProcess(name, False)
        except xmlrpc.client.Fault as e:
            if e.faultCode == Faults.ALREADY_STARTED:
                self.log(f'{name} was started by someone else meanwhile')
            else:
                self.log(f'{name} startProcess failed ({e.faultString})')
            return
        except RPC_ERRORS as e:
            self._rpc_trouble(f'{name} startProcess not done', e)
            return
        program.failures = 0
        what = (f'pid {heal.old_pid} stopped in {stopped_in:.1f}s'
                if heal.old_pid else 'it was not running')
        self.log(f'{name} stop/start: {what}; start requested')

    def _end_attempt(self, program: _Program, window: float) -> None:
        """The heal attempt is over (whatever came of it): the back-off window
        counts from now, and so do failures."""
        program.heal = None
        program.failures = 0
        program.next_heal_at = self.now() + window

    # -- XML-RPC trouble -----------------------------------------------------------

    def _rpc_trouble(self, what: str, exc: BaseException,
                     then: str = '') -> None:
        self.log(f'{what}: {describe_rpc_error(exc)};{then or " going on"}')
        if not isinstance(exc, xmlrpc.client.Fault):
            self._forget_connection()

    def _forget_connection(self) -> None:
        # supervisor's SupervisorTransport keeps one HTTPConnection for the
        # proxy's lifetime. A request that failed while sending (supervisord
        # restarted) leaves it raising CannotSendRequest on every later call
        # until it is closed; ServerProxy('close')() does that.
        try:
            self.rpc('close')()
        except Exception:
            pass

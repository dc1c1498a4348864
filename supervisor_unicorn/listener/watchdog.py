"""The health watchdog: supervisor-unicorn-listener's eventlistener loop
(``HealthWatcher``).

It speaks supervisord's eventlistener protocol (stdin/stdout, see supervisor's
``childutils``) for PROCESS_STATE and TICK_5 events, probes an HTTP URL for
each checked program, asks supervisord over XML-RPC, and carries out what the
program's ``healing.Healer`` decides: a hot restart through
``unicorn.hotRestart`` (no downtime), a cold restart through
``supervisor.stopProcess`` + ``supervisor.startProcess`` (only when no master
serves or the master could not re-exec), backing off, or nothing.

It lives outside supervisord on purpose: an HTTP probe may block, and nothing
inside supervisord's single-threaded loop may. It never blocks for long
itself either: supervisord holds back every other event (and drops the oldest
once buffer_size is full) while the listener is BUSY, so each event is
acknowledged after a few short XML-RPC calls and probes bounded by --timeout.
A heal is carried on by the following events: the hot restart is started with
wait=False and its outcome read from ``getHotRestartInfo`` on later TICKs; the
cold restart's stop is requested with wait=False and the start follows once a
later event finds the program stopped.
"""

import http.client
import xmlrpc.client
from typing import Any, Callable, Dict, Optional, TextIO, Tuple

from supervisor import childutils
from supervisor.options import make_namespec
from supervisor.xmlrpc import Faults

from supervisor_unicorn.listener.healing import Act, Decision, Healer
from supervisor_unicorn.listener.listener_options import Config
from supervisor_unicorn.listener.probe import Probe
from supervisor_unicorn.listener.sidelined import Sidelined

LOG_PREFIX = 'unicorn_watch'

# Everything a call through supervisor's ServerProxy may raise when
# supervisord answers with a Fault, is restarting, or went away:
# xmlrpc.client.Error covers Fault, ProtocolError and ResponseError; OSError
# covers refused/reset connections and a missing unix socket; HTTPException
# covers RemoteDisconnected's siblings (BadStatusLine, CannotSendRequest).
RPC_ERRORS = (xmlrpc.client.Error, OSError, http.client.HTTPException)


class ConfigError(Exception):
    """The configuration cannot work (unconfigured NAME, no rpcinterface,
    bad credentials); the listener exits 2 so supervisord shows it FATAL."""


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
    """The eventlistener: protocol loop, probes and XML-RPC calls; each
    program's decisions are its ``Healer``'s.

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
        self.programs: Dict[str, Healer] = {
            name: Healer(name, url, limit=config.failures,
                         base_backoff=config.backoff,
                         max_backoff=config.max_backoff, grace=config.grace)
            for name, url in config.checks.items()}
        self.validated = False
        self.sidelined = Sidelined()

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
        missing = []
        for name in self.programs:
            if name not in configured:
                code, why = self._why_not_hot(name)
                # BAD_NAME: on no programs line, or no such process: the
                # listener's own configuration is wrong.  Anything else (a
                # line that cannot be used: BAD_CONFIG) is the program's.
                if code == Faults.BAD_NAME:
                    missing.append(name)
                elif why:
                    self._log_line(self.sidelined.off(name, why))
        if missing:
            known = ', '.join(sorted(configured)) or 'none'
            raise ConfigError(
                f'--check {", ".join(missing)}: not configured for hot restart'
                f' (add to "programs" of [rpcinterface:{ns}]; configured: {known})')
        for name, program in self.programs.items():
            program.restarts = configured.get(name, {}).get('restarts')
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
        listed = self._all_hot_restart_info()      # None: not known this tick
        hot = listed or {}
        by_name = {make_namespec(p['group'], p['name']): p for p in processes}
        for healer in self.programs.values():
            info = by_name.get(healer.name)
            if info is None:
                self._act(healer, healer.lost())
                continue
            healer.missing = False
            if listed is not None and not self._hot_restartable(healer.name, listed):
                continue
            if healer.attempt is not None:
                # its probe waits until the heal is over (the hot restart's
                # end probes it at once)
                if healer.attempt.kind in ('hot', 'rollback'):
                    if healer.name in hot:
                        self._advance_hot(healer, hot[healer.name])
                else:
                    self._advance_stop(healer, info)
                continue
            self._act(healer, healer.ticked(
                info['statename'], info['pid'], hot.get(healer.name),
                _uptime(info), self.now()))

    def handle_process_state(self, eventname: str,
                             payload: Dict[str, str]) -> None:
        """A checked program changed state: advance its heal, if any; when it
        just became RUNNING, open its start grace and probe it right away."""
        name = make_namespec(payload['groupname'], payload['processname'])
        healer = self.programs.get(name)
        if healer is None or name in self.sidelined:
            return
        if healer.attempt is not None:
            self._follow(healer)
        if eventname == 'PROCESS_STATE_RUNNING':
            self._act(healer, healer.running(int(payload.get('pid', 0)),
                                             self.now()))

    def _all_hot_restart_info(self) -> Optional[Dict[str, Dict[str, Any]]]:
        try:
            infos = self._unicorn.getAllHotRestartInfo()
        except RPC_ERRORS as e:
            self._rpc_trouble('cannot poll hot restarts', e)
            return None
        return {info['name']: info for info in infos}

    def _hot_restartable(self, name: str, hot: Dict[str, Dict[str, Any]]) -> bool:
        """Whether getAllHotRestartInfo lists `name`; if not, say why once
        (a reload or reread broke its line, or `update` removed it)."""
        if name in hot:
            self._log_line(self.sidelined.back(name))
            return True
        code, why = self._why_not_hot(name)
        if code is not None:
            self._log_line(self.sidelined.off(name, why))
        return not why

    def _why_not_hot(self, name: str) -> Tuple[Optional[int], str]:
        """(Fault code, text) of getHotRestartInfo(name); (None, '') when it
        answers, (None, text) when supervisord does not."""
        try:
            self._unicorn.getHotRestartInfo(name)
        except xmlrpc.client.Fault as e:
            return e.faultCode, e.faultString
        except RPC_ERRORS as e:
            return None, describe_rpc_error(e)
        return None, ''

    def _log_line(self, line: Optional[str]) -> None:
        if line:
            self.log(line)

    # -- carrying decisions out ------------------------------------------------

    def _say(self, decision: Decision) -> None:
        for line in decision.lines:
            self.log(line)

    def _act(self, healer: Healer, decision: Decision) -> None:
        self._say(decision)
        action = decision.action
        if action == Act.PROBE:
            self.check(healer, decision.context)
        elif action == Act.HEAL:
            self.heal(healer, decision.why)
        elif action == Act.LOOK_THEN_COLD:
            self._fall_back(healer)

    def check(self, healer: Healer, context: Optional[str] = None) -> None:
        """Probe one program; its Healer counts the result and says whether
        to heal."""
        try:
            ok, detail = self.probe(healer.url, self.config.timeout)
        except Exception as e:      # a broken probe is a failed probe
            ok, detail = False, f'probe error {e!r}'
        self._act(healer, healer.probed(ok, detail, context, self.now()))

    def heal(self, healer: Healer, why: str) -> None:
        """A heal is due: read the program's state and start what its Healer
        chooses (hot restart or cold restart); later events carry it on."""
        try:
            hot = self._unicorn.getHotRestartInfo(healer.name)
            info = self._supervisor.getProcessInfo(healer.name)
        except RPC_ERRORS as e:
            self._rpc_trouble(f'{why}; cannot heal now', e)
            return
        pid = info['pid']
        decision = healer.choose(why, hot.get('phase', 'idle'),
                                 info['statename'], pid, self.now())
        self._say(decision)
        if decision.action == Act.HOT_RESTART:
            self._start_hot_restart(healer, pid, hot)
        elif decision.action == Act.ROLLBACK:
            self._start_rollback(healer, hot)
        elif decision.action == Act.COLD_RESTART:
            self._start_stop(healer, pid)

    def _start_hot_restart(self, healer: Healer, pid: int,
                           hot: Dict[str, Any]) -> None:
        try:
            # wait=False: the answer comes at once; supervisord carries the
            # hot restart on and getHotRestartInfo tells how it ended
            result = self._unicorn.hotRestart(healer.name, False)
        except xmlrpc.client.Fault as e:
            # what the refusal means is data in the info struct, not the text
            try:
                after = self._unicorn.getHotRestartInfo(healer.name)
            except RPC_ERRORS:
                after = None
            decision = healer.hot_restart_refused(e.faultCode, e.faultString,
                                                  self.now(), after)
            self._say(decision)
            if decision.action == Act.COLD_RESTART:
                self._start_stop(healer, pid)
            return
        except RPC_ERRORS as e:
            # a stop/start would meet the same dead socket
            self._rpc_trouble(f'{healer.name} hot restart not done', e)
            healer.end_attempt(self.now())
            return
        self._act(healer, healer.hot_restart_accepted(result, pid, hot,
                                                      self.now()))

    def _start_rollback(self, healer: Healer, hot: Dict[str, Any]) -> None:
        try:
            # wait=False, as for a hot restart: followed on the next events
            result = self._unicorn.rollback(healer.name, False)
        except xmlrpc.client.Fault as e:
            self._say(healer.rollback_refused(e.faultString, self.now()))
            return
        except RPC_ERRORS as e:
            self._rpc_trouble(f'{healer.name} rollback not done', e)
            healer.end_attempt(self.now())
            return
        self._act(healer, healer.rollback_accepted(result, hot, self.now()))

    def _follow(self, healer: Healer) -> None:
        """A PROCESS_STATE event for a program with a heal in progress."""
        attempt = healer.attempt
        assert attempt is not None
        if attempt.kind == 'stop':
            self._advance_stop(healer)
            return
        try:
            hot = self._unicorn.getHotRestartInfo(healer.name)
        except RPC_ERRORS as e:
            self._rpc_trouble(f'cannot follow the hot restart of'
                              f' {healer.name}', e)
            return
        self._advance_hot(healer, hot)

    def _advance_hot(self, healer: Healer, hot: Dict[str, Any]) -> None:
        self._act(healer, healer.hot_restart_progress(hot, self.now()))

    def _fall_back(self, healer: Healer) -> None:
        try:
            info = self._supervisor.getProcessInfo(healer.name)
        except RPC_ERRORS as e:
            self._rpc_trouble(f'{healer.name} stop/start not done', e)
            healer.end_attempt(self.now())
            return
        decision = healer.fall_back(info['statename'], info['pid'], self.now())
        self._say(decision)
        if decision.action == Act.COLD_RESTART:
            self._start_stop(healer, info['pid'])

    def _start_stop(self, healer: Healer, pid: int) -> None:
        # Never wait=True: supervisord's stopProcess deferred has delay=0 and
        # spins its main loop at 100% CPU until the stop completes; and the
        # listener must acknowledge its event meanwhile.
        try:
            self._supervisor.stopProcess(healer.name, False)
        except xmlrpc.client.Fault as e:
            # NOT_RUNNING: EXITED, FATAL or STOPPING already; a start fixes
            # the first two, the wait below covers the third
            if e.faultCode != Faults.NOT_RUNNING:
                self._say(healer.stop_refused(e.faultString, self.now()))
                return
        except RPC_ERRORS as e:
            self._rpc_trouble(f'{healer.name} stopProcess not done', e)
            healer.end_attempt(self.now())
            return
        healer.stop_requested(pid, self.now())
        self._advance_stop(healer)    # often stopped already

    def _advance_stop(self, healer: Healer,
                      info: Optional[Dict[str, Any]] = None) -> None:
        if info is None:
            try:
                info = self._supervisor.getProcessInfo(healer.name)
            except RPC_ERRORS as e:
                # the next event asks again, within the deadline
                self._rpc_trouble(f'{healer.name} stop not confirmed', e)
                return
        decision = healer.stop_progress(info['statename'], info['pid'],
                                        self.now())
        self._say(decision)
        if decision.action != Act.START:
            return
        try:
            self._supervisor.startProcess(healer.name, False)
        except xmlrpc.client.Fault as e:
            self._say(healer.start_refused(e.faultCode, e.faultString))
            return
        except RPC_ERRORS as e:
            self._rpc_trouble(f'{healer.name} startProcess not done', e)
            return
        self.log(decision.why)

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

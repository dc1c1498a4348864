"""The health watchdog: supervisor-unicorn-listener's eventlistener loop
(``HealthWatcher``).

It speaks supervisord's eventlistener protocol for PROCESS_STATE and TICK_5
events, checks at the start that every checked program is configured for hot
restart, and hands each event's news of a program to its ``Healer``;
``Remedies`` carries out what it decides. It lives outside supervisord
because a probe may block; still, supervisord holds back every other event
while the listener is BUSY, so each event is acknowledged after a few short
XML-RPC calls and probes bounded by --timeout.
"""

import xmlrpc.client
from typing import Any, Callable, Dict, Optional, TextIO, Tuple

from supervisor import childutils
from supervisor.options import make_namespec
from supervisor.xmlrpc import Faults

from supervisor_unicorn.client import RPC_ERRORS
from supervisor_unicorn.listener.healing import Healer
from supervisor_unicorn.listener.link import Link, describe_rpc_error
from supervisor_unicorn.listener.listener_options import Config
from supervisor_unicorn.listener.probe import Probe
from supervisor_unicorn.listener.remedies import Remedies
from supervisor_unicorn.listener.sidelined import Sidelined

LOG_PREFIX = 'unicorn_watch'


class Misconfigured(Exception):
    """The configuration cannot work (unconfigured NAME, no rpcinterface,
    bad credentials); the listener exits 2 so supervisord shows it FATAL."""


def _uptime(info: Dict[str, Any]) -> Optional[float]:
    """Seconds since supervisord started the process, from getProcessInfo's
    ``start`` and ``now`` (whole epoch seconds); None when unknown."""
    start, now = info.get('start'), info.get('now')
    if not start or not now:
        return None
    return float(now - start)


class HealthWatcher:
    """The eventlistener: protocol loop and events; each program's decisions
    are its ``Healer``'s, carried out by ``Remedies``.

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
        self.link = Link(rpc, config.namespace, self.log)
        self.remedies = Remedies(self.link, probe, config.timeout, now)

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
            except Misconfigured as e:
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
            except Misconfigured as e:
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

        Raises Misconfigured when it cannot work; logs and leaves
        ``self.validated`` False when supervisord cannot answer right now.
        """
        ns = self.config.namespace
        try:
            infos = self.link.unicorn.getAllHotRestartInfo()
        except xmlrpc.client.Fault as e:
            if e.faultCode == Faults.UNKNOWN_METHOD:
                raise Misconfigured(
                    f'supervisord has no [rpcinterface:{ns}] section'
                    f' ({ns}.getAllHotRestartInfo: {e.faultString})') from None
            self.log(f'cannot check the configuration yet'
                     f' ({describe_rpc_error(e)}); retrying on the next event')
            return
        except xmlrpc.client.ProtocolError as e:
            if e.errcode == 401:
                raise Misconfigured(describe_rpc_error(e)) from None
            self.link.trouble('cannot check the configuration yet', e,
                              ' retrying on the next event')
            return
        except RPC_ERRORS as e:
            self.link.trouble('cannot check the configuration yet', e,
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
            raise Misconfigured(
                f'--check {", ".join(missing)}: not configured for hot restart'
                f' (add to "programs" of [rpcinterface:{ns}]; configured: {known})')
        for name, healer in self.programs.items():
            healer.know_restarts(configured.get(name, {}).get('restarts'))
        self.validated = True

    # -- events ----------------------------------------------------------------

    def handle_tick(self) -> None:
        """Advance heals in progress; probe every other checked program that
        supervisord says is RUNNING."""
        try:
            processes = self.link.supervisor.getAllProcessInfo()
        except RPC_ERRORS as e:
            self.link.trouble('tick skipped', e)
            return
        listed = self._all_hot_restart_info()      # None: not known this tick
        hot = listed or {}
        by_name = {make_namespec(p['group'], p['name']): p for p in processes}
        for healer in self.programs.values():
            info = by_name.get(healer.name)
            if info is None:
                self.remedies.carry_out(healer, healer.lost())
                continue
            healer.found()
            if listed is not None and not self._hot_restartable(healer.name, listed):
                continue
            self.remedies.carry_out(healer, healer.ticked(
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
        self.remedies.carry_out(healer, healer.follower.follow())
        if eventname == 'PROCESS_STATE_RUNNING':
            self.remedies.carry_out(healer, healer.running(int(payload.get('pid', 0)),
                                                           self.now()))

    def _all_hot_restart_info(self) -> Optional[Dict[str, Dict[str, Any]]]:
        try:
            infos = self.link.unicorn.getAllHotRestartInfo()
        except RPC_ERRORS as e:
            self.link.trouble('cannot poll hot restarts', e)
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
            self.link.unicorn.getHotRestartInfo(name)
        except xmlrpc.client.Fault as e:
            return e.faultCode, e.faultString
        except RPC_ERRORS as e:
            return None, describe_rpc_error(e)
        return None, ''

    def _log_line(self, line: Optional[str]) -> None:
        if line:
            self.log(line)

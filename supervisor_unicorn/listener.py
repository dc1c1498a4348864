"""supervisor-unicorn-listener: HTTP health checks that heal by hot restart.

A supervisord eventlistener (stdin/stdout protocol, see supervisor's
``childutils``) subscribed to PROCESS_STATE and TICK_5. It probes an HTTP URL
for each ``--check NAME=URL`` and, after ``--failures`` failed probes in a row,
hot restarts the program through ``unicorn.hotRestart`` (no downtime), falling
back to ``supervisor.stopProcess`` + ``supervisor.startProcess`` when the hot
restart fails or there is no live master.

It lives outside supervisord on purpose: an HTTP probe may block, and nothing
inside supervisord's single-threaded loop may.
"""

import argparse
import http.client
import math
import os
import socket
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import xmlrpc.client
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, TextIO, Tuple

from supervisor import childutils
from supervisor.options import make_namespec
from supervisor.xmlrpc import Faults

from supervisor_unicorn import __version__

PROG = 'supervisor-unicorn-listener'
LOG_PREFIX = 'unicorn_watch'

# After stopProcess(wait=False) the program is polled until it reaches one of
# these; supervisord's own stopwaitsecs (default 10 s) escalates to SIGKILL well
# before the deadline, so hitting it means something is badly wrong.
STOPPED_STATES = ('STOPPED', 'EXITED', 'FATAL')
STOP_POLL_INTERVAL = 0.2
STOP_DEADLINE = 60.0

# States in which a failing probe is someone else's business: an operator
# stopped the program, or supervisord is already (re)starting it.
HANDS_OFF_STATES = ('STOPPED', 'STOPPING', 'STARTING')

# Everything a call through supervisor's ServerProxy may raise when
# supervisord answers with a Fault, is restarting, or went away:
# xmlrpc.client.Error covers Fault, ProtocolError and ResponseError; OSError
# covers refused/reset connections and a missing unix socket; HTTPException
# covers RemoteDisconnected's siblings (BadStatusLine, CannotSendRequest).
RPC_ERRORS = (xmlrpc.client.Error, OSError, http.client.HTTPException)

Probe = Callable[[str, float], Tuple[bool, str]]


class UsageError(Exception):
    """A bad command line; main() prints it argparse-style and exits 2."""

    def __init__(self, message: str, usage: str = ''):
        super().__init__(message)
        self.usage = usage


class ConfigError(Exception):
    """The configuration cannot work (unconfigured NAME, no rpcinterface,
    bad credentials); the listener exits 2 so supervisord shows it FATAL."""


@dataclass(frozen=True)
class Config:
    checks: Dict[str, str]          # NAME -> URL, in command-line order
    failures: int = 3
    timeout: float = 2.0
    backoff: float = 60.0
    max_backoff: float = 960.0
    namespace: str = 'unicorn'


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


# ---------------------------------------------------------------------------
# The HTTP probe

# A health check must reach the app itself: an http_proxy/https_proxy in the
# listener's environment (inherited from whoever started supervisord) would
# send loopback probes to a proxy, so proxies are switched off.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http_probe(url: str, timeout: float) -> Tuple[bool, str]:
    """GET url; healthy means a 2xx answer (after redirects) within timeout.

    Returns (ok, detail) and never raises. The timeout bounds the connect and
    each read, which is what keeps a hung app from stalling the event stream.
    The body is not read: the status line is the verdict.
    """
    request = urllib.request.Request(
        url, headers={'User-Agent': f'{PROG}/{__version__}'})
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            return True, f'HTTP {response.status}'
    except urllib.error.HTTPError as e:
        e.close()
        return False, f'HTTP {e.code}'
    except urllib.error.URLError as e:
        return False, _describe_socket_error(e.reason, timeout)
    except (OSError, http.client.HTTPException) as e:
        # getresponse() errors (a read timeout, a reset) are not wrapped in
        # URLError by urllib
        return False, _describe_socket_error(e, timeout)


def _describe_socket_error(reason: Any, timeout: float) -> str:
    if isinstance(reason, socket.timeout):
        return f'no answer within {timeout:g}s'
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror.lower()
    if isinstance(reason, BaseException):
        return f'{type(reason).__name__}: {reason}'
    return str(reason)


# ---------------------------------------------------------------------------
# The listener

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
    monotonic clock), ``sleep`` and ``probe(url, timeout) -> (ok, detail)``.
    """

    def __init__(self, config: Config, *, stdin: TextIO, stdout: TextIO,
                 stderr: TextIO, rpc: Any, now: Callable[[], float],
                 probe: Probe, sleep: Callable[[float], None] = time.sleep):
        self.config = config
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = stderr
        self.rpc = rpc
        self.now = now
        self.probe = probe
        self.sleep = sleep
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
        elif eventname == 'PROCESS_STATE_RUNNING':
            self.handle_running(childutils.get_headers(payload))

    def _log_start(self) -> None:
        c = self.config
        checks = ', '.join(f'{n}={u}' for n, u in c.checks.items())
        self.log(f'watching {checks}; hot restart after {c.failures} failed'
                 f' probes in a row (timeout {c.timeout:g}s, back-off'
                 f' {c.backoff:g}s doubling up to {c.max_backoff:g}s)')

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
        """Probe every checked program that supervisord says is RUNNING."""
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
                continue
            program.missing = False
            pid = info['pid']
            context = None
            if self._restarts_changed(program, hot.get(program.name)):
                # hot restarts produce no PROCESS_STATE event (the program
                # stays RUNNING); the counter is how we learn of them
                context = f'after hot restart (pid {program.pid} -> {pid})'
                program.failures = 0
                if pid:
                    program.pid = pid
            else:
                self._note_pid(program, pid)
            if info['statename'] == 'RUNNING':
                self.check(program, context)

    def handle_running(self, payload: Dict[str, str]) -> None:
        """A program just became RUNNING: probe it right away."""
        name = make_namespec(payload['groupname'], payload['processname'])
        program = self.programs.get(name)
        if program is None:
            return
        pid = int(payload.get('pid', 0))
        self._note_pid(program, pid)
        self.check(program, f'after start (pid {pid})')

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
        return previous is not None and program.restarts != previous

    def _note_pid(self, program: _Program, pid: int) -> None:
        # a new master is a new app: its predecessor's failures say nothing
        if pid and program.pid is not None and pid != program.pid:
            if program.failures:
                self.log(f'{program.name} master pid changed ({program.pid} ->'
                         f' {pid}); failure count reset')
            program.failures = 0
        if pid:
            program.pid = pid

    # -- probing and healing ---------------------------------------------------

    def check(self, program: _Program, context: Optional[str] = None) -> None:
        """Probe one program, count the result, heal when it is due."""
        try:
            ok, detail = self.probe(program.url, self.config.timeout)
        except Exception as e:      # a broken probe is a failed probe
            ok, detail = False, f'probe error {e!r}'
        label = f'{program.name} probe' + (f' {context}' if context else '')
        if ok:
            if program.failures:
                self.log(f'{label} ok ({detail}) after {program.failures}'
                         ' failed; failure count reset')
            elif context:
                self.log(f'{label} ok ({detail})')
            program.failures = 0
            program.backoff = self.config.backoff   # healthy: forget doubling
            return
        program.failures += 1
        limit = self.config.failures
        if program.failures < limit:
            self.log(f'{label} failed ({program.failures} of {limit}): {detail}')
            return
        self.heal(program, f'{label} failed ({program.failures} in a row):'
                           f' {detail}')

    def heal(self, program: _Program, why: str) -> None:
        """Hot restart a sick program, or stop/start it when that cannot work.

        ``why`` starts the decision line. Attempts are spaced by a back-off
        window that doubles while the program stays sick (a probe success
        shrinks it back to --backoff), so a broken app is never restarted in
        a tight loop.
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
        # errors out half-way is not repeated on the very next tick.
        window = program.backoff
        program.next_heal_at = now + window
        program.backoff = min(window * 2, self.config.max_backoff)
        if state == 'RUNNING' and pid:
            self.log(f'{why}; hot restarting {name} (pid {pid}); next attempt'
                     f' not before {window:g}s')
            if self._hot_restart(program, pid):
                return
        else:
            self.log(f'{why}; {name} has no live master ({state}, pid {pid});'
                     f' stop/start instead; next attempt not before {window:g}s')
        self._stop_start(program, pid)

    def _hot_restart(self, program: _Program, pid: int) -> bool:
        """Returns True when done with this attempt, False to fall back."""
        name = program.name
        try:
            # wait=True is a deferred response on supervisord's side: it
            # returns once the new master is adopted or boot_timeout expired
            result = self._unicorn.hotRestart(name, True)
        except xmlrpc.client.Fault as e:
            if e.faultCode == Faults.SHUTDOWN_STATE:
                self.log(f'{name} hot restart refused: {e.faultString};'
                         ' not stop/starting during shutdown')
                return True
            self.log(f'{name} hot restart failed ({e.faultString});'
                     ' falling back to stop/start')
            return False
        except RPC_ERRORS as e:
            # the stop/start would meet the same dead socket
            self._rpc_trouble(f'{name} hot restart not done', e)
            return True
        old = result.get('old_pid', pid)
        new = result.get('new_pid')
        seconds = result.get('seconds', 0.0)
        self.log(f'healed {name} by hot restart (pid {old} -> {new} in'
                 f' {seconds:.1f}s)')
        program.failures = 0
        if new:
            program.pid = new
        if program.restarts is not None:
            # our own restart: the next tick must not report it a second time
            program.restarts += 1
        self.check(program, f'after hot restart (pid {old} -> {new})')
        return True

    def _stop_start(self, program: _Program, pid: int) -> None:
        # Never wait=True: supervisord's stopProcess deferred has delay=0 and
        # spins its main loop at 100% CPU until the stop completes.
        name = program.name
        started = self.now()
        try:
            self._supervisor.stopProcess(name, False)
        except xmlrpc.client.Fault as e:
            # NOT_RUNNING: EXITED or FATAL already, which a start fixes
            if e.faultCode != Faults.NOT_RUNNING:
                self.log(f'{name} stopProcess failed ({e.faultString});'
                         ' not starting it')
                return
        except RPC_ERRORS as e:
            self._rpc_trouble(f'{name} stopProcess not done', e)
            return
        deadline = started + STOP_DEADLINE
        while True:
            try:
                state = self._supervisor.getProcessInfo(name)['statename']
            except RPC_ERRORS as e:
                self._rpc_trouble(f'{name} stop not confirmed', e)
                return
            if state in STOPPED_STATES:
                break
            if self.now() >= deadline:
                self.log(f'{name} still {state} {STOP_DEADLINE:g}s after'
                         ' stopProcess; not starting it')
                return
            self.sleep(STOP_POLL_INTERVAL)
        stopped_in = self.now() - started
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
        self.log(f'healed {name} by stop/start (pid {pid} stopped in'
                 f' {stopped_in:.1f}s, start requested)')

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


# ---------------------------------------------------------------------------
# Command line

DESCRIPTION = """\
HTTP health watchdog for programs that supervisor_unicorn can hot restart.

Runs as a supervisord eventlistener subscribed to PROCESS_STATE and TICK_5.
On every TICK_5 it probes the URL of each --check program that supervisord
reports RUNNING, and it probes right after a program starts and right after
each hot restart (learned from unicorn.getAllHotRestartInfo). A probe is a GET
that must answer 2xx within --timeout; proxies from the environment are
ignored.

After --failures failed probes in a row it calls unicorn.hotRestart(NAME),
which swaps the master with no refused connection. If that faults, or the
program has no live master, it falls back to supervisor.stopProcess +
supervisor.startProcess (with downtime). After each heal attempt it leaves
the program alone for --backoff seconds, doubling the wait (up to
--max-backoff) while the program stays sick.
"""

EPILOG = """\
supervisord configuration:

  [eventlistener:unicorn_watch]
  command = supervisor-unicorn-listener --check web=http://127.0.0.1:8080/ping
  events = PROCESS_STATE,TICK_5

Every NAME must be a line of "programs" in [rpcinterface:unicorn].

environment:
  SUPERVISOR_SERVER_URL   set by supervisord; required
  SUPERVISOR_USERNAME, SUPERVISOR_PASSWORD
                          credentials when supervisord's HTTP server has auth;
                          supervisord does not set them, use environment=

output:
  stdout carries only the eventlistener protocol; every decision is one line
  on stderr, prefixed "unicorn_watch:".

exit status:
  0  supervisord closed stdin
  2  bad arguments, not run under supervisord, a NAME not configured for hot
     restart, no [rpcinterface:unicorn], or supervisord refused the credentials
"""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message, self.format_usage())


def _check_arg(text: str) -> Tuple[str, str]:
    name, sep, url = text.partition('=')
    name, url = name.strip(), url.strip()
    if not sep or not name or not url:
        raise argparse.ArgumentTypeError(f'{text!r} is not NAME=URL')
    if any(c.isspace() for c in name):
        raise argparse.ArgumentTypeError(f'{text!r}: NAME contains whitespace')
    parts = urllib.parse.urlsplit(url)
    try:
        parts.port   # raises ValueError for a port that is not a number
    except ValueError:
        raise argparse.ArgumentTypeError(
            f'{text!r}: bad port in URL') from None
    if parts.scheme not in ('http', 'https') or not parts.hostname:
        raise argparse.ArgumentTypeError(
            f'{text!r}: URL must be http:// or https:// with a host')
    return name, url


def _whole_number_at_least_one(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f'{text!r} is not a whole number >= 1')
    return value


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(
            f'{text!r} is not a number of seconds > 0')
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description=DESCRIPTION, epilog=EPILOG,
                     formatter_class=argparse.RawDescriptionHelpFormatter,
                     allow_abbrev=False)
    parser.add_argument(
        '--check', metavar='NAME=URL', action='append', type=_check_arg,
        required=True,
        help='probe URL (http or https) for program NAME, the name'
             ' "supervisorctl status" shows (web, or group:proc); repeat for'
             ' several programs; at least one is required')
    parser.add_argument(
        '--failures', metavar='N', default=3,
        type=_whole_number_at_least_one,
        help='heal after N failed probes in a row (default: %(default)s)')
    parser.add_argument(
        '--timeout', metavar='SECONDS', default=2.0, type=_positive_seconds,
        help='give up on a probe after SECONDS (default: %(default)g); keep it'
             ' short: supervisord queues events while a probe runs')
    parser.add_argument(
        '--backoff', metavar='SECONDS', default=60.0, type=_positive_seconds,
        help='after a heal attempt, do not heal that program again for'
             ' SECONDS; the wait doubles while it stays sick and returns to'
             ' SECONDS after a good probe (default: %(default)g)')
    parser.add_argument(
        '--max-backoff', metavar='SECONDS', default=960.0,
        type=_positive_seconds,
        help='cap for the doubled back-off (default: %(default)g)')
    parser.add_argument(
        '--namespace', metavar='NS', default='unicorn',
        help='XML-RPC namespace of supervisor_unicorn, the NAME of its'
             ' [rpcinterface:NAME] section (default: %(default)s)')
    parser.add_argument('--version', action='version',
                        version=f'%(prog)s {__version__}')
    return parser


def parse_config(argv: Optional[List[str]] = None) -> Config:
    """Parse the command line; raises UsageError instead of exiting.

    (--help and --version still print and raise SystemExit(0), as argparse
    does.)
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    checks: Dict[str, str] = {}
    for name, url in args.check:
        if name in checks:
            raise UsageError(f'argument --check: {name} is given twice',
                             parser.format_usage())
        checks[name] = url
    if args.max_backoff < args.backoff:
        raise UsageError(
            f'argument --max-backoff: {args.max_backoff:g} is less than'
            f' --backoff {args.backoff:g}', parser.format_usage())
    return Config(checks=checks, failures=args.failures, timeout=args.timeout,
                  backoff=args.backoff, max_backoff=args.max_backoff,
                  namespace=args.namespace)


def main(argv: Optional[List[str]] = None) -> int:
    try:
        config = parse_config(argv)
    except UsageError as e:
        sys.stderr.write(f'{e.usage}{PROG}: error: {e}\n')
        return 2
    if not os.environ.get('SUPERVISOR_SERVER_URL'):
        sys.stderr.write(f'{PROG}: must be run as a supervisor event listener'
                         ' (SUPERVISOR_SERVER_URL is not set)\n')
        return 2
    try:
        rpc = childutils.getRPCInterface(os.environ)
    except ValueError as e:     # a serverurl that is neither http:// nor unix://
        sys.stderr.write(f'{PROG}: {e}\n')
        return 2
    watcher = HealthWatcher(config, stdin=sys.stdin, stdout=sys.stdout,
                            stderr=sys.stderr, rpc=rpc, now=time.monotonic,
                            probe=http_probe, sleep=time.sleep)
    try:
        return watcher.run()
    except BrokenPipeError:
        # supervisord went away while we answered. Point stdout at /dev/null
        # so the interpreter's final flush does not print a traceback
        # (the recipe from Python's signal module documentation).
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


if __name__ == '__main__':
    sys.exit(main())

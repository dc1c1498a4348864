"""The supervisor-unicorn-listener command line: its options, its --help text,
and the ``Config`` they produce.

Pure: argv in, a ``Config`` (or an ``OptionsError``) out. ``Config``'s defaults
live here next to the options' defaults, so the two are changed together.
"""

import argparse
import math
import urllib.parse
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

from supervisor_unicorn import __version__

PROG = 'supervisor-unicorn-listener'


class OptionsError(Exception):
    """A bad listener command line; main() prints it argparse-style and exits 2."""

    def __init__(self, message: str, usage: str = ''):
        super().__init__(message)
        self.usage = usage


@dataclass(frozen=True)
class Config:
    checks: Dict[str, str]          # NAME -> URL, in command-line order
    failures: int = 3
    timeout: float = 2.0
    backoff: float = 60.0
    max_backoff: float = 960.0
    grace: float = 60.0
    namespace: str = 'unicorn'


DESCRIPTION = """\
HTTP health watchdog for programs that supervisor_unicorn can hot restart.

Runs as a supervisord eventlistener subscribed to PROCESS_STATE and TICK_5.
On every TICK_5 it probes the URL of each --check program that supervisord
reports RUNNING, and it probes right after a program starts and right after
each hot restart (learned from unicorn.getAllHotRestartInfo). A probe is a GET
that must answer 2xx within --timeout; proxies from the environment are
ignored.

RUNNING only means that startsecs passed, not that the app has loaded: after
a (re)start, failed probes are not counted until the first good one, for up
to --grace seconds. After a hot restart there is no grace: the new master
was ready before supervisor_unicorn adopted it.

After --failures failed probes in a row it starts unicorn.hotRestart(NAME,
wait=False), which swaps the master with no refused connection, and reads
its outcome from unicorn.getHotRestartInfo on the following events. When the
hot restart fails with the old master "still serving" (the new code failed
to boot or was not ready in time), it does not stop/start: that would load
the same code with downtime. It says why once and backs off. Only when no
master serves, or the master could not re-exec at all (hung), does it fall
back to supervisor.stopProcess, then supervisor.startProcess once a later
event finds the program stopped (with downtime; given up if it is not
stopped within 60s). Every event is acknowledged after a few short XML-RPC
calls and probes: the listener never waits for a restart while supervisord
holds its events back. After each heal attempt it leaves the program alone
for --backoff seconds, doubling the wait (up to --max-backoff) while the
program stays sick; a good probe brings it back to --backoff. The back-off
is logged when it starts and when it ends, not on every probe.
"""

EPILOG = """\
supervisord configuration:

  [eventlistener:unicorn_watch]
  command = supervisor-unicorn-listener --check web=http://127.0.0.1:8080/ping
  events = PROCESS_STATE,TICK_5

Every NAME must be a line of "programs" in [rpcinterface:unicorn]. A NAME
whose line cannot be used (a typo brought by a reload or a reread + update)
or that an update took off that list is not probed or healed until it is
hot-restartable again: the listener says why once and watches the others.

environment:
  SUPERVISOR_SERVER_URL   set by supervisord; required
  SUPERVISOR_USERNAME, SUPERVISOR_PASSWORD
                          credentials when supervisord's HTTP server has auth;
                          supervisord does not set them, use environment=

output:
  stdout carries only the eventlistener protocol; every decision is one line
  on stderr, prefixed "unicorn_watch:", for example
    web probe failed (1 of 3): HTTP 500
    web probe failed (3 in a row): HTTP 500; hot restarting web (pid 100); ...
    hot restarted web (pid 100 -> 200 in 1.8s)
    web probe after hot restart (pid 100 -> 200) ok (HTTP 200); web is healthy again
    web hot restart failed (new master failed to boot; pid 100 still serving);
      not stop/starting: ...; backing off, next heal attempt in 60s; ...
    web probe after start (pid 300) failed: connection refused;
      web still starting: probe failures not counted for up to 60s
  Healthy probes log nothing.

exit status:
  0  supervisord closed stdin
  2  bad arguments, not run under supervisord, a NAME not configured for hot
     restart, no [rpcinterface:unicorn], or supervisord refused the credentials
"""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise OptionsError(message, self.format_usage())


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


def _non_negative_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(
            f'{text!r} is not a number of seconds >= 0')
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
             ' short: supervisord holds events back while a probe runs')
    parser.add_argument(
        '--backoff', metavar='SECONDS', default=60.0, type=_positive_seconds,
        help='after a heal attempt ends, do not heal that program again for'
             ' SECONDS; the wait doubles while it stays sick and returns to'
             ' SECONDS after a good probe (default: %(default)g)')
    parser.add_argument(
        '--max-backoff', metavar='SECONDS', default=960.0,
        type=_positive_seconds,
        help='cap for the doubled back-off (default: %(default)g)')
    parser.add_argument(
        '--grace', metavar='SECONDS', default=60.0, type=_non_negative_seconds,
        help='after a program starts (PROCESS_STATE_RUNNING), do not count'
             ' failed probes until the first good one or until SECONDS have'
             ' passed, for apps that load after startsecs; 0 counts them at'
             ' once (default: %(default)g)')
    parser.add_argument(
        '--namespace', metavar='NS', default='unicorn',
        help='XML-RPC namespace of supervisor_unicorn, the NAME of its'
             ' [rpcinterface:NAME] section (default: %(default)s)')
    parser.add_argument('--version', action='version',
                        version=f'%(prog)s {__version__}')
    return parser


def parse_options(argv: Optional[List[str]] = None) -> Config:
    """Parse the listener's command line; raises OptionsError instead of exiting.

    (--help and --version still print and raise SystemExit(0), as argparse
    does.)
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    checks: Dict[str, str] = {}
    for name, url in args.check:
        if name in checks:
            raise OptionsError(f'argument --check: {name} is given twice',
                             parser.format_usage())
        checks[name] = url
    if args.max_backoff < args.backoff:
        raise OptionsError(
            f'argument --max-backoff: {args.max_backoff:g} is less than'
            f' --backoff {args.backoff:g}', parser.format_usage())
    return Config(checks=checks, failures=args.failures, timeout=args.timeout,
                  backoff=args.backoff, max_backoff=args.max_backoff,
                  grace=args.grace, namespace=args.namespace)

"""supervisor-unicorn-rollout: hot restart one program across a fleet, host by host.

Each host runs its own supervisord with the ``[rpcinterface:unicorn]`` section.
The tool talks to each over XML-RPC (supervisor's ``[inet_http_server]``, or a
unix socket), one host after the other:

1. preflight: every host answers, knows the program, and the program is
   running with no hot restart in progress; otherwise nothing is touched;
2. ``unicorn.hotRestart(NAME, True)`` on each host in turn, which returns once
   the new master serves and the old one is retired (or has failed, leaving
   the old master serving);
3. stop at the first failure: the hosts after it keep the old code.

It prints one line per host on stdout and exits 0 only when every host was hot
restarted.
"""
import argparse
import os
import sys
import time
import urllib.parse
import xmlrpc.client
from dataclasses import dataclass
from typing import Callable, Iterable, List, Optional, TextIO

from supervisor_unicorn import __version__, client
from supervisor_unicorn.client import RPC_ERRORS, describe_error, format_result, preflight

PROG = 'supervisor-unicorn-rollout'
DEFAULT_PORT = 9001
DEFAULT_TIMEOUT = client.DEFAULT_TIMEOUT

# exit statuses (a bad command line exits 2, from argparse)
OK, FAILED = 0, 1


class UsageError(ValueError):
    """A host that cannot be turned into a supervisord URL."""


@dataclass(frozen=True)
class Target:
    """One supervisord: where it is and how to log in."""
    label: str                        # host:port or the socket path, for output
    serverurl: str                    # http://host:port or unix:///path (no credentials)
    handler: str = '/RPC2'
    username: Optional[str] = None
    password: Optional[str] = None


def parse_target(text: str, username: Optional[str] = None,
                 password: Optional[str] = None) -> Target:
    """``http://[user:pass@]host[:port][/RPC2]``, ``unix:///path.sock`` or
    ``host[:port]`` (port 9001).  Credentials in the URL win over the ones given."""
    text = text.strip()
    if not text:
        raise UsageError('empty host')
    if text.startswith('unix://'):
        path = text[len('unix://'):]
        if not path.startswith('/'):
            raise UsageError('%r: a unix socket URL needs an absolute path '
                             '(unix:///run/supervisor.sock)' % text)
        return Target(label=path, serverurl='unix://' + path,
                      username=username, password=password)
    if '://' not in text:
        text = 'http://' + text
    url = urllib.parse.urlsplit(text)
    if url.scheme != 'http':
        raise UsageError('%r: supervisord speaks plain http:// (or unix://); for '
                         'TLS, tunnel to it' % text)
    try:
        port = url.port or DEFAULT_PORT
    except ValueError:
        raise UsageError('%r: bad port' % text)
    if not url.hostname:
        raise UsageError('%r: no host' % text)
    host = url.hostname
    netloc = '[%s]:%d' % (host, port) if ':' in host else '%s:%d' % (host, port)
    if url.username is not None:
        username = urllib.parse.unquote(url.username)
        password = urllib.parse.unquote(url.password or '')
    return Target(label=netloc, serverurl='http://' + netloc,
                  handler=url.path if url.path not in ('', '/') else '/RPC2',
                  username=username, password=password)


def make_proxy(target: Target, timeout: float) -> xmlrpc.client.ServerProxy:
    """A ServerProxy for `target` (client.py's transport: http or unix socket,
    basic auth), whose connections give up after `timeout` seconds of silence."""
    return client.make_proxy(target.serverurl, target.username, target.password,
                             timeout, target.handler)


def rollout(name: str, targets: List[Target], out: TextIO, err: TextIO,
            connect: Callable[[Target, float], object] = make_proxy,
            namespace: str = 'unicorn', timeout: float = DEFAULT_TIMEOUT,
            pause: float = 0.0, check_first: bool = True,
            sleep: Callable[[float], None] = time.sleep) -> int:
    """Hot restart `name` on each target in order; stop at the first failure.

    @return OK when every target was hot restarted, else FAILED
    """
    def line(target: Target, text: str) -> None:
        out.write('%s %s\n' % (target.label, text))
        out.flush()

    def skip_rest(start: int, why: str) -> None:
        for target in targets[start:]:
            line(target, '%s: skipped (%s)' % (name, why))

    # a fresh connection for each call: minutes may pass between the preflight
    # of a host and its turn, and a stale keep-alive connection is no failure
    def api(target: Target):
        return getattr(connect(target, timeout), namespace)

    if check_first:
        for i, target in enumerate(targets):
            try:
                why = preflight(api(target), name)
            except RPC_ERRORS as e:
                why = describe_error(e, timeout, name)
            if why is not None:
                line(target, '%s: ERROR (preflight: %s)' % (name, why))
                others = targets[:i] + targets[i + 1:]
                for other in others:
                    line(other, '%s: skipped (preflight failed on %s; nothing was '
                         'restarted)' % (name, target.label))
                err.write('%s: preflight failed on %s; no host was touched\n'
                          % (PROG, target.label))
                return FAILED
    for i, target in enumerate(targets):
        if i and pause:
            sleep(pause)
        try:
            result = api(target).hotRestart(name, True)
        except RPC_ERRORS as e:
            line(target, '%s: ERROR (%s)' % (name, describe_error(e, timeout, name)))
            skip_rest(i + 1, 'rollout stopped at %s' % target.label)
            err.write('%s: stopped at %s after %d of %d hosts; the hosts after it '
                      'were not touched\n' % (PROG, target.label, i, len(targets)))
            return FAILED
        line(target, format_result(result))
    err.write('%s: %s hot restarted on all %d hosts\n' % (PROG, name, len(targets)))
    return OK


def read_hosts(path: str) -> List[str]:
    """One host a line; blank lines and # comments ignored; '-' is stdin."""
    f = sys.stdin if path == '-' else open(path)
    try:
        lines = [line.split('#', 1)[0].strip() for line in f]
    finally:
        if f is not sys.stdin:
            f.close()
    return [line for line in lines if line]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description='Hot restart PROGRAM on a fleet of hosts, one supervisord each,\n'
                    'one host after the other, over XML-RPC; stop at the first failure.',
        epilog='''\
HOST is http://[USER:PASSWORD@]host[:port][/RPC2] (supervisord's [inet_http_server];
port 9001 when left out), host[:port], or unix:///path/to/supervisor.sock.
Credentials: in the URL, or --username/--password, or the environment variables
SUPERVISOR_USERNAME and SUPERVISOR_PASSWORD (which keep the password out of `ps`).

Each host's supervisord needs the [rpcinterface:unicorn] section with a programs
line for PROGRAM. Before touching any host, every host is checked: it answers,
PROGRAM is configured and running, no hot restart is in progress. Then each host
is hot restarted in turn (unicorn.hotRestart, which returns once the new master
serves and the old one is retired). At the first failure the rollout stops: the
failed host's line says what is still serving there (the old master, when the new
one failed to boot), and the hosts after it are untouched.

Output: one line per host, e.g.
  10.0.0.5:9001 web: hot restarted (pid 1234 -> 1240 in 1.8s)
  10.0.0.6:9001 web: ERROR (new master failed to boot; pid 2001 still serving)
  10.0.0.7:9001 web: skipped (rollout stopped at 10.0.0.6:9001)
Exit status: 0 when every host was hot restarted, 1 on a failure, 2 on a bad
command line.''')
    parser.add_argument('program', metavar='PROGRAM',
                        help="the program's name as `supervisorctl status` shows it "
                             "(web, or group:web)")
    parser.add_argument('hosts', metavar='HOST', nargs='*',
                        help='supervisord XML-RPC URL (see below), in rollout order')
    parser.add_argument('-f', '--hosts-file', metavar='FILE', action='append',
                        default=[],
                        help="read hosts from FILE, one a line, '#' comments; "
                             "'-' is stdin; may be repeated")
    parser.add_argument('-u', '--username', default=os.environ.get('SUPERVISOR_USERNAME'),
                        help='user for hosts whose URL has none '
                             '(default: $SUPERVISOR_USERNAME)')
    parser.add_argument('-p', '--password', default=os.environ.get('SUPERVISOR_PASSWORD'),
                        help='password for hosts whose URL has none '
                             '(default: $SUPERVISOR_PASSWORD)')
    parser.add_argument('--timeout', type=float, default=DEFAULT_TIMEOUT,
                        metavar='SECONDS',
                        help='give up on a host that has not answered within SECONDS '
                             '(default: %g; a hot restart takes up to the '
                             "program's boot_timeout plus the old master's "
                             'graceful stop)' % DEFAULT_TIMEOUT)
    parser.add_argument('--pause', type=float, default=0.0, metavar='SECONDS',
                        help='wait SECONDS between hosts (default: 0)')
    parser.add_argument('--no-preflight', dest='check_first', action='store_false',
                        help='skip the check of every host before the first restart')
    parser.add_argument('--namespace', default='unicorn',
                        help='the NAME of [rpcinterface:NAME] (default: unicorn)')
    parser.add_argument('--version', action='version',
                        version='%(prog)s ' + __version__)
    return parser


def main(argv: Optional[Iterable[str]] = None,
         connect: Callable[[Target, float], object] = make_proxy) -> int:
    parser = build_parser()
    args = parser.parse_intermixed_args(None if argv is None else list(argv))
    hosts = list(args.hosts)
    try:
        for path in args.hosts_file:
            hosts.extend(read_hosts(path))
    except OSError as e:
        parser.error('cannot read hosts file: %s' % e)
    if not hosts:
        parser.error('no host given')
    if args.timeout <= 0:
        parser.error('--timeout must be more than 0')
    if args.pause < 0:
        parser.error('--pause must not be negative')
    try:
        targets = [parse_target(h, args.username, args.password) for h in hosts]
    except UsageError as e:
        parser.error(str(e))
    return rollout(args.program, targets, sys.stdout, sys.stderr, connect=connect,
                   namespace=args.namespace, timeout=args.timeout, pause=args.pause,
                   check_first=args.check_first)


if __name__ == '__main__':
    sys.exit(main())

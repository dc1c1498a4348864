"""The client side of the unicorn XML-RPC namespace, shared by every caller
outside supervisord: supervisorctl's ``hot_restart`` (controllerplugin.py),
``supervisor-unicorn-rollout``, the listener and the Ansible module
``hot_restart``. It holds what they must agree on: which errors a call may
raise and how they read, how ``all`` and ``group:*`` expand, when a program
may be hot restarted now, how supervisorctl finds supervisord.

Standard library only and Python 3.6 syntax: the Ansible collection ships this
file byte for byte as plugins/module_utils/client.py, and a module runs under
whatever Python the target host offers (test_client.py checks the copies).
"""
import base64
import configparser
import http.client
import os
import re
import socket
import urllib.parse
import xmlrpc.client
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

NAMESPACE = 'unicorn'
DEFAULT_TIMEOUT = 600.0
# supervisorctl's default when [supervisorctl] has no serverurl
DEFAULT_SERVERURL = 'http://localhost:9001'
# where supervisorctl looks for its config when not given -c, minus the paths
# relative to its own location or the working directory (meaningless for a module)
CONFIG_SEARCH_PATHS = ('/etc/supervisord.conf', '/etc/supervisor/supervisord.conf')
# supervisor.xmlrpc.Faults.UNKNOWN_METHOD (supervisor is no import here; see above)
UNKNOWN_METHOD = 1

_FAULT_PREFIX = re.compile(r'^[A-Z_]+: ')

# Everything a call through a ServerProxy may raise when supervisord answers
# with a Fault, is restarting or went away: xmlrpc.client.Error covers Fault,
# ProtocolError (HTTP 401...) and ResponseError; OSError refused or reset
# connections, timeouts and a missing unix socket; HTTPException a dropped
# keep-alive connection (BadStatusLine, CannotSendRequest).
RPC_ERRORS = (xmlrpc.client.Error, OSError, http.client.HTTPException)


# --- what the answers mean --------------------------------------------------

def fault_reason(fault: xmlrpc.client.Fault, namespace: str = NAMESPACE) -> str:
    """Fault text without supervisor's "FAULTNAME: " prefix.

    @param fault     the Fault a unicorn.* call raised
    @param namespace the NAME of [rpcinterface:NAME], for the missing-section hint
    @return the text for people: what happened and what still serves
    """
    if fault.faultCode == UNKNOWN_METHOD:
        return ('supervisord has no [rpcinterface:%s] section; add it and restart '
                'supervisord' % namespace)
    return _FAULT_PREFIX.sub('', fault.faultString or '', count=1)


def format_result(result: Mapping) -> str:
    """The interface's success line: ``web: hot restarted (pid 1 -> 2 in 1.8s)``."""
    return '%s: hot restarted (pid %d -> %d in %.1fs)' % (
        result['name'], result['old_pid'], result['new_pid'], result['seconds'])


def describe_error(exc: BaseException, timeout: float, name: str) -> str:
    """What went wrong with a call, in the words supervisorctl would use.

    @param exc     a Fault, a transport error or an OSError from a unicorn.* call
    @param timeout the seconds the call was given (named when it ran out)
    @param name    the program, for the hot_status hint after a timeout
    @return one line, without the program's name in front
    """
    if isinstance(exc, xmlrpc.client.Fault):
        return fault_reason(exc)
    if isinstance(exc, xmlrpc.client.ProtocolError):
        if exc.errcode == 401:
            return 'supervisord refused the credentials (401 Unauthorized)'
        return 'supervisord answered HTTP %s %s' % (exc.errcode, exc.errmsg)
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return ('no answer within %gs; the hot restart may still be in progress '
                '(see `supervisorctl hot_status %s` there)' % (timeout, name))
    if isinstance(exc, (OSError, http.client.HTTPException)):
        return 'cannot reach supervisord: %s' % (exc or type(exc).__name__)
    return '%s: %s' % (type(exc).__name__, exc)


# --- which programs ---------------------------------------------------------

def needs_configured(names: Sequence[str]) -> bool:
    """Whether `names` holds a pattern (``all``, ``group:*``) that only the list
    of configured programs (getAllHotRestartInfo) can expand."""
    return any(n == 'all' or n.endswith(':*') for n in names)


def expand_names(names: Sequence[str], configured: Sequence[str]) -> List[str]:
    """'all' and 'group:*' against the configured names; order kept, no repeats.

    @param names      as given: program names, 'group:*', 'all'
    @param configured the names getAllHotRestartInfo reports, in its order
    @return the program names, each once
    @raise ValueError naming a group pattern that matches nothing
    """
    out = []  # type: List[str]
    for name in names:
        if name == 'all':
            matches = list(configured)
        elif name.endswith(':*'):
            group = name[:-2]
            # [program:web] is group web, process web, as in supervisorctl
            matches = [c for c in configured if c.split(':', 1)[0] == group]
            if not matches:
                raise ValueError('no program of group %r is configured for hot restart'
                                 % group)
        else:
            matches = [name]
        out.extend(m for m in matches if m not in out)
    return out


def resolve_names(api, names: Sequence[str]) -> List[str]:
    """expand_names, asking supervisord for the configured programs only when a
    pattern needs them.

    @param api   the unicorn namespace of a ServerProxy
    @raise ValueError for a group that matches nothing; RPC_ERRORS from the call
    """
    configured = []  # type: List[str]
    if needs_configured(names):
        configured = [info['name'] for info in api.getAllHotRestartInfo()]
    return expand_names(names, configured)


def preflight(api, name: str) -> Optional[str]:
    """None when `name` can be hot restarted on this supervisord now, else why not.

    @param api  the unicorn namespace of a ServerProxy
    @raise a Fault (BAD_NAME for an unconfigured name) or RPC_ERRORS from the call
    """
    return refusal(api.getHotRestartInfo(name))


def refusal(info: Mapping) -> Optional[str]:
    """Why the program of a getHotRestartInfo struct cannot be hot restarted now,
    or None when it can."""
    name = info['name']
    if not info.get('pid'):
        return '%s is not running' % name
    if info.get('phase', 'idle') != 'idle':
        return 'a hot restart of %s is already in progress (%s)' % (name, info['phase'])
    return None


# --- reaching supervisord ---------------------------------------------------

class UnixStreamHTTPConnection(http.client.HTTPConnection):
    """HTTP over supervisord's [unix_http_server] socket."""

    def __init__(self, path: str, timeout: Optional[float] = None):
        # 'localhost' goes out as the Host header only; supervisord ignores it
        http.client.HTTPConnection.__init__(self, 'localhost', timeout=timeout)
        self.path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            # unlike HTTPConnection's TCP connect, nothing applies .timeout for us
            sock.settimeout(self.timeout)
            sock.connect(self.path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


class Transport(xmlrpc.client.Transport):
    """xmlrpc.client's Transport for a supervisord: http:// or unix://, basic auth,
    and a timeout on connecting and on every read (hotRestart with wait=True
    answers only when the hot restart is over)."""

    def __init__(self, serverurl: str, username: Optional[str] = None,
                 password: Optional[str] = None, timeout: float = DEFAULT_TIMEOUT):
        xmlrpc.client.Transport.__init__(self)
        self.serverurl = serverurl
        self.timeout = timeout
        self.socket_path = None  # type: Optional[str]
        self.address = None      # type: Optional[Tuple[str, int]]
        if serverurl.startswith('unix://'):
            self.socket_path = serverurl[len('unix://'):]
        elif serverurl.startswith('http://'):
            url = urllib.parse.urlsplit(serverurl)
            if not url.hostname:
                raise ValueError('%r: no host' % serverurl)
            self.address = (url.hostname, url.port or 80)
        else:
            raise ValueError('%r: supervisord speaks http:// or unix:// (for TLS, '
                             'tunnel to it)' % serverurl)
        self.authorization = None  # type: Optional[str]
        # supervisor's own transport sends credentials only when both are set
        if username is not None and password is not None:
            token = base64.b64encode(('%s:%s' % (username, password)).encode('utf-8'))
            self.authorization = 'Basic ' + token.decode('ascii')

    def make_connection(self, host):
        # one connection per Transport, kept alive as xmlrpc.client's own does;
        # the `host` of the ServerProxy's URL is a placeholder
        if self._connection[1] is not None:
            return self._connection[1]
        if self.socket_path is not None:
            conn = UnixStreamHTTPConnection(self.socket_path, timeout=self.timeout)
        else:
            conn = http.client.HTTPConnection(self.address[0], self.address[1],
                                              timeout=self.timeout)
        self._connection = host, conn
        return conn

    def send_headers(self, connection, headers):
        if self.authorization is not None:
            headers = list(headers) + [('Authorization', self.authorization)]
        xmlrpc.client.Transport.send_headers(self, connection, headers)


def make_proxy(serverurl: str, username: Optional[str] = None,
               password: Optional[str] = None, timeout: float = DEFAULT_TIMEOUT,
               handler: str = '/RPC2') -> xmlrpc.client.ServerProxy:
    """A ServerProxy for the supervisord at `serverurl`.

    @param serverurl ``unix:///path.sock`` or ``http://host:port`` (no credentials)
    @param timeout   seconds of silence after which a call raises socket.timeout
    @param handler   the URL path of supervisord's XML-RPC handler
    @return the proxy; its ``unicorn`` attribute is our namespace
    @raise ValueError for a serverurl that is neither http:// nor unix://
    """
    transport = Transport(serverurl, username, password, timeout)
    return xmlrpc.client.ServerProxy('http://127.0.0.1' + handler, transport=transport)


def find_config(paths: Sequence[str] = CONFIG_SEARCH_PATHS) -> Optional[str]:
    """The first supervisord config file that exists, as supervisorctl finds it."""
    for path in paths:
        if os.path.exists(path):
            return path
    return None


def read_ctl_config(path: str,
                    environ: Optional[Mapping[str, str]] = None
                    ) -> Tuple[str, Optional[str], Optional[str]]:
    """serverurl, username and password from a config file's [supervisorctl]
    section, read as supervisorctl -c PATH reads them: ``%(here)s`` and
    ``%(ENV_X)s`` expand in serverurl, a relative socket path is made absolute,
    serverurl defaults to http://localhost:9001.

    @param path    the supervisord.conf (supervisorctl does not follow [include])
    @param environ for %(ENV_X)s; os.environ when None
    @raise ValueError when the file cannot be read or has no [supervisorctl]
    """
    parser = configparser.RawConfigParser(inline_comment_prefixes=(';', '#'),
                                          strict=False)
    try:
        with open(path) as f:
            parser.read_file(f)
    except (OSError, configparser.Error) as e:
        raise ValueError('cannot read %s: %s' % (path, e))
    if not parser.has_section('supervisorctl'):
        raise ValueError('%s has no [supervisorctl] section' % path)
    expansions = {'ENV_%s' % k: v
                  for k, v in (os.environ if environ is None else environ).items()}
    expansions['here'] = os.path.dirname(os.path.abspath(os.path.expanduser(path)))
    section = dict(parser.items('supervisorctl'))  # type: Dict[str, str]
    serverurl = section.get('serverurl', DEFAULT_SERVERURL)
    try:
        serverurl = serverurl % expansions
    except (KeyError, ValueError) as e:
        raise ValueError('%s: [supervisorctl] serverurl %r cannot be expanded: %s'
                         % (path, serverurl, e))
    if serverurl.startswith('unix://'):
        serverurl = 'unix://' + os.path.abspath(
            os.path.expanduser(serverurl[len('unix://'):]))
    return serverurl, section.get('username'), section.get('password')

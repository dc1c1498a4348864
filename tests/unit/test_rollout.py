"""supervisor-unicorn-rollout: order, stop at the first failure, output, exit status.

The fake hosts raise real xmlrpc.client.Fault objects with the texts our
namespace sends, as a ServerProxy would; the transport is exercised against
a tiny local HTTP XML-RPC server (loopback) for credentials and timeouts.
"""
import base64
import io
import os
import shutil
import socket
import socketserver
import tempfile
import threading
import time
import unittest
import xmlrpc.client
from contextlib import redirect_stderr, redirect_stdout
from xmlrpc.server import (SimpleXMLRPCDispatcher, SimpleXMLRPCRequestHandler,
                           SimpleXMLRPCServer)

from supervisor.xmlrpc import Faults as SupervisorFaults

from supervisor_unicorn.common.faults import Faults
from supervisor_unicorn.tools import rollout
from supervisor_unicorn.tools.rollout import Target, main, parse_target

BOOT_FAILED = xmlrpc.client.Fault(
    Faults.FAILED, 'FAILED: new master failed to boot; pid 2001 still serving')
BAD_NAME = xmlrpc.client.Fault(Faults.BAD_NAME, 'BAD_NAME: web is not configured for '
                               'hot restart in [rpcinterface:unicorn]')
NO_NAMESPACE = xmlrpc.client.Fault(SupervisorFaults.UNKNOWN_METHOD, 'UNKNOWN_METHOD')


def info(name='web', pid=1234, phase='idle'):
    return {'name': name, 'server': 'unicorn', 'pidfile': '/run/%s.pid' % name,
            'pid': pid, 'phase': phase, 'last_result': '', 'last_seconds': 0.0,
            'restarts': 0}


class FakeHost:
    """One supervisord: its `unicorn` namespace, with canned answers, and a log
    of calls shared by every host (so that order across hosts is visible)."""

    def __init__(self, label, calls, old_pid=100, restart=None, status=None,
                 connect_error=None):
        self.label = label
        self.calls = calls
        self.old_pid = old_pid
        self.restart = restart          # None: success; an exception: raised
        self.status = status            # None: info(); an exception or a dict
        self.connect_error = connect_error

    # the namespace
    @property
    def unicorn(self):
        return self

    def getHotRestartInfo(self, name):
        self.calls.append((self.label, 'getHotRestartInfo', name))
        if isinstance(self.status, BaseException):
            raise self.status
        return self.status if self.status is not None else info(name, self.old_pid)

    def hotRestart(self, name, wait=True):
        self.calls.append((self.label, 'hotRestart', name, wait))
        if self.restart is not None:
            raise self.restart
        return {'name': name, 'old_pid': self.old_pid, 'new_pid': self.old_pid + 6,
                'seconds': 1.84, 'status': 'done'}


class Fleet:
    def __init__(self, *specs):
        self.calls = []
        self.hosts = {}
        for label, kw in specs:
            self.hosts[label] = FakeHost(label, self.calls, **kw)
        self.timeouts = []

    def connect(self, target, timeout):
        self.timeouts.append(timeout)
        host = self.hosts[target.label]
        if host.connect_error is not None:
            raise host.connect_error
        return host

    def run(self, *argv):
        out, err = io.StringIO(), io.StringIO()
        with redirect_stdout(out), redirect_stderr(err):
            try:
                code = main(list(argv), connect=self.connect)
            except SystemExit as e:
                code = e.code
        return code, out.getvalue().splitlines(), err.getvalue()

    def restarted(self):
        return [c[0] for c in self.calls if c[1] == 'hotRestart']


def hosts(n):
    return ['h%d:9001' % i for i in range(1, n + 1)]


class TestRollout(unittest.TestCase):

    def test_every_host_in_order_one_line_each_exit_0(self):
        fleet = Fleet(*[(h, {'old_pid': 100 * i}) for i, h in enumerate(hosts(3), 1)])
        code, lines, err = fleet.run('web', *hosts(3))
        self.assertEqual(code, 0)
        self.assertEqual(lines, [
            'h1:9001 web: hot restarted (pid 100 -> 106 in 1.8s)',
            'h2:9001 web: hot restarted (pid 200 -> 206 in 1.8s)',
            'h3:9001 web: hot restarted (pid 300 -> 306 in 1.8s)',
        ])
        # preflight of every host first, then the restarts one by one, waiting
        self.assertEqual(fleet.calls, [
            ('h1:9001', 'getHotRestartInfo', 'web'),
            ('h2:9001', 'getHotRestartInfo', 'web'),
            ('h3:9001', 'getHotRestartInfo', 'web'),
            ('h1:9001', 'hotRestart', 'web', True),
            ('h2:9001', 'hotRestart', 'web', True),
            ('h3:9001', 'hotRestart', 'web', True),
        ])
        self.assertIn('web hot restarted on all 3 hosts', err)

    def test_stops_at_the_first_failure_and_touches_no_later_host(self):
        fleet = Fleet(('h1:9001', {}), ('h2:9001', {'restart': BOOT_FAILED}),
                      ('h3:9001', {}), ('h4:9001', {}))
        code, lines, err = fleet.run('web', *hosts(4))
        self.assertEqual(code, 1)
        self.assertEqual(lines, [
            'h1:9001 web: hot restarted (pid 100 -> 106 in 1.8s)',
            'h2:9001 web: ERROR (new master failed to boot; pid 2001 still serving)',
            'h3:9001 web: skipped (rollout stopped at h2:9001)',
            'h4:9001 web: skipped (rollout stopped at h2:9001)',
        ])
        self.assertEqual(fleet.restarted(), ['h1:9001', 'h2:9001'])
        self.assertIn('stopped at h2:9001 after 1 of 4 hosts', err)

    def test_first_host_failing_touches_nothing_else(self):
        fleet = Fleet(('h1:9001', {'restart': BOOT_FAILED}), ('h2:9001', {}))
        code, lines, _ = fleet.run('web', *hosts(2))
        self.assertEqual(code, 1)
        self.assertEqual(fleet.restarted(), ['h1:9001'])
        self.assertEqual(lines[1], 'h2:9001 web: skipped (rollout stopped at h1:9001)')

    def test_preflight_failure_restarts_nothing(self):
        for status, why in [
                (BAD_NAME, 'web is not configured for hot restart in '
                           '[rpcinterface:unicorn]'),
                (info(pid=0), 'web is not running'),
                (info(phase='booting'), 'a hot restart of web is already in progress '
                                        '(booting)'),
                (NO_NAMESPACE, 'supervisord has no [rpcinterface:unicorn] section; add '
                               'it and restart supervisord')]:
            with self.subTest(why=why):
                fleet = Fleet(('h1:9001', {}), ('h2:9001', {'status': status}),
                              ('h3:9001', {}))
                code, lines, err = fleet.run('web', *hosts(3))
                self.assertEqual(code, 1)
                self.assertEqual(fleet.restarted(), [])
                self.assertEqual(lines, [
                    'h2:9001 web: ERROR (preflight: %s)' % why,
                    'h1:9001 web: skipped (preflight failed on h2:9001; nothing was '
                    'restarted)',
                    'h3:9001 web: skipped (preflight failed on h2:9001; nothing was '
                    'restarted)',
                ])
                self.assertIn('no host was touched', err)

    def test_unreachable_host_in_preflight(self):
        refused = ConnectionRefusedError(111, 'Connection refused')
        fleet = Fleet(('h1:9001', {}), ('h2:9001', {'status': refused}))
        code, lines, _ = fleet.run('web', *hosts(2))
        self.assertEqual(code, 1)
        self.assertEqual(lines[0], 'h2:9001 web: ERROR (preflight: cannot reach '
                                   'supervisord: [Errno 111] Connection refused)')
        self.assertEqual(fleet.restarted(), [])

    def test_no_preflight_goes_straight_to_restarts(self):
        fleet = Fleet(('h1:9001', {'status': BAD_NAME}), ('h2:9001', {}))
        code, lines, _ = fleet.run('--no-preflight', 'web', *hosts(2))
        self.assertEqual(code, 0)
        self.assertEqual([c[1] for c in fleet.calls], ['hotRestart', 'hotRestart'])

    def test_fault_texts_lose_only_supervisors_prefix(self):
        for fault, text in [
                (xmlrpc.client.Fault(Faults.IN_PROGRESS, 'IN_PROGRESS: a hot restart '
                                     'of web is already in progress'),
                 'a hot restart of web is already in progress'),
                (xmlrpc.client.Fault(Faults.NOT_RUNNING, 'NOT_RUNNING: web'),
                 'web'),
                (xmlrpc.client.Fault(Faults.SHUTDOWN_STATE, 'SHUTDOWN_STATE'),
                 'SHUTDOWN_STATE')]:
            with self.subTest(text=text):
                fleet = Fleet(('h1:9001', {'restart': fault}))
                code, lines, _ = fleet.run('web', 'h1:9001')
                self.assertEqual(code, 1)
                self.assertEqual(lines, ['h1:9001 web: ERROR (%s)' % text])

    def test_transport_errors_during_the_restart(self):
        cases = [
            (xmlrpc.client.ProtocolError('h1:9001/RPC2', 401, 'Unauthorized', {}),
             'supervisord refused the credentials (401 Unauthorized)'),
            (xmlrpc.client.ProtocolError('h1:9001/RPC2', 500, 'Internal Server Error',
                                         {}),
             'supervisord answered HTTP 500 Internal Server Error'),
            (socket.timeout('timed out'),
             'no answer within 600s; the hot restart may still be in progress '
             '(see `supervisorctl hot_status web` there)'),
            (ConnectionResetError(104, 'Connection reset by peer'),
             'cannot reach supervisord: [Errno 104] Connection reset by peer'),
        ]
        for exc, text in cases:
            with self.subTest(text=text):
                fleet = Fleet(('h1:9001', {'restart': exc}), ('h2:9001', {}))
                code, lines, _ = fleet.run('web', *hosts(2))
                self.assertEqual(code, 1)
                self.assertEqual(lines[0], 'h1:9001 web: ERROR (%s)' % text)
                self.assertEqual(fleet.restarted(), ['h1:9001'])

    def test_connection_refused_while_connecting(self):
        fleet = Fleet(('h1:9001', {'connect_error': ConnectionRefusedError(
            111, 'Connection refused')}))
        code, lines, _ = fleet.run('--no-preflight', 'web', 'h1:9001')
        self.assertEqual(code, 1)
        self.assertEqual(lines, ['h1:9001 web: ERROR (cannot reach supervisord: '
                                 '[Errno 111] Connection refused)'])

    def test_pause_between_hosts_not_before_the_first(self):
        fleet = Fleet(*[(h, {}) for h in hosts(3)])
        slept = []
        out, err = io.StringIO(), io.StringIO()
        targets = [parse_target(h) for h in hosts(3)]
        code = rollout.rollout('web', targets, out, err, connect=fleet.connect,
                               pause=2.5, sleep=slept.append)
        self.assertEqual(code, 0)
        self.assertEqual(slept, [2.5, 2.5])

    def test_timeout_and_namespace_reach_every_connection(self):
        fleet = Fleet(('h1:9001', {}))
        setattr(fleet.hosts['h1:9001'], 'deploy', fleet.hosts['h1:9001'])
        code, _, _ = fleet.run('--timeout', '42', '--namespace', 'deploy', 'web',
                               'h1:9001')
        self.assertEqual(code, 0)
        self.assertEqual(fleet.timeouts, [42.0, 42.0])

    def test_hosts_file(self):
        with tempfile.NamedTemporaryFile('w', suffix='.hosts', delete=False) as f:
            f.write('# the web tier\nh1:9001\n\n  h2:9001   # canary\n')
        self.addCleanup(os.unlink, f.name)
        fleet = Fleet(*[(h, {}) for h in hosts(3)])
        code, lines, _ = fleet.run('web', '-f', f.name, 'h3:9001')
        self.assertEqual(code, 0)
        # hosts on the command line first, then the files', in order
        self.assertEqual([line.split()[0] for line in lines],
                         ['h3:9001', 'h1:9001', 'h2:9001'])

    def test_usage_errors_exit_2_and_touch_nothing(self):
        for argv in (['web'], ['web', 'https://h1:9001/RPC2'], ['web', 'h1:notaport'],
                     ['web', 'unix://relative.sock'], ['--timeout', '0', 'web', 'h1'],
                     ['web', '-f', '/nonexistent/hosts'], []):
            with self.subTest(argv=argv):
                fleet = Fleet()
                code, lines, err = fleet.run(*argv)
                self.assertEqual(code, 2)
                self.assertEqual(fleet.calls, [])
                self.assertIn('supervisor-unicorn-rollout: error:', err)

    def test_help_and_version(self):
        code, lines, _ = Fleet().run('--help')
        self.assertEqual(code, 0)
        text = '\n'.join(lines)
        for words in ('PROGRAM', 'HOST', 'stop at the first failure', 'Exit status',
                      'SUPERVISOR_PASSWORD', '--pause', '--timeout'):
            self.assertIn(words, text)
        code, lines, _ = Fleet().run('--version')
        self.assertEqual(code, 0)
        self.assertTrue(lines[0].startswith('supervisor-unicorn-rollout 0.'), lines)


class TestParseTarget(unittest.TestCase):

    def test_forms(self):
        self.assertEqual(parse_target('http://web1:9001/RPC2'),
                         Target('web1:9001', 'http://web1:9001'))
        self.assertEqual(parse_target('web1'), Target('web1:9001', 'http://web1:9001'))
        self.assertEqual(parse_target('10.0.0.5:9002'),
                         Target('10.0.0.5:9002', 'http://10.0.0.5:9002'))
        self.assertEqual(parse_target('http://[::1]:9001/'),
                         Target('[::1]:9001', 'http://[::1]:9001'))
        self.assertEqual(parse_target('unix:///run/supervisor.sock'),
                         Target('/run/supervisor.sock', 'unix:///run/supervisor.sock'))

    def test_credentials_in_the_url_win_and_never_show(self):
        t = parse_target('http://deploy:s%40cret@web1:9001/RPC2', 'other', 'x')
        self.assertEqual((t.username, t.password), ('deploy', 's@cret'))
        self.assertNotIn('cret', t.label + t.serverurl)
        t = parse_target('web1', 'deploy', 'pw')
        self.assertEqual((t.username, t.password), ('deploy', 'pw'))

    def test_credentials_from_the_environment(self):
        fleet = Fleet(('h1:9001', {}))
        seen = []

        def connect(target, timeout):
            seen.append((target.username, target.password))
            return fleet.connect(target, timeout)
        env = {'SUPERVISOR_USERNAME': 'envuser', 'SUPERVISOR_PASSWORD': 'envpw'}
        old = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
                self.assertEqual(main(['web', 'h1:9001'], connect=connect), 0)
        finally:
            for k, v in old.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        self.assertEqual(seen[0], ('envuser', 'envpw'))


class _AuthHandler(SimpleXMLRPCRequestHandler):
    rpc_paths = ('/RPC2',)
    expected = 'Basic ' + base64.b64encode(b'deploy:s@cret').decode()

    def do_POST(self):
        if self.headers.get('Authorization') != self.expected:
            self.send_response(401)
            self.send_header('Content-Length', '0')
            self.end_headers()
            return
        super().do_POST()

    def log_message(self, *args):
        pass


class TestRealTransport(unittest.TestCase):
    """make_proxy against a local XML-RPC server: basic auth, Faults, timeout."""

    def setUp(self):
        self.server = SimpleXMLRPCServer(('127.0.0.1', 0), requestHandler=_AuthHandler,
                                         logRequests=False, allow_none=True)
        self.release = threading.Event()
        self.server.register_function(lambda name: info(name),
                                      'unicorn.getHotRestartInfo')

        def hot_restart(name, wait):
            if name == 'slow':
                self.release.wait(10)
            if name == 'broken':
                raise xmlrpc.client.Fault(Faults.FAILED, 'FAILED: new master failed '
                                          'to boot; pid 1234 still serving')
            return {'name': name, 'old_pid': 1234, 'new_pid': 1240, 'seconds': 0.25,
                    'status': 'done'}
        self.server.register_function(hot_restart, 'unicorn.hotRestart')
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = 'http://127.0.0.1:%d/RPC2' % self.server.server_address[1]
        self.addCleanup(self.stop)

    def stop(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(10)

    def run_main(self, *argv):
        out, err = io.StringIO(), io.StringIO()
        with redirect_stdout(out), redirect_stderr(err):
            code = main(list(argv))
        return code, out.getvalue().splitlines()

    def test_credentials_reach_the_server(self):
        url = self.url.replace('http://', 'http://deploy:s%40cret@')
        code, lines = self.run_main('web', url)
        self.assertEqual(code, 0)
        self.assertEqual(lines, ['127.0.0.1:%d web: hot restarted (pid 1234 -> 1240 in '
                                 '0.2s)' % self.server.server_address[1]])
        code, lines = self.run_main('-u', 'deploy', '-p', 's@cret', 'web', self.url)
        self.assertEqual(code, 0)

    def test_wrong_credentials(self):
        code, lines = self.run_main('-u', 'deploy', '-p', 'wrong', 'web', self.url)
        self.assertEqual(code, 1)
        self.assertTrue(lines[0].endswith('web: ERROR (preflight: supervisord refused '
                                          'the credentials (401 Unauthorized))'), lines)

    def test_a_real_fault(self):
        code, lines = self.run_main('-u', 'deploy', '-p', 's@cret', 'broken', self.url)
        self.assertEqual(code, 1)
        self.assertTrue(lines[0].endswith('broken: ERROR (new master failed to boot; '
                                          'pid 1234 still serving)'), lines)

    def test_timeout(self):
        started = time.monotonic()
        code, lines = self.run_main('-u', 'deploy', '-p', 's@cret', '--timeout', '0.5',
                                    'slow', self.url)
        self.assertLess(time.monotonic() - started, 5)
        self.assertEqual(code, 1)
        self.assertIn('slow: ERROR (no answer within 0.5s; the hot restart may still be '
                      'in progress', lines[0])


class _UnixHandler(SimpleXMLRPCRequestHandler):
    rpc_paths = ('/RPC2',)
    disable_nagle_algorithm = False      # no TCP_NODELAY on a unix socket

    def address_string(self):
        return 'unix'

    def log_message(self, *args):
        pass


class _UnixXMLRPCServer(socketserver.UnixStreamServer, SimpleXMLRPCDispatcher):
    """An XML-RPC server on a unix socket, like supervisord's [unix_http_server]."""

    logRequests = False

    def __init__(self, path):
        SimpleXMLRPCDispatcher.__init__(self, allow_none=True, encoding=None)
        socketserver.UnixStreamServer.__init__(self, path, _UnixHandler)


class TestUnixSocket(unittest.TestCase):

    def test_unix_socket_target(self):
        d = tempfile.mkdtemp(prefix='su-rollout-', dir='/tmp')
        self.addCleanup(shutil.rmtree, d, True)
        path = os.path.join(d, 's.sock')
        server = _UnixXMLRPCServer(path)
        server.register_function(lambda name: info(name), 'unicorn.getHotRestartInfo')
        server.register_function(
            lambda name, wait: {'name': name, 'old_pid': 1, 'new_pid': 2,
                                'seconds': 0.04, 'status': 'done'},
            'unicorn.hotRestart')
        t = threading.Thread(target=server.serve_forever, daemon=True)
        t.start()
        try:
            out = io.StringIO()
            with redirect_stdout(out), redirect_stderr(io.StringIO()):
                code = main(['web', 'unix://' + path])
            self.assertEqual(code, 0)
            self.assertEqual(out.getvalue(),
                             '%s web: hot restarted (pid 1 -> 2 in 0.0s)\n' % path)
        finally:
            server.shutdown()
            server.server_close()
            t.join(10)


if __name__ == '__main__':
    unittest.main()

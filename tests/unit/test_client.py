"""client.py: the rules every caller of the unicorn namespace shares (supervisorctl's
hot_restart, supervisor-unicorn-rollout, the Ansible module).  Its transport is
exercised against supervisor-unicorn-rollout's loopback servers in test_rollout.py;
here, what the Ansible module adds: supervisorctl's way of finding supervisord."""
import ast
import os
import shutil
import socketserver
import tempfile
import threading
import unittest
import xmlrpc.client
from xmlrpc.server import SimpleXMLRPCDispatcher, SimpleXMLRPCRequestHandler

from supervisor.xmlrpc import Faults as SupervisorFaults

from supervisor_unicorn import client
from supervisor_unicorn.common.faults import Faults


class FaultTextTests(unittest.TestCase):

    def test_unknown_method_is_supervisors_code(self):
        # client.py may not import supervisor (see its docstring): the copy must agree
        self.assertEqual(client.UNKNOWN_METHOD, SupervisorFaults.UNKNOWN_METHOD)

    def test_missing_namespace_names_the_section_to_add(self):
        fault = xmlrpc.client.Fault(SupervisorFaults.UNKNOWN_METHOD, 'UNKNOWN_METHOD')
        self.assertEqual(client.fault_reason(fault, 'deploy'),
                         'supervisord has no [rpcinterface:deploy] section; add it and '
                         'restart supervisord')

    def test_only_the_fault_name_prefix_goes(self):
        fault = xmlrpc.client.Fault(Faults.FAILED, 'FAILED: new master failed to boot; '
                                    'pid 1: still serving')
        self.assertEqual(client.fault_reason(fault),
                         'new master failed to boot; pid 1: still serving')


class NamesTests(unittest.TestCase):

    class Api:
        def __init__(self, configured):
            self.configured = configured
            self.calls = 0

        def getAllHotRestartInfo(self):
            self.calls += 1
            return [{'name': n} for n in self.configured]

    def test_plain_names_ask_supervisord_nothing(self):
        api = self.Api(['web'])
        self.assertEqual(client.resolve_names(api, ['web', 'api', 'web']), ['web', 'api'])
        self.assertEqual(api.calls, 0)

    def test_all_and_group_patterns_expand_in_configured_order(self):
        api = self.Api(['app:web', 'app:api', 'jobs'])
        self.assertEqual(client.resolve_names(api, ['all']), ['app:web', 'app:api', 'jobs'])
        self.assertEqual(client.resolve_names(api, ['jobs', 'app:*']),
                         ['jobs', 'app:web', 'app:api'])
        with self.assertRaisesRegex(ValueError, "no program of group 'nope'"):
            client.resolve_names(api, ['nope:*'])

    def test_refusal(self):
        info = {'name': 'web', 'pid': 12, 'phase': 'idle'}
        self.assertIsNone(client.refusal(info))
        self.assertEqual(client.refusal(dict(info, pid=0)), 'web is not running')
        self.assertEqual(client.refusal(dict(info, phase='loading')),
                         'a hot restart of web is already in progress (loading)')


class ReadCtlConfigTests(unittest.TestCase):
    """[supervisorctl] read as supervisorctl -c reads it (supervisor/options.py
    ClientOptions.read_config)."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix='su-client-')
        self.addCleanup(shutil.rmtree, self.dir, True)

    def write(self, text):
        path = os.path.join(self.dir, 'supervisord.conf')
        with open(path, 'w') as f:
            f.write(text)
        return path

    def test_here_env_and_relative_socket_like_supervisorctl(self):
        path = self.write('[supervisorctl]\nserverurl = unix://%(here)s/run/%(ENV_SOCK)s '
                          '; a comment\nusername = deploy\npassword = s;3cret\n')
        url, user, password = client.read_ctl_config(path, {'SOCK': 's.sock'})
        self.assertEqual(url, 'unix://%s/run/s.sock' % self.dir)
        self.assertEqual((user, password), ('deploy', 's;3cret'))
        # supervisorctl itself agrees
        from supervisor.options import ClientOptions
        options = ClientOptions()
        options.environ_expansions = {'ENV_SOCK': 's.sock'}
        options.read_config(path)
        section = options.configroot.supervisorctl
        self.assertEqual((section.serverurl, section.username, section.password),
                         (url, user, password))

    def test_defaults_to_localhost_9001_without_credentials(self):
        path = self.write('[supervisord]\n[supervisorctl]\n')
        self.assertEqual(client.read_ctl_config(path, {}),
                         ('http://localhost:9001', None, None))

    def test_errors_name_the_file(self):
        with self.assertRaisesRegex(ValueError, 'has no \\[supervisorctl\\] section'):
            client.read_ctl_config(self.write('[supervisord]\n'), {})
        with self.assertRaisesRegex(ValueError, 'cannot read .*nope.conf'):
            client.read_ctl_config(os.path.join(self.dir, 'nope.conf'), {})
        with self.assertRaisesRegex(ValueError, 'cannot be expanded'):
            client.read_ctl_config(self.write('[supervisorctl]\nserverurl = '
                                              'unix://%(ENV_NOPE)s\n'), {})

    def test_find_config_takes_the_first_that_exists(self):
        path = self.write('')
        self.assertEqual(client.find_config([os.path.join(self.dir, 'x'), path]), path)
        self.assertIsNone(client.find_config([os.path.join(self.dir, 'x')]))


class TransportTests(unittest.TestCase):

    def test_only_http_and_unix(self):
        for url in ('https://h:9001', 'h:9001', 'http://'):
            with self.subTest(url=url), self.assertRaises(ValueError):
                client.make_proxy(url)

    def test_unix_socket_with_basic_auth(self):
        d = tempfile.mkdtemp(prefix='su-client-', dir='/tmp')
        self.addCleanup(shutil.rmtree, d, True)
        path = os.path.join(d, 's.sock')
        seen = []

        class Handler(SimpleXMLRPCRequestHandler):
            rpc_paths = ('/RPC2',)
            disable_nagle_algorithm = False

            def address_string(self):
                return 'unix'

            def log_message(self, *args):
                pass

            def do_POST(self):
                seen.append(self.headers.get('Authorization'))
                super().do_POST()

        class Server(socketserver.UnixStreamServer, SimpleXMLRPCDispatcher):
            logRequests = False

            def __init__(self):
                SimpleXMLRPCDispatcher.__init__(self, allow_none=True, encoding=None)
                socketserver.UnixStreamServer.__init__(self, path, Handler)
        server = Server()
        server.register_function(lambda: '1.0', 'unicorn.getAPIVersion')
        t = threading.Thread(target=server.serve_forever, daemon=True)
        t.start()
        self.addCleanup(t.join, 10)
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)
        proxy = client.make_proxy('unix://' + path, 'deploy', 'pa:ss', timeout=5)
        self.assertEqual(proxy.unicorn.getAPIVersion(), '1.0')
        self.assertEqual(proxy.unicorn.getAPIVersion(), '1.0')   # kept-alive connection
        self.assertEqual(seen, ['Basic ZGVwbG95OnBhOnNz'] * 2)    # deploy:pa:ss


class SourceTests(unittest.TestCase):

    def test_standard_library_only(self):
        # the Ansible collection ships this file to hosts whose Python has neither
        # supervisor nor supervisor_unicorn
        with open(client.__file__) as f:
            tree = ast.parse(f.read())
        imported = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                imported.update(a.name.split('.')[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                imported.add((node.module or '').split('.')[0])
        self.assertEqual(imported - {'base64', 'configparser', 'http', 'os', 're', 'socket',
                                     'typing', 'urllib', 'xmlrpc'}, set())


if __name__ == '__main__':
    unittest.main()

"""The Ansible module supervisor_unicorn.supervisor.hot_restart: its decisions
against canned answers (real xmlrpc.client.Fault objects), its documentation
against its argument_spec, and its copy of client.py against the original.
ansible-core is a test requirement (setup.cfg); ansible-doc and real plays run
in tests/integration/test_ansible_fleet.py."""
import filecmp
import importlib
import os
import sys
import unittest
import xmlrpc.client

import yaml

import supervisor_unicorn
from supervisor_unicorn import client
from supervisor_unicorn.common.faults import Faults

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ANSIBLE_DIR = os.path.join(ROOT, 'ansible')
COLLECTION = os.path.join(ANSIBLE_DIR, 'ansible_collections', 'supervisor_unicorn',
                          'supervisor')
MODULE_UTILS_COPY = os.path.join(COLLECTION, 'plugins', 'module_utils', 'client.py')

BOOT_FAILED = xmlrpc.client.Fault(
    Faults.FAILED, 'FAILED: new master failed to boot; pid 100 still serving')


def load_module():
    if ANSIBLE_DIR not in sys.path:
        sys.path.insert(0, ANSIBLE_DIR)
    return importlib.import_module(
        'ansible_collections.supervisor_unicorn.supervisor.plugins.modules.hot_restart')


class Api:
    """The unicorn namespace of one supervisord, with canned answers."""

    def __init__(self, programs, restart=None):
        self.programs = programs          # name -> pid (0: not running)
        self.restart = restart or {}      # name -> exception
        self.calls = []

    def getAllHotRestartInfo(self):
        self.calls.append(('getAllHotRestartInfo',))
        return [self._info(n) for n in self.programs]

    def getHotRestartInfo(self, name):
        self.calls.append(('getHotRestartInfo', name))
        if name not in self.programs:
            raise xmlrpc.client.Fault(Faults.BAD_NAME, 'BAD_NAME: %s' % name)
        return self._info(name)

    def hotRestart(self, name, wait=True):
        self.calls.append(('hotRestart', name, wait))
        if name in self.restart:
            raise self.restart[name]
        pid = self.programs[name]
        if not wait:
            return {'name': name, 'old_pid': pid, 'new_pid': 0, 'seconds': 0.0,
                    'status': 'started'}
        return {'name': name, 'old_pid': pid, 'new_pid': pid + 6, 'seconds': 1.84,
                'status': 'done'}

    def _info(self, name):
        return {'name': name, 'server': 'unicorn', 'pidfile': '/x.pid',
                'pid': self.programs[name], 'phase': 'idle', 'restarts': 0,
                'last_result': '', 'last_seconds': 0.0}

    def restarted(self):
        return [c[1] for c in self.calls if c[0] == 'hotRestart']


class HotRestartTests(unittest.TestCase):

    def run_module(self, api, name, wait=True, check_mode=False):
        programs = []
        lines = load_module().hot_restart(api, name, wait, check_mode, 600.0, programs)
        return lines, programs

    def failure(self, api, name, check_mode=False):
        module = load_module()
        programs = []
        with self.assertRaises(module.Failure) as cm:
            module.hot_restart(api, name, True, check_mode, 600.0, programs)
        return cm.exception, programs

    def test_a_group_is_checked_first_then_restarted_in_order(self):
        api = Api({'app:web': 100, 'app:api': 200, 'jobs': 300})
        lines, programs = self.run_module(api, 'app:*')
        self.assertEqual(lines, ['app:web: hot restarted (pid 100 -> 106 in 1.8s)',
                                 'app:api: hot restarted (pid 200 -> 206 in 1.8s)'])
        self.assertEqual(api.calls, [
            ('getAllHotRestartInfo',),
            ('getHotRestartInfo', 'app:web'), ('getHotRestartInfo', 'app:api'),
            ('hotRestart', 'app:web', True), ('hotRestart', 'app:api', True)])
        self.assertEqual(programs[0], {'name': 'app:web', 'old_pid': 100, 'new_pid': 106,
                                       'seconds': 1.84, 'status': 'done'})

    def test_check_mode_sends_nothing_and_reports_the_pids(self):
        api = Api({'web': 100, 'api': 200})
        lines, programs = self.run_module(api, 'all', check_mode=True)
        self.assertEqual(api.restarted(), [])
        self.assertEqual(lines, ['web: would hot restart (pid 100)',
                                 'api: would hot restart (pid 200)'])
        self.assertEqual([(p['name'], p['old_pid'], p['status']) for p in programs],
                         [('web', 100, 'check_mode'), ('api', 200, 'check_mode')])

    def test_check_mode_fails_where_the_real_run_would_be_refused(self):
        err, _ = self.failure(Api({'web': 0}), 'web', check_mode=True)
        self.assertEqual(err.msg, 'web: ERROR (preflight: web is not running)')
        err, _ = self.failure(Api({'web': 100}), 'nope', check_mode=True)
        self.assertEqual(err.msg, 'nope: ERROR (preflight: nope)')
        self.assertEqual(err.fault.faultCode, Faults.BAD_NAME)

    def test_one_program_not_running_touches_none(self):
        api = Api({'web': 100, 'api': 0})
        err, programs = self.failure(api, 'all')
        self.assertEqual(err.msg, 'api: ERROR (preflight: api is not running)')
        self.assertIsNone(err.fault)
        self.assertEqual((api.restarted(), programs), ([], []))

    def test_a_failed_hot_restart_keeps_the_fault_and_skips_the_rest(self):
        api = Api({'web': 100, 'api': 200, 'jobs': 300}, restart={'api': BOOT_FAILED})
        err, programs = self.failure(api, 'all')
        self.assertEqual(err.msg, 'web: hot restarted (pid 100 -> 106 in 1.8s)\n'
                                  'api: ERROR (new master failed to boot; pid 100 still '
                                  'serving)')
        self.assertIs(err.fault, BOOT_FAILED)
        self.assertEqual(api.restarted(), ['web', 'api'])
        self.assertEqual([(p['name'], p['status']) for p in programs],
                         [('web', 'done'), ('api', 'failed'), ('jobs', 'skipped')])
        self.assertEqual(programs[1]['error'],
                         'new master failed to boot; pid 100 still serving')

    def test_transport_errors_read_as_in_the_rollout_tool(self):
        refused = ConnectionRefusedError(111, 'Connection refused')

        class Down(Api):
            def getHotRestartInfo(self, name):
                raise refused
        err, _ = self.failure(Down({'web': 1}), 'web')
        self.assertEqual(err.msg, 'web: ERROR (preflight: cannot reach supervisord: '
                                  '[Errno 111] Connection refused)')
        self.assertIs(err.fault, refused)

    def test_without_wait_the_restart_is_only_started(self):
        lines, programs = self.run_module(Api({'web': 100}), 'web', wait=False)
        self.assertEqual(lines, ['web: hot restart started (pid 100)'])
        self.assertEqual(programs[0]['status'], 'started')

    def test_unknown_group_and_empty_configuration(self):
        err, _ = self.failure(Api({'web': 1}), 'app:*')
        self.assertEqual(err.msg, "no program of group 'app' is configured for hot restart")
        err, _ = self.failure(Api({}), 'all')
        self.assertEqual(err.msg, 'no program is configured for hot restart')


class LocateTests(unittest.TestCase):

    def params(self, **kw):
        p = {'server_url': None, 'config': None, 'username': None, 'password': None}
        p.update(kw)
        return p

    def test_server_url_forms(self):
        locate = load_module().locate
        self.assertEqual(locate(self.params(server_url='unix:///run/s.sock')),
                         ('unix:///run/s.sock', '/RPC2', None, None))
        self.assertEqual(locate(self.params(server_url='http://10.0.0.5:9001/RPC2',
                                            username='deploy', password='pw')),
                         ('http://10.0.0.5:9001', '/RPC2', 'deploy', 'pw'))
        with self.assertRaisesRegex(ValueError, 'not in the URL'):
            locate(self.params(server_url='http://deploy:pw@10.0.0.5:9001'))

    def test_config_gives_url_and_credentials_options_override(self):
        import tempfile
        with tempfile.NamedTemporaryFile('w', suffix='.conf', delete=False) as f:
            f.write('[supervisorctl]\nserverurl = http://127.0.0.1:9002\n'
                    'username = ctl\npassword = ctlpw\n')
        self.addCleanup(os.unlink, f.name)
        locate = load_module().locate
        self.assertEqual(locate(self.params(config=f.name)),
                         ('http://127.0.0.1:9002', '/RPC2', 'ctl', 'ctlpw'))
        self.assertEqual(locate(self.params(config=f.name, password='other')),
                         ('http://127.0.0.1:9002', '/RPC2', 'ctl', 'other'))


class DocumentationTests(unittest.TestCase):
    """What ansible-test sanity's validate-modules checks first, offline."""

    def doc(self, name):
        return yaml.safe_load(getattr(load_module(), name))

    def test_options_match_the_argument_spec(self):
        documented = self.doc('DOCUMENTATION')['options']
        spec = load_module().ARGUMENT_SPEC
        self.assertEqual(sorted(documented), sorted(spec))
        for name, arg in spec.items():
            with self.subTest(option=name):
                doc = documented[name]
                self.assertEqual(doc['type'], arg['type'])
                self.assertEqual(doc.get('required', False), arg.get('required', False))
                self.assertEqual(doc.get('default'), arg.get('default'))
                self.assertTrue(doc['description'])
        self.assertTrue(spec['password']['no_log'])
        # rollback is planned with another issue; it must not sneak in undocumented
        self.assertNotIn('standby', spec)

    def test_examples_and_return_parse_and_examples_use_documented_options(self):
        documented = set(self.doc('DOCUMENTATION')['options'])
        for task in self.doc('EXAMPLES'):
            args = task.get('supervisor_unicorn.supervisor.hot_restart')
            if args is not None:
                self.assertLessEqual(set(args), documented, task['name'])
        returned = self.doc('RETURN')
        self.assertEqual(set(returned['programs']['contains']),
                         {'name', 'old_pid', 'new_pid', 'seconds', 'status', 'error'})

    def test_version_follows_the_package(self):
        with open(os.path.join(COLLECTION, 'galaxy.yml')) as f:
            galaxy = yaml.safe_load(f)
        self.assertEqual((galaxy['namespace'], galaxy['name']),
                         ('supervisor_unicorn', 'supervisor'))
        self.assertEqual(galaxy['version'], supervisor_unicorn.__version__)

    def test_module_utils_is_a_copy_of_client_py(self):
        self.assertTrue(
            filecmp.cmp(client.__file__, MODULE_UTILS_COPY, shallow=False),
            'the collection ships its own copy of supervisor_unicorn/client.py; after '
            'editing it: cp supervisor_unicorn/client.py %s'
            % os.path.relpath(MODULE_UTILS_COPY, ROOT))


if __name__ == '__main__':
    unittest.main()

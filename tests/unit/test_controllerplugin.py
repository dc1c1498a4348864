"""supervisorctl hot_restart / hot_status: output lines and exit status.

The fake proxy raises real xmlrpc.client.Fault objects, as a ServerProxy
would, never the in-process RPCError.
"""
import io
import unittest
import xmlrpc.client

from supervisor.supervisorctl import Controller, LSBInitExitStatuses
from supervisor.xmlrpc import Faults as SupervisorFaults

FAILED = SupervisorFaults.FAILED
BAD_NAME = SupervisorFaults.BAD_NAME
NOT_RUNNING = SupervisorFaults.NOT_RUNNING
UNKNOWN_METHOD = SupervisorFaults.UNKNOWN_METHOD

BOOT_FAILED = xmlrpc.client.Fault(
    FAILED, 'FAILED: new master failed to boot; pid 2001 still serving')


def result(name, old_pid, new_pid, seconds):
    return {'name': name, 'old_pid': old_pid, 'new_pid': new_pid,
            'seconds': seconds, 'status': 'done'}


def info(name, server='unicorn', pid=1234, phase='idle', last_result='',
         last_seconds=0.0, restarts=0):
    return {'name': name, 'server': server, 'pidfile': '/run/%s.pid' % name,
            'pid': pid, 'phase': phase, 'last_result': last_result,
            'last_seconds': last_seconds, 'restarts': restarts}


class FakeUnicornAPI:
    """The `unicorn` namespace of a ServerProxy, with canned answers."""

    def __init__(self, results=None, infos=None, all_infos_error=None):
        self.results = results or {}      # name -> struct, Fault or OSError
        self.infos = infos if infos is not None else []
        self.all_infos_error = all_infos_error
        self.calls = []

    def _answer(self, value):
        if isinstance(value, BaseException):
            raise value
        return value

    def hotRestart(self, name, wait=True):
        self.calls.append(('hotRestart', name, wait))
        if name not in self.results:
            raise xmlrpc.client.Fault(BAD_NAME, 'BAD_NAME: no such process: %s' % name)
        return self._answer(self.results[name])

    def rollback(self, name, wait=True):
        self.calls.append(('rollback', name, wait))
        if name not in self.results:
            raise xmlrpc.client.Fault(233, 'NO_STANDBY: %s has no standby to roll back to '
                                           '(standby=0 ...); pid 1234 serving' % name)
        return self._answer(self.results[name])

    def getHotRestartInfo(self, name):
        self.calls.append(('getHotRestartInfo', name))
        for i in self.infos:
            if i['name'] == name:
                return i
        raise xmlrpc.client.Fault(BAD_NAME, 'BAD_NAME: no such process: %s' % name)

    def getAllHotRestartInfo(self):
        self.calls.append(('getAllHotRestartInfo',))
        if self.all_infos_error is not None:
            raise self.all_infos_error
        return list(self.infos)


class DummyController:
    """What the plugin uses of supervisorctl's Controller."""

    set_exitstatus_from_xmlrpc_fault = Controller.set_exitstatus_from_xmlrpc_fault

    def __init__(self, api, up=True):
        self.api = api
        self.up = up
        self.lines = []
        self.namespaces = []
        self.exitstatus = LSBInitExitStatuses.SUCCESS

    def output(self, message):
        self.lines.append(message)

    def upcheck(self):
        return self.up

    def get_server_proxy(self, namespace=None):
        self.namespaces.append(namespace)
        return self.api


class FaultReasonTests(unittest.TestCase):

    def _callFUT(self, fault):
        from supervisor_unicorn.controllerplugin import fault_reason
        return fault_reason(fault)

    def test_strips_the_fault_name_prefix(self):
        self.assertEqual(self._callFUT(BOOT_FAILED),
                         'new master failed to boot; pid 2001 still serving')

    def test_strips_our_own_fault_names_too(self):
        fault = xmlrpc.client.Fault(230, 'IN_PROGRESS: already in progress')
        self.assertEqual(self._callFUT(fault), 'already in progress')

    def test_a_broken_programs_line_reads_as_the_line_and_what_is_wrong(self):
        fault = xmlrpc.client.Fault(232, "BAD_CONFIG: programs line 2 ('web unicron /x.pid'):"
                                         " unknown SERVER 'unicron'")
        self.assertEqual(self._callFUT(fault), "programs line 2 ('web unicron /x.pid'):"
                                               " unknown SERVER 'unicron'")

    def test_strips_only_the_first_prefix(self):
        fault = xmlrpc.client.Fault(FAILED, 'FAILED: BAD_NAME: odd')
        self.assertEqual(self._callFUT(fault), 'BAD_NAME: odd')

    def test_text_without_prefix_is_kept(self):
        fault = xmlrpc.client.Fault(FAILED, 'something broke: pid 7')
        self.assertEqual(self._callFUT(fault), 'something broke: pid 7')

    def test_empty_fault_string_gives_empty_text(self):
        self.assertEqual(self._callFUT(xmlrpc.client.Fault(FAILED, '')), '')

    def test_unknown_method_says_the_rpcinterface_section_is_missing(self):
        fault = xmlrpc.client.Fault(UNKNOWN_METHOD, 'UNKNOWN_METHOD')
        text = self._callFUT(fault)
        self.assertIn('no [rpcinterface:unicorn] section', text)
        self.assertNotIn('UNKNOWN_METHOD', text)


class FormatResultTests(unittest.TestCase):

    def _callFUT(self, r):
        from supervisor_unicorn.controllerplugin import format_result
        return format_result(r)

    def test_formats_exactly_the_interface_line(self):
        self.assertEqual(self._callFUT(result('web', 1234, 1240, 1.8)),
                         'web: hot restarted (pid 1234 -> 1240 in 1.8s)')

    def test_rounds_seconds_to_one_decimal(self):
        self.assertEqual(self._callFUT(result('pool:web_01', 10, 20, 12.345)),
                         'pool:web_01: hot restarted (pid 10 -> 20 in 12.3s)')


class FormatInfoTests(unittest.TestCase):

    def _callFUT(self, i):
        from supervisor_unicorn.controllerplugin import format_info
        return format_info(i)

    def test_idle_program_shows_name_server_pid_phase_and_count(self):
        line = self._callFUT(info('web', pid=1234, restarts=3))
        self.assertEqual(line.split(), ['web', 'unicorn', 'pid', '1234', 'idle',
                                        'restarts', '3'])

    def test_no_pid_shows_a_dash(self):
        self.assertIn('pid -', self._callFUT(info('web', pid=0)))

    def test_loading_shows_how_many_new_workers_are_ready(self):
        line = self._callFUT(dict(info('web', pid=1234, phase='loading'), workers=2,
                                  workers_ready=1))
        self.assertIn(' loading 1/2 ', line)

    def test_last_result_is_appended_with_its_seconds(self):
        line = self._callFUT(info('web', last_result='done', last_seconds=1.84))
        self.assertTrue(line.endswith(', last done (1.8s)'), line)


class ExpandNamesTests(unittest.TestCase):
    configured = ['web', 'pool:a', 'pool:b', 'api']

    def _callFUT(self, names, configured=None):
        from supervisor_unicorn.controllerplugin import expand_names
        return expand_names(names, self.configured if configured is None else configured)

    def test_all_is_every_configured_name_in_order(self):
        self.assertEqual(self._callFUT(['all']), self.configured)

    def test_group_wildcard_is_every_configured_process_of_the_group(self):
        self.assertEqual(self._callFUT(['pool:*']), ['pool:a', 'pool:b'])

    def test_plain_names_pass_through_in_order(self):
        self.assertEqual(self._callFUT(['api', 'web']), ['api', 'web'])

    def test_plain_names_need_not_be_configured(self):
        # the server answers BAD_NAME for them, with its own text
        self.assertEqual(self._callFUT(['ghost'], []), ['ghost'])

    def test_repeats_are_removed_keeping_the_first(self):
        self.assertEqual(self._callFUT(['api', 'pool:*', 'pool:a', 'api', 'all']),
                         ['api', 'pool:a', 'pool:b', 'web'])

    def test_unknown_group_raises_value_error_naming_it(self):
        with self.assertRaises(ValueError) as cm:
            self._callFUT(['nope:*'])
        self.assertIn("'nope'", str(cm.exception))

    def test_group_wildcard_does_not_match_a_name_that_only_starts_like_it(self):
        with self.assertRaises(ValueError):
            self._callFUT(['po:*'])

    def test_all_with_nothing_configured_is_empty(self):
        self.assertEqual(self._callFUT(['all'], []), [])

    # supervisorctl reads "web:*" as every process of group "web", and the
    # program [program:web] is group "web", process "web"; configured as
    # "web" (the name status shows), "hot_restart web:*" should find it.
    def test_group_wildcard_matches_a_program_whose_group_has_its_name(self):
        self.assertEqual(self._callFUT(['web:*']), ['web'])


class PluginTestBase(unittest.TestCase):

    def _getTargetClass(self):
        from supervisor_unicorn.controllerplugin import UnicornControllerPlugin
        return UnicornControllerPlugin

    def _makeOne(self, api=None, up=True):
        self.api = api if api is not None else FakeUnicornAPI()
        self.ctl = DummyController(self.api, up=up)
        return self._getTargetClass()(self.ctl)


class FactoryTests(PluginTestBase):

    def test_factory_returns_a_plugin_bound_to_the_controller(self):
        from supervisor_unicorn.controllerplugin import make_unicorn_controllerplugin
        ctl = DummyController(FakeUnicornAPI())
        plugin = make_unicorn_controllerplugin(ctl, some='setting')
        self.assertIsInstance(plugin, self._getTargetClass())
        self.assertIs(plugin.ctl, ctl)


class DoHotRestartTests(PluginTestBase):

    def test_success_prints_the_interface_line_and_exits_zero(self):
        plugin = self._makeOne(FakeUnicornAPI({'web': result('web', 1234, 1240, 1.8)}))
        plugin.do_hot_restart('web')
        self.assertEqual(self.ctl.lines, ['web: hot restarted (pid 1234 -> 1240 in 1.8s)'])
        self.assertEqual(self.ctl.exitstatus, LSBInitExitStatuses.SUCCESS)

    def test_asks_the_unicorn_namespace_and_waits(self):
        plugin = self._makeOne(FakeUnicornAPI({'web': result('web', 1, 2, 0.1)}))
        plugin.do_hot_restart('web')
        self.assertEqual(self.ctl.namespaces, ['unicorn'])
        self.assertEqual(self.api.calls, [('hotRestart', 'web', True)])

    def test_fresh_proxy_for_each_command(self):
        plugin = self._makeOne(FakeUnicornAPI({'web': result('web', 1, 2, 0.1)}))
        plugin.do_hot_restart('web')
        plugin.do_hot_restart('web')
        self.assertEqual(self.ctl.namespaces, ['unicorn', 'unicorn'])

    def test_failure_prints_the_error_line_and_exits_non_zero(self):
        plugin = self._makeOne(FakeUnicornAPI({'api': BOOT_FAILED}))
        plugin.do_hot_restart('api')
        self.assertEqual(self.ctl.lines,
                         ['api: ERROR (new master failed to boot; pid 2001 still serving)'])
        self.assertEqual(self.ctl.exitstatus, LSBInitExitStatuses.GENERIC)

    def test_not_running_fault_exits_with_lsb_not_running(self):
        fault = xmlrpc.client.Fault(NOT_RUNNING, 'NOT_RUNNING: web is not running (state '
                                    'STOPPED); nothing to hot restart')
        plugin = self._makeOne(FakeUnicornAPI({'web': fault}))
        plugin.do_hot_restart('web')
        self.assertEqual(self.ctl.lines, ['web: ERROR (web is not running (state STOPPED); '
                                          'nothing to hot restart)'])
        self.assertEqual(self.ctl.exitstatus, LSBInitExitStatuses.NOT_RUNNING)

    def test_custom_fault_code_exits_non_zero(self):
        fault = xmlrpc.client.Fault(230, 'IN_PROGRESS: a hot restart of web is already '
                                    'in progress (booting); pid 100 still serving')
        plugin = self._makeOne(FakeUnicornAPI({'web': fault}))
        plugin.do_hot_restart('web')
        self.assertNotEqual(self.ctl.exitstatus, LSBInitExitStatuses.SUCCESS)
        self.assertTrue(self.ctl.lines[0].startswith('web: ERROR (a hot restart of web'))

    def test_unknown_name_prints_an_error_line_and_exits_non_zero(self):
        plugin = self._makeOne(FakeUnicornAPI({}))
        plugin.do_hot_restart('ghost')
        self.assertEqual(self.ctl.lines, ['ghost: ERROR (no such process: ghost)'])
        self.assertEqual(self.ctl.exitstatus, LSBInitExitStatuses.GENERIC)

    def test_several_names_are_restarted_in_order_one_line_each(self):
        plugin = self._makeOne(FakeUnicornAPI({'web': result('web', 1234, 1240, 1.8),
                                               'api': BOOT_FAILED}))
        plugin.do_hot_restart('web api')
        self.assertEqual(self.ctl.lines, [
            'web: hot restarted (pid 1234 -> 1240 in 1.8s)',
            'api: ERROR (new master failed to boot; pid 2001 still serving)'])
        self.assertEqual(self.ctl.exitstatus, LSBInitExitStatuses.GENERIC)

    def test_a_later_success_does_not_clear_an_earlier_failure(self):
        plugin = self._makeOne(FakeUnicornAPI({'web': result('web', 1234, 1240, 1.8),
                                               'api': BOOT_FAILED}))
        plugin.do_hot_restart('api web')
        self.assertEqual(len(self.ctl.lines), 2)
        self.assertEqual(self.ctl.exitstatus, LSBInitExitStatuses.GENERIC)

    def test_exit_status_is_zero_when_every_name_succeeded(self):
        plugin = self._makeOne(FakeUnicornAPI({'web': result('web', 1, 2, 0.5),
                                               'api': result('api', 3, 4, 0.7)}))
        plugin.do_hot_restart('web api')
        self.assertEqual(len(self.ctl.lines), 2)
        self.assertEqual(self.ctl.exitstatus, LSBInitExitStatuses.SUCCESS)

    def test_a_repeated_name_is_restarted_once(self):
        plugin = self._makeOne(FakeUnicornAPI({'web': result('web', 1, 2, 0.5)}))
        plugin.do_hot_restart('web web')
        self.assertEqual(self.api.calls, [('hotRestart', 'web', True)])

    def test_all_restarts_every_configured_program(self):
        api = FakeUnicornAPI({'web': result('web', 1, 2, 0.5),
                              'pool:a': result('pool:a', 3, 4, 0.5)},
                             infos=[info('web'), info('pool:a')])
        plugin = self._makeOne(api)
        plugin.do_hot_restart('all')
        self.assertEqual([c for c in api.calls if c[0] == 'hotRestart'],
                         [('hotRestart', 'web', True), ('hotRestart', 'pool:a', True)])
        self.assertEqual(self.ctl.exitstatus, LSBInitExitStatuses.SUCCESS)

    def test_group_wildcard_restarts_the_configured_processes_of_the_group(self):
        api = FakeUnicornAPI({'pool:a': result('pool:a', 1, 2, 0.5),
                              'pool:b': result('pool:b', 3, 4, 0.5)},
                             infos=[info('web'), info('pool:a'), info('pool:b')])
        plugin = self._makeOne(api)
        plugin.do_hot_restart('pool:*')
        self.assertEqual(self.ctl.lines, [
            'pool:a: hot restarted (pid 1 -> 2 in 0.5s)',
            'pool:b: hot restarted (pid 3 -> 4 in 0.5s)'])

    def test_unknown_group_is_an_error_naming_it_and_restarts_nothing(self):
        api = FakeUnicornAPI({'web': result('web', 1, 2, 0.5)}, infos=[info('web')])
        plugin = self._makeOne(api)
        plugin.do_hot_restart('web nope:*')
        self.assertEqual(len(self.ctl.lines), 1)
        self.assertTrue(self.ctl.lines[0].startswith('Error: '))
        self.assertIn("'nope'", self.ctl.lines[0])
        self.assertEqual(self.ctl.exitstatus, LSBInitExitStatuses.INVALID_ARGS)
        self.assertNotIn('hotRestart', [c[0] for c in api.calls])

    def test_all_with_nothing_configured_is_an_error(self):
        plugin = self._makeOne(FakeUnicornAPI(infos=[]))
        plugin.do_hot_restart('all')
        self.assertEqual(len(self.ctl.lines), 1)
        self.assertTrue(self.ctl.lines[0].startswith('Error: '))
        self.assertNotEqual(self.ctl.exitstatus, LSBInitExitStatuses.SUCCESS)

    def test_all_without_the_rpcinterface_section_says_so(self):
        api = FakeUnicornAPI(all_infos_error=xmlrpc.client.Fault(UNKNOWN_METHOD,
                                                                 'UNKNOWN_METHOD'))
        plugin = self._makeOne(api)
        plugin.do_hot_restart('all')
        self.assertEqual(len(self.ctl.lines), 1)
        self.assertTrue(self.ctl.lines[0].startswith('Error: '))
        self.assertIn('[rpcinterface:unicorn]', self.ctl.lines[0])
        self.assertEqual(self.ctl.exitstatus, LSBInitExitStatuses.GENERIC)

    def test_name_without_the_rpcinterface_section_says_so(self):
        api = FakeUnicornAPI({'web': xmlrpc.client.Fault(UNKNOWN_METHOD, 'UNKNOWN_METHOD')})
        plugin = self._makeOne(api)
        plugin.do_hot_restart('web')
        self.assertEqual(len(self.ctl.lines), 1)
        self.assertTrue(self.ctl.lines[0].startswith('web: ERROR (supervisord has no '
                                                     '[rpcinterface:unicorn] section'))
        self.assertEqual(self.ctl.exitstatus, LSBInitExitStatuses.GENERIC)

    def test_lost_connection_prints_an_error_line_and_exits_non_zero(self):
        api = FakeUnicornAPI({'web': ConnectionResetError(104, 'Connection reset by peer')})
        plugin = self._makeOne(api)
        plugin.do_hot_restart('web')
        self.assertTrue(self.ctl.lines[0].startswith('web: ERROR (lost contact'))
        self.assertEqual(self.ctl.exitstatus, LSBInitExitStatuses.GENERIC)

    def test_no_argument_prints_an_error_and_help_with_invalid_args(self):
        plugin = self._makeOne()
        plugin.do_hot_restart('')
        self.assertEqual(self.ctl.lines[0], 'Error: hot_restart requires a process name')
        self.assertTrue(any(line.startswith('hot_restart <name>') for line in self.ctl.lines[1:]))
        self.assertEqual(self.ctl.exitstatus, LSBInitExitStatuses.INVALID_ARGS)
        self.assertEqual(self.api.calls, [])

    def test_whitespace_only_argument_counts_as_no_argument(self):
        plugin = self._makeOne()
        plugin.do_hot_restart('   ')
        self.assertEqual(self.ctl.exitstatus, LSBInitExitStatuses.INVALID_ARGS)

    def test_nothing_happens_when_upcheck_fails(self):
        plugin = self._makeOne(FakeUnicornAPI({'web': result('web', 1, 2, 0.5)}), up=False)
        plugin.do_hot_restart('web')
        self.assertEqual(self.ctl.lines, [])
        self.assertEqual(self.ctl.namespaces, [])
        self.assertEqual(self.api.calls, [])


class DoRollbackTests(PluginTestBase):

    def test_success_prints_the_rollback_line_and_exits_zero(self):
        plugin = self._makeOne(FakeUnicornAPI({'web': {
            'name': 'web', 'from_pid': 1240, 'to_pid': 1234, 'seconds': 0.42,
            'status': 'done', 'cause': ''}}))
        plugin.do_rollback('web')
        self.assertEqual(self.api.calls, [('rollback', 'web', True)])
        self.assertEqual(self.ctl.lines, ['web: rolled back (pid 1240 -> 1234 in 0.4s)'])
        self.assertEqual(self.ctl.exitstatus, LSBInitExitStatuses.SUCCESS)

    def test_no_standby_prints_the_error_line_and_exits_one(self):
        plugin = self._makeOne(FakeUnicornAPI({}))
        plugin.do_rollback('web')
        self.assertEqual(self.ctl.lines, ['web: ERROR (web has no standby to roll back to '
                                          '(standby=0 ...); pid 1234 serving)'])
        self.assertEqual(self.ctl.exitstatus, LSBInitExitStatuses.GENERIC)

    def test_a_name_is_required(self):
        plugin = self._makeOne()
        plugin.do_rollback('')
        self.assertEqual(self.ctl.lines[0], 'Error: rollback requires a process name')
        self.assertEqual(self.ctl.exitstatus, LSBInitExitStatuses.INVALID_ARGS)


class DoHotStatusTests(PluginTestBase):

    def _makeApi(self):
        return FakeUnicornAPI(infos=[
            info('web', pid=1240, restarts=2, last_result='done', last_seconds=1.8),
            info('api', server='gunicorn', pid=2001, phase='booting')])

    def test_no_argument_shows_every_configured_program(self):
        plugin = self._makeOne(self._makeApi())
        plugin.do_hot_status('')
        self.assertEqual(len(self.ctl.lines), 2)
        self.assertTrue(self.ctl.lines[0].startswith('web '))
        self.assertIn('1240', self.ctl.lines[0])
        self.assertIn('last done (1.8s)', self.ctl.lines[0])
        self.assertTrue(self.ctl.lines[1].startswith('api '))
        self.assertIn('gunicorn', self.ctl.lines[1])
        self.assertIn('booting', self.ctl.lines[1])
        self.assertEqual(self.ctl.exitstatus, LSBInitExitStatuses.SUCCESS)

    def test_names_show_only_those(self):
        plugin = self._makeOne(self._makeApi())
        plugin.do_hot_status('api')
        self.assertEqual(len(self.ctl.lines), 1)
        self.assertTrue(self.ctl.lines[0].startswith('api '))
        self.assertEqual(self.api.calls, [('getHotRestartInfo', 'api')])

    def test_unknown_name_prints_an_error_line_and_exits_non_zero(self):
        plugin = self._makeOne(self._makeApi())
        plugin.do_hot_status('web ghost')
        self.assertEqual(len(self.ctl.lines), 2)
        self.assertEqual(self.ctl.lines[1], 'ghost: ERROR (no such process: ghost)')
        self.assertEqual(self.ctl.exitstatus, LSBInitExitStatuses.GENERIC)

    def test_nothing_happens_when_upcheck_fails(self):
        plugin = self._makeOne(self._makeApi(), up=False)
        plugin.do_hot_status('')
        self.assertEqual((self.ctl.lines, self.api.calls), ([], []))


class HelpTests(PluginTestBase):

    def test_help_hot_restart_describes_every_form(self):
        plugin = self._makeOne()
        plugin.help_hot_restart()
        text = '\n'.join(self.ctl.lines)
        for form in ('hot_restart <name>', 'hot_restart <gname>:*', 'hot_restart all'):
            self.assertIn(form, text)
        self.assertEqual(self.ctl.exitstatus, LSBInitExitStatuses.SUCCESS)

    def test_help_hot_status_describes_the_command(self):
        plugin = self._makeOne()
        plugin.help_hot_status()
        self.assertTrue(self.ctl.lines)
        self.assertTrue(all(line.startswith('hot_status') for line in self.ctl.lines))


class ClientOptions:
    """Just enough of supervisor.options.ClientOptions for a real Controller."""

    def __init__(self, api):
        from supervisor import rpcinterface
        from supervisor_unicorn.controllerplugin import make_unicorn_controllerplugin

        class Supervisor:
            def getVersion(self):
                return rpcinterface.API_VERSION

        class Proxy:
            supervisor = Supervisor()
            unicorn = api

        self.prompt = 'supervisor'
        self.serverurl = 'unix:///tmp/nothing.sock'
        self.interactive = False
        self.history_file = None
        self.plugin_factories = [('unicorn', make_unicorn_controllerplugin, {})]
        self._proxy = Proxy()

    def getServerProxy(self):
        return self._proxy


class RealControllerTests(unittest.TestCase):
    """The plugin loaded by supervisorctl's own Controller, driven by onecmd."""

    def _makeOne(self, api):
        self.stdout = io.StringIO()
        return Controller(ClientOptions(api), stdout=self.stdout)

    def test_hot_restart_command_reaches_the_plugin(self):
        ctl = self._makeOne(FakeUnicornAPI({'web': result('web', 1234, 1240, 1.8),
                                            'api': BOOT_FAILED}))
        ctl.onecmd('hot_restart web api')
        self.assertEqual(self.stdout.getvalue(),
                         'web: hot restarted (pid 1234 -> 1240 in 1.8s)\n'
                         'api: ERROR (new master failed to boot; pid 2001 still serving)\n')
        self.assertEqual(ctl.exitstatus, LSBInitExitStatuses.GENERIC)

    def test_hot_restart_success_leaves_exit_status_zero(self):
        ctl = self._makeOne(FakeUnicornAPI({'web': result('web', 1234, 1240, 1.8)}))
        ctl.onecmd('hot_restart web')
        self.assertEqual(ctl.exitstatus, LSBInitExitStatuses.SUCCESS)

    def test_help_hot_restart_prints_the_plugin_help(self):
        ctl = self._makeOne(FakeUnicornAPI())
        ctl.onecmd('help hot_restart')
        self.assertIn('hot_restart all', self.stdout.getvalue())

    def test_commands_are_in_the_vocabulary(self):
        ctl = self._makeOne(FakeUnicornAPI())
        self.assertIn('hot_restart', ctl.vocab)
        self.assertIn('hot_status', ctl.vocab)


if __name__ == '__main__':
    unittest.main()

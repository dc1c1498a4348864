"""The unicorn RPC namespace and its factory, on supervisor's test fakes.

Nothing here signals or reads a real process: the programs are DummyProcess
objects with pid 0 or a made-up pid, and every call below stops before
anything would be sent to a pid.
"""
import inspect
import io
import signal
import unittest
import xmlrpc.client
from unittest import mock

from supervisor import events
from supervisor.states import ProcessStates, SupervisorStates
from supervisor.tests.base import (DummyOptions, DummyPConfig, DummyPGroupConfig,
                                   DummySupervisor, PopulatedDummySupervisor)

PROGRAMS = '\nweb unicorn /srv/web/tmp/pids/unicorn.pid\n'
API_METHODS = ('getAPIVersion', 'hotRestart', 'getHotRestartInfo', 'getAllHotRestartInfo',
               'rollback')


def make_supervisord(options=None, state=None):
    """supervisord with [program:web] (configured below) and [program:worker] (not)."""
    options = options or DummyOptions()
    web = DummyPConfig(options, 'web', '/usr/bin/unicorn', stopsignal=signal.SIGQUIT)
    worker = DummyPConfig(options, 'worker', '/usr/bin/worker')
    supervisord = PopulatedDummySupervisor(options, 'web', web)
    other = PopulatedDummySupervisor(options, 'worker', worker)
    supervisord.process_groups.update(other.process_groups)
    if state is not None:
        return DummySupervisor(options, state=state,
                               process_groups=supervisord.process_groups)
    return supervisord


class RPCTestBase(unittest.TestCase):

    def setUp(self):
        events.clear()
        self.addCleanup(events.clear)

    def _getTargetClass(self):
        from supervisor_unicorn.rpcinterface import UnicornNamespaceRPCInterface
        return UnicornNamespaceRPCInterface

    def _makeOne(self, supervisord=None, **config):
        from supervisor_unicorn.rpcinterface import make_unicorn_rpcinterface
        if supervisord is None:
            supervisord = make_supervisord()
        self.supervisord = supervisord
        config.setdefault('programs', PROGRAMS)
        return make_unicorn_rpcinterface(supervisord, **config)

    def _callFactory(self, supervisord, **config):
        """Call the factory capturing stderr; return (exception, stderr text)."""
        from supervisor_unicorn.rpcinterface import make_unicorn_rpcinterface
        with mock.patch('sys.stderr', new_callable=io.StringIO) as stderr:
            try:
                make_unicorn_rpcinterface(supervisord, **config)
            except Exception as exc:
                return exc, stderr.getvalue()
        self.fail('the factory accepted %r' % (config,))

    def assertRPCError(self, code, callable, *args, **kw):
        from supervisor.xmlrpc import RPCError
        try:
            callable(*args, **kw)
        except RPCError as e:
            self.assertEqual(e.code, code)
            return e
        else:
            self.fail('RPCError was never raised')


class FactoryTests(RPCTestBase):

    def test_factory_returns_the_namespace(self):
        iface = self._makeOne()
        self.assertIsInstance(iface, self._getTargetClass())

    def _warnings(self, supervisord):
        return [m for m in supervisord.options.logger.data if 'hot_restart:' in m]

    def test_line_naming_a_missing_program_is_a_warning_naming_the_line(self):
        from supervisor_unicorn.common.faults import Faults
        supervisord = make_supervisord()
        iface = self._makeOne(supervisord, programs='\nweb unicorn /a.pid\nghost unicorn /b.pid\n')
        [line] = self._warnings(supervisord)
        self.assertIn("programs line 2 ('ghost unicorn /b.pid'): no program 'ghost'", line)
        self.assertIn('ignored', line)
        self.assertEqual(list(iface._core.programs), ['web'])
        e = self.assertRPCError(Faults.BAD_NAME, iface.hotRestart, 'ghost')
        self.assertIn('no such process: ghost', e.text)

    def test_line_naming_a_missing_process_of_an_existing_group_is_a_warning(self):
        supervisord = make_supervisord()
        self._makeOne(supervisord, programs='web:web_01 unicorn /b.pid')
        self.assertIn("no program 'web:web_01'", self._warnings(supervisord)[0])

    def test_malformed_config_is_written_to_stderr(self):
        from supervisor_unicorn.common.config import ConfigError
        exc, stderr = self._callFactory(make_supervisord(), programs='web puma /a.pid')
        self.assertIsInstance(exc, ConfigError)
        self.assertIn("unknown SERVER 'puma'", stderr)

    def test_malformed_config_at_a_reload_is_logged_not_raised(self):
        from supervisor_unicorn.common.faults import Faults
        options = DummyOptions()
        options.first = False
        supervisord = make_supervisord(options)
        iface = self._makeOne(supervisord, programs='web puma /a.pid')
        self.assertIn("unknown SERVER 'puma'", self._warnings(supervisord)[0])
        self.assertEqual(iface._core.programs, {})
        # the line's program is told why, not "not configured"
        e = self.assertRPCError(Faults.BAD_CONFIG, iface.hotRestart, 'web')
        self.assertEqual(e.text, "BAD_CONFIG: programs line 1 ('web puma /a.pid'): "
                                 "unknown SERVER 'puma' (expected one of: gunicorn, "
                                 "rainbows, unicorn, unicorn_rails)")

    def test_line_naming_an_eventlistener_is_a_warning(self):
        supervisord = make_supervisord()
        # internals.Glue tells pools apart by the config class name
        EventListenerPoolConfig = type('EventListenerPoolConfig', (DummyPGroupConfig,), {})
        supervisord.process_groups['worker'].config.__class__ = EventListenerPoolConfig
        self._makeOne(supervisord, programs='worker unicorn /a.pid')
        self.assertIn('eventlistener', self._warnings(supervisord)[0])

    def test_program_removed_by_update_gives_bad_name(self):
        from supervisor_unicorn.common.faults import Faults
        supervisord = make_supervisord()
        iface = self._makeOne(supervisord)
        del supervisord.process_groups['web']         # `supervisorctl update`
        e = self.assertRPCError(Faults.BAD_NAME, iface.hotRestart, 'web')
        self.assertIn('no such process: web', e.text)
        self.assertEqual(iface.getAllHotRestartInfo(), [])

    def test_failed_factory_installs_nothing(self):
        options = DummyOptions()
        supervisord = make_supervisord(options)
        waitpid, kill = options.waitpid, options.kill
        self._callFactory(supervisord, programs='web puma /b.pid')
        self.assertEqual((options.waitpid, options.kill), (waitpid, kill))
        self.assertIsNone(getattr(supervisord, '_supervisor_unicorn_core', None))
        self.assertEqual(events.callbacks, [])

    def test_supervisord_without_the_needed_internals_is_refused(self):
        from supervisor_unicorn.supervisord.internals import InternalsError
        options = DummyOptions()
        del options.pidhistory
        exc, stderr = self._callFactory(make_supervisord(options), programs=PROGRAMS)
        self.assertIsInstance(exc, InternalsError)
        self.assertIn('pidhistory', stderr)

    def test_factory_called_twice_for_one_supervisord_shares_one_core(self):
        supervisord = make_supervisord()
        first = self._makeOne(supervisord)
        second = self._makeOne(supervisord)
        self.assertIsNot(first, second)
        self.assertIs(first._core, second._core)

    def test_factory_called_twice_wraps_waitpid_and_kill_only_once(self):
        options = DummyOptions()
        original_waitpid = options.waitpid
        original_kill = options.kill
        supervisord = make_supervisord(options)
        first = self._makeOne(supervisord)
        wrapped_waitpid, wrapped_kill = options.waitpid, options.kill
        self.assertNotEqual(wrapped_waitpid, original_waitpid)
        self._makeOne(supervisord)
        self.assertEqual((options.waitpid, options.kill), (wrapped_waitpid, wrapped_kill))
        glue = first._core.glue
        self.assertEqual(glue._orig_waitpid, original_waitpid)
        self.assertEqual(glue._orig_kill, original_kill)

    def test_factory_called_twice_subscribes_to_events_only_once(self):
        supervisord = make_supervisord()
        self._makeOne(supervisord)
        subscribed = list(events.callbacks)
        self.assertEqual(len(subscribed), 4)
        self._makeOne(supervisord)
        self.assertEqual(events.callbacks, subscribed)

    def test_new_supervisor_after_a_reload_gets_a_new_core(self):
        first = self._makeOne(make_supervisord())
        second = self._makeOne(make_supervisord())
        self.assertIsNot(first._core, second._core)

    def test_wrapped_waitpid_hands_unknown_pids_to_supervisord(self):
        options = DummyOptions()
        self._makeOne(make_supervisord(options))
        options.waitpid_return = (4321, 0)
        self.assertEqual(options.waitpid(), (4321, 0))
        options.waitpid_return = (None, None)
        self.assertEqual(options.waitpid(), (None, None))

    def test_wrapped_kill_signals_unknown_pids_unchanged(self):
        options = DummyOptions()
        self._makeOne(make_supervisord(options))
        options.kill(4321, signal.SIGTERM)
        options.kill(-4322, signal.SIGKILL)
        self.assertEqual(options.kills, {4321: signal.SIGTERM, -4322: signal.SIGKILL})


class UpdaterTests(RPCTestBase):

    def _makeShuttingDown(self):
        return self._makeOne(make_supervisord(state=SupervisorStates.SHUTDOWN))

    def test_update_records_the_method_name(self):
        iface = self._makeOne()
        iface.getAPIVersion()
        self.assertEqual(iface.update_text, 'getAPIVersion')
        iface.getAllHotRestartInfo()
        self.assertEqual(iface.update_text, 'getAllHotRestartInfo')

    def test_getAPIVersion_raises_shutdown_state_when_shutting_down(self):
        from supervisor_unicorn.common.faults import Faults
        self.assertRPCError(Faults.SHUTDOWN_STATE, self._makeShuttingDown().getAPIVersion)

    def test_hotRestart_raises_shutdown_state_when_shutting_down(self):
        from supervisor_unicorn.common.faults import Faults
        iface = self._makeShuttingDown()
        self.assertRPCError(Faults.SHUTDOWN_STATE, iface.hotRestart, 'web')
        self.assertRPCError(Faults.SHUTDOWN_STATE, iface.hotRestart, 'web', False)

    def test_getHotRestartInfo_raises_shutdown_state_when_shutting_down(self):
        from supervisor_unicorn.common.faults import Faults
        self.assertRPCError(Faults.SHUTDOWN_STATE,
                            self._makeShuttingDown().getHotRestartInfo, 'web')

    def test_getAllHotRestartInfo_raises_shutdown_state_when_shutting_down(self):
        from supervisor_unicorn.common.faults import Faults
        self.assertRPCError(Faults.SHUTDOWN_STATE,
                            self._makeShuttingDown().getAllHotRestartInfo)

    def test_every_api_method_raises_shutdown_state_while_restarting(self):
        from supervisor_unicorn.common.faults import Faults
        iface = self._makeOne(make_supervisord(state=SupervisorStates.RESTARTING))
        for method, args in (('getAPIVersion', ()), ('hotRestart', ('web',)),
                             ('getHotRestartInfo', ('web',)),
                             ('getAllHotRestartInfo', ())):
            e = self.assertRPCError(Faults.SHUTDOWN_STATE, getattr(iface, method), *args)
            self.assertEqual(e.text, 'SHUTDOWN_STATE')
            self.assertEqual(iface.update_text, method)


class GetAPIVersionTests(RPCTestBase):

    def test_returns_the_api_version_string(self):
        from supervisor_unicorn.rpcinterface import API_VERSION
        version = self._makeOne().getAPIVersion()
        self.assertEqual(version, API_VERSION)
        self.assertIsInstance(version, str)


class GetHotRestartInfoTests(RPCTestBase):
    KEYS = {'name', 'server', 'pidfile', 'pid', 'phase', 'last_result',
            'last_seconds', 'restarts'}

    def test_unknown_name_raises_bad_name(self):
        from supervisor_unicorn.common.faults import Faults
        e = self.assertRPCError(Faults.BAD_NAME, self._makeOne().getHotRestartInfo, 'ghost')
        self.assertIn('no such process: ghost', e.text)

    def test_unconfigured_program_raises_bad_name_saying_how_to_configure_it(self):
        from supervisor_unicorn.common.faults import Faults
        e = self.assertRPCError(Faults.BAD_NAME, self._makeOne().getHotRestartInfo,
                                'worker')
        self.assertIn('worker is not configured for hot restart', e.text)
        self.assertIn('[rpcinterface:unicorn]', e.text)

    def test_non_string_name_raises_bad_name(self):
        from supervisor_unicorn.common.faults import Faults
        self.assertRPCError(Faults.BAD_NAME, self._makeOne().getHotRestartInfo, 42)

    def test_empty_name_raises_bad_name(self):
        from supervisor_unicorn.common.faults import Faults
        self.assertRPCError(Faults.BAD_NAME, self._makeOne().getHotRestartInfo, '')

    def test_idle_program_info(self):
        iface = self._makeOne()
        self.supervisord.set_procattr('web', 'pid', 1234)
        info = iface.getHotRestartInfo('web')
        self.assertTrue(self.KEYS <= set(info), set(info))
        self.assertEqual(info['name'], 'web')
        self.assertEqual(info['server'], 'unicorn')
        self.assertEqual(info['pidfile'], '/srv/web/tmp/pids/unicorn.pid')
        self.assertEqual(info['pid'], 1234)
        self.assertEqual(info['phase'], 'idle')
        self.assertEqual(info['last_result'], '')
        self.assertEqual(info['last_seconds'], 0.0)
        self.assertEqual(info['restarts'], 0)

    def test_info_has_exactly_the_shared_field_names(self):
        # the listener's test doubles are checked against the same constant
        from supervisor_unicorn.common.info_fields import INFO_FIELDS
        info = self._makeOne().getHotRestartInfo('web')
        self.assertEqual(set(info), INFO_FIELDS)


class GetAllHotRestartInfoTests(RPCTestBase):

    def test_one_struct_per_configured_program_in_config_order(self):
        options = DummyOptions()
        supervisord = make_supervisord(options)
        api = DummyPConfig(options, 'api', '/usr/bin/gunicorn')
        supervisord.process_groups.update(
            PopulatedDummySupervisor(options, 'api', api).process_groups)
        iface = self._makeOne(supervisord, programs='\napi gunicorn /a.pid\n'
                                                    'web unicorn /w.pid boot_timeout=5\n')
        infos = iface.getAllHotRestartInfo()
        self.assertEqual([i['name'] for i in infos], ['api', 'web'])
        self.assertEqual([i['server'] for i in infos], ['gunicorn', 'unicorn'])

    def test_struct_has_the_interface_keys_and_an_idle_phase(self):
        infos = self._makeOne().getAllHotRestartInfo()
        self.assertEqual(len(infos), 1)
        info = infos[0]
        self.assertTrue(GetHotRestartInfoTests.KEYS <= set(info), set(info))
        self.assertEqual((info['name'], info['server'], info['pidfile'], info['pid'],
                          info['phase'], info['last_result'], info['last_seconds'],
                          info['restarts']),
                         ('web', 'unicorn', '/srv/web/tmp/pids/unicorn.pid', 0,
                          'idle', '', 0.0, 0))

    def test_result_can_be_marshalled_over_xml_rpc(self):
        # no None anywhere: supervisord's marshaller does not allow it
        infos = self._makeOne().getAllHotRestartInfo()
        body = xmlrpc.client.dumps((infos,), methodresponse=True)
        (loaded,), _ = xmlrpc.client.loads(body)
        self.assertEqual(loaded, infos)


class HotRestartTests(RPCTestBase):

    def test_unknown_name_raises_bad_name(self):
        from supervisor_unicorn.common.faults import Faults
        self.assertRPCError(Faults.BAD_NAME, self._makeOne().hotRestart, 'ghost')

    def test_unconfigured_program_raises_bad_name(self):
        from supervisor_unicorn.common.faults import Faults
        self.assertRPCError(Faults.BAD_NAME, self._makeOne().hotRestart, 'worker')

    def test_stopped_program_raises_not_running(self):
        from supervisor_unicorn.common.faults import Faults
        iface = self._makeOne()
        self.supervisord.set_procattr('web', 'state', ProcessStates.STOPPED)
        e = self.assertRPCError(Faults.NOT_RUNNING, iface.hotRestart, 'web')
        self.assertEqual(e.text, 'NOT_RUNNING: web is not running (state STOPPED); '
                                 'nothing to hot restart')

    def test_stopped_program_raises_not_running_without_waiting(self):
        from supervisor_unicorn.common.faults import Faults
        iface = self._makeOne()
        self.supervisord.set_procattr('web', 'state', ProcessStates.STOPPED)
        self.assertRPCError(Faults.NOT_RUNNING, iface.hotRestart, 'web', False)

    def test_starting_program_raises_not_running(self):
        from supervisor_unicorn.common.faults import Faults
        iface = self._makeOne()
        self.supervisord.set_procattr('web', 'state', ProcessStates.STARTING)
        self.supervisord.set_procattr('web', 'pid', 4242)
        e = self.assertRPCError(Faults.NOT_RUNNING, iface.hotRestart, 'web')
        self.assertIn('STARTING', e.text)

    def test_running_program_without_subreaper_raises_unsupported_naming_the_server(self):
        # the subreaper flag is only set by SupervisorRunningEvent, never here
        from supervisor_unicorn.common.faults import Faults
        iface = self._makeOne()
        self.supervisord.set_procattr('web', 'pid', 4242)
        e = self.assertRPCError(Faults.UNSUPPORTED, iface.hotRestart, 'web')
        self.assertIn('pid 4242 still serving', e.text)
        self.assertTrue(e.text.startswith('UNSUPPORTED: '))
        self.assertEqual(iface.getHotRestartInfo('web')['phase'], 'idle')


class DocstringTests(RPCTestBase):
    """system.listMethods / methodSignature / methodHelp read our docstrings."""

    def _makeSystem(self):
        from supervisor.xmlrpc import SystemNamespaceRPCInterface
        return SystemNamespaceRPCInterface([('unicorn', self._makeOne())])

    def test_list_methods_publishes_exactly_the_api_methods(self):
        names = [m for m in self._makeSystem().listMethods() if m.startswith('unicorn.')]
        self.assertEqual(sorted(names), sorted('unicorn.' + m for m in API_METHODS))

    def test_method_signatures(self):
        system = self._makeSystem()
        self.assertEqual(system.methodSignature('unicorn.getAPIVersion'), ['string'])
        self.assertEqual(system.methodSignature('unicorn.hotRestart'),
                         ['struct', 'string', 'boolean'])
        self.assertEqual(system.methodSignature('unicorn.getHotRestartInfo'),
                         ['struct', 'string'])
        self.assertEqual(system.methodSignature('unicorn.getAllHotRestartInfo'),
                         ['array'])

    def test_every_api_method_documents_each_parameter_and_a_return(self):
        from supervisor.xmlrpc import gettags
        cls = self._getTargetClass()
        for name in API_METHODS:
            func = cls.__dict__[name]
            tags = gettags(func.__doc__)
            params = [t[3] for t in tags if t[1] == 'param']
            returns = [t for t in tags if t[1] == 'return']
            self.assertEqual(len(returns), 1, name)
            args = list(inspect.signature(func).parameters)[1:]
            self.assertEqual(params, args, name)

    def test_method_help_returns_the_docstring(self):
        text = self._makeSystem().methodHelp('unicorn.hotRestart')
        self.assertIn('@param string name', text)


if __name__ == '__main__':
    unittest.main()

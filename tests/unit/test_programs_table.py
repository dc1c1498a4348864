"""Programs follow supervisord's config lifecycle, on
supervisor's test fakes: `reread` is a new ``options.rpcinterface_factories``
(what reloadConfig leaves), `update` adds or removes process groups."""
import signal
import types
import unittest

from supervisor import events
from supervisor.tests.base import (DummyOptions, DummyPConfig,
                                   PopulatedDummySupervisor)

WEB = 'web unicorn /srv/web/unicorn.pid'
API = 'api gunicorn /srv/api/gunicorn.pid'


def group(supervisord, name):
    """`update` adding [program:name]: a new group object, as add_process_group makes."""
    options = supervisord.options
    other = PopulatedDummySupervisor(
        options, name, DummyPConfig(options, name, '/usr/bin/' + name,
                                    stopsignal=signal.SIGQUIT))
    supervisord.process_groups[name] = other.process_groups[name]


class ProgramsTableTests(unittest.TestCase):

    def setUp(self):
        events.clear()
        self.addCleanup(events.clear)

    def _makeOne(self, *lines, namespace='unicorn', first=True, **settings):
        from supervisor_unicorn.rpcinterface import make_unicorn_rpcinterface
        self.factory = make_unicorn_rpcinterface
        self.namespace = namespace
        options = DummyOptions()
        options.first = first
        self.supervisord = PopulatedDummySupervisor(
            options, 'web', DummyPConfig(options, 'web', '/usr/bin/unicorn',
                                         stopsignal=signal.SIGQUIT))
        group(self.supervisord, 'worker')
        settings['programs'] = '\n' + '\n'.join(lines)
        self.reread(**settings)
        self.iface = make_unicorn_rpcinterface(self.supervisord, **settings)
        self.core = self.iface._core
        return self.iface

    def reread(self, *lines, **settings):
        """What reloadConfig leaves: new entries in configroot.supervisord, a
        new dict for every section (options.rpcinterface_factories is
        realize()'s: start and reload only)."""
        if lines:
            settings['programs'] = '\n' + '\n'.join(lines)
        entries = [('supervisor', object, {}), (self.namespace, self.factory, dict(settings))]
        options = self.supervisord.options
        options.configroot = types.SimpleNamespace(
            supervisord=types.SimpleNamespace(rpcinterface_factories=entries))
        if not hasattr(options, 'rpcinterface_factories'):
            options.rpcinterface_factories = entries       # realize()

    def logged(self, fragment):
        return [m for m in self.supervisord.options.logger.data if fragment in m]

    def assertFault(self, code, func, *args):
        from supervisor.xmlrpc import RPCError
        with self.assertRaises(RPCError) as e:
            func(*args)
        self.assertEqual(e.exception.code, code)
        return e.exception.text

    def names(self):
        return [info['name'] for info in self.iface.getAllHotRestartInfo()]

    # --- reread + update -----------------------------------------------------

    def test_program_added_by_reread_and_update_is_hot_restartable_at_once(self):
        self._makeOne(WEB)
        self.reread(WEB, API)
        group(self.supervisord, 'api')
        info = self.iface.getHotRestartInfo('api')
        self.assertEqual((info['server'], info['pidfile']), ('gunicorn', '/srv/api/gunicorn.pid'))
        self.assertEqual(self.names(), ['web', 'api'])
        self.assertEqual(len(self.logged("api: hot-restartable (programs line 2")), 1)

    def test_line_read_before_update_adds_the_program_is_a_warning_then_works(self):
        from supervisor_unicorn.common.faults import Faults
        self._makeOne(WEB)
        self.reread(WEB, API)                      # reread: no [program:api] yet
        text = self.assertFault(Faults.BAD_NAME, self.iface.hotRestart, 'api')
        self.assertIn('no such process: api', text)
        self.assertEqual(len(self.logged("no program 'api'")), 1)
        group(self.supervisord, 'api')             # update
        self.assertEqual(self.names(), ['web', 'api'])

    def test_the_periodic_poll_reads_the_change_without_any_api_call(self):
        self._makeOne(WEB)
        self.reread(WEB, API)
        group(self.supervisord, 'api')
        self.core.poll(force=True)
        self.assertEqual(list(self.core.programs), ['web', 'api'])

    def test_program_removed_by_update_is_forgotten(self):
        from supervisor_unicorn.common.faults import Faults
        self._makeOne(WEB, 'worker unicorn /w.pid')
        self.reread(WEB)
        del self.supervisord.process_groups['worker']
        self.assertEqual(self.names(), ['web'])
        self.assertNotIn('worker', self.core.programs)
        text = self.assertFault(Faults.BAD_NAME, self.iface.hotRestart, 'worker')
        self.assertIn('no such process: worker', text)
        self.assertEqual(len(self.logged('worker: no longer configured for hot restart')), 1)

    def test_program_whose_group_is_removed_but_line_kept_is_forgotten(self):
        self._makeOne(WEB, 'worker unicorn /w.pid')
        del self.supervisord.process_groups['worker']
        self.iface.getAllHotRestartInfo()
        self.assertEqual(list(self.core.programs), ['web'])
        self.assertEqual(len(self.logged("no program 'worker'")), 1)

    def test_unchanged_programs_keep_their_program_object_and_state(self):
        self._makeOne(WEB, 'worker unicorn /w.pid')
        web = self.core.programs['web']
        web.restarts = 3
        self.reread('worker unicorn /w.pid', WEB, API)   # web moved to line 2
        group(self.supervisord, 'api')
        self.iface.getAllHotRestartInfo()
        self.assertIs(self.core.programs['web'], web)
        self.assertEqual(self.iface.getHotRestartInfo('web')['restarts'], 3)
        self.assertIn('line 2', web.spec.source)

    def test_the_shared_programs_dict_is_changed_in_place(self):
        self._makeOne(WEB)
        programs = self.core.programs
        self.reread(WEB, API)
        group(self.supervisord, 'api')
        self.iface.getAllHotRestartInfo()
        self.assertIs(self.core.programs, programs)
        self.assertIs(self.core.leftovers.programs, programs)
        self.assertIn('api', self.core.daemons.programs)

    def test_changed_line_changes_the_spec_of_the_same_program(self):
        self._makeOne(WEB)
        web = self.core.programs['web']
        web.pidfile_seen['/srv/web/unicorn.pid'] = 'sig'
        self.reread('web unicorn /srv/web2/unicorn.pid boot_timeout=9')
        info = self.iface.getHotRestartInfo('web')
        self.assertIs(self.core.programs['web'], web)
        self.assertEqual((info['pidfile'], info['boot_timeout']), ('/srv/web2/unicorn.pid', 9.0))
        self.assertEqual(web.pidfile_seen, {})

    def test_a_hot_restart_in_progress_keeps_its_spec_until_it_ends(self):
        from supervisor_unicorn.supervisord.handover import Handover
        self._makeOne(WEB)
        web = self.core.programs['web']
        web.handover = Handover.begin('web', 10, 0.0, 60.0, retire_timeout=10)
        self.reread('web gunicorn /srv/web/gunicorn.pid')
        self.iface.getAllHotRestartInfo()
        self.assertEqual(web.spec.server, 'unicorn')
        web.handover = None
        self.iface.getAllHotRestartInfo()
        self.assertIs(self.core.programs['web'], web)
        self.assertEqual(web.spec.server, 'gunicorn')

    def test_a_program_with_a_hot_restart_in_progress_is_forgotten_only_after_it(self):
        from supervisor_unicorn.supervisord.handover import Handover
        self._makeOne(WEB, 'worker unicorn /w.pid')
        worker = self.core.programs['worker']
        worker.handover = Handover.begin('worker', 10, 0.0, 60.0, retire_timeout=10)
        self.reread(WEB)
        self.core.poll(force=True)
        self.assertIs(self.core.programs['worker'], worker)
        worker.handover = None
        self.core.poll(force=True)
        self.assertNotIn('worker', self.core.programs)

    def test_an_unchanged_reread_parses_nothing_and_logs_nothing(self):
        self._makeOne(WEB)
        before = list(self.supervisord.options.logger.data)
        for _ in range(3):
            self.reread(WEB)                        # a new dict, same settings
            self.iface.getAllHotRestartInfo()
        self.assertEqual(self.supervisord.options.logger.data, before)

    def test_another_namespace_name_is_followed_too(self):
        self._makeOne(WEB, namespace='hot')
        self.reread(WEB, API)
        group(self.supervisord, 'api')
        self.assertEqual(self.names(), ['web', 'api'])

    def test_a_section_gone_from_the_file_leaves_the_programs_as_they_are(self):
        self._makeOne(WEB)
        self.iface.getAllHotRestartInfo()
        self.supervisord.options.configroot.supervisord.rpcinterface_factories = []
        self.assertEqual(self.names(), ['web'])
        self.assertEqual(self.names(), ['web'])
        self.assertEqual(len(self.logged('is gone from the configuration')), 1)

    # --- bad lines -----------------------------------------------------------

    def test_bad_line_at_a_reload_leaves_the_good_lines_working(self):
        from supervisor_unicorn.common.faults import Faults
        self._makeOne(WEB, 'worker unicron /w.pid', first=False)
        self.assertEqual(self.names(), ['web'])
        expected = ("BAD_CONFIG: programs line 2 ('worker unicron /w.pid'): unknown "
                    "SERVER 'unicron' (expected one of: gunicorn, rainbows, unicorn, "
                    "unicorn_rails)")
        self.assertEqual(self.assertFault(Faults.BAD_CONFIG, self.iface.hotRestart,
                                          'worker'), expected)
        self.assertEqual(self.assertFault(Faults.BAD_CONFIG, self.iface.getHotRestartInfo,
                                          'worker'), expected)
        [line] = self.logged('unicron')
        self.assertIn('hot restart is off for worker until that is fixed', line)

    def test_bad_line_at_the_first_start_still_stops_supervisord(self):
        from supervisor_unicorn.common.config import ConfigError
        with self.assertRaises(ConfigError):
            self._makeOne(WEB, 'worker unicron /w.pid')

    def test_bad_line_brought_by_reread_costs_only_its_program_and_is_logged_once(self):
        from supervisor_unicorn.common.faults import Faults
        self._makeOne(WEB, 'worker unicorn /w.pid')
        worker = self.core.programs['worker']
        self.reread(WEB, 'worker unicorn /w.pid boot_timeout=soon')
        for _ in range(3):
            self.assertEqual(self.names(), ['web'])
            text = self.assertFault(Faults.BAD_CONFIG, self.iface.hotRestart, 'worker')
            self.core.poll(force=True)
        self.assertIn("programs line 2 ('worker unicorn /w.pid boot_timeout=soon'): "
                      "boot_timeout must be a number of seconds, not 'soon'", text)
        self.assertEqual(len(self.logged("not 'soon'")), 1)
        self.reread(WEB, 'worker unicorn /w.pid')         # fixed
        self.assertEqual(self.names(), ['web', 'worker'])
        self.assertIsNot(self.core.programs['worker'], worker)   # it was forgotten

    def test_bad_line_naming_group_and_process_is_found_by_either_spelling(self):
        from supervisor_unicorn.common.faults import Faults
        self._makeOne(WEB, 'worker:worker nginx /w.pid', first=False)
        self.assertFault(Faults.BAD_CONFIG, self.iface.hotRestart, 'worker')

    def test_bad_section_setting_at_a_reload_names_itself_for_every_program(self):
        from supervisor_unicorn.common.faults import Faults
        self._makeOne(WEB, first=False, boot_timout='5')
        text = self.assertFault(Faults.BAD_CONFIG, self.iface.hotRestart, 'web')
        self.assertIn("unknown setting 'boot_timout'", text)
        self.assertEqual(self.names(), [])

    def test_a_name_on_no_line_stays_bad_name(self):
        from supervisor_unicorn.common.faults import Faults
        self._makeOne(WEB, 'worker unicron /w.pid', first=False)
        text = self.assertFault(Faults.BAD_NAME, self.iface.hotRestart, 'nope')
        self.assertIn('no such process: nope', text)


if __name__ == '__main__':
    unittest.main()

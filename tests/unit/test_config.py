"""parse_config: the [rpcinterface:unicorn] section, strings in, specs out."""
import unittest

# what supervisor hands the factory for a multi-line value: the text after
# "programs =" starts with a newline, inline comments are already gone
PROGRAMS = """
web   unicorn   /home/app/appname/tmp/pids/unicorn.pid

api   gunicorn  /srv/api/run/gunicorn.pid   boot_timeout=120
"""


class ParseConfigTests(unittest.TestCase):

    def _callFUT(self, **config):
        from supervisor_unicorn.common.config import parse_config
        return parse_config(config)

    def _getErrorClass(self):
        from supervisor_unicorn.common.config import ConfigError
        return ConfigError

    def assertConfigError(self, *fragments, **config):
        with self.assertRaises(self._getErrorClass()) as cm:
            self._callFUT(**config)
        text = str(cm.exception)
        for fragment in fragments:
            self.assertIn(fragment, text)
        return text

    def assertLineError(self, line, *fragments):
        """A one-line `programs` value fails with a text that quotes the line."""
        return self.assertConfigError('programs line 1', repr(line), *fragments,
                                      programs='\n' + line + '\n')

    # Good input

    def test_multi_line_programs_with_leading_newline_and_blank_lines_give_one_spec_per_line(self):
        specs = self._callFUT(programs=PROGRAMS)
        self.assertEqual([s.name for s in specs], ['web', 'api'])
        self.assertEqual([s.server for s in specs], ['unicorn', 'gunicorn'])
        self.assertEqual([s.pidfile for s in specs],
                         ['/home/app/appname/tmp/pids/unicorn.pid',
                          '/srv/api/run/gunicorn.pid'])

    def test_boot_timeout_defaults_to_sixty_seconds(self):
        from supervisor_unicorn.common.config import DEFAULT_BOOT_TIMEOUT
        specs = self._callFUT(programs=PROGRAMS)
        self.assertEqual(DEFAULT_BOOT_TIMEOUT, 60.0)
        self.assertEqual(specs[0].boot_timeout, 60.0)

    def test_per_line_boot_timeout_overrides_the_default(self):
        specs = self._callFUT(programs=PROGRAMS)
        self.assertEqual(specs[1].boot_timeout, 120.0)

    def test_section_boot_timeout_is_the_default_of_lines_without_one(self):
        specs = self._callFUT(programs=PROGRAMS, boot_timeout=' 30 ')
        self.assertEqual([s.boot_timeout for s in specs], [30.0, 120.0])

    def test_fractional_boot_timeout_is_accepted(self):
        specs = self._callFUT(programs='web unicorn /x.pid boot_timeout=0.5')
        self.assertEqual(specs[0].boot_timeout, 0.5)

    def test_overlap_defaults_to_zero(self):
        specs = self._callFUT(programs=PROGRAMS)
        self.assertEqual([s.overlap for s in specs], [0.0, 0.0])

    def test_per_line_overlap_and_section_default(self):
        specs = self._callFUT(programs=PROGRAMS.replace('120', '120 overlap=2.5'),
                              overlap='10')
        self.assertEqual([s.overlap for s in specs], [10.0, 2.5])

    def test_zero_overlap_is_accepted_even_over_a_section_default(self):
        specs = self._callFUT(programs='web unicorn /x.pid overlap=0', overlap='5')
        self.assertEqual(specs[0].overlap, 0.0)

    def test_standby_defaults_to_zero_and_takes_a_line_value_or_section_default(self):
        self.assertEqual([s.standby for s in self._callFUT(programs=PROGRAMS)], [0.0, 0.0])
        specs = self._callFUT(programs=PROGRAMS.replace('120', '120 standby=0'),
                              standby='60')
        self.assertEqual([s.standby for s in specs], [60.0, 0.0])

    def test_negative_standby_is_rejected_naming_it(self):
        self.assertLineError('web unicorn /x.pid standby=-5', 'standby', '0 or more',
                             "'-5'")

    def test_negative_overlap_is_rejected_naming_it(self):
        self.assertLineError('web unicorn /x.pid overlap=-1', 'overlap', '0 or more',
                             "'-1'")

    def test_non_number_overlap_is_rejected(self):
        self.assertLineError('web unicorn /x.pid overlap=soon', 'overlap', "'soon'")

    def test_bad_section_overlap_is_rejected(self):
        self.assertConfigError('overlap', 'less than a week', programs=PROGRAMS,
                               overlap='999999999')

    def test_single_line_value_without_newlines_is_accepted(self):
        specs = self._callFUT(programs='web unicorn /x.pid')
        self.assertEqual(len(specs), 1)
        self.assertEqual(specs[0].name, 'web')

    def test_comment_lines_are_skipped(self):
        specs = self._callFUT(programs='\n; old: web unicorn /a.pid\n'
                                       '# also old\nweb unicorn /x.pid\n')
        self.assertEqual([s.name for s in specs], ['web'])

    def test_tabs_and_runs_of_spaces_separate_words(self):
        specs = self._callFUT(programs='\n\tweb\t\tgunicorn \t /x.pid  boot_timeout=5\n')
        self.assertEqual((specs[0].name, specs[0].server, specs[0].pidfile,
                          specs[0].boot_timeout), ('web', 'gunicorn', '/x.pid', 5.0))

    def test_pidfile_is_normalized(self):
        specs = self._callFUT(programs='web unicorn /srv//web/./tmp/../unicorn.pid')
        self.assertEqual(specs[0].pidfile, '/srv/web/unicorn.pid')

    def test_group_and_process_name_are_split_from_a_group_name(self):
        specs = self._callFUT(programs='pool:web_01 unicorn /x.pid')
        self.assertEqual(specs[0].name, 'pool:web_01')
        self.assertEqual(specs[0].group_name, 'pool')
        self.assertEqual(specs[0].process_name, 'web_01')

    def test_group_and_process_name_of_a_plain_name_are_the_name(self):
        specs = self._callFUT(programs='web unicorn /x.pid')
        self.assertEqual((specs[0].group_name, specs[0].process_name), ('web', 'web'))

    def test_source_names_the_line_number_and_the_line(self):
        specs = self._callFUT(programs=PROGRAMS)
        self.assertIn('programs line 2', specs[1].source)
        self.assertIn('api   gunicorn  /srv/api/run/gunicorn.pid   boot_timeout=120',
                      specs[1].source)

    def test_specs_are_immutable(self):
        import dataclasses
        spec = self._callFUT(programs='web unicorn /x.pid')[0]
        with self.assertRaises(dataclasses.FrozenInstanceError):
            spec.name = 'api'

    # Errors that quote the line

    def test_config_error_is_a_value_error(self):
        self.assertTrue(issubclass(self._getErrorClass(), ValueError))

    def test_line_with_two_words_is_rejected_with_the_expected_shape(self):
        self.assertLineError('web unicorn', 'NAME SERVER PIDFILE')

    def test_line_with_one_word_is_rejected(self):
        self.assertLineError('web', 'NAME SERVER PIDFILE')

    def test_error_on_a_later_line_names_that_line(self):
        self.assertConfigError('programs line 2', "'api gunicorn'",
                               programs='\nweb unicorn /x.pid\n\napi gunicorn\n')

    def test_unknown_server_is_rejected_naming_it_and_the_known_ones(self):
        self.assertLineError('web puma /x.pid', "unknown SERVER 'puma'",
                             'gunicorn', 'unicorn')

    def test_unicorn_rails_and_rainbows_are_unicorn_protocol_servers(self):
        from supervisor_unicorn.common.servers import SERVERS
        specs = self._callFUT(programs='\nweb unicorn_rails /a.pid\nrb rainbows /b.pid\n')
        self.assertEqual([s.server for s in specs], ['unicorn_rails', 'rainbows'])
        for spec in specs:
            self.assertIs(SERVERS[spec.server], SERVERS['unicorn'])

    def test_unknown_server_error_lists_the_aliases_too(self):
        self.assertLineError('web Rainbows! /x.pid', "unknown SERVER 'Rainbows!'",
                             'gunicorn, rainbows, unicorn, unicorn_rails')

    def test_server_name_is_case_sensitive(self):
        self.assertLineError('web Unicorn /x.pid', "unknown SERVER 'Unicorn'")

    def test_relative_pidfile_is_rejected(self):
        self.assertLineError('web unicorn tmp/pids/unicorn.pid', 'absolute',
                             "'tmp/pids/unicorn.pid'")

    def test_unknown_option_is_rejected_naming_it(self):
        self.assertLineError('web unicorn /x.pid workers=4', "unknown option 'workers'",
                             'boot_timeout')

    def test_option_without_equals_sign_is_rejected(self):
        self.assertLineError('web unicorn /x.pid boot_timeout', 'OPTION=VALUE',
                             "'boot_timeout'")

    def test_option_without_value_is_rejected(self):
        self.assertLineError('web unicorn /x.pid boot_timeout=', 'OPTION=VALUE')

    def test_zero_boot_timeout_is_rejected(self):
        self.assertLineError('web unicorn /x.pid boot_timeout=0', 'boot_timeout',
                             'more than 0')

    def test_negative_boot_timeout_is_rejected(self):
        self.assertLineError('web unicorn /x.pid boot_timeout=-5', 'boot_timeout',
                             "'-5'")

    def test_non_number_boot_timeout_is_rejected(self):
        self.assertLineError('web unicorn /x.pid boot_timeout=soon',
                             'number of seconds', "'soon'")

    def test_nan_boot_timeout_is_rejected(self):
        self.assertLineError('web unicorn /x.pid boot_timeout=nan', 'boot_timeout')

    def test_infinite_boot_timeout_is_rejected(self):
        self.assertLineError('web unicorn /x.pid boot_timeout=inf', 'boot_timeout')

    def test_duplicate_name_is_rejected_naming_the_first_line(self):
        text = self.assertConfigError(
            'programs line 2', 'web is already configured on line 1',
            programs='\nweb unicorn /a.pid\nweb gunicorn /b.pid\n')
        self.assertIn("'web gunicorn /b.pid'", text)

    # supervisor's split_namespec() reads 'web' and 'web:web' as the same
    # process (options.py split_namespec), so these two lines configure one
    # process twice: two Program entries, two independent handovers.
    def test_same_process_spelled_as_name_and_group_colon_name_is_a_duplicate(self):
        self.assertConfigError('already configured',
                               programs='\nweb unicorn /a.pid\nweb:web unicorn /a.pid\n')

    def test_group_wildcard_as_name_is_rejected(self):
        self.assertLineError('pool:* unicorn /x.pid', 'NAME must name one process',
                             "'pool:*'")

    def test_name_with_two_colons_is_rejected(self):
        self.assertLineError('a:b:c unicorn /x.pid', 'NAME must name one process')

    def test_name_with_empty_group_is_rejected(self):
        self.assertLineError(':web unicorn /x.pid', 'NAME must name one process')

    def test_name_with_empty_process_is_rejected(self):
        self.assertLineError('pool: unicorn /x.pid', 'NAME must name one process')

    # Section-level errors

    def test_unknown_section_key_is_rejected_naming_it(self):
        self.assertConfigError("unknown setting 'boot_timout'", 'programs',
                               programs=PROGRAMS, boot_timout='5')

    def test_bad_section_boot_timeout_is_rejected(self):
        self.assertConfigError('boot_timeout', "'never'",
                               programs=PROGRAMS, boot_timeout='never')

    def test_empty_programs_is_rejected(self):
        self.assertConfigError('no "programs" lines', 'NAME SERVER PIDFILE',
                               programs='')

    def test_programs_of_blank_lines_only_is_rejected(self):
        self.assertConfigError('no "programs" lines', programs='\n   \n\t\n')

    def test_missing_programs_is_rejected(self):
        self.assertConfigError('no "programs" lines', boot_timeout='5')


class ParseSecondsTests(unittest.TestCase):

    def _callFUT(self, text, what='boot_timeout'):
        from supervisor_unicorn.common.config import parse_seconds
        return parse_seconds(text, what)

    def test_integer_text_gives_float_seconds(self):
        value = self._callFUT('45')
        self.assertEqual(value, 45.0)
        self.assertIsInstance(value, float)

    def test_a_week_or_more_is_rejected(self):
        from supervisor_unicorn.common.config import ConfigError
        self.assertRaises(ConfigError, self._callFUT, str(86400 * 7))

    def test_error_names_the_setting(self):
        from supervisor_unicorn.common.config import ConfigError
        with self.assertRaises(ConfigError) as cm:
            self._callFUT('x', what='retire_timeout')
        self.assertIn('retire_timeout', str(cm.exception))


class ParseLenientTests(unittest.TestCase):
    """parse_lenient: what a reload or a reread uses; a bad line costs only
    its own program."""

    def _callFUT(self, **config):
        from supervisor_unicorn.common.config import parse_lenient
        return parse_lenient(config)

    def test_good_lines_give_specs_and_no_problems(self):
        specs, problems = self._callFUT(programs=PROGRAMS)
        self.assertEqual([s.name for s in specs], ['web', 'api'])
        self.assertEqual(problems, [])

    def test_a_bad_line_is_a_problem_naming_its_program_and_the_others_are_specs(self):
        specs, problems = self._callFUT(programs='\nweb unicorn /a.pid\n'
                                                 'api unicron /b.pid\nadm gunicorn /c.pid\n')
        self.assertEqual([s.name for s in specs], ['web', 'adm'])
        [problem] = problems
        self.assertEqual(problem.name, 'api')
        self.assertEqual(problem.text, "programs line 2 ('api unicron /b.pid'): unknown "
                                       "SERVER 'unicron' (expected one of: gunicorn, "
                                       "rainbows, unicorn, unicorn_rails)")

    def test_every_bad_line_is_a_problem_in_line_order(self):
        specs, problems = self._callFUT(programs='\nweb unicorn\napi unicorn b.pid\n'
                                                 'adm unicorn /c.pid colour=blue\n')
        self.assertEqual(specs, [])
        self.assertEqual([p.name for p in problems], ['web', 'api', 'adm'])
        self.assertIn('programs line 1', problems[0].text)
        self.assertIn('expected NAME SERVER PIDFILE', problems[0].text)
        self.assertIn('PIDFILE must be an absolute path', problems[1].text)
        self.assertIn("unknown option 'colour'", problems[2].text)

    def test_problems_are_the_texts_the_strict_parse_raises(self):
        from supervisor_unicorn.common.config import ConfigError, parse_config
        for programs in ('\nweb nginx /x.pid\n', '\nweb unicorn /x.pid boot_timeout=0\n'):
            _, [problem] = self._callFUT(programs=programs)
            with self.assertRaises(ConfigError) as cm:
                parse_config({'programs': programs})
            self.assertEqual(str(cm.exception), problem.text)

    def test_a_name_on_two_lines_is_used_on_neither(self):
        specs, problems = self._callFUT(programs='\nweb unicorn /a.pid\n'
                                                 'api unicorn /b.pid\nweb:web gunicorn /c.pid\n')
        self.assertEqual([s.name for s in specs], ['api'])
        [problem] = problems
        self.assertEqual(problem.name, 'web:web')
        self.assertIn('programs line 3', problem.text)
        self.assertIn('already configured on line 1', problem.text)

    def test_a_bad_section_setting_is_a_problem_of_every_line(self):
        specs, problems = self._callFUT(programs=PROGRAMS, boot_timeout='soon')
        self.assertEqual(specs, [])
        self.assertEqual([p.name for p in problems], ['web', 'api'])
        self.assertTrue(all("boot_timeout must be a number of seconds, not 'soon'" == p.text
                            for p in problems))

    def test_an_unknown_section_setting_is_a_problem_of_every_line(self):
        _, problems = self._callFUT(programs=PROGRAMS, overlapp='1')
        self.assertEqual([p.name for p in problems], ['web', 'api'])
        self.assertIn("unknown setting 'overlapp'", problems[0].text)

    def test_no_lines_is_one_problem_of_no_program(self):
        specs, problems = self._callFUT(programs='\n  \n')
        self.assertEqual(specs, [])
        [problem] = problems
        self.assertIsNone(problem.name)
        self.assertIn('no "programs" lines', problem.text)

    def test_spec_key_makes_a_plain_name_its_own_group(self):
        from supervisor_unicorn.common.config import spec_key
        self.assertEqual(spec_key('web'), 'web:web')
        self.assertEqual(spec_key('web:web'), 'web:web')
        self.assertEqual(spec_key('grp:web'), 'grp:web')


if __name__ == '__main__':
    unittest.main()

"""Unit tests for supervisor_unicorn.listener.listener_options: the
listener's command line, its errors and its --help text.
"""

import contextlib
import io
import unittest

from listener_fakes import API, WEB


class ParseOptionsTests(unittest.TestCase):

    def parse(self, *argv):
        from supervisor_unicorn.listener.listener_options import parse_options
        return parse_options(list(argv))

    def assertOptionsError(self, fragment, *argv):
        from supervisor_unicorn.listener.listener_options import OptionsError
        with self.assertRaises(OptionsError) as cm:
            self.parse(*argv)
        self.assertIn(fragment, str(cm.exception))
        self.assertIn('usage: supervisor-unicorn-listener', cm.exception.usage)
        return str(cm.exception)

    def test_defaults_are_3_failures_2s_timeout_60s_backoff_60s_grace_unicorn_namespace(self):
        config = self.parse('--check', f'web={WEB}')
        self.assertEqual(config.checks, {'web': WEB})
        self.assertEqual(config.failures, 3)
        self.assertEqual(config.timeout, 2.0)
        self.assertEqual(config.backoff, 60.0)
        self.assertEqual(config.max_backoff, 960.0)
        self.assertEqual(config.grace, 60.0)
        self.assertEqual(config.namespace, 'unicorn')

    def test_check_is_repeatable_and_keeps_order_and_group_names(self):
        config = self.parse('--check', f'web={WEB}', '--check', f'grp:api={API}',
                            '--failures', '5', '--timeout', '0.5',
                            '--backoff', '10', '--max-backoff', '40',
                            '--namespace', 'hot')
        self.assertEqual(list(config.checks.items()), [('web', WEB), ('grp:api', API)])
        self.assertEqual((config.failures, config.timeout, config.backoff,
                          config.max_backoff, config.namespace),
                         (5, 0.5, 10.0, 40.0, 'hot'))

    def test_https_url_with_port_and_query_is_accepted(self):
        config = self.parse('--check', 'web=https://app.internal:8443/up?deep=1')
        self.assertEqual(config.checks['web'], 'https://app.internal:8443/up?deep=1')

    def test_check_is_required(self):
        self.assertOptionsError('--check')

    def test_check_without_equals_sign_is_rejected_naming_the_argument(self):
        message = self.assertOptionsError('is not NAME=URL', '--check', WEB)
        self.assertIn('argument --check', message)

    def test_check_with_empty_name_is_rejected(self):
        self.assertOptionsError('is not NAME=URL', '--check', f'={WEB}')

    def test_check_with_non_http_scheme_is_rejected_naming_the_argument(self):
        message = self.assertOptionsError('URL must be http:// or https://',
                                        '--check', 'web=ftp://127.0.0.1/ping')
        self.assertIn('argument --check', message)

    def test_check_with_url_without_host_is_rejected(self):
        self.assertOptionsError('with a host', '--check', 'web=http:///ping')

    def test_check_with_relative_url_is_rejected(self):
        self.assertOptionsError('with a host', '--check', 'web=/ping')

    def test_check_with_non_numeric_port_is_rejected(self):
        self.assertOptionsError('bad port', '--check', 'web=http://127.0.0.1:80x/')

    def test_check_naming_a_program_twice_is_rejected(self):
        self.assertOptionsError('web is given twice',
                              '--check', f'web={WEB}', '--check', f'web={API}')

    def test_failures_below_one_is_rejected(self):
        self.assertOptionsError('argument --failures', '--check', f'web={WEB}',
                              '--failures', '0')

    def test_failures_that_is_not_a_number_is_rejected(self):
        self.assertOptionsError("'many' is not a whole number", '--check', f'web={WEB}',
                              '--failures', 'many')

    def test_timeout_must_be_positive_and_finite(self):
        for bad in ('0', '-1', 'nan', 'inf', 'soon'):
            self.assertOptionsError('argument --timeout', '--check', f'web={WEB}',
                                  '--timeout', bad)

    def test_grace_accepts_0_and_fractions(self):
        for text, value in (('0', 0.0), ('2.5', 2.5), ('300', 300.0)):
            self.assertEqual(self.parse('--check', f'web={WEB}', '--grace', text).grace, value)

    def test_grace_must_be_finite_and_not_negative(self):
        for bad in ('-1', 'nan', 'inf', 'long'):
            self.assertOptionsError('argument --grace', '--check', f'web={WEB}',
                                  '--grace', bad)

    def test_max_backoff_below_backoff_is_rejected(self):
        self.assertOptionsError('argument --max-backoff', '--check', f'web={WEB}',
                              '--backoff', '120', '--max-backoff', '60')

    def test_abbreviated_options_are_not_accepted(self):
        self.assertOptionsError('unrecognized arguments', '--check', f'web={WEB}',
                              '--fail', '2')

    def test_help_documents_every_option_and_the_environment(self):
        out = io.StringIO()
        with contextlib.redirect_stdout(out), self.assertRaises(SystemExit) as cm:
            self.parse('--help')
        self.assertEqual(cm.exception.code, 0)
        text = out.getvalue()
        for word in ('--check NAME=URL', '--failures N', '--timeout SECONDS',
                     '--backoff SECONDS', '--max-backoff SECONDS', '--grace SECONDS',
                     '--namespace', 'wait=False', 'healthy again', 'still starting',
                     'SUPERVISOR_SERVER_URL', 'SUPERVISOR_USERNAME',
                     'SUPERVISOR_PASSWORD', 'events = PROCESS_STATE,TICK_5',
                     'stopProcess', 'exit status'):
            self.assertIn(word, text)


if __name__ == '__main__':
    unittest.main()

"""sandbox.Supervisord: the config it writes and what close() removes.  Running
supervisord is the integration tests' (tests/integration/conftest.py)."""
import configparser
import os
import tempfile
import unittest

from supervisor_unicorn.tools.sandbox import Supervisord


class SupervisordConfigTests(unittest.TestCase):

    def make_one(self, **kw):
        sd = Supervisord(**kw)
        self.addCleanup(sd.close)
        return sd

    def read_config(self, sd):
        sd.write_config()
        parser = configparser.RawConfigParser()
        parser.read(sd.conf)
        return parser

    def test_the_plugin_its_programs_and_the_ctlplugin_are_configured(self):
        sd = self.make_one()
        app = sd.add_app('web', 'gunicorn')
        conf = self.read_config(sd)
        self.assertEqual(conf['unix_http_server']['file'], sd.socket)
        self.assertEqual(conf['rpcinterface:unicorn']['programs'].strip(),
                         app.programs_line().strip())
        self.assertIn('ctlplugin:unicorn', conf)
        self.assertIn('program:web', conf)
        self.assertNotIn('inet_http_server', conf)

    def test_without_the_plugin_only_supervisor_s_own_sections(self):
        sd = self.make_one(plugin=False, inet_port=9999)
        sd.add_app('web', 'unicorn')
        conf = self.read_config(sd)
        self.assertNotIn('rpcinterface:unicorn', conf)
        self.assertEqual(conf['inet_http_server']['port'], '127.0.0.1:9999')

    def test_the_socket_path_fits_af_unix(self):
        self.assertLess(len(self.make_one().socket), 107)

    def test_close_removes_its_directories_unless_asked_to_keep_them(self):
        for keep in (False, True):
            with self.subTest(keep=keep):
                sd = Supervisord(keep=keep)
                sd.write_config()
                sd.close()
                self.assertFalse(os.path.exists(sd.sockdir))
                self.assertEqual(os.path.exists(sd.conf), keep)
                if keep:
                    os.unlink(sd.conf)
                    os.rmdir(sd.root)

    def test_a_root_it_was_given_is_left_in_place(self):
        with tempfile.TemporaryDirectory() as root:
            sd = Supervisord(root=root)
            sd.write_config()
            sd.close()
            self.assertTrue(os.path.exists(sd.conf))
            self.assertFalse(os.path.exists(sd.sockdir))

if __name__ == '__main__':
    unittest.main()

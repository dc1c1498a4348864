"""supervisor-unicorn-demo: its options, and that --keep reaches the sandbox.
The demo itself runs for real in tests/integration (and `bash tests/run demo`)."""
import unittest
from unittest import mock

from supervisor_unicorn.tools import demo


class FakeSupervisord:
    """Records how it was made; fails at the first step, as a broken set-up would."""
    made = []

    def __init__(self, **kw):
        self.kw, self.closed = kw, False
        FakeSupervisord.made.append(self)

    def add_app(self, *args, **kw):
        raise RuntimeError('no servers here')

    def close(self):
        self.closed = True


class DemoTests(unittest.TestCase):

    def test_defaults(self):
        args = demo.parse_args([])
        self.assertEqual((args.server, args.rate, args.rollback, args.keep),
                         ('gunicorn', 300, False, False))

    def test_keep_is_passed_to_the_sandbox_not_through_the_environment(self):
        for argv, keep in (([], False), (['--keep'], True)):
            with self.subTest(argv=argv):
                FakeSupervisord.made = []
                with mock.patch.object(demo, 'Supervisord', FakeSupervisord), \
                        mock.patch.dict('os.environ', clear=False) as env, \
                        mock.patch('builtins.print'):
                    with self.assertRaises(RuntimeError):
                        demo.main(argv)
                    self.assertNotIn('SUPERVISOR_UNICORN_KEEP', env)
                [sd] = FakeSupervisord.made
                self.assertEqual(sd.kw, {'keep': keep})
                self.assertTrue(sd.closed)


if __name__ == '__main__':
    unittest.main()

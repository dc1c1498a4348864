"""Unit tests for supervisor_unicorn.listener.sidelined: the --check NAMEs
that cannot be hot restarted now, each reason said once."""

import unittest

BROKEN = "BAD_CONFIG: programs line 2 ('api unicron /x.pid'): unknown SERVER 'unicron'"


class SidelinedTests(unittest.TestCase):

    def makeOne(self):
        from supervisor_unicorn.listener.sidelined import Sidelined
        return Sidelined()

    def test_a_name_taken_off_is_said_once_with_its_reason(self):
        s = self.makeOne()
        line = s.off('api', BROKEN)
        self.assertEqual(line, f'api cannot be hot restarted now ({BROKEN}); not probing or'
                               ' healing it until that is fixed (then supervisorctl reread'
                               ' and update); watching the others')
        self.assertIn('api', s)
        self.assertIsNone(s.off('api', BROKEN))

    def test_a_new_reason_is_said_again(self):
        s = self.makeOne()
        s.off('api', BROKEN)
        self.assertIn('BAD_NAME: api', s.off('api', 'BAD_NAME: api'))

    def test_the_return_is_said_once_and_only_after_a_leave(self):
        s = self.makeOne()
        self.assertIsNone(s.back('api'))
        s.off('api', BROKEN)
        self.assertEqual(s.back('api'), 'api can be hot restarted again; watching it')
        self.assertNotIn('api', s)
        self.assertIsNone(s.back('api'))


if __name__ == '__main__':
    unittest.main()

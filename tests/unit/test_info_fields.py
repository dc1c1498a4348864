"""The getHotRestartInfo field names both ends of the RPC share."""
import ast
import unittest

from supervisor_unicorn.common import info_fields


class InfoFieldsTests(unittest.TestCase):

    def test_the_interfaces_fields_are_named(self):
        for name in ('name', 'phase', 'pid', 'last_result', 'failure', 'still_serving',
                     'workers', 'workers_ready', 'standby_left', 'rollback_cause'):
            self.assertIn(name, info_fields.INFO_FIELDS)

    def test_it_imports_nothing(self):
        # the listener imports it; it must not pull supervisor in
        with open(info_fields.__file__) as f:
            tree = ast.parse(f.read())
        self.assertEqual([n for n in ast.walk(tree)
                          if isinstance(n, (ast.Import, ast.ImportFrom))], [])


if __name__ == '__main__':
    unittest.main()

"""The Debian package's version is the Python version (native package)."""
import os
import re
import unittest

import supervisor_unicorn

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class DebianVersionTests(unittest.TestCase):

    def test_top_changelog_entry_is_the_python_version(self):
        with open(os.path.join(ROOT, 'debian', 'changelog')) as f:
            first = f.readline()
        m = re.match(r'^supervisor-unicorn \(([^)]+)\) ', first)
        self.assertTrue(m, first)
        # bump supervisor_unicorn.__version__ and `dch -v VERSION` together
        self.assertEqual(m.group(1), supervisor_unicorn.__version__)

    def test_source_format_is_native(self):
        with open(os.path.join(ROOT, 'debian', 'source', 'format')) as f:
            self.assertEqual(f.read().strip(), '3.0 (native)')

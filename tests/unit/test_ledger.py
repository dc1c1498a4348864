"""supervisord's own state file, on a real filesystem: what it writes, and
what it refuses to read back."""
import json
import os
import shutil
import stat
import tempfile
import time
import unittest

from supervisor_unicorn.supervisord import ledger
from supervisor_unicorn.supervisord.ledger import Entries, Ledger, Record
from supervisor_unicorn.supervisord.procs import ProcId

ME = ProcId(4242, 1234.5)
WEB = [Record(ProcId(100, 2000.25), 33), Record(ProcId(101, 2001.0), 33)]


class LedgerTestBase(unittest.TestCase):

    def setUp(self):
        self.dir = tempfile.mkdtemp()
        os.chmod(self.dir, 0o700)
        self.addCleanup(shutil.rmtree, self.dir)
        self.path = os.path.join(self.dir, 'supervisord.pid' + ledger.SUFFIX)

    def written(self, **doc):
        base = {'version': ledger.VERSION, 'boot_id': ledger.boot_id(),
                'supervisord': [ME.pid, ME.create_time], 'programs': {}}
        base.update(doc)
        with open(self.path, 'w') as f:
            json.dump(base, f)
        os.chmod(self.path, 0o600)


class WriteReadTests(LedgerTestBase):

    def test_what_is_written_is_read_back(self):
        self.assertTrue(Ledger(self.path).write(ME, {'web': WEB, 'idle': []}))
        entries, why = Ledger(self.path).read()
        self.assertEqual(why, '')
        self.assertEqual(entries, Entries(ME, {'web': WEB}))   # empty programs dropped

    def test_the_file_is_private_and_replaced_whole(self):
        Ledger(self.path).write(ME, {'web': WEB})
        self.assertEqual(stat.S_IMODE(os.stat(self.path).st_mode), 0o600)
        self.assertEqual(os.listdir(self.dir), [os.path.basename(self.path)])  # no tmp left

    def test_it_is_written_only_when_what_it_says_changes(self):
        book = Ledger(self.path)
        self.assertTrue(book.write(ME, {'web': WEB}))
        mtime = os.stat(self.path).st_mtime_ns
        self.assertFalse(book.write(ME, {'web': WEB}))
        self.assertEqual(os.stat(self.path).st_mtime_ns, mtime)
        self.assertTrue(book.write(ME, {'web': WEB[:1]}))

    def test_a_temporary_file_left_by_a_killed_supervisord_is_replaced(self):
        tmp = '%s.%d.tmp' % (self.path, os.getpid())
        with open(tmp, 'w') as f:
            f.write('half')
        self.assertTrue(Ledger(self.path).write(ME, {'web': WEB}))
        self.assertFalse(os.path.exists(tmp))

    def test_no_path_keeps_no_ledger(self):
        book = Ledger(None)
        self.assertFalse(book.write(ME, {'web': WEB}))
        self.assertEqual(book.read(), (None, 'missing'))

    def test_a_directory_others_may_write_is_refused_with_its_path(self):
        os.chmod(self.dir, 0o777)
        with self.assertRaises(PermissionError) as cm:
            Ledger(self.path).write(ME, {'web': WEB})
        self.assertIn(self.path, str(cm.exception))
        self.assertIn('others may write its directory', str(cm.exception))
        self.assertFalse(os.path.exists(self.path))


class UntrustedTests(LedgerTestBase):

    def test_missing(self):
        self.assertEqual(Ledger(self.path).read(), (None, 'missing'))

    def test_a_file_others_may_write_is_not_used(self):
        Ledger(self.path).write(ME, {'web': WEB})
        os.chmod(self.path, 0o666)
        entries, why = Ledger(self.path).read()
        self.assertIsNone(entries)
        self.assertEqual(why, 'not trusted: others may write it (mode 666)')

    def test_a_file_of_another_owner_is_not_used(self):
        Ledger(self.path).write(ME, {'web': WEB})
        entries, why = Ledger(self.path, euid=os.geteuid() + 1).read()
        self.assertIsNone(entries)
        self.assertIn('not trusted: it is owned by uid %d' % os.geteuid(), why)

    def test_a_symlink_is_not_followed(self):
        target = os.path.join(self.dir, 'elsewhere')
        Ledger(target).write(ME, {'web': WEB})
        os.symlink(target, self.path)
        entries, why = Ledger(self.path).read()
        self.assertIsNone(entries)
        self.assertTrue(why.startswith('unreadable ('), why)

    def test_a_fifo_never_blocks(self):
        os.mkfifo(self.path, 0o600)
        started = time.monotonic()
        entries, why = Ledger(self.path).read()
        self.assertLess(time.monotonic() - started, 2.0)
        self.assertIsNone(entries)
        self.assertEqual(why, 'not trusted: it is not a regular file')

    def test_a_huge_file_is_not_read(self):
        with open(self.path, 'wb') as f:
            f.truncate(ledger.MAX_SIZE + 1)
        os.chmod(self.path, 0o600)
        self.assertEqual(Ledger(self.path).read(),
                         (None, 'too large (%d bytes)' % (ledger.MAX_SIZE + 1)))


class ContentTests(LedgerTestBase):

    def test_a_ledger_from_before_a_reboot_records_nothing(self):
        self.written(boot_id='another-boot', programs={'web': [[100, 2000.25, 33]]})
        self.assertEqual(Ledger(self.path).read(), (Entries(None, {}), ''))

    def test_another_version_is_named(self):
        self.written(version=99)
        self.assertEqual(Ledger(self.path).read(), (None, 'written by another version (99)'))

    def test_malformed_content_is_named_by_its_kind(self):
        for raw, kind in ((b'{not json', 'JSONDecodeError'), (b'[]', 'AttributeError'),
                          (b'\xff\xfe', 'UnicodeDecodeError')):
            with self.subTest(kind=kind):
                self.assertEqual(ledger.parse(raw, 'b'), (None, 'malformed (%s)' % kind))
        doc = {'version': ledger.VERSION, 'boot_id': 'b', 'supervisord': [1, 2],
               'programs': {'web': [[100, 'x', 33]]}}
        self.assertEqual(ledger.parse(json.dumps(doc).encode(), 'b'),
                         (None, 'malformed (ValueError)'))


if __name__ == '__main__':
    unittest.main()

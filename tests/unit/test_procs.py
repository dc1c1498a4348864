"""Pidfiles and process identity: reads only, of this test process and temp files."""
import os
import shutil
import tempfile
import unittest


def _pid_max():
    with open('/proc/sys/kernel/pid_max') as f:
        return int(f.read())


class ReadPidfileTests(unittest.TestCase):

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix='su-procs-')
        self.addCleanup(shutil.rmtree, self.dir, True)

    def _callFUT(self, path):
        from supervisor_unicorn.procs import read_pidfile
        return read_pidfile(path)

    def _write(self, data, name='unicorn.pid'):
        path = os.path.join(self.dir, name)
        with open(path, 'wb') as f:
            f.write(data)
        return path

    def test_missing_file_is_missing(self):
        self.assertEqual(self._callFUT(os.path.join(self.dir, 'nope.pid')),
                         (None, 'missing'))

    def test_empty_file_is_empty(self):
        self.assertEqual(self._callFUT(self._write(b'')), (None, 'empty'))

    def test_whitespace_only_file_is_empty(self):
        self.assertEqual(self._callFUT(self._write(b' \n\n')), (None, 'empty'))

    def test_garbage_is_not_a_pid_and_is_never_quoted(self):
        pid, why = self._callFUT(self._write(b'hello\n'))
        self.assertEqual((pid, why), (None, 'not a pid'))

    def test_negative_number_is_not_a_pid(self):
        pid, why = self._callFUT(self._write(b'-42\n'))
        self.assertIsNone(pid)
        self.assertIn('not a pid', why)

    def test_two_numbers_are_not_a_pid(self):
        pid, why = self._callFUT(self._write(b'123 456\n'))
        self.assertIsNone(pid)
        self.assertTrue(why)

    def test_pid_one_is_refused(self):
        self.assertEqual(self._callFUT(self._write(b'1\n')), (None, 'names pid 1'))

    def test_pid_zero_is_refused(self):
        self.assertEqual(self._callFUT(self._write(b'0')), (None, 'names pid 0'))

    def test_huge_number_is_not_a_pid(self):
        pid, why = self._callFUT(self._write(b'123456789012345678901234567890\n'))
        self.assertIsNone(pid)
        self.assertIn('not a pid', why)

    def test_pid_with_trailing_newline_is_read(self):
        self.assertEqual(self._callFUT(self._write(b'1234\n')), (1234, ''))

    def test_pid_without_newline_is_read(self):
        self.assertEqual(self._callFUT(self._write(b'4321')), (4321, ''))

    def test_pid_with_surrounding_whitespace_is_read(self):
        self.assertEqual(self._callFUT(self._write(b'  77\r\n')), (77, ''))

    def test_directory_is_not_a_regular_file(self):
        self.assertEqual(self._callFUT(self.dir), (None, 'not a regular file'))

    def test_fifo_is_refused_without_blocking(self):
        path = os.path.join(self.dir, 'fifo.pid')
        os.mkfifo(path)
        self.assertEqual(self._callFUT(path), (None, 'not a regular file'))

    def test_symlink_is_not_followed(self):
        target = self._write(b'1234\n', 'secret')
        path = os.path.join(self.dir, 'link.pid')
        os.symlink(target, path)
        self.assertEqual(self._callFUT(path), (None, 'a symlink, not a regular file'))

    def test_big_file_is_not_read(self):
        path = self._write(b'')
        os.truncate(path, 1 << 30)           # sparse: 1 GB of nothing
        self.assertEqual(self._callFUT(path), (None, 'not a pid (%d bytes)' % (1 << 30)))

    def test_unreadable_file_says_why_without_content(self):
        path = self._write(b'1234\n')
        os.chmod(path, 0)
        pid, why = self._callFUT(path)
        if os.geteuid() == 0:                # root reads it anyway
            self.assertEqual(pid, 1234)
        else:
            self.assertEqual((pid, why), (None, 'unreadable (Permission denied)'))

    def test_pid_above_pid_max_ceiling_is_not_a_pid(self):
        self.assertEqual(self._callFUT(self._write(b'99999999\n')), (None, 'not a pid'))


class FileSignatureTests(unittest.TestCase):

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix='su-procs-')
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.path = os.path.join(self.dir, 'unicorn.pid')

    def _callFUT(self, path):
        from supervisor_unicorn.procs import file_signature
        return file_signature(path)

    def _write(self, data, path=None):
        with open(path or self.path, 'wb') as f:
            f.write(data)

    def test_missing_file_has_no_signature(self):
        self.assertIsNone(self._callFUT(self.path))

    def test_same_file_gives_the_same_signature(self):
        self._write(b'1234\n')
        self.assertEqual(self._callFUT(self.path), self._callFUT(self.path))

    def test_signature_changes_when_the_file_is_rewritten_in_place(self):
        self._write(b'1234\n')
        before = self._callFUT(self.path)
        self._write(b'12345\n')
        self.assertNotEqual(self._callFUT(self.path), before)

    def test_signature_changes_when_the_file_is_replaced_by_rename(self):
        # how unicorn and gunicorn write pidfiles: a temp file renamed over it
        self._write(b'1234\n')
        before = self._callFUT(self.path)
        tmp = os.path.join(self.dir, 'tmp.pid')
        self._write(b'5678\n', tmp)
        os.rename(tmp, self.path)
        self.assertNotEqual(self._callFUT(self.path), before)

    def test_signature_changes_when_the_mtime_changes(self):
        self._write(b'1234\n')
        before = self._callFUT(self.path)
        st = os.stat(self.path)
        os.utime(self.path, ns=(st.st_atime_ns, st.st_mtime_ns + 10 ** 9))
        self.assertNotEqual(self._callFUT(self.path), before)

    def test_signature_is_gone_when_the_file_is_removed(self):
        self._write(b'1234\n')
        os.unlink(self.path)
        self.assertIsNone(self._callFUT(self.path))


class IdentifyTests(unittest.TestCase):

    def _callFUT(self, pid):
        from supervisor_unicorn.procs import identify
        return identify(pid)

    def test_identify_of_this_process_gives_pid_and_create_time(self):
        import psutil
        ident = self._callFUT(os.getpid())
        self.assertEqual(ident.pid, os.getpid())
        self.assertEqual(ident.create_time, psutil.Process().create_time())

    def test_identify_is_stable(self):
        self.assertEqual(self._callFUT(os.getpid()), self._callFUT(os.getpid()))

    def test_identify_of_a_pid_above_pid_max_is_none(self):
        self.assertIsNone(self._callFUT(_pid_max() + 1))

    def test_identify_of_a_huge_pid_is_none(self):
        self.assertIsNone(self._callFUT(9999999999))

    def test_identify_of_zero_and_negative_pids_is_none(self):
        self.assertIsNone(self._callFUT(0))
        self.assertIsNone(self._callFUT(-1))


class IsAliveTests(unittest.TestCase):

    def _callFUT(self, ident):
        from supervisor_unicorn.procs import is_alive
        return is_alive(ident)

    def test_this_process_is_alive(self):
        from supervisor_unicorn.procs import identify
        self.assertTrue(self._callFUT(identify(os.getpid())))

    def test_a_reused_pid_is_not_the_same_process(self):
        from supervisor_unicorn.procs import ProcId, identify
        me = identify(os.getpid())
        self.assertFalse(self._callFUT(ProcId(me.pid, me.create_time + 60.0)))

    def test_none_is_not_alive(self):
        self.assertFalse(self._callFUT(None))

    def test_a_nonexistent_pid_is_not_alive(self):
        from supervisor_unicorn.procs import ProcId
        self.assertFalse(self._callFUT(ProcId(_pid_max() + 1, 1.0)))


class FamilyTests(unittest.TestCase):

    def test_parent_of_this_process_is_its_ppid(self):
        from supervisor_unicorn.procs import parent_of
        self.assertEqual(parent_of(os.getpid()), os.getppid())

    def test_parent_of_a_nonexistent_pid_is_none(self):
        from supervisor_unicorn.procs import parent_of
        self.assertIsNone(parent_of(_pid_max() + 1))

    def test_process_group_of_this_process_is_its_pgrp(self):
        from supervisor_unicorn.procs import process_group
        self.assertEqual(process_group(os.getpid()), os.getpgrp())

    def test_process_group_of_a_nonexistent_pid_is_none(self):
        from supervisor_unicorn.procs import process_group
        self.assertIsNone(process_group(_pid_max() + 1))

    def test_children_and_descendants_of_a_nonexistent_pid_are_empty(self):
        from supervisor_unicorn.procs import descendants, live_children
        self.assertEqual(live_children(_pid_max() + 1), [])
        self.assertEqual(descendants(_pid_max() + 1), [])


class ClockTests(unittest.TestCase):

    def test_clock_is_on_the_create_time_clock_and_after_our_start(self):
        from supervisor_unicorn.procs import clock, identify
        me = identify(os.getpid())
        now = clock()
        self.assertGreaterEqual(now, me.create_time - 0.05)
        self.assertLess(now - me.create_time, 7 * 24 * 3600)


if __name__ == '__main__':
    unittest.main()

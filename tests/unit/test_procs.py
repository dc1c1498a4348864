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
        from supervisor_unicorn.supervisord.procs import read_pidfile
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
        self.assertEqual(self._callFUT(self._write(b'1\n')), (None, 'naming pid 1, which no master has'))

    def test_pid_zero_is_refused(self):
        self.assertEqual(self._callFUT(self._write(b'0')), (None, 'naming pid 0, which no master has'))

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
        from supervisor_unicorn.supervisord.procs import file_signature
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
        from supervisor_unicorn.supervisord.procs import identify
        return identify(pid)

    def test_identify_of_this_process_gives_pid_and_seconds_since_boot(self):
        import psutil
        ident = self._callFUT(os.getpid())
        self.assertEqual(ident.pid, os.getpid())
        self.assertAlmostEqual(ident.create_time,
                               psutil.Process().create_time() - psutil.boot_time(), 1)

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
        from supervisor_unicorn.supervisord.procs import is_alive
        return is_alive(ident)

    def test_this_process_is_alive(self):
        from supervisor_unicorn.supervisord.procs import identify
        self.assertTrue(self._callFUT(identify(os.getpid())))

    def test_a_reused_pid_is_not_the_same_process(self):
        from supervisor_unicorn.supervisord.procs import ProcId, identify
        me = identify(os.getpid())
        self.assertFalse(self._callFUT(ProcId(me.pid, me.create_time + 60.0)))

    def test_none_is_not_alive(self):
        self.assertFalse(self._callFUT(None))

    def test_a_nonexistent_pid_is_not_alive(self):
        from supervisor_unicorn.supervisord.procs import ProcId
        self.assertFalse(self._callFUT(ProcId(_pid_max() + 1, 1.0)))


class FamilyTests(unittest.TestCase):

    def test_parent_of_this_process_is_its_ppid(self):
        from supervisor_unicorn.supervisord.procs import parent_of
        self.assertEqual(parent_of(os.getpid()), os.getppid())

    def test_parent_of_a_nonexistent_pid_is_none(self):
        from supervisor_unicorn.supervisord.procs import parent_of
        self.assertIsNone(parent_of(_pid_max() + 1))

    def test_process_group_of_this_process_is_its_pgrp(self):
        from supervisor_unicorn.supervisord.procs import process_group
        self.assertEqual(process_group(os.getpid()), os.getpgrp())

    def test_process_group_of_a_nonexistent_pid_is_none(self):
        from supervisor_unicorn.supervisord.procs import process_group
        self.assertIsNone(process_group(_pid_max() + 1))

    def test_children_and_descendants_of_a_nonexistent_pid_are_empty(self):
        from supervisor_unicorn.supervisord.procs import descendants, live_children
        self.assertEqual(live_children(_pid_max() + 1), [])
        self.assertEqual(descendants(_pid_max() + 1), [])


class ClockTests(unittest.TestCase):

    def test_clock_is_on_the_create_time_clock_and_after_our_start(self):
        from supervisor_unicorn.supervisord.procs import clock, identify
        me = identify(os.getpid())
        now = clock()
        self.assertGreaterEqual(now, me.create_time - 0.05)
        self.assertLess(now - me.create_time, 7 * 24 * 3600)


if __name__ == '__main__':
    unittest.main()


class ParseStatTests(unittest.TestCase):
    """/proc/PID/stat lines: the command name may hold ')' and spaces."""

    LINE = ('4242 (%s) S 17 4242 4242 0 -1 4194560 300 0 0 0 5 1 0 0 20 0 3 0 '
            '123456 10000000 500 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 1 0 0')

    def _callFUT(self, text):
        from supervisor_unicorn.supervisord.procs import parse_stat
        return parse_stat(text)

    def test_state_parent_and_start_time_are_read(self):
        self.assertEqual(self._callFUT(self.LINE % 'gunicorn'), ('S', 17, 123456))

    def test_a_command_name_with_parentheses_and_spaces_is_skipped(self):
        self.assertEqual(self._callFUT(self.LINE % 'a) Z 1 (b'), ('S', 17, 123456))

    def test_a_truncated_or_garbled_line_is_none(self):
        self.assertIsNone(self._callFUT('4242 (x) S 17'))
        self.assertIsNone(self._callFUT('no parenthesis at all'))
        self.assertIsNone(self._callFUT((self.LINE % 'x').replace(' 17 ', ' x ', 1)))

    def test_this_process_reads_as_running_with_its_parent(self):
        from supervisor_unicorn.supervisord import procs
        state, ppid, _ = procs._task_stat(os.getpid())
        self.assertIn(state, 'RS')
        self.assertEqual(ppid, os.getppid())


class ChildrenTests(unittest.TestCase):
    """Children by thread and by one pass over /proc, of a child of this test."""

    def setUp(self):
        import subprocess
        import sys
        self.child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])
        self.addCleanup(self.child.wait)
        self.addCleanup(self.child.kill)

    def test_the_pass_over_proc_finds_what_the_threads_list(self):
        from supervisor_unicorn.supervisord import procs
        self.assertIn(self.child.pid, procs.child_pids(os.getpid()))
        by_ppid = procs._children_by_ppid(fresh=True)
        self.assertIn(self.child.pid, by_ppid[os.getpid()])

    def test_descendants_are_found_with_their_identities(self):
        from supervisor_unicorn.supervisord import procs
        self.assertIn(procs.identify(self.child.pid), procs.descendants(os.getpid()))
        self.assertEqual(procs.descendants(self.child.pid), [])

    def test_a_process_with_few_threads_is_not_crowded(self):
        from supervisor_unicorn.supervisord import procs
        self.assertIsNone(procs.crowded(self.child.pid))
        self.assertGreaterEqual(procs.thread_count(os.getpid()), 1)

    def test_a_child_already_identified_is_not_looked_up_again(self):
        from unittest import mock
        from supervisor_unicorn.supervisord import procs
        from supervisor_unicorn.supervisord.budget import Budget
        first = procs.live_children(os.getpid(), Budget())
        self.assertIn(self.child.pid, [c.pid for c in first])
        with mock.patch('psutil.Process', side_effect=AssertionError('looked up')):
            again = procs.live_children(os.getpid(), Budget())
        self.assertEqual([c for c in again if c.pid == self.child.pid],
                         [c for c in first if c.pid == self.child.pid])

    def test_new_children_past_the_budget_wait_for_a_later_call(self):
        from supervisor_unicorn.supervisord import procs
        from supervisor_unicorn.supervisord.budget import Budget
        procs._known.pop(self.child.pid, None)
        spent = Budget(rate=0, burst=0)
        self.assertNotIn(self.child.pid, [c.pid for c in procs.live_children(
            os.getpid(), spent)])
        self.assertIn(self.child.pid, [c.pid for c in procs.live_children(
            os.getpid(), Budget())])

    def test_past_the_budget_a_child_identified_before_is_still_listed(self):
        from supervisor_unicorn.supervisord import procs
        from supervisor_unicorn.supervisord.budget import Budget
        ident = procs.identify(self.child.pid)
        listed = procs.live_children(os.getpid(), Budget(rate=0, burst=0))
        self.assertIn(ident, listed)

    def test_a_dead_child_is_not_live_even_when_known(self):
        from supervisor_unicorn.supervisord import procs
        from supervisor_unicorn.supervisord.budget import Budget
        procs.identify(self.child.pid)
        self.child.kill()
        self.child.wait()
        self.assertIsNone(procs.identify(self.child.pid))
        self.assertNotIn(self.child.pid, [c.pid for c in procs.live_children(
            os.getpid(), Budget())])


class ExeTests(unittest.TestCase):
    """The program a process runs: a fork keeps it, an exec changes it."""

    def test_a_fork_runs_its_parents_program_and_an_exec_another(self):
        import subprocess
        import sys
        from supervisor_unicorn.supervisord.procs import exe_of
        me = exe_of(os.getpid())
        self.assertIsNotNone(me)
        reader, writer = os.pipe()
        fork = os.fork()
        if fork == 0:
            os.close(writer)
            os.read(reader, 1)
            os._exit(0)
        os.close(reader)
        helper = subprocess.Popen(['sleep', '30'])
        python = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)'])
        try:
            self.assertEqual(exe_of(fork), me)
            self.assertNotEqual(exe_of(helper.pid), me)
            # (Popen returns once the exec is done); the same binary exec'd
            # again runs the same program
            self.assertEqual(exe_of(python.pid), me)
        finally:
            os.close(writer)
            os.waitpid(fork, 0)
            for proc in (helper, python):
                proc.kill()
                proc.wait()
        self.assertIsNone(exe_of(helper.pid))              # gone (reaped)

    def test_past_the_budget_nothing_is_read(self):
        from supervisor_unicorn.supervisord import budget
        from supervisor_unicorn.supervisord.procs import exe_of
        empty = budget.Budget(rate=0, burst=0, clock=lambda: 0.0)
        self.assertIsNone(exe_of(os.getpid(), bucket=empty))

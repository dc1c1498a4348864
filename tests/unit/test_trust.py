"""The trust rules (trust.py), pure: facts in, a verdict out."""
import os
import signal
import stat
import unittest

from supervisor_unicorn.supervisord import trust

UID = 65534


def candidate(**kw):
    facts = dict(pid=200, create_time=1001.0, seen_as_child=True, uid=UID,
                 tracked_by_other=False, workers=2)
    facts.update(kw)
    return trust.Candidate(**facts)


class GroupTests(unittest.TestCase):

    def test_the_spawn_group_may_be_signalled(self):
        self.assertIsNone(trust.group_problem(100, 7, {300, 400}))

    def test_groups_zero_and_one_are_refused(self):
        for pgid in (0, 1, -5):
            self.assertIn('process group', trust.group_problem(pgid, 7, set()))

    def test_supervisords_own_group_is_refused(self):
        self.assertEqual(trust.group_problem(7, 7, set()),
                         "it is supervisord's own process group")

    def test_another_programs_group_is_refused(self):
        self.assertEqual(trust.group_problem(300, 7, {300}),
                         "it is another program's process group")


class CatchesTests(unittest.TestCase):

    def test_a_handler_for_usr2_is_bit_11(self):
        self.assertTrue(trust.catches(1 << 11, signal.SIGUSR2))
        self.assertFalse(trust.catches(1 << 11, signal.SIGUSR1))

    def test_no_mask_means_no(self):
        self.assertFalse(trust.catches(None, signal.SIGUSR2))
        self.assertFalse(trust.catches(0, signal.SIGUSR2))

    def test_a_real_mask_from_proc(self):
        # gunicorn's master: HUP INT QUIT USR1 USR2 ALRM TERM CHLD TTIN TTOU WINCH
        self.assertTrue(trust.catches(int('0000000008036a07', 16) | 1 << 11,
                                      signal.SIGUSR2))


class SuccessorTests(unittest.TestCase):

    def check(self, outside=False, **kw):
        problem = trust.successor_problem(candidate(**kw), born_after=1000.0, uid=UID,
                                          outside=outside)
        return problem and problem.text

    def code(self, outside=False, **kw):
        return trust.successor_problem(candidate(**kw), born_after=1000.0, uid=UID,
                                       outside=outside).code

    def test_a_child_born_after_our_usr2_is_a_successor(self):
        self.assertIsNone(self.check(workers=0))

    def test_never_seen_as_a_child_is_refused(self):
        self.assertEqual(self.check(seen_as_child=False),
                         'it was never seen as a child of the master')

    def test_an_orphan_passes_only_for_a_usr2_from_outside(self):
        self.assertEqual(self.check(seen_as_child=False, orphan=True),
                         'it was never seen as a child of the master')
        self.assertIsNone(self.check(True, seen_as_child=False, orphan=True))

    def test_a_process_that_left_the_session_is_a_daemon_not_a_successor(self):
        # `unicorn -D`: an orphan with workers and the pidfile, but it called
        # setsid; exec never does
        expected = "it left supervisord's session: a daemon, not a re-exec"
        self.assertEqual(self.check(True, seen_as_child=False, orphan=True,
                                    same_session=False), expected)
        self.assertEqual(self.check(same_session=False), expected)
        self.assertIs(self.code(same_session=False), trust.Refused.DAEMON)

    def test_born_before_the_usr2_is_refused(self):
        self.assertEqual(self.check(create_time=999.0), 'it started before the hot restart')

    def test_another_user_is_refused(self):
        self.assertEqual(self.check(uid=0), 'it runs as uid 0, the program as uid 65534')
        self.assertIs(self.code(uid=0), trust.Refused.OTHER_UID)

    def test_a_tracked_process_is_refused(self):
        self.assertEqual(self.check(tracked_by_other=True), 'supervisord already tracks it')

    def test_outside_usr2_needs_workers_of_its_own(self):
        # the app's own worker or a child it spawned has none; it may still boot
        self.assertEqual(self.check(True, workers=0), 'it has no workers')
        self.assertFalse(self.code(True, workers=0).final)
        self.assertIsNone(self.check(True))

    def test_every_refusal_has_a_hint_and_only_no_workers_may_pass_later(self):
        for code in trust.Refused:
            self.assertTrue(trust.HINTS[code])
        self.assertEqual([c for c in trust.Refused if not c.final],
                         [trust.Refused.NO_WORKERS])


def stat_result(mode, uid):
    return os.stat_result((mode, 0, 0, 1, uid, 0, 0, 0, 0, 0))


class PrivateFileTests(unittest.TestCase):
    FILE = stat.S_IFREG | 0o600
    DIR = stat.S_IFDIR | 0o755

    def check(self, file_mode=FILE, file_uid=0, dir_mode=DIR, dir_uid=0, euid=0):
        return trust.private_file_problem(stat_result(file_mode, file_uid),
                                          stat_result(dir_mode, dir_uid), euid)

    def test_our_file_in_our_directory_is_trusted(self):
        self.assertIsNone(self.check())
        self.assertIsNone(self.check(file_uid=1000, dir_uid=1000, euid=1000))

    def test_a_file_of_another_user_is_not(self):
        self.assertEqual(self.check(file_uid=65534),
                         'it is owned by uid 65534, not by supervisord (uid 0)')

    def test_a_file_others_may_write_is_not(self):
        self.assertIn('others may write it', self.check(file_mode=stat.S_IFREG | 0o622))

    def test_a_directory_others_may_write_is_not_unless_sticky(self):
        self.assertIn('others may write its directory',
                      self.check(dir_mode=stat.S_IFDIR | 0o777))
        self.assertIsNone(self.check(dir_mode=stat.S_IFDIR | stat.S_ISVTX | 0o777))

    def test_a_directory_of_another_user_is_not(self):
        self.assertEqual(self.check(dir_uid=65534), 'its directory is owned by uid 65534')

    def test_a_fifo_or_a_symlink_is_not(self):
        self.assertEqual(self.check(file_mode=stat.S_IFIFO | 0o600),
                         'it is not a regular file')
        self.assertEqual(self.check(file_mode=stat.S_IFLNK | 0o777),
                         'it is not a regular file')


def detached(**kw):
    facts = dict(create_time=101.0, uid=UID, same_session=False, first_fork=False,
                 tracked=False, anothers_child=False)
    facts.update(kw)
    return trust.Detached(**facts)


class EarliestSuccessorStartTests(unittest.TestCase):

    def test_after_our_usr2_within_the_clock_slack(self):
        self.assertEqual(trust.earliest_successor_start(50.0, 10.0), 50.0 - trust.CLOCK_SLACK)

    def test_after_the_master_for_a_usr2_from_outside(self):
        self.assertEqual(trust.earliest_successor_start(None, 10.0), 10.0)


class LeftoverTests(unittest.TestCase):

    def test_a_recorded_master_running_as_another_user_is_not_the_one_recorded(self):
        self.assertEqual(trust.leftover_problem(1000, 0), 'now runs as uid 0, not 1000')
        self.assertEqual(trust.leftover_problem(1000, None), 'now runs as uid None, not 1000')
        self.assertIsNone(trust.leftover_problem(1000, 1000))

    def test_its_children_go_with_it_only_as_its_user(self):
        self.assertTrue(trust.is_leftovers_child(1000, 1000))
        self.assertFalse(trust.is_leftovers_child(0, 1000))
        self.assertFalse(trust.is_leftovers_child(None, None))


class AbandonedOrphanTests(unittest.TestCase):

    def check(self, tracked=False, create_time=20.0, pgid=7, uid=1000):
        return trust.is_abandoned_orphan(tracked, create_time, pgid, uid,
                                         born_after=10.0, groups={7, 9}, program_uid=1000)

    def test_untracked_born_after_the_usr2_in_the_spawn_group_as_the_user(self):
        self.assertTrue(self.check())

    def test_or_in_the_group_the_new_master_was_in(self):
        self.assertTrue(self.check(pgid=9))

    def test_anything_else_is_left_alone(self):
        self.assertFalse(self.check(tracked=True))
        self.assertFalse(self.check(create_time=9.0))
        self.assertFalse(self.check(pgid=8))
        self.assertFalse(self.check(pgid=None))
        self.assertFalse(self.check(uid=0))


class DaemonTests(unittest.TestCase):

    def check(self, **kw):
        return trust.daemon_problem(detached(**kw), spawned=100.0, exited=200.0, uid=UID,
                                    window=10.0)

    def test_a_detached_child_born_after_the_spawn_is_the_daemon(self):
        self.assertIsNone(self.check())
        self.assertIsNone(self.check(create_time=201.0))    # forked after the exit

    def test_one_in_supervisords_session_is_not_unless_a_first_fork(self):
        self.assertEqual(self.check(same_session=True), "it is in supervisord's session")
        self.assertIsNone(self.check(same_session=True, first_fork=True))

    def test_born_far_from_the_spawn_and_the_exit_is_not(self):
        self.assertEqual(self.check(create_time=150.0),
                         'it was not born while the program started or exited')
        self.assertEqual(self.check(create_time=99.0),
                         'it was not born while the program started or exited')

    def test_another_user_or_another_programs_process_is_not(self):
        self.assertEqual(self.check(uid=0), 'it runs as uid 0, the program as uid 65534')
        self.assertEqual(self.check(tracked=True), "it is another program's process")
        self.assertEqual(self.check(anothers_child=True), "it is another program's process")


if __name__ == '__main__':
    unittest.main()

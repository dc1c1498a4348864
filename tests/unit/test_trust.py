"""The trust rules (trust.py), pure: facts in, a verdict out."""
import signal
import unittest

from supervisor_unicorn import trust

UID = 65534
NAMES = ('web', 'web')
ENV = {'SUPERVISOR_GROUP_NAME': 'web', 'SUPERVISOR_PROCESS_NAME': 'web'}


def candidate(**kw):
    facts = dict(pid=200, create_time=1001.0, seen_as_child=True, uid=UID,
                 tracked_by_other=False, workers=2, environ=ENV)
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

    def check(self, names=None, **kw):
        return trust.successor_problem(candidate(**kw), born_after=1000.0, uid=UID,
                                       names=names)

    def test_a_child_born_after_our_usr2_is_a_successor(self):
        self.assertIsNone(self.check(workers=0, environ=None))

    def test_never_seen_as_a_child_is_refused(self):
        self.assertEqual(self.check(seen_as_child=False),
                         'it was never seen as a child of the master')

    def test_an_orphan_passes_only_for_a_usr2_from_outside(self):
        self.assertEqual(self.check(seen_as_child=False, orphan=True),
                         'it was never seen as a child of the master')
        self.assertIsNone(self.check(NAMES, seen_as_child=False, orphan=True))

    def test_a_process_that_left_the_session_is_a_daemon_not_a_successor(self):
        # `unicorn -D`: an orphan with the program's environment, workers and
        # pidfile, but it called setsid; exec never does
        expected = "it left supervisord's session: a daemon, not a re-exec"
        self.assertEqual(self.check(NAMES, seen_as_child=False, orphan=True,
                                    same_session=False), expected)
        self.assertEqual(self.check(same_session=False), expected)

    def test_born_before_the_usr2_is_refused(self):
        self.assertEqual(self.check(create_time=999.0), 'it started before the hot restart')

    def test_another_user_is_refused(self):
        self.assertEqual(self.check(uid=0), 'it runs as uid 0, the program as uid 65534')

    def test_a_tracked_process_is_refused(self):
        self.assertEqual(self.check(tracked_by_other=True), 'supervisord already tracks it')

    def test_outside_usr2_needs_the_programs_environment(self):
        self.assertEqual(self.check(NAMES, environ={'SUPERVISOR_PROCESS_NAME': 'web'}),
                         'its environment does not name the program')
        self.assertEqual(self.check(NAMES, environ=None),
                         'its environment does not name the program')

    def test_outside_usr2_needs_workers_of_its_own(self):
        # the app's own worker or a child it spawned has none
        self.assertEqual(self.check(NAMES, workers=0), 'it has no workers')
        self.assertIsNone(self.check(NAMES))


if __name__ == '__main__':
    unittest.main()

"""successors.says_reexec: the server's own word that a master's child is its re-exec."""
import unittest

from supervisor_unicorn.successors import says_reexec

OLD = 'unicorn master (old) -c /srv/web/unicorn.rb config.ru'
NEW = 'unicorn master -c /srv/web/unicorn.rb config.ru'
WORKER = 'unicorn worker[0] -c /srv/web/unicorn.rb config.ru'


class SaysReexecTests(unittest.TestCase):

    def test_unicorn_new_master_under_an_old_titled_master(self):
        self.assertTrue(says_reexec('unicorn', OLD, 100, NEW, None))

    def test_unicorn_worker_is_not_a_reexec(self):
        # a worker that runs commands has children too
        self.assertFalse(says_reexec('unicorn', OLD, 100, WORKER, None))

    def test_unicorn_master_that_did_not_reexec_says_nothing(self):
        # no "(old)" on the master: no USR2 was acted on
        self.assertFalse(says_reexec('unicorn', NEW, 100, NEW, None))

    def test_unicorn_child_titled_old_is_not_the_new_master(self):
        self.assertFalse(says_reexec('unicorn', OLD, 100, OLD, None))

    def test_gunicorn_needs_the_old_masters_pid_in_GUNICORN_PID(self):
        self.assertTrue(says_reexec('gunicorn', '', 100, '', {'GUNICORN_PID': '100'}))
        self.assertFalse(says_reexec('gunicorn', '', 100, '', {'GUNICORN_PID': '99'}))
        self.assertFalse(says_reexec('gunicorn', '', 100, '', {}))
        self.assertFalse(says_reexec('gunicorn', '', 100, '', None))

    def test_gunicorn_titles_mean_nothing(self):
        self.assertFalse(says_reexec('gunicorn', OLD, 100, NEW, {}))


if __name__ == '__main__':
    unittest.main()

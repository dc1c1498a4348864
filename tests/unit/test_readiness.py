"""Readiness evidence: the pure readers, and the Reader on a fake /proc tree."""
import os
import shutil
import tempfile
import unittest

from supervisor_unicorn.common.servers import GUNICORN, UNICORN

STATUS = """Name:\truby
SigQ:\t0/94229
SigPnd:\t0000000000000000
ShdPnd:\t0000000000000000
SigBlk:\t0000000000000000
SigIgn:\t%016x
SigCgt:\t%016x
"""
USR1, USR2, CHLD, QUIT = 1 << 9, 1 << 11, 1 << 16, 1 << 2


def status(ignored, caught):
    return STATUS % (ignored, caught)


class UnicornSignalsTests(unittest.TestCase):
    """Measured with unicorn 6 (preload on/off, with/without before_fork)."""

    def _callFUT(self, text):
        from supervisor_unicorn.supervisord.readiness import unicorn_signals
        return unicorn_signals(text)

    def test_a_worker_building_the_app_ignores_usr1(self):
        from supervisor_unicorn.supervisord.readiness import Evidence
        self.assertEqual(self._callFUT(status(USR1 | USR2, CHLD | QUIT)), Evidence.LOADING)

    def test_a_worker_in_its_accept_loop_traps_usr1_and_ignores_usr2(self):
        from supervisor_unicorn.supervisord.readiness import Evidence
        self.assertEqual(self._callFUT(status(USR2, USR1 | CHLD | QUIT)), Evidence.READY)

    def test_a_worker_just_forked_still_has_the_masters_handlers(self):
        from supervisor_unicorn.supervisord.readiness import Evidence
        self.assertEqual(self._callFUT(status(0, USR1 | USR2 | CHLD | QUIT)),
                         Evidence.LOADING)

    def test_other_dispositions_are_not_understood(self):
        from supervisor_unicorn.supervisord.readiness import Evidence
        self.assertEqual(self._callFUT(status(0, 0)), Evidence.UNKNOWN)
        self.assertEqual(self._callFUT('Name:\tx\n'), Evidence.UNKNOWN)
        self.assertEqual(self._callFUT('SigIgn:\tzz\nSigCgt:\t0\n'), Evidence.UNKNOWN)


class GunicornHeartbeatTests(unittest.TestCase):

    def _callFUT(self, mode, mtime, ctime):
        from supervisor_unicorn.supervisord.readiness import gunicorn_heartbeat
        return gunicorn_heartbeat(mode, mtime, ctime)

    def test_a_heartbeat_never_notified_has_mtime_equal_to_ctime(self):
        from supervisor_unicorn.supervisord.readiness import Evidence
        self.assertEqual(self._callFUT(0o100600, 1796031689.319, 1796031689.319),
                         Evidence.LOADING)
        # chown to the worker's user after mkstemp moves the ctime a little
        self.assertEqual(self._callFUT(0o100600, 1796031689.319, 1796031689.321),
                         Evidence.LOADING)

    def test_notify_sets_a_monotonic_mtime(self):
        from supervisor_unicorn.supervisord.readiness import Evidence
        self.assertEqual(self._callFUT(0o100600, 305.128, 1796031691.331), Evidence.READY)

    def test_gunicorn_before_22_toggles_the_mode(self):
        from supervisor_unicorn.supervisord.readiness import Evidence
        for mode in (0o100000, 0o100001):
            self.assertEqual(self._callFUT(mode, 1000.0, 1002.0), Evidence.READY)


class ReaderTests(unittest.TestCase):
    """The Reader on a fake /proc: PID/status and PID/fd/N symlinks."""

    def setUp(self):
        self.root = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.root)

    def _makeOne(self):
        from supervisor_unicorn.supervisord.readiness import Reader
        return Reader(proc_root=self.root)

    def worker(self, pid, status_text=None, fds=()):
        d = os.path.join(self.root, str(pid))
        os.makedirs(os.path.join(d, 'fd'))
        if status_text is not None:
            with open(os.path.join(d, 'status'), 'w') as f:
                f.write(status_text)
        for n, target in fds:
            os.symlink(target, os.path.join(d, 'fd', str(n)))

    def heartbeat(self, name='wgunicorn-abc', mtime=None):
        path = os.path.join(self.root, name)
        with open(path, 'w'):
            pass
        if mtime is not None:
            os.utime(path, (mtime, mtime))
        return path

    def test_unicorn_worker_read_from_its_status(self):
        from supervisor_unicorn.supervisord.readiness import Evidence
        self.worker(7, status(USR2, USR1))
        self.assertEqual(self._makeOne().read(UNICORN.readiness, 7), (Evidence.READY, ''))

    def test_a_gone_unicorn_worker_is_unknown(self):
        from supervisor_unicorn.supervisord.readiness import Evidence
        evidence, why = self._makeOne().read(UNICORN.readiness, 8)
        self.assertEqual((evidence, why), (Evidence.UNKNOWN, 'pid 8 is gone'))

    def test_gunicorn_worker_read_from_its_heartbeat_fd(self):
        from supervisor_unicorn.supervisord.readiness import Evidence
        self.worker(7, fds=[(0, '/dev/null'), (5, self.heartbeat(mtime=305.0))])
        reader = self._makeOne()
        self.assertEqual(reader.read(GUNICORN.readiness, 7), (Evidence.READY, ''))
        self.assertEqual(reader._heartbeats, {7: os.path.join(self.root, '7/fd/5')})
        reader.forget({8})
        self.assertEqual(list(reader._heartbeats), [7])
        reader.forget({7})
        self.assertEqual(reader._heartbeats, {})

    def test_a_fresh_heartbeat_is_loading(self):
        from supervisor_unicorn.supervisord.readiness import Evidence
        path = self.heartbeat()
        st = os.stat(path)
        os.utime(path, ns=(st.st_ctime_ns, st.st_ctime_ns))
        self.worker(7, fds=[(5, path)])
        self.assertEqual(self._makeOne().read(GUNICORN.readiness, 7)[0], Evidence.LOADING)

    def test_a_worker_still_holding_its_siblings_heartbeats_is_loading(self):
        # just forked: gunicorn closes the siblings' files first thing; until
        # then which heartbeat is its own is unknown, and nothing is cached
        from supervisor_unicorn.supervisord.readiness import Evidence
        self.worker(7, fds=[(5, self.heartbeat('wgunicorn-a', mtime=305.0)),
                            (6, self.heartbeat('wgunicorn-b', mtime=305.0))])
        reader = self._makeOne()
        self.assertEqual(reader.read(GUNICORN.readiness, 7), (Evidence.LOADING, ''))
        self.assertEqual(reader._heartbeats, {})
        os.remove(os.path.join(self.root, '7/fd/5'))
        self.assertEqual(reader.read(GUNICORN.readiness, 7), (Evidence.READY, ''))
        self.assertEqual(reader._heartbeats, {7: os.path.join(self.root, '7/fd/6')})

    def test_a_cached_heartbeat_fd_whose_number_was_reused_is_looked_up_again(self):
        # the fd was closed and its number given to a socket or a file of the
        # app: reading that instead would say "loading" for ever
        from supervisor_unicorn.supervisord.readiness import Evidence
        self.worker(7, fds=[(5, self.heartbeat('wgunicorn-a', mtime=305.0))])
        reader = self._makeOne()
        self.assertEqual(reader.read(GUNICORN.readiness, 7), (Evidence.READY, ''))
        os.remove(os.path.join(self.root, '7/fd/5'))
        os.symlink('/dev/null', os.path.join(self.root, '7/fd/5'))
        os.symlink(self.heartbeat('wgunicorn-b', mtime=306.0),
                   os.path.join(self.root, '7/fd/9'))
        self.assertEqual(reader.read(GUNICORN.readiness, 7), (Evidence.READY, ''))
        self.assertEqual(reader._heartbeats, {7: os.path.join(self.root, '7/fd/9')})

    def test_a_gunicorn_worker_without_a_heartbeat_says_why(self):
        from supervisor_unicorn.supervisord.readiness import Evidence
        self.worker(7, fds=[(0, '/dev/null')])
        evidence, why = self._makeOne().read(GUNICORN.readiness, 7)
        self.assertEqual(evidence, Evidence.UNKNOWN)
        self.assertIn('holds no wgunicorn-* heartbeat', why)

    def test_unlistable_fds_say_why(self):
        from supervisor_unicorn.supervisord.readiness import Evidence
        evidence, why = self._makeOne().read(GUNICORN.readiness, 9)
        self.assertEqual(evidence, Evidence.UNKNOWN)
        self.assertIn('cannot list %s/9/fd' % self.root, why)

    def test_an_unknown_server_has_no_evidence(self):
        from supervisor_unicorn.supervisord.readiness import Evidence
        self.assertEqual(self._makeOne().read('puma', 7)[0], Evidence.UNKNOWN)


class ReaderCostTests(unittest.TestCase):
    """A worker's fds are read on the budget and within limits: the app decides
    how many there are."""

    def setUp(self):
        self.root = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.root)
        self.heartbeat = os.path.join(self.root, 'wgunicorn-own')
        with open(self.heartbeat, 'w'):
            pass
        os.utime(self.heartbeat, (305.0, 305.0))     # notified: ready

    def _makeOne(self, rate=1e9, burst=1e9):
        from supervisor_unicorn.supervisord.budget import Budget
        from supervisor_unicorn.supervisord.readiness import Reader
        self.budget = Budget(rate=rate, burst=burst, clock=lambda: 0.0)
        return Reader(proc_root=self.root, bucket=self.budget)

    def worker(self, pid, fds):
        d = os.path.join(self.root, str(pid), 'fd')
        os.makedirs(d)
        for n, target in fds:
            os.symlink(target, os.path.join(d, str(n)))

    def test_dup_of_its_own_heartbeat_is_one_file(self):
        from supervisor_unicorn.supervisord.readiness import Evidence
        self.worker(7, [(n, self.heartbeat) for n in range(5, 105)])
        reader = self._makeOne()
        self.assertEqual(reader.read(GUNICORN.readiness, 7), (Evidence.READY, ''))
        self.assertIn(7, reader._heartbeats)

    def test_a_worker_with_more_fds_than_the_limit_is_over_it_and_says_why(self):
        from supervisor_unicorn.supervisord import budget
        from supervisor_unicorn.supervisord.readiness import Evidence
        self.worker(7, [(n, self.heartbeat) for n in range(budget.MAX_FDS + 1)])
        reader = self._makeOne()
        evidence, why = reader.read(GUNICORN.readiness, 7)
        self.assertEqual(evidence, Evidence.UNKNOWN)
        self.assertEqual(why, 'worker pid 7 holds more than %d open fds' % budget.MAX_FDS)
        self.assertEqual(reader.over_limit(7), why)
        self.assertEqual(reader.over_limit(8), '')
        # never read again until forgotten: its fds are not listed twice
        shutil.rmtree(os.path.join(self.root, '7'))
        self.assertEqual(reader.read(GUNICORN.readiness, 7), (Evidence.UNKNOWN, why))
        reader.forget([7])
        self.assertEqual(reader.over_limit(7), '')

    def test_a_worker_holding_too_many_heartbeat_files_is_over_the_limit(self):
        from supervisor_unicorn.supervisord import budget
        from supervisor_unicorn.supervisord.readiness import Evidence
        fds = []
        for n in range(budget.MAX_HEARTBEATS + 1):
            path = os.path.join(self.root, 'wgunicorn-%d' % n)
            open(path, 'w').close()
            fds.append((n, path))
        self.worker(7, fds)
        reader = self._makeOne()
        self.assertEqual(reader.read(GUNICORN.readiness, 7)[0], Evidence.UNKNOWN)
        self.assertIn('holds %d wgunicorn-* files, more than %d'
                      % (budget.MAX_HEARTBEATS + 1, budget.MAX_HEARTBEATS),
                      reader.over_limit(7))

    def test_fds_the_budget_cannot_pay_for_are_read_later_as_loading(self):
        from supervisor_unicorn.supervisord import budget
        from supervisor_unicorn.supervisord.readiness import Evidence
        self.worker(7, [(0, '/dev/null'), (5, self.heartbeat)])
        from supervisor_unicorn.supervisord.readiness import CHUNK
        reader = self._makeOne(rate=0, burst=CHUNK * budget.COST_FD - 1)
        self.assertEqual(reader.read(GUNICORN.readiness, 7), (Evidence.LOADING, ''))
        self.assertEqual((reader._heartbeats, reader.over_limit(7)), ({}, ''))
        self.budget.tokens = CHUNK * budget.COST_FD
        self.assertEqual(reader.read(GUNICORN.readiness, 7), (Evidence.READY, ''))

    def test_a_look_that_started_runs_to_its_end_and_is_paid_for(self):
        # a look stopped half-way would be wasted, poll after poll
        from supervisor_unicorn.supervisord import budget
        from supervisor_unicorn.supervisord.readiness import CHUNK, Evidence
        fds = [(n, '/dev/null') for n in range(3 * CHUNK)] + [(999, self.heartbeat)]
        self.worker(7, fds)
        reader = self._makeOne(rate=0, burst=CHUNK * budget.COST_FD)
        self.assertEqual(reader.read(GUNICORN.readiness, 7), (Evidence.READY, ''))
        self.assertEqual(self.budget.tokens, -(2 * CHUNK + 1) * budget.COST_FD)
        self.assertFalse(self.budget.take(1))         # the debt is repaid first

    def test_a_known_heartbeat_is_read_without_listing_the_fds_again(self):
        from supervisor_unicorn.supervisord.readiness import Evidence
        self.worker(7, [(0, '/dev/null'), (5, self.heartbeat)])
        reader = self._makeOne()
        reader.read(GUNICORN.readiness, 7)
        self.budget.tokens = 0                  # no listing could be paid for now
        self.assertEqual(reader.read(GUNICORN.readiness, 7), (Evidence.READY, ''))

    def test_unicorn_status_past_the_budget_reads_as_loading(self):
        from supervisor_unicorn.supervisord.readiness import Evidence
        d = os.path.join(self.root, '7')
        os.makedirs(d)
        with open(os.path.join(d, 'status'), 'w') as f:
            f.write(status(USR2, USR1))
        reader = self._makeOne(rate=0, burst=0)
        self.assertEqual(reader.read(UNICORN.readiness, 7), (Evidence.LOADING, ''))

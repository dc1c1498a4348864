"""Aborts: an abandoned new generation is SIGKILLed in batches, masters first,
then what it left is swept among supervisord's children, on fakes."""
import signal
import unittest

from supervisor_unicorn.supervisord.abort import KILL_BATCH, SWEEP_FOR, Aborts
from supervisor_unicorn.supervisord.procs import ProcId

ME, PGID, UID = 1, 100, 1000


class FakeGlue:
    def __init__(self):
        self.signals, self.tracked = [], {100}

    def signal(self, ident, sig):
        self.signals.append((ident.pid, sig))

    def my_pid(self):
        return ME

    def is_tracked(self, pid):
        return pid in self.tracked


class FakeProcs:
    def __init__(self):
        self.table = {}     # pid -> (create_time, pgid, uid)

    def live_children(self, pid):
        return [ProcId(p, row[0]) for p, row in sorted(self.table.items())] if pid == ME else []

    def process_group(self, pid):
        return self.table[pid][1] if pid in self.table else None

    def real_uid(self, pid):
        return self.table[pid][2]

    def is_alive(self, ident):
        return ident.pid in self.table and self.table[ident.pid][0] == ident.create_time


class AbortTests(unittest.TestCase):

    def setUp(self):
        self.now = 50.0
        self.glue, self.procs = FakeGlue(), FakeProcs()
        self.aborts = Aborts(self.glue, self.procs, lambda: self.now)

    def killed(self):
        return [pid for pid, sig in self.glue.signals if sig == signal.SIGKILL]

    def test_masters_go_first_then_the_workers_a_batch_a_poll(self):
        workers = [ProcId(300 + n, 20.0) for n in range(KILL_BATCH + 5)]
        self.aborts.begin('web', [ProcId(200, 20.0)], workers, 10.0, PGID, UID)
        self.assertEqual(self.killed(), [200] + [w.pid for w in workers[:KILL_BATCH]])
        self.aborts.poll()
        self.assertEqual(self.killed()[1 + KILL_BATCH:], [w.pid for w in workers[KILL_BATCH:]])

    def test_orphans_of_the_generation_are_swept_and_nothing_else(self):
        self.procs.table = {
            100: (5.0, 100, UID),       # the tracked old master
            400: (20.0, PGID, UID),     # an orphan of the new generation
            401: (5.0, PGID, UID),      # born before the USR2
            402: (20.0, 777, UID),      # another group
            403: (20.0, PGID, 0),       # another user (root joined the group)
        }
        self.aborts.begin('web', [], [], 10.0, PGID, UID)
        self.assertEqual(self.killed(), [400])

    def test_orphans_in_the_group_the_new_master_moved_to_are_swept_too(self):
        # the app moved its master (and so the new one) into group 555; a
        # worker forked as the new master was killed is met only there
        self.procs.table = {
            200: (20.0, 555, UID),      # the new master, verified alive
            404: (20.0, 555, UID),      # its late worker, an orphan now
            405: (20.0, 555, 0),        # root in that group: not the program's user
            406: (5.0, 555, UID),       # born before the USR2
        }
        self.aborts.begin('web', [ProcId(200, 20.0)], [], 10.0, PGID, UID)
        self.assertEqual(self.killed()[0], 200)
        self.assertEqual(set(self.killed()), {200, 404})

    def test_a_dead_masters_reused_pid_adds_no_group(self):
        self.procs.table = {
            200: (99.0, 555, UID),      # pid 200 is someone else now
            404: (20.0, 555, UID),
        }
        self.aborts.begin('web', [ProcId(200, 20.0)], [], 10.0, PGID, UID)
        self.assertNotIn(404, self.killed())

    def test_the_sweep_ends_after_a_while(self):
        self.aborts.begin('web', [], [], 10.0, PGID, UID)
        self.assertIn('web', self.aborts.pending)
        self.now += SWEEP_FOR
        self.aborts.poll()
        self.assertEqual(self.aborts.pending, {})


if __name__ == '__main__':
    unittest.main()

"""StatusProbe: supervisorctl status in a loop, each run's wall time recorded."""
import threading
import unittest
from unittest import mock

from supervisor_unicorn.tools import status_probe


class StatusProbeTests(unittest.TestCase):

    def test_runs_status_against_the_config_until_the_block_ends(self):
        calls, three = [], threading.Event()

        def run(argv, **kw):
            calls.append((argv, kw))
            if len(calls) >= 3:
                three.set()
        with mock.patch.object(status_probe.subprocess, 'run', run), \
                mock.patch.object(status_probe, 'find_executable', lambda n: '/x/' + n):
            with status_probe.StatusProbe('/tmp/s.conf', timeout=7, pause=0) as probe:
                self.assertTrue(three.wait(5))
            n = len(calls)
        self.assertGreaterEqual(n, 3)
        self.assertEqual(calls[0][0], ['/x/supervisorctl', '-c', '/tmp/s.conf', 'status'])
        self.assertEqual(calls[0][1], {'capture_output': True, 'timeout': 7})
        # one time per finished run, none after the block
        self.assertEqual(len(probe.times), n)
        self.assertTrue(all(t >= 0 for t in probe.times))
        self.assertFalse(probe._thread.is_alive())


if __name__ == '__main__':
    unittest.main()

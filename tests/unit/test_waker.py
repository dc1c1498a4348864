"""The fds that wake supervisord's poll(): a real timerfd and Python's real
signal wakeup fd."""
import os
import select
import signal
import time
import unittest

from supervisor_unicorn.supervisord.waker import SignalPipe, Timer

DEADLINE = 5.0


def readable(fd: int, timeout: float) -> bool:
    return bool(select.select([fd], [], [], timeout)[0])


class TimerTests(unittest.TestCase):

    def setUp(self):
        self.timer = Timer()
        self.addCleanup(self.timer.close)

    def test_an_armed_timer_wakes_poll_each_period(self):
        self.timer.arm(0.01)
        for _ in range(3):
            self.assertTrue(readable(self.timer.fd, DEADLINE))
            self.timer.drain()

    def test_an_unarmed_or_disarmed_timer_stays_quiet(self):
        self.assertFalse(readable(self.timer.fd, 0.05))
        self.timer.arm(0.01)
        self.assertTrue(readable(self.timer.fd, DEADLINE))
        self.timer.disarm()
        self.timer.drain()
        self.assertEqual(self.timer.period, 0.0)
        self.assertFalse(readable(self.timer.fd, 0.05))

    def test_drain_never_blocks(self):
        started = time.monotonic()
        self.timer.drain()      # nothing to read: returns, does not wait
        self.assertLess(time.monotonic() - started, 1.0)

    def test_the_fd_is_not_inherited(self):
        self.assertFalse(os.get_inheritable(self.timer.fd))


class SignalPipeTests(unittest.TestCase):

    def setUp(self):
        self.previous_handler = signal.signal(signal.SIGUSR1, lambda *a: None)
        self.addCleanup(signal.signal, signal.SIGUSR1, self.previous_handler)

    def test_a_signal_makes_the_pipe_readable(self):
        pipe = SignalPipe()
        self.addCleanup(lambda: pipe.fd >= 0 and pipe.close())
        self.assertTrue(pipe.start())
        self.assertFalse(readable(pipe.fd, 0))
        os.kill(os.getpid(), signal.SIGUSR1)
        self.assertTrue(readable(pipe.fd, DEADLINE))
        pipe.drain()
        self.assertFalse(readable(pipe.fd, 0))

    def test_close_gives_the_wakeup_fd_back(self):
        pipe = SignalPipe()
        self.assertTrue(pipe.start())
        pipe.close()
        self.assertEqual(signal.set_wakeup_fd(-1), -1)

    def test_it_refuses_to_replace_another_wakeup_fd(self):
        other_r, other_w = os.pipe()
        os.set_blocking(other_w, False)
        self.addCleanup(os.close, other_r)
        self.addCleanup(os.close, other_w)
        signal.set_wakeup_fd(other_w)
        self.addCleanup(signal.set_wakeup_fd, -1)
        pipe = SignalPipe()
        self.addCleanup(pipe.close)
        self.assertFalse(pipe.start())
        self.assertEqual(pipe.previous, other_w)
        # the other owner still has it
        self.assertEqual(signal.set_wakeup_fd(other_w), other_w)


if __name__ == '__main__':
    unittest.main()

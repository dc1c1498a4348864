"""File descriptors that wake supervisord's poll() early.

supervisord's loop sleeps up to 1 s in poll(), and SIGCHLD does not end that
sleep (PEP 475 retries the poll).  Two fds fix that without a thread and
without a signal handler of ours:

- a pipe given to ``signal.set_wakeup_fd``: Python's C-level handler writes a
  byte on every signal, so the exit of a master wakes the loop at once;
- a timerfd that ticks while a hot restart is pending, because a new master's
  workers appearing makes no signal at all.

Linux only, as is the whole plugin.
"""
import ctypes
import ctypes.util
import os
import signal
from typing import Optional

CLOCK_MONOTONIC = 1
TFD_NONBLOCK = os.O_NONBLOCK
TFD_CLOEXEC = os.O_CLOEXEC


class _Timespec(ctypes.Structure):
    _fields_ = [('tv_sec', ctypes.c_long), ('tv_nsec', ctypes.c_long)]


class _Itimerspec(ctypes.Structure):
    _fields_ = [('it_interval', _Timespec), ('it_value', _Timespec)]


_libc = ctypes.CDLL(ctypes.util.find_library('c') or None, use_errno=True)


def _timespec(seconds: float) -> _Timespec:
    whole = int(seconds)
    return _Timespec(whole, int((seconds - whole) * 1e9))


class Timer:
    """A periodic timerfd; readable once per period while armed."""

    def __init__(self):
        fd = _libc.timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)
        if fd < 0:
            err = ctypes.get_errno()
            raise OSError(err, 'timerfd_create: %s' % os.strerror(err))
        self.fd = fd
        self.period = 0.0

    def arm(self, period: float) -> None:
        if period == self.period:
            return
        spec = _Itimerspec(_timespec(period), _timespec(period))
        if _libc.timerfd_settime(self.fd, 0, ctypes.byref(spec), None) != 0:
            err = ctypes.get_errno()
            raise OSError(err, 'timerfd_settime: %s' % os.strerror(err))
        self.period = period

    def disarm(self) -> None:
        if self.period:
            self.arm(0.0)

    def drain(self) -> None:
        try:
            os.read(self.fd, 8)
        except BlockingIOError:
            pass

    def close(self) -> None:
        os.close(self.fd)
        self.fd = -1


class SignalPipe:
    """The read end of Python's signal wakeup fd."""

    def __init__(self):
        self.fd, self._write_fd = os.pipe()   # both O_CLOEXEC already
        os.set_blocking(self.fd, False)
        os.set_blocking(self._write_fd, False)
        self.active = False
        self.previous: Optional[int] = None

    def start(self) -> bool:
        """Become the wakeup fd; refuse (and change nothing) if another is set."""
        previous = signal.set_wakeup_fd(self._write_fd, warn_on_full_buffer=False)
        if previous != -1:
            signal.set_wakeup_fd(previous)
            self.previous = previous
            return False
        self.active = True
        return True

    def drain(self) -> None:
        try:
            while os.read(self.fd, 512):
                pass
        except BlockingIOError:
            pass

    def close(self) -> None:
        if self.active:
            # must happen before supervisord's cleanup_fds() closes this fd on
            # reload, or signal bytes would land in whatever reuses the number
            signal.set_wakeup_fd(-1)
            self.active = False
        os.close(self.fd)
        os.close(self._write_fd)
        self.fd = -1

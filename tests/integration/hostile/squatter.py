"""A root bystander that the test starts at a chosen pid (the number a hostile app
freed).  It leads a process group of its own, as a fresh root daemon does, has a
child, and writes every signal it or its child receives to the log it is given:
the test asserts the log stays empty.

    squatter.py LOG
"""
import os
import signal
import sys
import time

log = sys.argv[1]


def record(signum, frame):
    with open(log, 'a') as f:
        f.write('%d got %s\n' % (os.getpid(), signal.Signals(signum).name))


os.setpgid(0, 0)
if os.fork() == 0:
    pass                       # the child: same group, same handlers
for sig in signal.valid_signals():
    if sig not in (signal.SIGKILL, signal.SIGSTOP, signal.SIGCHLD):
        try:
            signal.signal(sig, record)
        except (OSError, ValueError):
            pass
with open(log + '.ready', 'a') as f:
    f.write('%d\n' % os.getpid())
end = time.monotonic() + 300
while time.monotonic() < end:
    time.sleep(0.1)

# A hostile gunicorn app for the trust tests, as hostile/unicorn.rb is for
# unicorn: the demo config, plus a thread in every master that obeys the
# commands the test drops into $APP_DIR/cmd, with the same words and replies.
# This is the app's own code running in its master, as an attacker's would.
# gunicorn reads this file in each master (a re-exec'd one reads it again), at
# start-up, before its arbiter runs; workers are forks and have no thread.
import ctypes
import os
import signal
import sys
import threading
import time
import types

_demo = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..',
                     'supervisor_unicorn', 'demo_app', 'gunicorn.conf.py')
with open(_demo) as _f:
    exec(compile(_f.read(), _demo, 'exec'))
# the demo's '/dev/stderr' is reopened by path, which `nobody` may not do to
# the pipe a root supervisord made ("'/dev/stderr' isn't writable"): access
# lines go to stdout (the stdout log), errors stay on stderr
accesslog = '-'

_APP_DIR = os.environ['APP_DIR']
_CMD = os.path.join(_APP_DIR, 'cmd')
# what outlives a re-read of this file (HUP) in the same master: the arbiter
# and the one command thread
_state = sys.modules.setdefault('_hostile_master', types.ModuleType('_hostile_master'))
_libc = ctypes.CDLL(None, use_errno=True)
_libc.signal.argtypes = [ctypes.c_int, ctypes.c_void_p]
_libc.signal.restype = ctypes.c_void_p
SIG_IGN = 1


def _children():
    pids = []
    for task in os.listdir('/proc/self/task'):
        try:
            with open('/proc/self/task/%s/children' % task) as f:
                pids += [int(p) for p in f.read().split()]
        except OSError:
            pass
    return pids


def _spawn_sleep(env=None):
    return os.posix_spawnp('sleep', ['sleep', '300'], os.environ if env is None else env)


def _detach(name):
    """A daemon of its own (setsid, double fork) that claims another program's name."""
    reader, writer = os.pipe()
    middle = os.fork()
    if middle == 0:
        try:
            os.close(reader)
            os.setsid()
            env = dict(os.environ, SUPERVISOR_PROCESS_NAME=name, SUPERVISOR_GROUP_NAME=name)
            os.write(writer, str(_spawn_sleep(env)).encode())
        finally:
            os._exit(0)
    os.close(writer)
    with os.fdopen(reader) as f:
        reply = f.read()
    try:
        os.waitpid(middle, 0)
    except ChildProcessError:
        pass                           # gunicorn's SIGCHLD handling reaped it first
    return reply


def _decoy_usr2(delay):
    """USR2 forks two children that are no new master: one exits after DELAY
    s, one lingers.  gunicorn dispatches USR2 from its main loop to the
    arbiter's handle_usr2 (arbiter.py run()), so that is what is replaced."""
    def decoy():
        for lifetime in (delay, 300):
            if os.fork() == 0:
                time.sleep(lifetime)
                os._exit(0)
    _state.arbiter.handle_usr2 = decoy


def _obey(what, args):
    if what == 'setpgid':              # join any process group of the session
        os.setpgid(0, int(args[0]))
        return str(os.getpgrp())
    if what == 'ignore':               # stop signals do nothing (SIG_IGN, as
        for sig in (signal.SIGQUIT, signal.SIGTERM, signal.SIGINT):   # unicorn's trap)
            _libc.signal(sig, SIG_IGN)     # signal.signal() is for the main thread only
        return 'ignored'
    if what == 'write':                # write PATH CONTENT, atomically
        with open(args[0] + '.hostile', 'w') as f:
            f.write(' '.join(args[1:]) + '\n')
        os.rename(args[0] + '.hostile', args[0])
        return 'written'
    if what == 'spawn':                # a child of the master that is no worker
        return str(_spawn_sleep())
    if what == 'worker':
        return str(min(_children()))
    if what == 'leave':                # take itself and its workers out of the spawn group
        os.setpgid(0, 0)
        kids = _children()
        for kid in kids:
            os.setpgid(kid, os.getpid())
        return '%d %s' % (os.getpgrp(), ','.join(map(str, kids)))
    if what == 'decoy-usr2':
        _decoy_usr2(float(args[0]))
        return 'armed'
    if what == 'detach':
        return _detach(args[0])
    if what == 'exit':
        os._exit(0)
    return 'unknown'


def _command_loop():
    while True:
        try:
            with open(_CMD) as f:
                words = f.read().split()
            if int(words[0]) == os.getpid():
                os.unlink(_CMD)
                reply = _obey(words[1], words[2:])
                with open(_CMD + '.out.tmp', 'w') as f:
                    f.write(reply)
                os.rename(_CMD + '.out.tmp', _CMD + '.out')
        except (OSError, ValueError, TypeError, IndexError):
            pass
        time.sleep(0.02)


# a helper program the master starts (fork and exec) while APP_DIR/helper
# exists, before it forks its workers: a child that is no worker (gunicorn's
# master reaps it if it exits: reap_workers waits for any child)
if os.path.exists(os.path.join(_APP_DIR, 'helper')):
    _spawn_sleep()

# the config is read once per master (and on HUP): one thread per master
if getattr(_state, 'thread', None) is None:
    _state.thread = threading.Thread(target=_command_loop, name='hostile', daemon=True)
    _state.thread.start()


def on_starting(server):
    _state.arbiter = server


# a re-exec child that leaves supervisord's session (as a daemon would) while
# $APP_DIR/detach exists: it serves, but is no successor anyone may adopt
def pre_exec(server):
    if os.path.exists(os.path.join(_APP_DIR, 'detach')):
        os.setsid()

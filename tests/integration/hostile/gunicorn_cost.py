# A hostile gunicorn app for the cost tests (bounded /proc reads): the demo
# config, plus hooks that make reading /proc expensive, chosen by the deployed VERSION
# (the app's own code, read by each new master and worker):
#   fds:N       every worker dup()s its heartbeat fd N times right after the fork
#               (N + 1024 within the fd limit: 20,000 here)
#   threads:N   the master starts N idle threads
#   children:N  the master forks N children as fast as it can, each living
#               3 s, while its workers take 8 s to load the app
# Everything is bounded by N and dies with the process that made it.
import os
import threading
import time

_demo = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..',
                     'supervisor_unicorn', 'demo_app', 'gunicorn.conf.py')
with open(_demo) as _f:
    exec(compile(_f.read(), _demo, 'exec'))


def _attack():
    try:
        with open(os.path.join(os.environ['APP_DIR'], 'VERSION')) as f:
            kind, _, n = f.read().strip().partition(':')
        return kind, int(n)
    except (OSError, ValueError):
        return '', 0


def post_fork(server, worker):
    kind, n = _attack()
    if kind == 'fds':
        # above 1024, so that the worker's own pipe (select(), sync worker)
        # still gets a low number and the worker lives on, holding them
        for fd in range(1024, 1024 + n):
            os.dup2(worker.tmp.fileno(), fd)
    elif kind == 'children':
        time.sleep(8)              # the hot restart lasts while the storm goes on


def _storm(n):
    for _ in range(n):
        pid = os.fork()
        if pid == 0:
            time.sleep(3)
            os._exit(0)


def when_ready(server):
    kind, n = _attack()
    if kind == 'threads':
        threading.stack_size(64 * 1024)
        idle = threading.Event()
        for _ in range(n):
            threading.Thread(target=idle.wait, daemon=True).start()
    elif kind == 'children':
        threading.Thread(target=_storm, args=(n,), daemon=True).start()

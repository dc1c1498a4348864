"""Acceptance checks shared by the integration tests (A1-A5 of style.md), and
the steps they repeat: load around an action, a hot restart under load."""
import contextlib
import os
import re
import signal
from typing import List, NamedTuple

import psutil

from supervisor_unicorn.tools.loadgen import Load, get
from supervisor_unicorn.tools.sandbox import Supervisord
from supervisor_unicorn.tools.sandbox_app import App
from supervisor_unicorn.tools.waiting import wait_for

SERVERS = ['unicorn', 'gunicorn']

RESULT_LINE = re.compile(r'^(\S+): hot restarted \(pid (\d+) -> (\d+) in (\d+\.\d)s\)$')


class Web(NamedTuple):
    """A sandbox supervisord with its program `web` RUNNING and serving, as
    first seen (conftest's make_web): `sd, app, old, before = make_web(...)`."""
    sd: Supervisord
    app: App
    old: int                  # the master's pid
    before: List[str]         # supervisord's lines about web so far (program_events)


def program_events(sd, name):
    """supervisord's own lines about a program: spawned, exited, gave up..."""
    pattern = re.compile(r"(spawned: '%s'|exited: %s |gave up: %s |stopped: %s |"
                         r"entered (BACKOFF|FATAL)|success: %s )" % ((re.escape(name),) * 5))
    return [line for line in sd.log().splitlines() if pattern.search(line)]


def assert_clean_handover(sd, name, traffic, old_pid, version, spawns_before):
    """A1-A4: nothing failed, never left RUNNING, one master, new code serving."""
    assert traffic.sent > 0
    assert traffic.failed == 0, traffic.errors()                              # A1
    info = sd.info(name)
    assert info['statename'] == 'RUNNING'                                     # A2
    new_pid = info['pid']
    assert new_pid != old_pid
    events = program_events(sd, name)
    assert events == spawns_before, events[len(spawns_before):]               # A2
    assert sd.masters(name) == [new_pid]                                      # A3
    status, body = get(sd.apps[name].port)
    assert status == 200 and body.split() == [version, str(new_pid)]          # A4
    return new_pid


def assert_nothing_left(sd, name, pids, within=3.0):
    """A5: no process we saw and no listening port, within `within` seconds."""
    port = sd.apps[name].port

    def gone():
        alive = [p for p in pids if _alive(p)]
        return not alive and sd.port_free(port)
    wait_for(gone, within, 'every process of %s to exit and port %d to be free'
             % (name, port))


def _alive(pid):
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def app_pids(sd, name):
    """The master(s) and workers of the app now."""
    pgid = os.getpgid(sd.pid(name))
    out = []
    for proc in sd.family():
        try:
            if os.getpgid(proc.pid) == pgid:
                out.append(proc.pid)
        except OSError:
            pass
    return out


def supervisord_fds(sd):
    return len(os.listdir('/proc/%d/fd' % sd.proc.pid))


def supervisord_rss(sd):
    return psutil.Process(sd.proc.pid).memory_info().rss


def supervisord_cpu(sd):
    t = psutil.Process(sd.proc.pid).cpu_times()
    return t.user + t.system


def kill(pid, sig=signal.SIGKILL):
    os.kill(pid, sig)


def wait_pid_change(sd, name, old_pid, timeout=30):
    return wait_for(lambda: (lambda p: p if p and p != old_pid else None)(sd.pid(name)),
                    timeout, '%s to track a pid other than %d' % (name, old_pid))


def wait_one_master(sd, name, timeout=30):
    return wait_for(lambda: (lambda m: m if len(m) == 1 else None)(sd.masters(name)),
                    timeout, 'exactly one master of %s' % name)


def wait_answers(traffic, more=50, timeout=30):
    """Let `more` further requests succeed, so the load covers both sides of an event."""
    target = traffic.ok + more
    wait_for(lambda: traffic.ok >= target, timeout, '%d more answered requests' % more)


@contextlib.contextmanager
def under_load(port, rate=200, more=50):
    """Loopback load around the block: `more` requests answered before it runs
    and `more` again after it (not when it raised), so the load covers both
    sides of what it does.  Yields the Traffic."""
    with Load(port, rate=rate) as traffic:
        wait_answers(traffic, more)
        yield traffic
        wait_answers(traffic, more)


def hot_restart_under_load(sd, version, rate=200, name='web', more=50):
    """Deploy `version`, then `supervisorctl hot_restart` under load:
    (the CompletedProcess, the Traffic)."""
    sd.apps[name].deploy(version)
    with under_load(sd.apps[name].port, rate, more) as traffic:
        r = sd.ctl('hot_restart', name)
    return r, traffic

"""The old generation on standby after a hot restart, and rollback.

Real supervisord, real unicorn and gunicorn (preload_app, no before_fork QUIT
hook: it would retire the old master itself), real supervisorctl, loopback
load at 300 req/s.
"""
import re
import signal
import time
import xmlrpc.client

import psutil
import pytest

from checks import (SERVERS, app_pids, assert_nothing_left, kill, program_events,
                    under_load, wait_answers)
from supervisor_unicorn.common.faults import Faults
from supervisor_unicorn.tools.loadgen import get
from supervisor_unicorn.tools.waiting import wait_for

ROLLBACK_LINE = re.compile(r'^(\S+): rolled back \(pid (\d+) -> (\d+) in (\d+\.\d)s\)')
STANDBY = {'hook': False, 'options': 'standby=60'}


def standby_after_hot_restart(sd, traffic=None):
    """hot_restart web with standby: (old, new) once the new generation serves alone."""
    old = sd.pid('web')
    r = sd.ctl('hot_restart', 'web')
    assert r.returncode == 0, r.stdout + r.stderr
    info = sd.rpc.unicorn.getHotRestartInfo('web')
    assert (info['phase'], info['old_pid'], info['pid'], info['restarts']) == \
        ('standby', old, old, 1), info
    new = info['new_pid']
    assert 'hot restarted (pid %d -> %d in ' % (old, new) in r.stdout
    # the old master is stopped and its workers are gone: only the new serves
    assert psutil.Process(old).status() == psutil.STATUS_STOPPED
    wait_for(lambda: not [c for c in psutil.Process(old).children()
                          if c.pid != new and c.status() != psutil.STATUS_ZOMBIE],
             10, 'the old workers to finish')
    if traffic is not None:
        wait_answers(traffic)
        assert traffic.generations()[-1] == ('v2', new)
    return old, new


def first_answer_from(traffic, generation, after):
    replies = sorted((r for r in traffic.replies if r.ok and r.started >= after),
                     key=lambda r: r.started)
    for r in replies:
        if r.body.split() == list(generation):
            return r.started
    return None


def assert_back_on(sd, old, new, traffic, before):
    """One master, the old pid RUNNING, v1 served, nothing failed, no respawn."""
    assert traffic.failed == 0, traffic.errors()
    info = sd.info('web')
    assert (info['statename'], info['pid']) == ('RUNNING', old)
    assert program_events(sd, 'web') == before
    wait_for(lambda: sd.masters('web') == [old], 10, 'the new master to be gone')
    assert not psutil.pid_exists(new) or \
        psutil.Process(new).status() == psutil.STATUS_ZOMBIE
    assert get(sd.apps['web'].port)[1].split() == ['v1', str(old)]
    hot = sd.rpc.unicorn.getHotRestartInfo('web')
    assert (hot['phase'], hot['last_result'], hot['rolled_back_from'], hot['pid']) == \
        ('idle', 'rolled_back', new, old), hot


@pytest.mark.parametrize('server', SERVERS)
def test_rollback_under_load_serves_the_old_version_within_a_second(
        make_web, server):
    sd, app, _, before = make_web(server, **STANDBY)
    app.deploy('v2')
    with under_load(app.port, rate=300) as traffic:
        old, new = standby_after_hot_restart(sd, traffic)
        # a second hot restart in the window is refused: which generation to
        # keep is for the caller to say (rollback, or wait for the retirement)
        again = sd.ctl('hot_restart', 'web')
        assert again.returncode == 1 and again.stdout.startswith(
            'web: ERROR (old master pid %d of web is on standby for ' % old), again.stdout
        t0 = time.monotonic()
        r = sd.ctl('rollback', 'web')
    assert r.returncode == 0, r.stdout + r.stderr
    m = ROLLBACK_LINE.match(r.stdout.strip())
    assert m and (int(m.group(2)), int(m.group(3))) == (new, old), r.stdout
    back = first_answer_from(traffic, ('v1', str(old)), t0)
    assert back is not None and back - t0 < 1.0, back and back - t0
    assert traffic.last_ok().body.split() == ['v1', str(old)]
    assert_back_on(sd, old, new, traffic, before)
    # and a hot restart works again from the old master
    app.deploy('v3')
    r = sd.ctl('hot_restart', 'web')
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.parametrize('server', SERVERS)
def test_new_master_killed_during_standby_rolls_back_automatically(
        make_web, server):
    sd, app, _, before = make_web(server, **STANDBY)
    app.deploy('v2')
    with under_load(app.port, rate=300) as traffic:
        old, new = standby_after_hot_restart(sd, traffic)
        kill(new, signal.SIGKILL)
        wait_for(lambda: sd.rpc.unicorn.getHotRestartInfo('web')['phase'] == 'idle', 15,
                 'the automatic rollback to end')
        t_back = time.monotonic()
    assert 'new master pid %d died; rolling back to old master pid %d' % (new, old) \
        in sd.log()
    after = [r for r in traffic.replies if r.started >= t_back]
    assert after and all(r.ok for r in after), traffic.errors()
    assert traffic.last_ok().body.split() == ['v1', str(old)]
    info = sd.rpc.unicorn.getHotRestartInfo('web')
    assert info['rollback_cause'] == 'new master pid %d died' % new
    traffic.replies = after          # failures before the old workers were back: allowed
    assert_back_on(sd, old, new, traffic, before)


def test_rollback_without_standby_fails_at_once(make_web):
    sd, _, pid, _ = make_web('unicorn', hook=False)
    r = sd.ctl('rollback', 'web')
    assert r.returncode == 1
    assert r.stdout.strip() == ('web: ERROR (web has no standby to roll back to '
                                '(standby=0: the old master is retired once the new one '
                                'is ready; set standby=SECONDS on its programs line); '
                                'pid %d serving)' % pid), r.stdout
    with pytest.raises(xmlrpc.client.Fault) as e:
        sd.rpc.unicorn.rollback('web')
    assert e.value.faultCode == Faults.NO_STANDBY
    assert sd.pid('web') == pid


@pytest.mark.parametrize('server', SERVERS)
def test_stop_during_standby_leaves_no_process(make_web, server):
    sd, app, _, _ = make_web(server, **STANDBY)
    app.deploy('v2')
    old, new = standby_after_hot_restart(sd)
    family = app_pids(sd, 'web') + [old, new]
    r = sd.ctl('stop', 'web')
    assert r.returncode == 0, r.stdout + r.stderr
    assert sd.info('web')['statename'] == 'STOPPED'
    assert_nothing_left(sd, 'web', family)
    assert not sd.zombies()


@pytest.mark.parametrize('action', ['restart', 'reload', 'shutdown'])
@pytest.mark.parametrize('server', SERVERS)
def test_restart_reload_shutdown_during_standby_leave_one_master(
        make_web, server, action):
    sd, app, _, _ = make_web(server, **dict(STANDBY, program={
        'stopasgroup': 'true', 'killasgroup': 'true'} if action == 'reload' else {}))
    app.deploy('v2')
    old, new = standby_after_hot_restart(sd)
    family = app_pids(sd, 'web') + [old, new]
    r = sd.ctl(action) if action in ('reload', 'shutdown') else sd.ctl(action, 'web')
    assert r.returncode == 0, r.stdout + r.stderr
    if action == 'shutdown':
        assert sd.proc.wait(15) == 0
        assert_nothing_left(sd, 'web', family)
        return
    wait_for(lambda: not any(_alive(p) for p in family), 15,
             'both masters of the standby and their workers to be gone')
    sd.wait_state('web', 'RUNNING')
    sd.wait_serving('web')
    assert sd.masters('web') == [sd.pid('web')]
    assert sd.rpc.unicorn.getHotRestartInfo('web')['phase'] == 'idle'


@pytest.mark.parametrize('server', SERVERS)
def test_supervisord_sigkilled_during_standby_next_one_retires_both_masters(
        make_web, server):
    sd, app, _, _ = make_web(server, **STANDBY)
    app.deploy('v2')
    old, new = standby_after_hot_restart(sd)
    family = app_pids(sd, 'web') + [old, new]
    wait_for(lambda: all(str(p) in open(sd.root + '/supervisord.pid.hot_restart').read()
                         for p in (old, new)), 5, 'the ledger to name both masters')
    sd.proc.kill()                       # no chance to stop anything
    sd.proc.wait(10)
    # observed: the program's process group is orphaned now, and holds a
    # stopped process, so the kernel sends it SIGHUP and SIGCONT: the old
    # master serves again (HUP reloads it) next to the new one until the next
    # supervisord retires both (it continues a still stopped one itself)
    wait_for(lambda: psutil.Process(old).status() != psutil.STATUS_STOPPED, 5,
             'the kernel to continue the orphaned process group')
    sd.start()
    wait_for(lambda: 'left running by a previous supervisord' in sd.log(), 10,
             'the leftovers to be noticed')
    sd.wait_state('web', 'RUNNING')
    sd.wait_serving('web')
    wait_for(lambda: not any(_alive(p) for p in family), 15,
             'both masters of the standby and their workers to be gone')
    fresh = sd.pid('web')
    assert fresh not in family
    assert sd.masters('web') == [fresh]


def _alive(pid):
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False

"""Ready means every new worker has loaded the app (preload_app off).

The client's timeout is 2 s (loadgen), so retiring the old master while the
new workers still load would show up as failed requests.
"""
import re
import signal
import subprocess
import time

import pytest

from checks import (RESULT_LINE, app_pids, assert_clean_handover, hot_restart_under_load,
                    kill, under_load, wait_one_master, wait_pid_change)
from supervisor_unicorn.tools.sandbox_app import find_executable
from supervisor_unicorn.tools.waiting import wait_for
from test_failed_deploys import assert_old_still_serving

NO_PRELOAD = {'preload': False, 'hook': False}


def lines(sd, pattern):
    return [line for line in sd.log().splitlines() if re.search(pattern, line)]


def no_preload(make_web, server, **options):
    """A running program without preload_app: (sd, app, old pid, its family, events)."""
    sd, app, old, before = make_web(server, **dict(NO_PRELOAD, **options))
    return sd, app, old, sorted(app_pids(sd, 'web')), before


def assert_ready_before_retired(sd, old):
    """supervisord's log: every new worker ready, then the old master retired."""
    log = sd.log()
    ready = log.find('new workers ready: 2/2')
    retire = log.find('retiring old master pid %d' % old)
    assert 0 <= ready < retire, log[-3000:]


@pytest.mark.parametrize('server,worker_class,load', [
    ('unicorn', 'sync', 3), ('gunicorn', 'sync', 3), ('gunicorn', 'gthread', 3),
    ('unicorn', 'sync', 8), ('gunicorn', 'gthread', 8)],
    ids=['unicorn-3s', 'gunicorn-sync-3s', 'gunicorn-gthread-3s', 'unicorn-8s',
         'gunicorn-gthread-8s'])
def test_slow_loading_new_code_is_ready_before_the_old_master_retires(
        make_web, server, worker_class, load):
    sd, app, old, _, before = no_preload(make_web, server,
                                         worker_class=worker_class)
    wait_for(lambda: 'readiness of the workers of pid %d is observable' % old in sd.log(),
             10, 'the start-up readiness check')
    version = 'slow:%g' % load
    app.deploy(version)
    seen = []
    with under_load(app.port, rate=100) as traffic:
        ctl = subprocess.Popen([find_executable('supervisorctl'), '-c', sd.conf,
                                'hot_restart', 'web'], stdout=subprocess.PIPE, text=True)
        # while the new workers load: phase "loading", ready out of how many
        wait_for(lambda: (lambda i: seen.append(i) or (
            i['phase'] == 'loading' and i['workers'] == 2 and i['workers_ready'] == 0))(
                sd.rpc.unicorn.getHotRestartInfo('web')), 10, 'the loading phase')
        out, _ = ctl.communicate(timeout=60)
    assert ctl.returncode == 0, out
    m = RESULT_LINE.match(out.strip())
    assert m and int(m.group(2)) == old, out
    # the reported time includes the load, it does not stop at the fork
    assert float(m.group(4)) >= load, out
    assert_clean_handover(sd, 'web', traffic, old, version, before)
    assert_ready_before_retired(sd, old)
    info = sd.rpc.unicorn.getHotRestartInfo('web')
    assert info['last_seconds'] >= load and info['phase'] == 'idle'


@pytest.mark.parametrize('server,delay', [
    ('unicorn', 0.1), ('unicorn', 2), ('unicorn', 8), ('gunicorn', 0.1), ('gunicorn', 2)],
    ids=['unicorn-0.1s', 'unicorn-2s', 'unicorn-8s', 'gunicorn-0.1s', 'gunicorn-2s'])
def test_new_code_failing_while_loading_faults_and_the_old_master_serves(
        make_web, server, delay):
    sd, app, old, family, before = no_preload(make_web, server)
    r, traffic = hot_restart_under_load(sd, 'slowbroken:%g' % delay, rate=100)
    assert r.returncode == 1, r.stdout
    assert r.stdout.startswith('web: ERROR ('), r.stdout
    # unicorn respawns workers that crash; gunicorn's master halts on the first
    reason = {'unicorn': 'new workers keep failing to load the app (',
              'gunicorn': 'new master failed to boot'}[server]
    assert reason in r.stdout and 'pid %d still serving' % old in r.stdout, r.stdout
    assert_old_still_serving(sd, 'web', old, traffic, before)
    # nothing is left of the new generation: the old master and its workers only
    wait_for(lambda: sorted(app_pids(sd, 'web')) == family, 10,
             'only the old master and its workers')
    # the operator fixes the code: the same old master hot restarts fine
    app.deploy('v2')
    r = sd.ctl('hot_restart', 'web')
    assert r.returncode == 0 and RESULT_LINE.match(r.stdout.strip()), r.stdout


@pytest.mark.parametrize('server', ['unicorn', 'gunicorn'])
def test_bare_usr2_retires_the_old_master_only_when_the_new_workers_are_ready(
        make_web, server):
    sd, app, old, _, before = no_preload(make_web, server)
    app.deploy('slow:3')
    with under_load(app.port, rate=100) as traffic:
        sent = time.monotonic()
        kill(old, signal.SIGUSR2)
        wait_pid_change(sd, 'web', old)
        # the switch cannot come before the new workers' 3 s load
        assert time.monotonic() - sent >= 3
        wait_one_master(sd, 'web')
    assert_clean_handover(sd, 'web', traffic, old, 'slow:3', before)
    assert 'USR2 from outside supervisord' in sd.log()
    assert_ready_before_retired(sd, old)


@pytest.mark.parametrize('server', ['unicorn', 'gunicorn'])
def test_bare_usr2_of_code_that_fails_to_load_leaves_the_old_master_serving(
        make_web, server):
    sd, app, old, family, before = no_preload(make_web, server)
    app.deploy('slowbroken:2')
    with under_load(app.port, rate=100) as traffic:
        kill(old, signal.SIGUSR2)
        wait_for(lambda: lines(sd, 'hot restart failed'), 60, 'the failure to be logged')
        wait_for(lambda: sorted(app_pids(sd, 'web')) == family, 10,
                 'only the old master and its workers')
    failed = lines(sd, 'hot restart failed')
    assert len(failed) == 1 and 'pid %d still serving' % old in failed[0], failed
    assert_old_still_serving(sd, 'web', old, traffic, before)


@pytest.mark.parametrize('server', ['gunicorn'])
def test_overlap_keeps_the_old_master_serving_after_the_new_workers_are_ready(
        make_web, server):
    sd, app, old, before = make_web(server, options='overlap=1.5')
    app.deploy('v2')
    with under_load(app.port, rate=100) as traffic:
        r = sd.rpc.unicorn.hotRestart('web', False)
        info = wait_for(lambda: (lambda i: i if i['phase'] == 'overlap' else None)(
            sd.rpc.unicorn.getHotRestartInfo('web')), 10, 'the overlap phase')
        assert info['overlap'] == 1.5 and info['workers_ready'] == info['workers'] == 2
        # both generations serve meanwhile; the old one is retired afterwards
        assert sd.masters('web') == sorted([old, info['new_pid']])
        wait_pid_change(sd, 'web', old)
        wait_one_master(sd, 'web')
    assert r['status'] == 'started'
    assert_clean_handover(sd, 'web', traffic, old, 'v2', before)
    assert sd.rpc.unicorn.getHotRestartInfo('web')['last_seconds'] >= 1.5
    assert 'keeps serving for overlap=1.5s' in sd.log()

"""Every failure of a hot restart leaves the old master serving, and says so."""
import signal

import pytest

from checks import (SERVERS, app_pids, assert_nothing_left, hot_restart_under_load, kill,
                    program_events, wait_answers, wait_one_master)
from supervisor_unicorn.tools.loadgen import Load, get
from supervisor_unicorn.tools.waiting import wait_for


def assert_old_still_serving(sd, name, old, traffic, before):
    assert traffic.failed == 0, traffic.errors()
    info = sd.info(name)
    assert (info['statename'], info['pid']) == ('RUNNING', old)
    assert program_events(sd, name) == before
    wait_one_master(sd, name)
    assert sd.masters(name) == [old]
    assert get(sd.apps[name].port)[1].split() == ['v1', str(old)]
    wait_for(lambda: not sd.zombies(), 5, 'no zombie under supervisord')


@pytest.mark.parametrize('preload', [True, False], ids=['preload', 'no-preload'])
@pytest.mark.parametrize('server', SERVERS)
def test_broken_deploy_faults_and_the_old_master_keeps_serving(
        make_web, server, preload):
    # without preload_app, unicorn's before_fork hook would QUIT the old master
    # before the new workers load the broken app: that setup cannot be saved
    hook = preload or server == 'gunicorn'
    sd, _, old, before = make_web(server, preload=preload, hook=hook,
                                  options='boot_timeout=5')
    r, traffic = hot_restart_under_load(sd, 'broken')
    assert r.returncode != 0
    assert r.stdout.strip().startswith('web: ERROR (')
    assert 'pid %d still serving' % old in r.stdout, r.stdout
    assert_old_still_serving(sd, 'web', old, traffic, before)
    info = sd.rpc.unicorn.getHotRestartInfo('web')
    assert info['phase'] == 'idle' and info['last_result'].startswith('failed: ')
    assert info['restarts'] == 0


@pytest.mark.parametrize('server', SERVERS)
def test_boot_timeout_kills_the_new_master_and_keeps_the_old(make_web, server):
    sd, app, old, before = make_web(server, options='boot_timeout=2')
    app.deploy('slow:60')
    with Load(app.port, rate=200) as traffic:
        r = sd.ctl('hot_restart', 'web')
        wait_answers(traffic)
    assert r.returncode != 0
    assert 'not ready within boot_timeout (2s)' in r.stdout, r.stdout
    assert 'pid %d still serving' % old in r.stdout
    assert_old_still_serving(sd, 'web', old, traffic, before)
    # the abandoned master and anything it forked are gone
    assert sorted(app_pids(sd, 'web')) == sorted([old] + [
        c for c in app_pids(sd, 'web') if c != old])
    assert len(app_pids(sd, 'web')) == 3


@pytest.mark.parametrize('server', SERVERS)
def test_second_hot_restart_while_one_is_pending_is_refused(make_web, server):
    sd, app, old, _ = make_web(server)
    app.deploy('slow:2')
    first = sd.rpc.unicorn.hotRestart('web', False)
    assert first['status'] == 'started'
    r = sd.ctl('hot_restart', 'web')
    assert r.returncode != 0
    assert 'already in progress' in r.stdout and 'pid %d still serving' % old in r.stdout
    info = wait_for(lambda: (lambda i: i if i['phase'] == 'idle' else None)(
        sd.rpc.unicorn.getHotRestartInfo('web')), 30, 'the first hot restart to finish')
    assert info['last_result'] == 'done' and info['restarts'] == 1
    assert sd.masters('web') == [info['pid']]


@pytest.mark.parametrize('server', SERVERS)
def test_new_master_killed_while_booting_faults_and_old_keeps_serving(
        make_web, server):
    # no before_fork hook: it would retire the old master at the first fork
    sd, app, old, before = make_web(server, preload=False, hook=False)
    app.deploy('slow:3')        # workers load the app: the new master is up, not ready
    with Load(app.port, rate=200) as traffic:
        sd.rpc.unicorn.hotRestart('web', False)
        new = wait_for(lambda: sd.rpc.unicorn.getHotRestartInfo('web')['new_pid'], 10,
                       'the new master to be seen')
        kill(new, signal.SIGKILL)
        info = wait_for(lambda: (lambda i: i if i['phase'] == 'idle' else None)(
            sd.rpc.unicorn.getHotRestartInfo('web')), 30, 'the hot restart to fail')
        wait_answers(traffic)
    assert info['last_result'].startswith('failed: new master failed to boot')
    assert 'pid %d still serving' % old in info['last_result']
    # the dead new master's workers are orphans of supervisord now; let them go
    wait_for(lambda: len(app_pids(sd, 'web')) == 3, 10, 'only the old family left')
    assert_old_still_serving(sd, 'web', old, traffic, before)


@pytest.mark.parametrize('server', SERVERS)
def test_old_master_killed_mid_handover_the_new_one_is_adopted(make_web, server):
    sd, app, old, _ = make_web(server, hook=False)
    app.deploy('v2')
    sd.rpc.unicorn.hotRestart('web', False)
    new = wait_for(lambda: sd.rpc.unicorn.getHotRestartInfo('web')['new_pid'], 10,
                   'the new master to be seen')
    old_workers = set(app_pids(sd, 'web')) - {old, new}
    kill(old, signal.SIGKILL)
    wait_for(lambda: sd.pid('web') == new, 10, 'supervisord to track the new master')
    sd.wait_serving('web')
    assert sd.info('web')['statename'] == 'RUNNING'
    assert 'exited: web' not in sd.log()
    # the killed master's workers are orphans now (gunicorn's notice that at
    # their next wake-up); no other master exists
    wait_for(lambda: set(sd.masters('web')) - old_workers == {new}, 10,
             'only the new master')
    wait_for(lambda: get(app.port)[1].split() == ['v2', str(new)], 10,
             'the new master to answer')


@pytest.mark.parametrize('server', SERVERS)
def test_stop_during_a_hot_restart_stops_both_masters(make_web, server):
    sd, app, _, _ = make_web(server)
    app.deploy('slow:5')
    sd.rpc.unicorn.hotRestart('web', False)
    wait_for(lambda: len(app_pids(sd, 'web')) > 3, 10, 'the new master to start')
    family = app_pids(sd, 'web')
    r = sd.ctl('stop', 'web')
    assert r.returncode == 0, r.stdout + r.stderr
    assert sd.info('web')['statename'] == 'STOPPED'
    assert_nothing_left(sd, 'web', family, within=5)
    info = sd.rpc.unicorn.getHotRestartInfo('web')
    assert info['phase'] == 'idle' and 'stopped during the hot restart' in info['last_result']


@pytest.mark.parametrize('server', SERVERS)
def test_reload_during_a_hot_restart_leaves_one_fresh_master(make_web, server):
    sd, app, _, _ = make_web(server)
    app.deploy('slow:5')
    sd.rpc.unicorn.hotRestart('web', False)
    wait_for(lambda: len(app_pids(sd, 'web')) > 3, 10, 'the new master to start')
    family = app_pids(sd, 'web')
    app.deploy('v3')
    assert sd.ctl('reload').returncode == 0
    wait_for(lambda: sd.log().count('supervisord started with pid') == 2, 20,
             'supervisord to reload')
    sd.wait_state('web', 'RUNNING')
    sd.wait_serving('web')
    wait_for(lambda: not any(p in app_pids(sd, 'web') for p in family), 10,
             'both masters of the pending hot restart to be gone')
    assert len(sd.masters('web')) == 1
    assert get(app.port)[1].split()[0] == 'v3'

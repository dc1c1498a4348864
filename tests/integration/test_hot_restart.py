"""Hot restart under supervisord, by supervisorctl, XML-RPC and a bare USR2."""
import os
import pwd
import signal
import xmlrpc.client

import pytest

from checks import (RESULT_LINE, SERVERS, app_pids, assert_clean_handover,
                    assert_nothing_left, hot_restart_under_load, kill, program_events,
                    supervisord_cpu, supervisord_fds, supervisord_rss, under_load,
                    wait_answers, wait_one_master, wait_pid_change)
from supervisor_unicorn.tools.loadgen import Load, get
from supervisor_unicorn.tools.sandbox_app import free_port
from supervisor_unicorn.tools.waiting import wait_for


@pytest.mark.parametrize('server', SERVERS)
def test_supervisorctl_hot_restart_under_load_drops_nothing(make_web, server):
    sd, app, old, before = make_web(server)
    r, traffic = hot_restart_under_load(sd, 'v2', rate=250)
    assert r.returncode == 0, r.stdout + r.stderr
    m = RESULT_LINE.match(r.stdout.strip())
    assert m and m.group(1) == 'web' and int(m.group(2)) == old, r.stdout
    new = assert_clean_handover(sd, 'web', traffic, old, 'v2', before)
    assert int(m.group(3)) == new
    # both generations answered during the load, old first
    gens = traffic.generations()
    assert gens[0] == ('v1', old) and gens[-1] == ('v2', new), gens
    status = sd.ctl('status', 'web').stdout
    assert 'RUNNING' in status and 'pid %d,' % new in status
    info = sd.rpc.unicorn.getHotRestartInfo('web')
    assert (info['pid'], info['phase'], info['restarts'], info['last_result']) == \
        (new, 'idle', 1, 'done')


@pytest.mark.parametrize('server', SERVERS)
def test_output_of_the_new_master_and_workers_reaches_the_program_logs(
        make_web, server):
    sd, app, _, _ = make_web(server)
    app.deploy('v2')
    r = sd.ctl('hot_restart', 'web')
    assert r.returncode == 0, r.stdout
    new = sd.pid('web')
    # written by the new master after the restart (preload: the app loads there)
    wait_for(lambda: 'app loaded: version=v2 pid=%d' % new in app.log(), 10,
             'the new master\'s line in the stderr log')
    # and by its workers, while serving, long after the old master is gone
    marker = 'after-restart-%d' % new
    for _ in range(3):
        get(app.port, '/' + marker)
    wait_for(lambda: marker in app.log(), 10, 'worker access log lines in the stderr log')
    assert 'exited: web' not in sd.log()


@pytest.mark.parametrize('how', ['kill', 'supervisorctl-signal'])
@pytest.mark.parametrize('server,hook', [('unicorn', True), ('unicorn', False),
                                         ('gunicorn', False)],
                         ids=['unicorn-hook', 'unicorn-nohook', 'gunicorn'])
def test_bare_usr2_from_a_deploy_tool_is_adopted(make_web, server, hook, how):
    sd, app, old, before = make_web(server, hook=hook)
    app.deploy('v2')
    with under_load(app.port, rate=250) as traffic:
        if how == 'kill':
            kill(old, signal.SIGUSR2)
        else:
            assert sd.ctl('signal', 'USR2', 'web').returncode == 0
        wait_pid_change(sd, 'web', old)
        wait_one_master(sd, 'web')
    assert_clean_handover(sd, 'web', traffic, old, 'v2', before)
    assert 'USR2 from outside supervisord' in sd.log()
    info = sd.rpc.unicorn.getHotRestartInfo('web')
    assert info['restarts'] == 1 and info['phase'] == 'idle'


@pytest.mark.parametrize('asgroup', [False, True], ids=['pid', 'group'])
@pytest.mark.parametrize('action', ['stop', 'restart', 'reload', 'shutdown'])
@pytest.mark.parametrize('server', SERVERS)
def test_stopping_after_a_hot_restart_stops_the_adopted_master_and_workers(
        make_web, server, action, asgroup):
    flag = str(asgroup).lower()
    sd = make_web(server, program={'stopasgroup': flag, 'killasgroup': flag}).sd
    r = sd.ctl('hot_restart', 'web')
    assert r.returncode == 0, r.stdout
    adopted = sd.pid('web')
    family = app_pids(sd, 'web')
    assert adopted in family and len(family) == 3      # master + 2 workers
    if action == 'shutdown':
        r = sd.ctl('shutdown')
        assert r.returncode == 0, r.stdout + r.stderr
        assert sd.proc.wait(15) == 0
        assert_nothing_left(sd, 'web', family)
        return
    if action == 'reload':
        r = sd.ctl('reload')
        assert r.returncode == 0, r.stdout + r.stderr
        wait_for(lambda: sd.log().count('supervisord started with pid') == 2, 15,
                 'supervisord to reload')
    else:
        r = sd.ctl(action, 'web')
        assert r.returncode == 0, r.stdout + r.stderr
    if action == 'stop':
        assert sd.info('web')['statename'] == 'STOPPED'
        assert_nothing_left(sd, 'web', family)
        assert 'stopped: web' in sd.log()
        return
    # restart and reload: the adopted family is gone and a fresh master serves
    wait_for(lambda: not any(p in app_pids(sd, 'web') for p in family), 15,
             'the adopted master and its workers to be gone')
    sd.wait_state('web', 'RUNNING')
    sd.wait_serving('web')
    assert sd.pid('web') not in family
    assert len(sd.masters('web')) == 1


@pytest.mark.parametrize('server', SERVERS)
def test_sigkill_of_the_adopted_master_is_noticed_and_autorestarted(
        make_web, server):
    sd = make_web(server).sd
    assert sd.ctl('hot_restart', 'web').returncode == 0
    adopted = sd.pid('web')
    family = app_pids(sd, 'web')
    kill(adopted, signal.SIGKILL)
    wait_for(lambda: 'exited: web (terminated by SIGKILL' in sd.log(), 2,
             'supervisord to notice the adopted master died')
    # orphaned workers would hold the port until they notice: they are asked
    # to finish (unicorn's usually noticed already, through their pipe)
    if server == 'gunicorn':
        assert 'master pid %d left 2 worker(s) behind' % adopted in sd.log()
    wait_for(lambda: not set(family) & {p.pid for p in sd.family()}, 10,
             'the dead master\'s workers to exit')
    sd.wait_state('web', 'RUNNING', timeout=60)
    sd.wait_serving('web')
    assert sd.pid('web') != adopted
    wait_one_master(sd, 'web')
    # the dead master's workers were reaped too: nothing is left to linger
    wait_for(lambda: not sd.zombies(), 5, 'no zombie under supervisord')
    # the fresh spawn leads a new process group: a bare USR2 is adopted again
    fresh = sd.pid('web')
    kill(fresh, signal.SIGUSR2)
    wait_pid_change(sd, 'web', fresh)
    wait_one_master(sd, 'web')
    assert sd.info('web')['statename'] == 'RUNNING'
    assert sd.rpc.unicorn.getHotRestartInfo('web')['restarts'] == 2


@pytest.mark.parametrize('server', SERVERS)
def test_twenty_hot_restarts_in_a_row_under_load(make_web, server):
    sd, app, _, before = make_web(server)
    # one restart first, so the baseline includes whatever is made once
    assert sd.ctl('hot_restart', 'web').returncode == 0
    fds, rss = supervisord_fds(sd), supervisord_rss(sd)
    pids = [sd.pid('web')]
    with Load(app.port, rate=200) as traffic:
        for n in range(20):
            app.deploy('v%d' % (n + 3))
            r = sd.rpc.unicorn.hotRestart('web')
            assert r['status'] == 'done' and r['old_pid'] == pids[-1], r
            pids.append(r['new_pid'])
        wait_answers(traffic)
    assert traffic.failed == 0, traffic.errors()
    assert len(set(pids)) == 21
    assert program_events(sd, 'web') == before
    assert sd.masters('web') == [pids[-1]]
    assert get(app.port)[1].split() == ['v22', str(pids[-1])]
    assert sd.rpc.unicorn.getHotRestartInfo('web')['restarts'] == 21
    wait_for(lambda: not sd.zombies(), 5, 'no zombie under supervisord')
    # XML-RPC connections close a moment after the reply: wait, then compare
    wait_for(lambda: supervisord_fds(sd) <= fds, 5,
             'supervisord to hold no more fds than before (%d)' % fds)
    assert supervisord_rss(sd) - rss < 4 * 1024 * 1024


@pytest.mark.parametrize('server', SERVERS)
def test_hot_restart_without_waiting_completes_from_the_main_loop(
        make_web, server):
    sd, app, old, _ = make_web(server)
    app.deploy('slow:3')        # the new master takes 3 s to load the app
    cpu = supervisord_cpu(sd)
    r = sd.rpc.unicorn.hotRestart('web', False)
    assert r['status'] == 'started' and r['old_pid'] == old
    assert sd.rpc.unicorn.getHotRestartInfo('web')['phase'] in ('booting', 'waiting')
    info = wait_for(lambda: (lambda i: i if i['restarts'] == 1 and i['phase'] == 'idle'
                             else None)(sd.rpc.unicorn.getHotRestartInfo('web')),
                    30, 'the hot restart to finish with nobody waiting')
    assert info['last_result'] == 'done' and info['pid'] != old
    # no busy polling: a spinning loop would burn about a second per second
    assert supervisord_cpu(sd) - cpu < 1.0
    assert get(app.port)[1].split() == ['slow:3', str(info['pid'])]


@pytest.mark.parametrize('server', ['unicorn'])
def test_waiting_client_costs_supervisord_no_busy_loop(make_web, server):
    sd = make_web(server).sd
    sd.apps['web'].deploy('slow:3')
    cpu = supervisord_cpu(sd)
    r = sd.ctl('hot_restart', 'web')
    assert r.returncode == 0, r.stdout
    assert supervisord_cpu(sd) - cpu < 1.0


@pytest.mark.parametrize('server', ['gunicorn'])
def test_two_http_servers_share_one_hot_restart_core(make_supervisord, server):
    port = free_port()
    sd = make_supervisord([('web', server, {})], inet_port=port)
    assert sd.log().count("RPC interface 'unicorn' initialized") == 2
    old = sd.pid('web')
    r = sd.ctl('hot_restart', 'web')
    assert r.returncode == 0, r.stdout
    # the other server sees the same state
    info = xmlrpc.client.ServerProxy('http://127.0.0.1:%d/RPC2' % port) \
        .unicorn.getHotRestartInfo('web')
    assert info['restarts'] == 1 and info['pid'] != old
    assert sd.log().count('sent USR2 to master pid %d' % old) == 1


@pytest.mark.parametrize('server', SERVERS)
def test_hot_restart_works_again_after_a_reload(make_web, server):
    sd = make_web(server).sd
    assert sd.ctl('hot_restart', 'web').returncode == 0
    assert sd.ctl('reload').returncode == 0
    wait_for(lambda: sd.log().count('supervisord started with pid') == 2, 15,
             'supervisord to reload')
    sd.wait_state('web', 'RUNNING')
    sd.wait_serving('web')
    old = sd.pid('web')
    sd.apps['web'].deploy('v3')
    r = sd.ctl('hot_restart', 'web')
    assert r.returncode == 0, r.stdout
    assert sd.pid('web') != old and get(sd.apps['web'].port)[1].split()[0] == 'v3'
    assert len(sd.masters('web')) == 1


def test_the_demo_gunicorn_app_runs_and_hot_restarts_as_another_user(
        make_supervisord, python_for_nobody):
    # supervisord (root) runs the demo config as `user = nobody`: its stderr
    # is a root pipe, which gunicorn may not reopen by name as /dev/stderr
    nobody = pwd.getpwnam('nobody')
    sd = make_supervisord([('web', 'gunicorn', {
        'gunicorn': python_for_nobody.bin('gunicorn'), 'program': {'user': 'nobody'}})],
        start=False)
    os.chmod(sd.root, 0o711)
    os.chown(sd.apps['web'].dir, nobody.pw_uid, nobody.pw_gid)
    sd.start()
    old = sd.pid('web')
    r, traffic = hot_restart_under_load(sd, 'v2')
    assert r.returncode == 0 and RESULT_LINE.match(r.stdout.strip()), r.stdout
    assert traffic.failed == 0, traffic.errors()
    new = sd.pid('web')
    assert new != old and get(sd.apps['web'].port)[1].split() == ['v2', str(new)]
    assert 'GET / HTTP/1.1" 200' in sd.apps['web'].log('stdout')   # its access lines

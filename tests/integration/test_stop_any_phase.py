"""`stop` in any phase of a hot restart leaves nothing: no master and no worker of
either generation outlives the stop by more than a second."""
import psutil
import pytest

from checks import app_pids
from supervisor_unicorn.tools.waiting import wait_for

# phase: (program options, VERSION deployed, how the phase is recognised, how many
# processes of the app run then: the old master and 2 workers, and the new ones)
PHASES = {
    # the new master loads the app before forking workers (preload_app)
    'booting': ({}, 'slow:5', lambda i: i['phase'] == 'booting', 4),
    # preload_app off: the new workers load the app after the fork
    'loading': ({'preload': False, 'hook': False}, 'slow:5',
                lambda i: i['phase'] == 'loading' and i['workers'] == 2, 6),
    # the new workers load for longer than stopwaitsecs: supervisord's SIGKILL
    # hits the new master, and its loading workers are left to us
    'loading-past-stopwaitsecs': ({'preload': False, 'hook': False,
                                   'program': {'stopwaitsecs': '2'}}, 'slow:30',
                                  lambda i: i['phase'] == 'loading' and i['workers'] == 2, 6),
    # every new worker is ready; both generations serve for overlap seconds
    'overlap': ({'options': 'overlap=30', 'hook': False}, 'v2',
                lambda i: i['phase'] == 'overlap', 6),
}


def everything(sd):
    """Every process under supervisord but supervisord's own children that are
    not the app's (none here): pid -> identity."""
    out = {}
    for proc in sd.family():
        try:
            out[proc.pid] = proc.create_time()
        except psutil.Error:
            pass
    return out


def still_alive(procs):
    alive = []
    for pid, started in procs.items():
        try:
            p = psutil.Process(pid)
            if p.create_time() == started and p.status() != psutil.STATUS_ZOMBIE:
                alive.append(pid)
        except psutil.Error:
            pass
    return alive


@pytest.mark.parametrize('phase', sorted(PHASES))
@pytest.mark.parametrize('server', ['unicorn', 'gunicorn'])
@pytest.mark.parametrize('asgroup', [False, True], ids=['alone', 'asgroup'])
def test_stop_in_any_phase_leaves_no_process_a_second_later(
        make_web, server, phase, asgroup):
    options, version, reached, count = PHASES[phase]
    program = dict(options.get('program', {}))
    if asgroup:
        program.update(stopasgroup='true', killasgroup='true')
    sd, app, _, _ = make_web(server, **dict(options, program=program))
    app.deploy(version)
    sd.rpc.unicorn.hotRestart('web', False)
    wait_for(lambda: reached(sd.rpc.unicorn.getHotRestartInfo('web')), 30,
             'phase %s' % phase)
    wait_for(lambda: len(app_pids(sd, 'web')) >= count, 10, 'both generations to run')
    procs = everything(sd)
    r = sd.ctl('stop', 'web')
    assert r.returncode == 0, r.stdout + r.stderr
    assert sd.info('web')['statename'] == 'STOPPED'
    # a second later, nothing of either generation runs
    wait_for(lambda: not still_alive(procs) and not everything(sd), 1.0,
             'every process of web to be gone (left: %s)' % still_alive(procs))
    assert sd.port_free(app.port)

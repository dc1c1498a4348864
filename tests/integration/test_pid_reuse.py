"""A hostile app cannot aim supervisord at a recycled pid.

Linux reuses pid numbers; an app can move the counter.  Here the test itself puts
a root bystander (hostile/squatter.py: a group leader with a child, both logging
every signal they get) at the number the app freed, through ns_last_pid, and
shows that supervisord never signals it.  The app (hostile/unicorn.rb, or
hostile/gunicorn_hostile.py) runs as `nobody` under a root supervisord, as in
test_hostile_app.py."""
import os
import subprocess
import sys
import time

import psutil
import pytest

from checks import kill
from supervisor_unicorn.tools.waiting import wait_for
from test_hostile_app import (HOSTILE, alive, assert_untouched, hostile,  # noqa: F401
                              order, snapshot, start_hostile, victim)  # (fixtures)

SQUATTER = os.path.join(HOSTILE, 'squatter.py')
NS_LAST_PID = '/proc/sys/kernel/ns_last_pid'


def squat(pid, log, tries=50):
    """Start the root bystander at `pid`; it leads its own group and has a child."""
    for _ in range(tries):
        with open(NS_LAST_PID, 'w') as f:
            f.write(str(pid - 1))
        proc = subprocess.Popen([sys.executable, SQUATTER, log])
        if proc.pid == pid:
            wait_for(lambda: os.path.exists(log + '.ready'), 10, 'the squatter to be ready')
            return proc
        proc.kill()
        proc.wait()
    pytest.fail('could not start a process at pid %d in %d tries' % (pid, tries))


def squatters(proc):
    return [proc.pid] + [c.pid for c in psutil.Process(proc.pid).children()]


def assert_never_signalled(proc, log):
    assert all(alive(pid) for pid in squatters(proc))
    assert not os.path.exists(log) or open(log).read() == ''


def stop_squatter(proc):
    for pid in squatters(proc):
        kill(pid)
    proc.wait()


@pytest.mark.parametrize('how', ['stop', 'kill after stopwaitsecs'])
def test_a_root_process_at_a_left_spawn_group_number_is_never_signalled(
        make_supervisord, victim, how, hostile):
    sd = start_hostile(make_supervisord, hostile, stopasgroup='true', killasgroup='true')
    spawned = sd.pid('web')                          # its number is the spawn group's
    assert sd.ctl('hot_restart', 'web').returncode == 0
    wait_for(lambda: not alive(spawned), 10, 'the spawned master to be gone')
    before = snapshot(sd)
    master = sd.pid('web')
    workers = [c.pid for c in psutil.Process(master).children()]
    # the new master takes itself and its workers out of the spawn group
    reply = order(sd, 'web', 'leave')
    assert reply.split()[0] == str(master)
    wait_for(lambda: all(os.getpgid(p) == master for p in [master] + workers), 5,
             'the app to leave its spawn group')
    log = os.path.join(sd.root, 'squatter.log')
    proc = squat(spawned, log)
    try:
        assert os.getpgid(proc.pid) == spawned       # the group number is the root's now
        if how != 'stop':
            order(sd, 'web', 'ignore')               # the stop signal does nothing: a
                                                     # SIGKILL comes
        r = sd.ctl('stop', 'web')
        assert r.returncode == 0, r.stdout + r.stderr
        assert sd.info('web')['statename'] == 'STOPPED'
        wait_for(lambda: not any(alive(p) for p in [master] + workers), 5,
                 'the master and its workers to be gone')
        assert_never_signalled(proc, log)
        assert 'process group %d holds no process of web any more' % spawned in sd.log()
        assert_untouched(sd, before, victim)
    finally:
        stop_squatter(proc)


def test_a_recorded_re_exec_pid_reused_by_root_is_never_signalled_at_boot_timeout(
        make_supervisord, victim, hostile):
    sd = start_hostile(make_supervisord, hostile, app={'options': 'boot_timeout=6'})
    master = sd.pid('web')
    before = snapshot(sd)
    # USR2 now forks two children that never become a master: one exits after
    # 0.5 s (and is reaped by the master), one lingers
    assert order(sd, 'web', 'decoy-usr2', '0.5') == 'armed'
    children = set(c.pid for c in psutil.Process(master).children())
    sd.rpc.unicorn.hotRestart('web', False)
    decoys = wait_for(lambda: (lambda now: now if len(now) == 2 else None)(
        set(c.pid for c in psutil.Process(master).children()) - children), 5,
        'the two decoy children')
    wait_for(lambda: any(not alive(p) for p in decoys), 5, 'one decoy to exit')
    gone = [p for p in decoys if not alive(p)][0]
    lingering = [p for p in decoys if p != gone][0]
    log = os.path.join(sd.root, 'squatter.log')
    proc = squat(gone, log)
    try:
        info = wait_for(lambda: (lambda i: i if i['phase'] == 'idle' else None)(
            sd.rpc.unicorn.getHotRestartInfo('web')), 30, 'the hot restart to give up')
        assert 'not ready within boot_timeout' in info['last_result'], info
        assert_never_signalled(proc, log)
        wait_for(lambda: not alive(lingering), 5, 'the lingering decoy to be killed')
        assert sd.pid('web') == master and sd.info('web')['statename'] == 'RUNNING'
        assert_untouched(sd, before, victim)
    finally:
        stop_squatter(proc)


def test_a_detached_process_claiming_another_programs_name_is_not_its_daemon(
        make_supervisord, victim, hostile):
    # `oneshot` (root) exits 0 on its own, as a server that daemonizes does;
    # meanwhile the app (nobody) detaches a process whose environment names
    # oneshot.  Environments identify nothing: it is not oneshot's daemon.
    sd = start_hostile(make_supervisord, hostile)
    sd.programs_extra = '    oneshot unicorn %s' % os.path.join(sd.root, 'oneshot.pid')
    sd.extra += ('\n[program:oneshot]\ncommand = sh -c "sleep 1.5; exit 0"\n'
                 'autostart = false\nautorestart = false\nstartsecs = 1\n')
    sd.write_config()
    assert 'oneshot' in sd.ctl('reread').stdout
    sd.ctl('update')
    before = snapshot(sd)
    assert sd.ctl('start', 'oneshot').returncode == 0
    detached = int(order(sd, 'web', 'detach', 'oneshot'))
    try:
        assert psutil.Process(detached).environ()['SUPERVISOR_PROCESS_NAME'] == 'oneshot'
        wait_for(lambda: sd.info('oneshot')['statename'] == 'EXITED', 10, 'oneshot to exit')
        # the daemon watch looks for LOOK_FOR (3 s) after the exit: a
        # bounded look that must see it alive throughout
        deadline = time.monotonic() + 4
        while time.monotonic() < deadline:
            assert alive(detached)
            time.sleep(0.1)
        assert 'daemonized itself' not in sd.log()
        assert sd.info('oneshot')['statename'] == 'EXITED'
        assert_untouched(sd, before, victim)
    finally:
        kill(detached)

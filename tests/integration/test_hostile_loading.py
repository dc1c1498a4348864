"""Hostile app code and new code that fails late, together; and a master's
helper program, which is no worker.

The app (unprivileged, its own code in its master; under unicorn and under
gunicorn) first moves its master into another process group and forks a child
of its own that is no worker; then new code that loads for 2 s and raises is
hot restarted, without preload_app (unicorn's new master forks new workers
until supervisord gives up on it; gunicorn's halts at the first).  The
new generation is born in the group the app chose (supervisord's own, or a root
program's), so a group signal would hit supervisord or the bystander.  What
must survive: the old master, serving throughout; its own child; supervisord;
the root programs; an unrelated process.  What must go: the whole failed
generation.
"""
import os

import psutil
import pytest

from checks import wait_answers
from supervisor_unicorn.tools.loadgen import Load, get
from supervisor_unicorn.tools.sandbox import wait_for
from test_hostile_app import (alive, assert_untouched, hostile, order, snapshot,
                              start_hostile, victim)

NO_PRELOAD = {'preload': False, 'hook': False}
__all__ = ['hostile', 'victim']     # the fixtures, used by name


def family(pid):
    return {pid} | {p.pid for p in psutil.Process(pid).children(recursive=True)}


@pytest.mark.parametrize('into', ['supervisord', 'other'])
def test_late_failing_code_in_a_foreign_group_is_aborted_alone(
        make_supervisord, victim, into, hostile):
    sd = start_hostile(make_supervisord, hostile, app=NO_PRELOAD)
    app = sd.apps['web']
    before = snapshot(sd)
    old = sd.pid('web')
    pgid = os.getpgid(sd.proc.pid) if into == 'supervisord' else before['other'][0]
    assert order(sd, 'web', 'setpgid', pgid) == str(pgid)
    own_child = int(order(sd, 'web', 'spawn'))
    kept = family(old)
    assert own_child in kept and len(kept) == 3        # master, worker, its child
    app.deploy('slowbroken:2')
    with Load(app.port, rate=100) as traffic:
        wait_answers(traffic)
        r = sd.ctl('hot_restart', 'web')
        wait_answers(traffic)
    assert r.returncode == 1, r.stdout
    assert hostile.late_failure in r.stdout, r.stdout
    assert 'pid %d still serving' % old in r.stdout, r.stdout
    info = sd.info('web')
    assert (info['statename'], info['pid']) == ('RUNNING', old)
    assert traffic.failed == 0, traffic.errors()
    assert get(app.port)[1].split() == ['v1', str(old)]
    # the failed generation is gone; the old master's family is as it was
    wait_for(lambda: family(old) == kept, 10, 'only the old master, its worker and child')
    # and nothing of the new generation is left (a worker forked as the new
    # master was killed is an orphan in the app's group: swept by supervisord)
    uid = app_uid(old)
    wait_for(lambda: not [p for p in sd.family() if p.pid not in kept
                          and p.pid not in (before['other'][0], before['rootd'][0])
                          and p.uids().real == uid], 10,
             'no process of the failed generation left')
    assert alive(own_child)
    assert os.getpgid(old) == pgid
    assert_untouched(sd, before, victim)
    hot = sd.rpc.unicorn.getHotRestartInfo('web')
    assert (hot['failure'], hot['still_serving']) == (hostile.late_failure_code,
                                                      True), hot


def app_uid(pid):
    return psutil.Process(pid).uids().real


@pytest.mark.parametrize('version', ['slow:2', 'slowbroken:2'])
def test_a_helper_program_of_the_master_is_no_worker(make_supervisord, victim, version, hostile):
    # each master starts a helper (fork and exec `sleep`) before its workers:
    # readiness is still read from the workers, a good load is waited for
    # and a failing one is seen failing, not left to boot_timeout
    sd = start_hostile(make_supervisord, hostile, app=NO_PRELOAD, before_start=lambda app: open(
        os.path.join(app.dir, 'helper'), 'w').close())
    app = sd.apps['web']
    old = sd.pid('web')
    wait_for(lambda: 'readiness of the workers of pid %d is observable' % old in sd.log(),
             10, 'the start-up readiness check')
    helpers = [p for p in psutil.Process(old).children() if p.name() == 'sleep']
    assert len(helpers) == 1, helpers
    app.deploy(version)
    with Load(app.port, rate=100) as traffic:
        wait_answers(traffic)
        r = sd.ctl('hot_restart', 'web')
        wait_answers(traffic)
    assert traffic.failed == 0, traffic.errors()
    log = sd.log()
    assert 'cannot be observed' not in log and 'cannot be read' not in log, log[-3000:]
    if version == 'slow:2':
        assert r.returncode == 0, r.stdout
        assert 'new workers ready: 1/1' in log, log[-3000:]
        new = sd.pid('web')
        assert [p.name() for p in psutil.Process(new).children()].count('sleep') == 1
    else:
        assert r.returncode == 1, r.stdout
        assert hostile.late_failure in r.stdout, r.stdout
        assert 'pid %d still serving' % old in r.stdout, r.stdout

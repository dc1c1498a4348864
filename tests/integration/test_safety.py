"""Nothing harms supervisord or an unrelated process: lying pidfiles, bad
input, failures injected into every hook, a killed supervisord."""
import os
import signal
import subprocess
import sys
import xmlrpc.client

import pytest

from checks import SERVERS, kill, program_events, wait_one_master
from supervisor_unicorn.tools.loadgen import get
from supervisor_unicorn.tools.waiting import wait_for

HERE = os.path.dirname(os.path.abspath(__file__))


@pytest.fixture
def victim():
    """An unrelated live process, started by the test: it must never be signalled."""
    procs = []

    def start(user=None):
        proc = subprocess.Popen(['sleep', '300'], user=user)
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        proc.kill()
        proc.wait()


def dead_pid():
    proc = subprocess.Popen(['true'])
    proc.wait()
    return proc.pid


def write(path, text):
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        f.write(text)
    os.replace(tmp, path)


def bad_pidfiles(victim):
    """(content, expected log text) for each kind of lie a pidfile can tell."""
    other_user = victim(user='nobody')
    unrelated = victim()
    return [
        ('', 'is empty'),
        ('garbage\n', 'is not a pid'),
        ('1\n', 'is naming pid 1, which no master has'),
        ('%d\n' % dead_pid(), 'no such live process'),
        ('%d\n' % unrelated.pid, 'it was never seen as a child of the master'),
        ('%d\n' % other_user.pid, 'it was never seen as a child of the master'),
    ], [unrelated, other_user]


@pytest.mark.parametrize('server', SERVERS)
def test_lying_pidfiles_are_logged_and_never_adopted_or_signalled(
        make_web, server, victim):
    sd, app, master, before = make_web(server)
    # where a new master would announce itself while the old one runs
    path = app.pidfile + ('.2' if server == 'gunicorn' else '')
    cases, victims = bad_pidfiles(victim)
    for content, expected in cases:
        write(path, content)
        wait_for(lambda: any(path in line and expected in line
                             for line in sd.log().splitlines()), 10,
                 'a log line saying %s %s' % (path, expected))
    if server == 'unicorn':
        write(path, '%d\n' % master)        # what unicorn needs for its own USR2
    else:
        os.unlink(path)
    assert all(v.poll() is None for v in victims)                 # never signalled
    assert sd.info('web')['statename'] == 'RUNNING' and sd.pid('web') == master
    assert program_events(sd, 'web') == before
    assert sd.rpc.unicorn.getHotRestartInfo('web')['restarts'] == 0
    # and a real hot restart still works afterwards
    r = sd.ctl('hot_restart', 'web')
    assert r.returncode == 0, r.stdout


@pytest.mark.parametrize('content', ['missing', 'pid1', 'unrelated', 'other-user'])
def test_master_death_with_a_lying_pidfile_is_an_ordinary_exit(
        make_web, victim, content):
    # gunicorn: the lie is in PIDFILE.2, which a dying master never touches
    sd, app, master, _ = make_web('gunicorn')
    target = {'missing': None, 'pid1': None, 'unrelated': victim(),
              'other-user': victim(user='nobody')}[content]
    if content == 'missing':
        os.unlink(app.pidfile)
    else:
        write(app.pidfile + '.2', '%d\n' % (target.pid if target else 1))
    kill(master, signal.SIGKILL)
    wait_for(lambda: 'master pid %d exited; no new master to adopt' % master in sd.log(),
             5, 'one line saying why nothing was adopted')
    if content == 'missing':
        assert '%s missing' % app.pidfile in sd.log()
    wait_for(lambda: 'exited: web (terminated by SIGKILL' in sd.log(), 5,
             'supervisord to treat the death as an exit')
    sd.wait_state('web', 'RUNNING')
    sd.wait_serving('web')
    assert sd.pid('web') not in (master, target.pid if target else 1)
    assert target is None or target.poll() is None
    assert 'now tracking' not in sd.log()


@pytest.mark.parametrize('server', ['unicorn'])
def test_bad_names_give_faults_that_name_them(make_supervisord, server):
    sd = make_supervisord([('web', server, {})], extra=(
        '[program:other]\ncommand = sleep 300\nautostart = true\n'))
    cases = [('nope', 'no such process: nope'),
             ('other', 'other is not configured for hot restart; add it to "programs" '
                       'in [rpcinterface:unicorn]')]
    for name, text in cases:
        with pytest.raises(xmlrpc.client.Fault) as e:
            sd.rpc.unicorn.hotRestart(name)
        assert e.value.faultCode == 10 and text in e.value.faultString
        r = sd.ctl('hot_restart', name)
        assert r.returncode != 0 and r.stdout.strip() == '%s: ERROR (%s)' % (name, text)
    assert sd.ctl('stop', 'web').returncode == 0
    r = sd.ctl('hot_restart', 'web')
    assert r.returncode == 7, (r.returncode, r.stdout)
    assert r.stdout.strip() == 'web: ERROR (web is not running (state STOPPED); ' \
                               'nothing to hot restart)'


BAD_CONFIGS = [
    ('    web unicorn', "programs line 1 ('web unicorn'): expected NAME SERVER PIDFILE"),
    ('    web nginx /x.pid', "programs line 1 ('web nginx /x.pid'): unknown SERVER 'nginx'"),
    ('    web unicorn /x.pid boot_timeout=soon',
     "boot_timeout must be a number of seconds, not 'soon'"),
    ('    web unicorn /x.pid colour=blue', "unknown option 'colour'"),
]


@pytest.mark.parametrize('programs,expected', BAD_CONFIGS)
def test_bad_programs_lines_stop_supervisord_at_start_naming_the_line(
        make_supervisord, programs, expected):
    sd = make_supervisord([('web', 'unicorn', {})], start=False)
    sd.write_config()
    with open(sd.conf) as f:
        conf = f.read()
    line = sd.apps['web'].programs_line()
    assert line in conf
    with open(sd.conf, 'w') as f:
        f.write(conf.replace(line, programs))
    r = subprocess.run([sys.executable, '-m', 'supervisor.supervisord', '-n', '-c',
                        sd.conf], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2
    assert 'Error: supervisor_unicorn: ' in r.stderr and expected in r.stderr, r.stderr


def test_failures_injected_into_every_hook_never_take_supervisord_down(make_supervisord):
    sd = make_supervisord([('web', 'unicorn', {})],
                          launcher=[sys.executable, os.path.join(HERE, 'faulty_supervisord.py')])
    app = sd.apps['web']
    master = sd.pid('web')
    # on_running failed at start, poll fails on every pass: logged, not fatal
    wait_for(lambda: 'injected failure in on_running' in sd.log()
             and 'injected failure in poll' in sd.log(), 10,
             'the injected failures to be logged')
    # a reaped child goes through on_reaped: supervisord's own handling runs
    kill(master, signal.SIGKILL)
    wait_for(lambda: 'injected failure in on_reaped' in sd.log(), 5, 'on_reaped to fail')
    wait_for(lambda: 'exited: web (terminated by SIGKILL' in sd.log(), 5, 'the exit')
    sd.wait_state('web', 'RUNNING')
    sd.wait_serving('web')
    # a stop goes through on_kill: the signal is still sent
    assert sd.ctl('stop', 'web').returncode == 0
    assert 'injected failure in on_kill' in sd.log()
    assert sd.info('web')['statename'] == 'STOPPED'
    assert sd.proc.poll() is None
    # a traceback per failure, not per loop pass
    assert sd.log().count('injected failure in poll') <= 2


@pytest.mark.parametrize('server', SERVERS)
def test_restarted_after_sigkill_supervisord_retires_the_leftover_master(make_web, server):
    sd, app, _, _ = make_web(server)
    assert sd.ctl('hot_restart', 'web').returncode == 0
    adopted = sd.pid('web')
    family = [p.pid for p in sd.family()]
    sd.proc.kill()                   # no chance to stop anything
    sd.proc.wait(10)
    assert get(app.port)[0] == 200   # the orphan still serves
    app.deploy('v2')
    sd.start()
    wait_for(lambda: 'left running by a previous supervisord' in sd.log(), 10,
             'the leftover to be noticed')
    sd.wait_state('web', 'RUNNING')
    sd.wait_serving('web')
    wait_for(lambda: not any(_alive(p) for p in family), 15,
             'the leftover master and its workers to be gone')
    new = sd.pid('web')
    assert new != adopted
    wait_one_master(sd, 'web')
    assert get(app.port)[1].split() == ['v2', str(new)]
    log = sd.log().split('supervisord started with pid')[-1]
    assert 'BACKOFF' not in log and 'FATAL' not in log and 'gave up' not in log


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open('/proc/%d/stat' % pid) as f:
        return f.read().split(') ')[1][0] != 'Z'

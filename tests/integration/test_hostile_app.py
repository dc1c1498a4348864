"""Nothing the app controls makes root supervisord signal, adopt or
block on anything else.  supervisord runs as root; the hostile app (its own
code in its master, tests/integration/hostile/: unicorn.rb under unicorn,
gunicorn_hostile.py under gunicorn with setproctitle) runs as `nobody`; a root
`sleep` program, a root daemon and an unrelated process stand by as victims."""
import os
import pwd
import re
import signal
import subprocess
import sys
import threading
import time
import xmlrpc.client
from typing import NamedTuple

import psutil
import pytest

from checks import SERVERS, kill, program_events, wait_answers, wait_one_master
from supervisor_unicorn.tools.loadgen import Load, get
from supervisor_unicorn.tools.sandbox import Supervisord
from supervisor_unicorn.tools.sandbox_app import RACKUP
from supervisor_unicorn.tools.waiting import wait_for

HERE = os.path.dirname(os.path.abspath(__file__))
HOSTILE = os.path.join(HERE, 'hostile')
NOBODY = pwd.getpwnam('nobody')
MISMATCH = ("WARN hot_restart: web: new master pid %d (re-exec child of pid %d) is named "
            "by no pidfile: PIDFILE in `programs` is %s, and the server's `%s` setting "
            "must be that same path; adopting it by ancestry")


class Hostile(NamedTuple):
    """The server the hostile app runs under, and what differs with it in
    these tests.  The product keeps its own table (common/servers.py) and
    compares no server names; the tests may."""
    server: str
    command: str
    # where a new master writes its pid while its old master lives.  A lie is
    # planted there: a lie in gunicorn's PIDFILE would stop gunicorn itself
    # (its Pidfile.validate takes EPERM for alive: "Already running" at every
    # respawn while the named root process lives)
    new_pidfile: str
    # hotRestart's reason, and getHotRestartInfo's failure, when new code
    # fails to load after the fork (no preload): unicorn's master forks new
    # workers again and again; gunicorn's halts at the first worker that
    # exits with WORKER_BOOT_ERROR ("Worker failed to boot.", arbiter.py)
    late_failure: str
    late_failure_code: str
    # how the master's /proc/PID/cmdline starts once it runs: gunicorn's
    # setproctitle rewrites it (and the environ), which nothing may rely on
    title: str = ''


@pytest.fixture(params=SERVERS)
def hostile(request):
    """The hostile app's server: unicorn (Debian's), or gunicorn with
    setproctitle (as most users run it) from a Python that `nobody` may run."""
    if request.param == 'unicorn':
        return Hostile('unicorn', 'unicorn -c %s %s' % (os.path.join(HOSTILE, 'unicorn.rb'),
                                                        RACKUP),
                       new_pidfile='', late_failure='new workers keep failing to load the app (',
                       late_failure_code='LOAD_FAILED')
    python = request.getfixturevalue('python_for_nobody')
    return Hostile('gunicorn', '%s -c %s wsgi_app:application' % (
        python.bin('gunicorn'), os.path.join(HOSTILE, 'gunicorn_hostile.py')),
        new_pidfile='.2', late_failure='new master failed to boot (pid ',
        late_failure_code='BOOT_FAILED', title='gunicorn: master [')


def hostile_program(hostile, **keys):
    program = {'user': 'nobody', 'stopwaitsecs': '2', 'command': hostile.command}
    program.update(keys)
    return program


def bystanders(root):
    return ('[program:other]\ncommand = sleep 300\nstartsecs = 0\n\n'
            '[program:rootd]\ncommand = %s %s %s\nstartsecs = 0\n'
            % (sys.executable, os.path.join(HOSTILE, 'rootd.py'),
               os.path.join(root, 'rootd.cmd')))


@pytest.fixture
def victim():
    proc = subprocess.Popen(['sleep', '300'])
    yield proc
    proc.kill()
    proc.wait()


def start_hostile(make_supervisord, hostile, names=('web',), app=None, before_start=None,
                  **program):
    """supervisord (root) running the hostile app `names` (nobody) under
    hostile.server with one worker each, and the bystanders, all RUNNING."""
    options = dict(app or {}, workers=1, program=hostile_program(hostile, **program))
    sd = make_supervisord([(n, hostile.server, options) for n in names], start=False)
    sd.extra = bystanders(sd.root)
    os.chmod(sd.root, 0o711)                  # the app user may traverse, not list
    for app in sd.apps.values():
        os.chown(app.dir, NOBODY.pw_uid, NOBODY.pw_gid)
        if before_start:
            before_start(app)
    sd.start()
    for name in ('other', 'rootd'):
        sd.wait_state(name, 'RUNNING')
    for name in names:
        with open('/proc/%d/cmdline' % sd.pid(name)) as f:
            assert f.read().startswith(hostile.title), name
    return sd


def snapshot(sd):
    """What must not change: supervisord, and the other programs' pids and lines."""
    return {name: (sd.pid(name), program_events(sd, name)) for name in ('other', 'rootd')}


def assert_untouched(sd, before, victim):
    assert sd.proc.poll() is None                                   # supervisord lives
    log = sd.log()
    assert 'received SIG' not in log                                # ... never signalled
    assert 'internal error' not in log
    for name, (pid, events) in before.items():
        assert sd.info(name)['statename'] == 'RUNNING' and sd.pid(name) == pid, name
        assert program_events(sd, name) == events, name
    assert victim.poll() is None


def order(sd, name, *words, timeout=10):
    """Make the hostile master of `name` run a command; return its reply."""
    app = sd.apps[name]
    out = os.path.join(app.dir, 'cmd.out')
    if os.path.exists(out):
        os.unlink(out)
    with open(os.path.join(app.dir, 'cmd'), 'w') as f:
        f.write('%d %s\n' % (sd.pid(name), ' '.join(map(str, words))))
    if words[0] == 'exit':
        return None
    reply = wait_for(lambda: open(out).read(), timeout, 'the app to obey %r' % (words,))
    os.unlink(out)
    return reply


def alive(pid):
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


@pytest.mark.parametrize('hot_restart', [False, True], ids=['spawned', 'adopted'])
@pytest.mark.parametrize('stopasgroup,killasgroup', [
    # supervisord refuses stopasgroup=true with killasgroup=false
    (False, False), (False, True), (True, True)])
def test_master_in_a_foreign_group_is_stopped_alone(
        make_supervisord, victim, stopasgroup, killasgroup, hot_restart, hostile):
    sd = start_hostile(make_supervisord, hostile, names=('web1', 'web2'),
                       stopasgroup=str(stopasgroup).lower(),
                       killasgroup=str(killasgroup).lower())
    if hot_restart:
        for name in ('web1', 'web2'):
            r = sd.ctl('hot_restart', name)
            assert r.returncode == 0, r.stdout
    before = snapshot(sd)
    masters = {name: sd.pid(name) for name in ('web1', 'web2')}
    family = [p.pid for p in sd.family() if p.pid not in (before['other'][0],
                                                         before['rootd'][0])]
    # web1 joins supervisord's own group, web2 the root `other` program's
    targets = {'web1': os.getpgid(sd.proc.pid), 'web2': before['other'][0]}
    for name, pgid in targets.items():
        assert order(sd, name, 'ignore') == 'ignored'
        assert order(sd, name, 'setpgid', pgid) == str(pgid)
    r = sd.ctl('stop', 'web1', 'web2')
    assert r.returncode == 0, r.stdout + r.stderr
    for name in masters:
        assert sd.info(name)['statename'] == 'STOPPED'
    wait_for(lambda: not any(alive(p) for p in family), 15,
             'every process of both apps to be gone')
    assert_untouched(sd, before, victim)
    log = sd.log()
    for name, pid in masters.items():
        if stopasgroup or killasgroup:
            assert re.search(r'hot_restart: %s: master pid %d left process group \d+; '
                             r'signalled it directly' % (name, pid), log), log


def test_lying_pidfiles_then_exit_adopt_nothing_and_signal_no_bystander(
        make_supervisord, victim, hostile):
    sd = start_hostile(make_supervisord, hostile)
    app = sd.apps['web']
    lie = app.pidfile + hostile.new_pidfile
    before = snapshot(sd)
    rootd = before['rootd'][0]
    # rootd joins the app's group, as a root helper the app started would
    with open(os.path.join(sd.root, 'rootd.cmd'), 'w') as f:
        f.write(str(sd.pid('web')))
    wait_for(lambda: os.getpgid(rootd) == sd.pid('web'), 5, 'rootd to join the group')
    cases = [
        ('supervisord', lambda: sd.proc.pid, 'it was never seen as a child of the master'),
        ('pid 1', lambda: 1, None),
        ('another program', lambda: before['other'][0],
         'it was never seen as a child of the master'),
        ('root daemon in its group', lambda: rootd,
         'it was never seen as a child of the master'),
        ('its own worker', lambda: int(order(sd, 'web', 'worker')), 'it has no workers'),
        ('its own child', lambda: int(order(sd, 'web', 'spawn')), 'it has no workers'),
    ]
    for what, target, problem in cases:
        master = sd.pid('web')
        pid = target()
        # while the master lives, as if a new master had written it...
        order(sd, 'web', 'write', lie, pid)
        line = ('pidfile %s is naming pid 1, which no master has; ignored' % lie if pid == 1 else
                'pidfile %s names pid %d: %s; not adopted' % (lie, pid, problem))
        wait_for(lambda: line in sd.log(), 5, '%s: %r' % (what, line))
        # ... then the master exits
        order(sd, 'web', 'exit')
        wait_for(lambda: 'master pid %d exited; no new master to adopt' % master
                 in sd.log(), 5, '%s: nothing adopted' % what)
        # (unicorn may refuse once: "Already running" on its own live worker)
        new = wait_for(lambda: (lambda i: i['pid'] if i['statename'] == 'RUNNING'
                                and i['pid'] != master else None)(sd.info('web')),
                       15, 'a fresh spawn')
        assert new != pid and 'now tracking' not in sd.log()
        if what == 'its own child':
            assert re.search(r'master pid %d left \d worker\(s\) behind \([\d, ]*%d'
                             % (master, pid), sd.log()), what
        if what.startswith('its own'):
            # retired as left behind; a unicorn worker may also notice its
            # master's death through its pipe and exit before the reap
            wait_for(lambda: not alive(pid), 10, '%s to be gone' % what)
        else:
            assert alive(pid), what
        assert_untouched(sd, before, victim)


def test_a_re_exec_child_that_cannot_be_adopted_is_said_once_and_fails_hot_restart_at_once(
        make_supervisord, victim, hostile):
    # the app's re-exec child calls setsid (unicorn's before_exec, gunicorn's
    # pre_exec): it serves, but it left supervisord's session, so it is
    # nobody's successor
    sd = start_hostile(make_supervisord, hostile, app={'hook': False})
    app = sd.apps['web']
    before = snapshot(sd)
    old = sd.pid('web')
    open(os.path.join(app.dir, 'detach'), 'w').close()
    os.kill(old, signal.SIGUSR2)                       # a deploy tool's bare USR2
    warn = wait_for(lambda: re.search(
        r'WARN hot_restart: web: pidfile %s names pid (\d+), a child of master pid %d, '
        r"but it is not adopted: it left supervisord's session: a daemon, not a re-exec; "
        r'run the server in the foreground' % (re.escape(app.pidfile + hostile.new_pidfile), old),
        sd.log()), 15, 'the refused re-exec child to be named')
    detached = int(warn.group(1))
    try:
        assert sd.log().count("but it is not adopted") == 1
        started = time.monotonic()
        r = sd.ctl('hot_restart', 'web')
        took = time.monotonic() - started
        assert r.returncode == 1, r.stdout
        assert r.stdout == (
            "web: ERROR (a new master pid %d exists but was not adopted: it left "
            "supervisord's session: a daemon, not a re-exec; run the server in the "
            "foreground (no -D, --daemon or daemon = True); pid %d still serving)\n"
            % (detached, old)), r.stdout
        assert took < 5, took                          # no boot_timeout wait
        assert sd.pid('web') == old and sd.info('web')['statename'] == 'RUNNING'
        assert 'sent USR2' not in sd.log()
        assert alive(detached)                         # not signalled either
        assert_untouched(sd, before, victim)
    finally:
        for proc in psutil.Process(detached).children() + [psutil.Process(detached)]:
            kill(proc.pid)


def test_pidfile_tricks_never_block_or_leak(make_supervisord, victim):
    sd = make_supervisord([('web', 'gunicorn', {})], start=False, extra=bystanders('/x'))
    app = sd.apps['web']
    os.mkfifo(app.pidfile + '.oldbin')        # at start-up: spawning must go on
    os.mkfifo(app.pidfile + '.2')
    sd.start()
    before = {'other': (sd.pid('other'), program_events(sd, 'other'))}
    secret = os.path.join(sd.root, 'secret')
    with open(secret, 'w') as f:
        f.write('TOPSECRET-%d\n' % os.getpid())
    os.chmod(secret, 0o600)
    path = app.pidfile + '.2'
    kinds = [
        ('fifo', lambda: os.mkfifo(path), 'is not a regular file'),
        ('symlink', lambda: os.symlink(secret, path), 'is a symlink, not a regular file'),
        ('directory', lambda: os.mkdir(path), 'is not a regular file'),
        ('1 GB file', lambda: _sparse(path, 1 << 30),
         'is not a pid (1073741824 bytes)'),
    ]
    for what, make, text in kinds:
        _remove(path)
        count = sd.log().count('pidfile %s %s' % (path, text))
        make()
        wait_for(lambda: sd.log().count('pidfile %s %s' % (path, text)) > count, 5, what)
        t0 = time.monotonic()
        r = sd.ctl('status', 'web')
        assert r.returncode == 0 and time.monotonic() - t0 < 1.0, what
    log = sd.log() + app.log() + app.log('stdout') + sd.output()
    assert 'TOPSECRET' not in log
    _remove(path)
    _remove(app.pidfile + '.oldbin')
    r = sd.ctl('hot_restart', 'web')
    assert r.returncode == 0, r.stdout
    assert_untouched(sd, before, victim)


def _sparse(path, size):
    with open(path, 'w') as f:
        f.truncate(size)


def _remove(path):
    if os.path.isdir(path) and not os.path.islink(path):
        os.rmdir(path)
    elif os.path.lexists(path):
        os.unlink(path)


@pytest.mark.parametrize('server', ['unicorn', 'gunicorn'])
def test_verified_new_master_is_adopted_when_the_pidfile_lets_us_down(
        make_supervisord, server):
    """unicorn: PIDFILE deleted while the new master boots.  gunicorn: the old
    master gets TERM before the new one wrote PIDFILE.2."""
    sd = make_supervisord([('web', server, {})])
    app = sd.apps['web']
    old = sd.pid('web')
    before = program_events(sd, 'web')
    app.deploy('v2' if server == 'unicorn' else 'slow:1')
    done = threading.Event()
    early = []

    def spoil():
        while not done.is_set():
            if server == 'unicorn':
                try:
                    with open(app.pidfile) as f:
                        if int(f.read() or 0) not in (0, old):
                            os.unlink(app.pidfile)
                            return
                except (OSError, ValueError):
                    pass
            else:
                kids = [c.pid for c in psutil.Process(old).children()]
                if len(kids) > 2:              # the re-exec child is booting
                    early.append(not os.path.exists(app.pidfile + '.2'))
                    os.kill(old, signal.SIGTERM)
                    return
            time.sleep(0.005)

    spoiler = threading.Thread(target=spoil, daemon=True)
    with Load(app.port, rate=200) as traffic:
        wait_answers(traffic)
        spoiler.start()
        r = sd.ctl('hot_restart', 'web')
        done.set()
        spoiler.join()
        new = wait_one_master(sd, 'web')[0]
        wait_answers(traffic)
    assert r.returncode == 0, r.stdout
    assert early in ([], [True])
    assert traffic.failed == 0, traffic.errors()
    assert sd.pid('web') == new != old
    assert program_events(sd, 'web') == before        # no cold restart
    # adopted by ancestry, unless a poll read PIDFILE before it was deleted
    mismatch = MISMATCH % (new, old, app.pidfile, 'pid' if server == 'unicorn' else 'pidfile')
    assert mismatch in sd.log() or (server == 'unicorn' and 'new master pid %d is up (child '
                                    'of pid %d)' % (new, old) in sd.log())
    assert 'worker(s) behind' not in sd.log()        # nothing signalled as an orphan


@pytest.mark.parametrize('server', ['unicorn', 'gunicorn'])
def test_supervisord_killed_mid_handover_and_restarted_keeps_one_master(server):
    sd = Supervisord()
    try:
        app = sd.add_app('web', server)
        sd.start()
        old = sd.pid('web')
        app.deploy('slow:2')
        sd.rpc.unicorn.hotRestart('web', False)
        wait_for(lambda: len(psutil.Process(old).children()) > 2, 10, 'a re-exec child')
        family = [p.pid for p in sd.family()]
        sd.proc.kill()
        sd.proc.wait(10)
        app.deploy('v3')
        sd.start()
        sd.wait_state('web', 'RUNNING', 60)
        wait_for(lambda: not any(alive(p) for p in family), 20,
                 'every leftover of the cut handover to be gone')
        sd.wait_serving('web')
        new = sd.pid('web')
        assert wait_one_master(sd, 'web') == [new]
        assert get(app.port)[1].split() == ['v3', str(new)]
        log = sd.log().split('supervisord started with pid')[-1]
        assert 'left running by a previous supervisord' in log
        assert 'FATAL' not in log and 'BACKOFF' not in log and 'gave up' not in log
    finally:
        sd.close()


def test_update_removing_a_configured_program_then_reload_keeps_supervisord_up(
        make_supervisord):
    sd = make_supervisord([('web', 'unicorn', {})], extra=bystanders('/x').split(
        '[program:rootd]')[0])
    pid = sd.proc.pid
    with open(sd.conf) as f:
        conf = f.read()
    conf = re.sub(r'\[program:web\]\n(?:[^\[\n].*\n|\n)*', '', conf)
    with open(sd.conf, 'w') as f:
        f.write(conf)
    r = sd.ctl('update')
    assert r.returncode == 0 and 'web: stopped' in r.stdout, r.stdout
    assert 'other' not in r.stdout and sd.pid('other')
    with pytest.raises(xmlrpc.client.Fault) as e:
        sd.rpc.unicorn.hotRestart('web')
    assert e.value.faultCode == 10 and e.value.faultString == 'BAD_NAME: no such process: web'
    assert sd.rpc.unicorn.getAllHotRestartInfo() == []
    assert sd.ctl('reload').returncode == 0
    wait_for(lambda: sd.log().count('supervisord started with pid') == 2, 15, 'the reload')
    sd.wait_state('other', 'RUNNING')
    assert sd.proc.poll() is None and sd.proc.pid == pid
    line = sd.apps['web'].programs_line().strip()
    assert ("WARN hot_restart: programs line 1 (%r): no program 'web' in the supervisord "
            "configuration; ignored (hotRestart web gives BAD_NAME)" % line) in sd.log()
    r = sd.ctl('hot_restart', 'web')
    assert r.stdout.strip() == 'web: ERROR (no such process: web)', r.stdout


def test_hot_restart_right_after_running_waits_for_the_usr2_handler(make_supervisord):
    sd = make_supervisord([('web', 'gunicorn', {})], start=False)
    app = sd.apps['web']
    app.deploy('slow:3')                      # preload: the master loads before its handlers
    sd.start(wait_running=False)
    sd.wait_state('web', 'RUNNING')           # startsecs = 1
    old = sd.pid('web')
    r = sd.ctl('hot_restart', 'web')
    assert r.returncode == 0, r.stdout
    assert sd.pid('web') != old
    events = program_events(sd, 'web')
    assert not any('exited: web' in e for e in events), events
    assert len([e for e in events if 'spawned' in e]) == 1, events
    assert 'master pid %d does not catch USR2 yet' % old in sd.log()
    sd.wait_serving('web')


@pytest.mark.parametrize('server,hook', [('unicorn', True), ('unicorn', False),
                                         ('gunicorn', True)])
def test_pidfile_path_mismatch_is_adopted_and_said_in_one_line(make_supervisord, server,
                                                               hook):
    """The server's `pid`/`pidfile` is not the PIDFILE of `programs`.
    Without unicorn's before_fork hook nothing retires the old master for us:
    the bare USR2's new master is known by unicorn's titles, taken over and
    the old master retired once the new workers are ready."""
    sd = make_supervisord([('web', server, {'hook': hook})], start=False)
    app = sd.apps['web']
    real = os.path.join(app.dir, 'real.pid')
    app.program['environment'] = app.environment().replace(app.pidfile, real)
    sd.start()
    before = program_events(sd, 'web')
    # a hot restart of ours, then a bare USR2 from a deploy tool
    for how in ('hot_restart', 'usr2'):
        old = sd.pid('web')
        t0 = time.monotonic()
        if how == 'hot_restart':
            r = sd.ctl('hot_restart', 'web')
            assert r.returncode == 0, r.stdout
        else:
            # (gunicorn ignores USR2 until the new master promoted itself)
            wait_for(lambda: open(real).read().strip() == str(old), 10, 'promotion')
            t0 = time.monotonic()
            kill(old, signal.SIGUSR2)
        new = wait_for(lambda: (lambda p: p if p != old else None)(sd.pid('web')), 5,
                       'the new master to be adopted (%s)' % how)
        assert time.monotonic() - t0 < 5
        assert wait_one_master(sd, 'web') == [new]
        setting = 'pid' if server == 'unicorn' else 'pidfile'
        assert MISMATCH % (new, old, app.pidfile, setting) in sd.log(), how
        assert sd.log().count('re-exec child of pid %d' % old) == 1
        sd.wait_serving('web')
    assert program_events(sd, 'web') == before

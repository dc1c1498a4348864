"""The supervisor-unicorn-listener health watchdog, with real parts.

A real supervisord runs the installed console script as an [eventlistener]
subscribed to PROCESS_STATE and TICK_5; the listener probes a real unicorn or
gunicorn over loopback and heals it through the real XML-RPC interfaces.
Its decision lines (its stderr) are what these tests read, next to what
supervisord logs, what the app answers and what the load generator saw.
"""
import os
import re
import subprocess
import sys
import time
import xmlrpc.client

import psutil
import pytest
from supervisor.xmlrpc import SupervisorTransport

from checks import SERVERS, Web, program_events, under_load
from supervisor_unicorn.tools.loadgen import get
from supervisor_unicorn.tools.sandbox import Supervisord
from supervisor_unicorn.tools.waiting import wait_for

LISTENER = os.path.join(os.path.dirname(sys.executable), 'supervisor-unicorn-listener')
WATCH = 'unicorn_watch'
PREFIX = 'unicorn_watch: '
PROBE_PATH = '/health-probe'     # its hits in the app's access log are the listener's


# --- helpers ----------------------------------------------------------------

# the line the listener writes when a probe fails during the start grace
STILL_STARTING = (r'^web probe after start \(pid %d\) failed: [^;]+; web still starting:'
                  r' probe failures not counted for up to \d+s$')


def listener_section(sd, args, name=WATCH, environment=None, **keys):
    """An [eventlistener:name] section running the console script with args."""
    section = {
        'command': ' '.join([LISTENER] + list(args)),
        'events': 'PROCESS_STATE,TICK_5',
        'buffer_size': '64',
        'stdout_logfile': 'NONE',
        'stderr_logfile': os.path.join(sd.root, '%s.err' % name),
    }
    if environment:
        section['environment'] = ','.join('%s="%s"' % kv for kv in environment.items())
    section.update(keys)
    body = '\n'.join('%s = %s' % kv for kv in section.items())
    return '[eventlistener:%s]\n%s\n' % (name, body)


def check_arg(app, path=PROBE_PATH):
    return '--check %s=http://127.0.0.1:%d%s' % (app.name, app.port, path)


def start_watched(sd, *args, environment=None):
    """Add the listener for sd's `web` app to sd's config and start it all;
    return once the listener's first probe of `web` (at its start) was good."""
    app = sd.apps['web']
    sd.listener = listener_section(sd, [check_arg(app)] + list(args),
                                   environment=environment)
    sd.start()
    pid = sd.pid('web')
    wait_line(sd, r'^web probe after start \(pid %d\) ok \(HTTP 200\)$' % pid)
    return app


@pytest.fixture
def make_watched(make_supervisord):
    """make_watched(server, *listener_args, **app_options) -> Web: `web` and
    the listener watching it, started, once its first probe of web was good.
    supervisord's default startsecs=1 is enough: the listener probes a program
    as soon as it is RUNNING, often before the server listens, and failures
    within the start grace are not counted."""
    def make(server, *args, **options):
        sd = make_supervisord([('web', server, options)], start=False)
        app = start_watched(sd, *args)
        return Web(sd, app, sd.pid('web'), program_events(sd, 'web'))
    return make


def listener_lines(sd, name=WATCH):
    try:
        with open(os.path.join(sd.root, '%s.err' % name)) as f:
            return f.read().splitlines()
    except FileNotFoundError:
        return []


def decisions(sd, name=WATCH):
    """The listener's decision lines, without the prefix."""
    return [line[len(PREFIX):] for line in listener_lines(sd, name)
            if line.startswith(PREFIX)]


def wait_line(sd, pattern, timeout=30, name=WATCH, start=0):
    """Wait for a decision line matching `pattern` at index >= start;
    return (index, match)."""
    regex = re.compile(pattern)

    def found():
        for i, line in enumerate(decisions(sd, name)[start:], start):
            m = regex.search(line)
            if m:
                return i, m
        return None
    try:
        return wait_for(found, timeout, 'listener line /%s/' % pattern)
    except TimeoutError as e:
        raise AssertionError('%s; listener said:\n%s' % (
            e, '\n'.join(listener_lines(sd, name)))) from None


def hot_restarts(sd):
    return sd.rpc.unicorn.getHotRestartInfo('web')['restarts']


def probe_hits(app):
    return app.log().count(PROBE_PATH)


def transport_errors(traffic):
    """Failed requests that were not answered at all (refused, reset, timeout).
    An HTTP 500 from a sick app is an answer."""
    return [r.error for r in traffic.replies if not r.ok and not r.error.startswith('HTTP ')]


def assert_no_traceback(sd, name=WATCH):
    lines = listener_lines(sd, name)
    assert not any('Traceback' in line for line in lines), '\n'.join(lines)
    # stderr carries decision lines only: nothing else leaked there
    assert all(line.startswith(PREFIX) for line in lines), '\n'.join(lines)


def make_sick_for_good(app):
    """Every generation loaded before the SICK file's (future) mtime is sick:
    a hot restart does not heal it."""
    app.make_sick()
    future = time.time() + 3600
    os.utime(os.path.join(app.dir, 'SICK'), (future, future))


# --- 1. a healthy app -------------------------------------------------------

# what the listener does here is the same for both servers (each server's
# hot restart is test_hot_restart.py's): one server each keeps CI short
@pytest.mark.parametrize('server', ['unicorn'])
def test_healthy_app_is_probed_and_never_restarted(make_watched, server):
    sd, app, old, before = make_watched(server, '--failures', '1')
    # a hot restart done by someone else is learned from getAllHotRestartInfo
    # and probed on the next tick
    r = sd.ctl('hot_restart', 'web')
    assert r.returncode == 0, r.stdout + r.stderr
    new = sd.pid('web')
    wait_line(sd, r'^web probe after hot restart \(pid %d -> %d\) ok \(HTTP 200\)$'
              % (old, new))
    # and it keeps probing on every tick, silently while healthy
    hits = probe_hits(app)
    wait_for(lambda: probe_hits(app) > hits, 20, 'the next tick probe')
    assert hot_restarts(sd) == 1                  # ours, not the listener's
    assert sd.pid('web') == new
    # nothing else to say: no counted failure, no heal (a first probe sent
    # before the server listened is within the start grace)
    said = decisions(sd)
    assert said[0].startswith('watching web=http://127.0.0.1:%d%s; hot restart after 1'
                              ' failed probes in a row' % (app.port, PROBE_PATH)), said
    said = [d for d in said if not re.match(STILL_STARTING % old, d)]
    assert said[1:] == [
        'web probe after start (pid %d) ok (HTTP 200)' % old,
        'web probe after hot restart (pid %d -> %d) ok (HTTP 200)' % (old, new)]
    assert program_events(sd, 'web') == before
    assert 'exited: web' not in sd.log()
    assert_no_traceback(sd)


# --- 1b. a slow cold start is not mistaken for a sick app ----------------------

@pytest.mark.parametrize('server', ['gunicorn'])
def test_slow_booting_app_is_not_hot_restarted_at_cold_start(make_supervisord, server):
    # supervisord says RUNNING after startsecs=1, but the app needs 8 s to
    # load: the probe at RUNNING and those of the next tick or two fail.
    # Counted, --failures 1 would hot restart it (into another 8 s load)
    sd = make_supervisord([('web', server, {'program': {'startsecs': '1'}})], start=False)
    app = sd.apps['web']
    app.deploy('slow:8')
    sd.listener = listener_section(sd, [check_arg(app), '--failures', '1'])
    sd.start(wait_running=False)
    info = sd.wait_state('web', 'RUNNING')
    pid = info['pid']
    running_at = time.monotonic()
    i, _ = wait_line(sd, STILL_STARTING % pid)
    # the grace ends with the first good probe, once the app has loaded
    j, _ = wait_line(sd, r'^web probe after start \(pid %d\) ok \(HTTP 200\)$' % pid,
                     timeout=45)
    assert time.monotonic() - running_at >= 5      # at least one tick went by
    said = decisions(sd)
    assert said[i + 1:j] == [], said                # failures in the grace: silent
    assert said[0].startswith('watching web='), said
    assert not [d for d in said[1:] if 'hot restart' in d or 'stop/start' in d
                or re.search(r'failed \(\d', d)], said
    # a tick later, still one master, never restarted
    hits = probe_hits(app)
    wait_for(lambda: probe_hits(app) > hits, 20, 'the next tick probe')
    assert hot_restarts(sd) == 0
    assert sd.info('web')['pid'] == pid
    assert sd.log().count("spawned: 'web'") == 1
    assert app.log().count('app loaded: version=slow:8') == 1
    assert get(app.port) == (200, 'slow:8 %d\n' % pid)
    assert decisions(sd)[j + 1:] == []
    assert_no_traceback(sd)


# --- 2. sick under load: healed by hot restart, nothing refused --------------

@pytest.mark.parametrize('server', SERVERS)
def test_sick_app_is_hot_restarted_under_load_without_refusing_anything(
        make_watched, server):
    sd, app, old, before = make_watched(server, '--failures', '2', '--backoff', '30')
    with under_load(app.port, rate=100) as traffic:
        app.make_sick()
        j, _ = wait_line(sd, r'^web probe failed \(1 of 2\): HTTP 500$')
        i, m = wait_line(sd, r'^hot restarted web \(pid %d -> (\d+) in [\d.]+s\)$' % old)
        healed_at = time.monotonic()
        new = int(m.group(1))
    said = decisions(sd)
    # the decision, then (a tick or so later) the outcome, and nothing between
    assert said[j + 1:i] == ['web probe failed (2 in a row): HTTP 500; hot restarting web'
                             ' (pid %d); if still sick, next attempt 30s after it' % old], said
    wait_line(sd, r'^web probe after hot restart \(pid %d -> %d\) ok \(HTTP 200\);'
              r' web is healthy again$' % (old, new), start=i)
    assert not [d for d in decisions(sd) if 'healed' in d]
    # never a refused, reset or timed-out connection: only the sick app's 500s
    assert traffic.sent > 0
    assert transport_errors(traffic) == [], traffic.errors()
    assert set(traffic.errors()) == {'HTTP 500'}, traffic.errors()
    # everything sent after the heal was answered by the new, healthy master
    late = [r for r in traffic.replies if r.started > healed_at]
    assert late and all(r.ok and r.body.split()[1] == str(new) for r in late)
    # supervisord saw no exit: the program stayed RUNNING, with the new pid
    info = sd.info('web')
    assert (info['statename'], info['pid']) == ('RUNNING', new)
    assert program_events(sd, 'web') == before
    assert 'exited: web' not in sd.log()
    assert sd.masters('web') == [new]
    assert hot_restarts(sd) == 1
    assert get(app.port) == (200, 'v1 %d\n' % new)
    assert_no_traceback(sd)


# --- 3. a program that stays sick is backed off --------------------------------

def test_program_that_stays_sick_is_backed_off(make_watched):
    sd, app, _, _ = make_watched('unicorn', '--failures', '1', '--backoff', '4')
    make_sick_for_good(app)
    times = []
    for n in (1, 2):
        wait_for(lambda: hot_restarts(sd) >= n, 30, 'hot restart #%d by the listener' % n)
        times.append(time.monotonic())
    # the post-heal probe of heal 2 is sick again: the window has doubled,
    # and it counts from the end of the hot restart
    i, m = wait_line(sd, r'^web probe after hot restart .* failed \(1 in a row\): HTTP 500;'
                         r' backing off, next heal attempt in (\d+)s; failed probes not'
                         r' logged until then$',
                     start=wait_line(sd, r'next attempt 8s after it$')[0])
    assert 6 <= int(m.group(1)) <= 8, m.group(0)
    said = decisions(sd)
    heals = [d for d in said if ' hot restarting web ' in d]
    assert [re.search(r'next attempt (\d+s) after it$', h).group(1) for h in heals] \
        == ['4s', '8s'], said
    # each heal ended with its own outcome line, then the probe of the new master
    assert len([d for d in said if d.startswith('hot restarted web (pid ')]) == 2, said
    # between the two heals it probed, found the app sick and held back,
    # saying so once; the second heal says the back-off is over
    first, second = (said.index(h) for h in heals)
    backing = [d for d in said[first:second] if 'backing off' in d]
    assert len(backing) == 1, said
    assert '; back-off over; hot restarting web ' in heals[1], said
    # no tight loop: the second heal came no sooner than the first one's
    # duration plus the window
    assert times[1] - times[0] >= 4, times
    assert hot_restarts(sd) == 2
    # and each heal was a hot restart: supervisord never saw the program exit
    assert sd.info('web')['statename'] == 'RUNNING'
    assert 'exited: web' not in sd.log()
    assert not [d for d in said if 'stop/start' in d], said
    assert_no_traceback(sd)


# --- 4. hot restart fails: back off while the old master serves ---------------

def test_new_code_that_fails_to_boot_keeps_the_old_master_and_is_backed_off(
        make_watched):
    # the sick app's new code does not load. A stop/start would load the
    # same broken code, trading a serving master for an outage: the listener
    # says why once, then leaves it alone
    sd, app, old, before = make_watched('gunicorn', '--failures', '1', '--backoff', '60')
    app.deploy('broken')
    app.make_sick()
    i, _ = wait_line(sd, r'^web probe failed \(1 in a row\): HTTP 500; hot restarting web'
                         r' \(pid %d\)' % old)
    j, m = wait_line(sd, r'^web hot restart failed \((.*)\); not stop/starting: the old master'
                         r' still serves and a cold start would load the same code; backing'
                         r' off, next heal attempt in \d+s; failed probes not logged until'
                         r' then$', start=i)
    assert 'pid %d still serving' % old in m.group(1), m.group(0)
    # two more ticks: probed, still sick, and not a word nor a heal
    hits = probe_hits(app)
    wait_for(lambda: probe_hits(app) >= hits + 2, 20, 'two more tick probes')
    said = decisions(sd)
    assert said[i + 1:j] == [], said                 # nothing between decision and reason
    assert said[j + 1:] == [], said
    assert get(app.port) == (500, 'sick\n')          # still sick: really backing off
    # the old master serves on, never stopped, never restarted
    info = sd.info('web')
    assert (info['statename'], info['pid']) == ('RUNNING', old)
    assert sd.masters('web') == [old]
    assert program_events(sd, 'web') == before
    assert 'stopped: web' not in sd.log()
    assert not [d for d in said if 'stop/start' in d and 'not stop/starting' not in d], said
    assert hot_restarts(sd) == 0
    assert_no_traceback(sd)


# --- 4b. a hung master is cold restarted ---------------------------------------

def test_a_hung_master_that_cannot_reexec_is_cold_restarted(make_watched):
    # the master is stuck (SIGSTOP here) while its workers answer 500: USR2
    # is never acted on, so nothing serves the fix; the cold restart is the
    # only heal. boot_timeout and stopwaitsecs are short to keep it quick
    sd, app, old, _ = make_watched('unicorn', '--failures', '1', '--backoff', '60',
                                   options='boot_timeout=2', program={'stopwaitsecs': '2'})
    master = psutil.Process(old)
    spawns = sd.log().count("spawned: 'web'")
    master.suspend()                              # SIGSTOP, to the pid we started
    try:
        app.make_sick()
        i, _ = wait_line(sd, r'^web probe failed \(1 in a row\): HTTP 500; hot restarting web'
                             r' \(pid %d\)' % old)
        wait_line(sd, r'^web hot restart failed \(master pid %d did not re-exec within'
                      r' boot_timeout \(2s\); it may be hung\); falling back to stop/start$'
                  % old, start=i)
        k, _ = wait_line(sd, r'^web stop/start: pid %d stopped in [\d.]+s; start requested$'
                         % old, start=i)
    finally:
        if master.is_running():
            master.resume()
    assert 'stopped: web' in sd.log()
    wait_for(lambda: sd.log().count("spawned: 'web'") == spawns + 1, 10,
             'supervisord to spawn web again')
    new = sd.wait_state('web', 'RUNNING')['pid']
    assert new != old
    wait_line(sd, r'^web probe after start \(pid %d\) ok \(HTTP 200\); web is healthy again$'
              % new, start=k)
    assert get(app.port) == (200, 'v1 %d\n' % new)
    assert not psutil.pid_exists(old) or psutil.Process(old).status() == psutil.STATUS_ZOMBIE
    assert sd.masters('web') == [new]
    assert len([d for d in decisions(sd) if 'hot restarting web' in d]) == 1
    assert hot_restarts(sd) == 0
    assert_no_traceback(sd)


# --- 5. survives a reload, exits cleanly at shutdown ---------------------------

def test_listener_survives_reload_and_exits_cleanly_at_shutdown(make_watched):
    sd, app, _, _ = make_watched('gunicorn', '--failures', '1', '--backoff', '30')
    first = sd.info(WATCH)['pid']
    r = sd.ctl('reload')
    assert r.returncode == 0, r.stdout + r.stderr
    wait_for(lambda: sd.log().count('supervisord started with pid') == 2, 30,
             'supervisord to reload')
    sd.wait_state('web', 'RUNNING')
    sd.wait_serving('web')
    second = sd.wait_state(WATCH, 'RUNNING')['pid']
    assert second != first
    assert decisions(sd).count(decisions(sd)[0]) == 2     # "watching ..." twice
    old = sd.pid('web')
    # the restarted listener heals as before
    i, _ = wait_line(sd, r'^web probe after start \(pid %d\) ok' % old)
    app.make_sick()
    _, m = wait_line(sd, r'^hot restarted web \(pid %d -> (\d+) ' % old, start=i)
    new = int(m.group(1))
    assert get(app.port) == (200, 'v1 %d\n' % new)
    # shutdown: supervisord stops the listener with the rest, no traceback
    r = sd.ctl('shutdown')
    assert r.returncode == 0, r.stdout + r.stderr
    assert sd.proc.wait(30) == 0
    for pid in (first, second):
        assert not psutil.pid_exists(pid)
    assert 'stopped: %s' % WATCH in sd.log()
    assert 'exited: %s' % WATCH not in sd.log()
    assert_no_traceback(sd)


def test_listener_exits_when_supervisord_dies_and_closes_its_stdin(make_watched):
    sd = make_watched('unicorn').sd
    listener = psutil.Process(sd.info(WATCH)['pid'])
    sd.family()                 # the sandbox records the process groups to clean up
    sd.proc.kill()              # SIGKILL: nobody signals the listener, its stdin closes
    sd.proc.wait(10)
    wait_for(lambda: not listener.is_running() or
             listener.status() == psutil.STATUS_ZOMBIE, 15,
             'the orphaned listener to exit on its own')
    assert_no_traceback(sd)


# --- 6. configuration errors are reported clearly ------------------------------

def test_configuration_errors_make_the_listener_fatal_with_a_clear_line(
        make_supervisord):
    sd = make_supervisord([('web', 'unicorn', {})], start=False)
    sd.extra = listener_section(
        sd, ['--check nope=http://127.0.0.1:1/'], name='bad_name', startretries='0')
    sd.extra += listener_section(
        sd, ['--check web=ftp://127.0.0.1/'], name='bad_url', startretries='0')
    sd.extra += listener_section(
        sd, ['--check web=http://127.0.0.1:http/'], name='bad_port', startretries='0')
    sd.start()
    for name in ('bad_name', 'bad_url', 'bad_port'):
        sd.wait_state(name, 'FATAL')
        assert 'gave up: %s entered FATAL state' % name in sd.log()
    assert ('--check nope: not configured for hot restart (add to "programs" of'
            ' [rpcinterface:unicorn]; configured: web)') in decisions(sd, 'bad_name')
    bad_url = listener_lines(sd, 'bad_url')
    assert ("supervisor-unicorn-listener: error: argument --check:"
            " 'web=ftp://127.0.0.1/': URL must be http:// or https:// with a host"
            in bad_url), bad_url
    bad_port = listener_lines(sd, 'bad_port')
    assert ("supervisor-unicorn-listener: error: argument --check:"
            " 'web=http://127.0.0.1:http/': bad port in URL" in bad_port), bad_port
    for name in ('bad_name', 'bad_url', 'bad_port'):
        text = '\n'.join(listener_lines(sd, name))
        assert 'Traceback' not in text, text
    # the app itself is untouched
    assert sd.info('web')['statename'] == 'RUNNING'


def test_outside_supervisord_the_listener_refuses_to_run():
    env = {k: v for k, v in os.environ.items() if not k.startswith('SUPERVISOR_')}
    r = subprocess.run([LISTENER, '--check', 'web=http://127.0.0.1:1/'], env=env,
                       capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    assert r.returncode == 2
    assert r.stdout == ''
    assert r.stderr == ('supervisor-unicorn-listener: must be run as a supervisor event'
                        ' listener (SUPERVISOR_SERVER_URL is not set)\n')
    r = subprocess.run([LISTENER], env=env, capture_output=True, text=True, timeout=30,
                       stdin=subprocess.DEVNULL)
    assert r.returncode == 2 and r.stdout == ''
    assert 'the following arguments are required: --check' in r.stderr


# --- 7. supervisord with HTTP auth: credentials through environment= ------------

class AuthSupervisord(Supervisord):
    """Supervisord whose unix_http_server asks for a username and password."""

    def __init__(self, username, password, **kw):
        super().__init__(**kw)
        self.username, self.password = username, password

    def write_config(self):
        super().write_config()
        with open(self.conf) as f:
            text = f.read()
        creds = 'username = %s\npassword = %s\n' % (self.username, self.password)
        for section in ('[unix_http_server]\n', '[supervisorctl]\n'):
            assert text.count(section) == 1
            text = text.replace(section, section + creds)
        with open(self.conf, 'w') as f:
            f.write(text)

    @property
    def rpc(self):
        return xmlrpc.client.ServerProxy('http://127.0.0.1', transport=SupervisorTransport(
            self.username, self.password, 'unix://' + self.socket))


@pytest.fixture
def auth_supervisord():
    sd = AuthSupervisord('ops', 's3cret')
    yield sd
    sd.close()


def test_with_http_auth_credentials_come_from_the_environment(auth_supervisord):
    sd = auth_supervisord
    app = sd.add_app('web', 'unicorn')
    # without credentials supervisord refuses it, and it says what to do
    sd.extra = listener_section(sd, [check_arg(app)], name='no_creds', startretries='0')
    app = start_watched(sd, '--failures', '1', '--backoff', '30', environment={
        'SUPERVISOR_USERNAME': 'ops', 'SUPERVISOR_PASSWORD': 's3cret'})
    # auth really is on: an anonymous client is refused
    anonymous = xmlrpc.client.ServerProxy('http://127.0.0.1', transport=SupervisorTransport(
        None, None, 'unix://' + sd.socket))
    with pytest.raises(xmlrpc.client.ProtocolError) as e:
        anonymous.supervisor.getState()
    assert e.value.errcode == 401
    sd.wait_state('no_creds', 'FATAL')
    said = decisions(sd, 'no_creds')
    assert ('supervisord answered HTTP 401 Unauthorized (set SUPERVISOR_USERNAME and'
            ' SUPERVISOR_PASSWORD with environment= in the [eventlistener:...] section)'
            in said), said
    # with them it heals
    old = sd.pid('web')
    app.make_sick()
    _, m = wait_line(sd, r'^hot restarted web \(pid %d -> (\d+) ' % old)
    new = int(m.group(1))
    assert sd.info('web')['statename'] == 'RUNNING'
    assert get(app.port) == (200, 'v1 %d\n' % new)
    assert 'exited: web' not in sd.log()
    assert_no_traceback(sd)


# --- 8. a sick new generation with the previous one on standby ------------------

@pytest.mark.parametrize('server', SERVERS)
def test_sick_new_code_with_a_standby_is_rolled_back_not_hot_restarted(
        make_watched, server):
    sd, app, old, before = make_watched(server, '--failures', '2', '--backoff', '30',
                                        hook=False, options='standby=60')
    app.deploy('sick-v2')            # loads fine, answers 500
    r = sd.ctl('hot_restart', 'web')
    assert r.returncode == 0, r.stdout + r.stderr
    new = sd.rpc.unicorn.getHotRestartInfo('web')['new_pid']
    i, _ = wait_line(sd, r'^web probe failed \(2 in a row\): HTTP 500; web has the previous'
                     r' generation on standby \(master pid %d\); rolling back to it' % old)
    wait_line(sd, r'^rolled back web \(pid %d -> %d in [\d.]+s\)$' % (new, old), start=i)
    wait_line(sd, r'^web probe after rollback \(pid %d -> %d\) ok \(HTTP 200\)' % (new, old),
              start=i)
    assert get(app.port) == (200, 'v1 %d\n' % old)
    info = sd.info('web')
    assert (info['statename'], info['pid']) == ('RUNNING', old)
    assert program_events(sd, 'web') == before
    assert sd.masters('web') == [old]
    assert not [d for d in decisions(sd) if 'hot restarting web' in d or 'stop/start' in d]
    assert_no_traceback(sd)

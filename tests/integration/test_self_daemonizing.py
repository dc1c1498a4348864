"""A server that daemonizes itself (`unicorn -D`, gunicorn --daemon).

Its first process exits and the daemon runs detached.  supervisord logs one
line saying to remove the flag, the program is FATAL with the same reason in
`status`, the daemon is retired gracefully, and once the command runs in the
foreground `supervisorctl update` starts it: no "Already running" loop.
"""
import os
import re

import psutil
import pytest

from supervisor_unicorn.common.servers import SERVERS
from supervisor_unicorn.tools.sandbox_app import APP_DIR
from supervisor_unicorn.tools.waiting import wait_for

SIGNALS = {'unicorn': 'SIGQUIT', 'gunicorn': 'SIGTERM'}


def alive(pid):
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def daemonizing(app, how: str) -> str:
    """The app's command, made to daemonize."""
    command = app.command()
    if how == 'daemon = True':
        # gunicorn's config file: the demo config plus `daemon = True`
        conf = os.path.join(app.dir, 'daemon.conf.py')
        with open(conf, 'w') as f:
            f.write('exec(open(%r).read())\ndaemon = True\n'
                    % os.path.join(APP_DIR, 'gunicorn.conf.py'))
        return command.replace(os.path.join(APP_DIR, 'gunicorn.conf.py'), conf)
    return '%s %s' % (command, how)


@pytest.mark.parametrize('server,how', [('unicorn', '-D'), ('gunicorn', '--daemon'),
                                        ('gunicorn', 'daemon = True')])
def test_daemonizing_server_is_named_retired_and_fixing_the_command_is_enough(
        make_supervisord, server, how):
    sd = make_supervisord([('web', server, {})], start=False)
    app = sd.apps['web']
    foreground = app.command()
    # unicorn: RUNNING at once (startsecs 0), so its exit is an expected EXITED
    # that autorestart would respawn; gunicorn: its parent exits before
    # startsecs, supervisord's BACKOFF.  Both end FATAL with the reason.
    app.program.update({'command': daemonizing(app, how),
                        'startsecs': '0' if server == 'unicorn' else '5'})
    sd.start(wait_running=False)

    reason = 'the server daemonized itself (pid %s runs detached); ' + SERVERS[server].daemon_hint
    line = re.compile(r'WARN hot_restart: web: %s; retiring pid \1 with %s$' % (
        re.escape(reason) % r'(\d+)', SIGNALS[server]), re.M)
    m = wait_for(lambda: line.search(sd.log()), 20, 'the daemonized line')
    daemon = int(m.group(1))
    # exactly one such line, and the same reason is the state `status` shows
    assert len(line.findall(sd.log())) == 1, sd.log()
    info = sd.wait_state('web', 'FATAL', 30)
    assert info['description'] == reason % daemon, info
    r = sd.ctl('status', 'web')
    assert 'FATAL' in r.stdout and (reason % daemon) in r.stdout, r.stdout
    # retired, gracefully: gone, its port free, supervisord never spawned twice
    wait_for(lambda: not alive(daemon), 15, 'the daemon to exit')
    assert sd.port_free(app.port)
    assert len(re.findall(r"spawned: 'web'", sd.log())) == 1, sd.log()
    assert 'sending KILL' not in sd.log()

    # the operator removes the flag; update is all it takes
    app.program['command'] = foreground
    sd.write_config()
    r = sd.ctl('update')
    assert r.returncode == 0, r.stdout + r.stderr
    sd.wait_state('web', 'RUNNING', 30)
    body = sd.wait_serving('web')
    assert body.split()[1] == str(sd.pid('web')), body
    assert 'Already running' not in app.log() + app.log('stdout')

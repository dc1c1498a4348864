"""Programs follow supervisord's config lifecycle.

A real supervisord, real supervisorctl (`reread`, `update`, `reload`,
`hot_restart`, `hot_status`), real unicorn and gunicorn, and the real
listener: a program added by update is hot restarted at once, a removed one
is forgotten, and a SERVER typo brought by a reload or an update costs only
its own program, whose commands say which line and what is wrong.
"""
import pytest

from checks import (RESULT_LINE, SERVERS, assert_clean_handover, program_events,
                    wait_answers)
from supervisor_unicorn.tools.loadgen import Load
from supervisor_unicorn.tools.waiting import wait_for
from test_health_watchdog import check_arg, decisions, listener_section, wait_line

KNOWN = 'gunicorn, rainbows, unicorn, unicorn_rails'


def rewrite(sd, typo=None):
    """Write sd's config for its apps now; with `typo`, that app's programs
    line says SERVER 'unicron'.  Returns the typo'd line as parsed."""
    sd.write_config()
    if typo is None:
        return None
    app = sd.apps[typo]
    line = app.programs_line()
    bad = line.replace(' %s ' % app.server, ' unicron ', 1)
    with open(sd.conf) as f:
        conf = f.read()
    assert conf.count(line) == 1
    with open(sd.conf, 'w') as f:
        f.write(conf.replace(line, bad))
    return bad.strip()


def bad_line_error(name, number, line):
    return ("%s: ERROR (programs line %d (%r): unknown SERVER 'unicron' (expected one of: "
            "%s))" % (name, number, line, KNOWN))


def assert_still_up(sd, starts=1):
    assert sd.proc.poll() is None, sd.output()
    assert sd.log().count('supervisord started with pid') == starts


def hot_restart_under_load(sd, name, version):
    app = sd.apps[name]
    old = sd.pid(name)
    before = program_events(sd, name)
    app.deploy(version)
    with Load(app.port, rate=250) as traffic:
        wait_answers(traffic)
        r = sd.ctl('hot_restart', name)
        wait_answers(traffic)
    assert r.returncode == 0, r.stdout + r.stderr
    m = RESULT_LINE.match(r.stdout.strip())
    assert m and m.group(1) == name and int(m.group(2)) == old, r.stdout
    assert_clean_handover(sd, name, traffic, old, version, before)


def hot_status_names(sd):
    r = sd.ctl('hot_status')
    assert r.returncode == 0, r.stdout + r.stderr
    return [line.split()[0] for line in r.stdout.splitlines()]


@pytest.mark.parametrize('server', SERVERS)
def test_program_added_by_reread_and_update_is_hot_restarted_at_once(
        make_supervisord, server):
    sd = make_supervisord([('web', 'unicorn', {})])
    sd.add_app('api', server)
    rewrite(sd)                                   # [program:api] and its line
    r = sd.ctl('reread')
    assert r.returncode == 0 and 'api: available' in r.stdout, r.stdout + r.stderr
    r = sd.ctl('update')
    assert r.returncode == 0 and 'api: added process group' in r.stdout, r.stdout
    sd.wait_state('api', 'RUNNING')
    sd.wait_serving('api')
    assert hot_status_names(sd) == ['web', 'api']
    hot_restart_under_load(sd, 'api', 'v2')
    assert sd.rpc.unicorn.getHotRestartInfo('api')['restarts'] == 1
    assert 'hot_restart: api: hot-restartable (programs line 2' in sd.log()
    assert_still_up(sd)


def test_program_removed_by_update_is_forgotten(make_supervisord):
    sd = make_supervisord([('web', 'unicorn', {}), ('api', 'gunicorn', {})])
    del sd.apps['api']
    rewrite(sd)                                   # no [program:api], no line
    r = sd.ctl('update')
    assert r.returncode == 0 and 'api: removed process group' in r.stdout, r.stdout
    assert hot_status_names(sd) == ['web']
    r = sd.ctl('hot_restart', 'api')
    assert r.returncode != 0
    assert r.stdout.strip() == 'api: ERROR (no such process: api)'
    with pytest.raises(Exception) as e:
        sd.rpc.unicorn.hotRestart('api')
    assert e.value.faultCode == 10                # BAD_NAME
    wait_for(lambda: 'hot_restart: api: no longer configured for hot restart; forgotten'
             in sd.log(), 5, 'api to be forgotten')
    assert sd.ctl('hot_restart', 'web').returncode == 0
    assert_still_up(sd)


def test_server_typo_before_reload_costs_only_its_program(make_supervisord):
    sd = make_supervisord([('web', 'unicorn', {}), ('api', 'gunicorn', {})], start=False)
    sd.listener = listener_section(sd, [check_arg(sd.apps['web']), check_arg(sd.apps['api'])])
    sd.start()
    sd.wait_state('unicorn_watch', 'RUNNING')
    bad = rewrite(sd, typo='api')
    r = sd.ctl('reload')
    assert r.returncode == 0, r.stdout + r.stderr
    wait_for(lambda: sd.log().count('supervisord started with pid') == 2, 30,
             'supervisord to reload')
    for name in ('web', 'api'):
        sd.wait_state(name, 'RUNNING')
        sd.wait_serving(name)
    # the others still hot restart, under load
    hot_restart_under_load(sd, 'web', 'v2')
    # the affected one says which line and what is wrong, every time
    for command in ('hot_restart', 'hot_status'):
        r = sd.ctl(command, 'api')
        assert r.returncode != 0
        assert r.stdout.strip() == bad_line_error('api', 2, bad), r.stdout
    assert hot_status_names(sd) == ['web']
    # said once in supervisord's log, not per call
    assert sd.log().count("unknown SERVER 'unicron'") == 1, sd.log()
    # the listener goes on watching web and says why api is left alone
    wait_line(sd, r"^api cannot be hot restarted now \(BAD_CONFIG: programs line 2 "
                  r"\('api unicron [^)]*\): unknown SERVER 'unicron'")
    pid = sd.pid('web')
    wait_line(sd, r'^web probe after (start|hot restart) \(pid (\d+ -> )?%d\) ok' % pid)
    assert sd.info('unicorn_watch')['statename'] == 'RUNNING'
    assert not any('configured: none' in line for line in decisions(sd))
    assert_still_up(sd, starts=2)


def test_server_typo_before_update_costs_only_its_program_until_fixed(make_supervisord):
    sd = make_supervisord([('web', 'gunicorn', {}), ('api', 'unicorn', {})])
    api = sd.pid('api')
    bad = rewrite(sd, typo='api')
    assert sd.ctl('reread').returncode == 0
    r = sd.ctl('update')
    assert r.returncode == 0, r.stdout + r.stderr
    for command in ('hot_restart', 'hot_status'):
        r = sd.ctl(command, 'api')
        assert r.returncode != 0
        assert r.stdout.strip() == bad_line_error('api', 2, bad), r.stdout
    with pytest.raises(Exception) as e:
        sd.rpc.unicorn.getHotRestartInfo('api')
    assert e.value.faultCode == 232               # BAD_CONFIG
    hot_restart_under_load(sd, 'web', 'v2')
    assert sd.pid('api') == api                   # untouched: the program is fine
    assert sd.log().count("unknown SERVER 'unicron'") == 1, sd.log()
    # fixed, and `update` alone (it rereads too) brings it back
    rewrite(sd)
    assert sd.ctl('update').returncode == 0
    hot_restart_under_load(sd, 'api', 'v2')
    assert_still_up(sd)

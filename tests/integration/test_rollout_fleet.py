"""supervisor-unicorn-rollout against two real supervisords on 127.0.0.1, each with
its own [inet_http_server] (the second with a password), as a fleet of two hosts."""
import re
import subprocess

import pytest

from checks import wait_answers
from supervisor_unicorn.tools.loadgen import Load, get
from supervisor_unicorn.tools.sandbox_app import find_executable, free_port

pytestmark = pytest.mark.once

LINE = re.compile(r'^127\.0\.0\.1:(\d+) web: hot restarted \(pid (\d+) -> (\d+) in '
                  r'\d+\.\ds\)$')


def rollout(*args):
    exe = find_executable('supervisor-unicorn-rollout')
    assert exe, 'supervisor-unicorn-rollout is not installed (pip install -e .)'
    return subprocess.run([exe] + list(args), capture_output=True, text=True,
                          timeout=180)


def test_rollout_over_two_supervisords_stops_at_the_first_failure(make_supervisord):
    port1, port2 = free_port(), free_port()
    host1 = make_supervisord([('web', 'unicorn', {})], inet_port=port1)
    host2 = make_supervisord([('web', 'gunicorn', {})], extra=(
        '[inet_http_server]\nport = 127.0.0.1:%d\nusername = deploy\n'
        'password = s3cret\n' % port2))
    fleet = [host1, host2]
    urls = ['http://127.0.0.1:%d/RPC2' % port1,
            'http://deploy:s3cret@127.0.0.1:%d/RPC2' % port2]
    old = [sd.pid('web') for sd in fleet]

    # a good release everywhere: both hosts hot restarted, in order, nothing dropped
    for sd in fleet:
        sd.apps['web'].deploy('v2')
    loads = [Load(sd.apps['web'].port, rate=100) for sd in fleet]
    traffic = [load.__enter__() for load in loads]
    try:
        for t in traffic:
            wait_answers(t, more=30)
        r = rollout('web', *urls)
        for t in traffic:
            wait_answers(t, more=30)
    finally:
        for load in loads:
            load.__exit__(None, None, None)
    assert r.returncode == 0, r.stdout + r.stderr
    lines = [LINE.match(line) for line in r.stdout.splitlines()]
    assert len(lines) == 2 and all(lines), r.stdout
    new = [sd.pid('web') for sd in fleet]
    for m, port, o, n, sd, t in zip(lines, (port1, port2), old, new, fleet, traffic):
        assert (int(m.group(1)), int(m.group(2)), int(m.group(3))) == (port, o, n)
        assert n != o
        assert t.failed == 0, t.errors()
        assert get(sd.apps['web'].port)[1].split() == ['v2', str(n)]
        assert sd.rpc.unicorn.getHotRestartInfo('web')['restarts'] == 1
    assert 'web hot restarted on all 2 hosts' in r.stderr

    # a broken release: the first host fails (its old master keeps serving), the
    # rollout stops there and the second host is never touched
    host1.apps['web'].deploy('broken')
    host2.apps['web'].deploy('v3')
    r = rollout('web', *urls)
    assert r.returncode == 1, r.stdout + r.stderr
    first, second = r.stdout.splitlines()
    assert first.startswith('127.0.0.1:%d web: ERROR (' % port1), first
    assert 'still serving' in first and str(new[0]) in first, first
    assert second == ('127.0.0.1:%d web: skipped (rollout stopped at 127.0.0.1:%d)'
                      % (port2, port1))
    assert 'stopped at 127.0.0.1:%d after 0 of 2 hosts' % port1 in r.stderr
    for sd, n, version in ((host1, new[0], 'v2'), (host2, new[1], 'v2')):
        assert sd.info('web')['statename'] == 'RUNNING'
        assert sd.pid('web') == n
        assert get(sd.apps['web'].port)[1].split() == [version, str(n)]
    assert host2.rpc.unicorn.getHotRestartInfo('web')['restarts'] == 1

    # the password is needed: without it, the preflight stops everything
    r = rollout('web', urls[0], 'http://127.0.0.1:%d/RPC2' % port2)
    assert r.returncode == 1
    assert r.stdout.splitlines() == [
        '127.0.0.1:%d web: ERROR (preflight: supervisord refused the credentials '
        '(401 Unauthorized))' % port2,
        '127.0.0.1:%d web: skipped (preflight failed on 127.0.0.1:%d; nothing was '
        'restarted)' % (port1, port2)]

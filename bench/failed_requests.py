"""Bench 1: failed requests during a hot restart under open-loop load.

One supervisord with a unicorn and a gunicorn program (2 workers, preload,
unicorn with the standard before_fork hook).  Each run deploys a new version
and hot restarts through `unicorn.hotRestart(name, wait=True)` while a load of
300 or 1000 new connections a second runs from before the call until after
it; the combinations alternate run by run.  A request fails on a refused or
reset connection, a 2 s timeout or a non-200 answer.

Target: 0 failed requests.
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common as c  # noqa: E402
from supervisor_unicorn.tools.loadgen import Load  # noqa: E402
from supervisor_unicorn.tools.sandbox import Supervisord  # noqa: E402
from supervisor_unicorn.tools.waiting import wait_for  # noqa: E402

RATES = (300, 1000)
LEAD = 1.0       # seconds of load before the hot restart
TAIL = 1.0       # and after it returns


def one_run(sd, name, rate, version):
    app = sd.apps[name]
    old = c.ready(sd, name, 120)
    app.deploy(version)
    t0 = time.monotonic()
    with Load(app.port, rate=rate, max_seconds=300) as traffic:
        time.sleep(LEAD)
        r, secs = c.rpc_call_seconds(sd, lambda rpc: rpc.unicorn.hotRestart(name, True))
        time.sleep(TAIL)
    wall = time.monotonic() - t0
    assert r['status'] == 'done' and r['old_pid'] == old, r
    # the new code answers (checked after the load, not counted)
    wait_for(lambda: c.get(app.port)[1].split()[0] == version, 30, 'new version to answer')
    return {'sent': traffic.sent, 'failed': traffic.failed, 'errors': traffic.errors(),
            'rate': traffic.sent / wall, 'seconds': secs}


def main(argv=None):
    args = c.parse_args(__doc__.splitlines()[0], argv)
    runs = 1 if args.quick else 5
    sd = Supervisord()
    names = {'unicorn': 'uni', 'gunicorn': 'guni'}
    results = {(s, r): [] for s in c.SERVERS for r in RATES}
    try:
        for server in c.SERVERS:
            sd.add_app(names[server], server)
        c.progress('failed_requests: starting supervisord')
        sd.start(timeout=120)
        version = 1
        combos = [(s, r) for r in RATES for s in c.SERVERS]
        for i in range(runs):
            order = combos[i % len(combos):] + combos[:i % len(combos)]
            for server, rate in order:
                version += 1
                res = one_run(sd, names[server], rate, 'v%d' % version)
                results[(server, rate)].append(res)
                c.progress('failed_requests: run %d/%d %s %d req/s: sent %d failed %d %s'
                           % (i + 1, runs, server, rate, res['sent'], res['failed'],
                              dict(res['errors']) or ''))
    finally:
        sd.close()

    c.header('Bench 1: failed requests during a hot restart', args)
    rows = []
    ok_all = True
    for server in c.SERVERS:
        for rate in RATES:
            rs = results[(server, rate)]
            sent = sum(r['sent'] for r in rs)
            failed = sum(r['failed'] for r in rs)
            errors = {}
            for r in rs:
                for k, v in r['errors'].items():
                    errors[k] = errors.get(k, 0) + v
            ok_all &= failed == 0
            rows.append([server, rate, len(rs), sent, failed,
                         ' '.join(str(r['failed']) for r in rs),
                         c.fmt(c.median(r['rate'] for r in rs), 0),
                         c.fmt(c.median(r['seconds'] for r in rs)),
                         ', '.join('%s: %d' % kv for kv in sorted(errors.items())) or '-',
                         c.verdict(failed == 0)])
    print(c.table(['server', 'req/s asked', 'runs', 'sent', 'failed', 'failed per run',
                   'req/s achieved (median)', 'hotRestart s (median)', 'errors',
                   'target 0 failed'], rows))
    print()
    print('Each run: %.0f s of load, hotRestart(name, wait=True), %.0f s more; one new '
          'TCP connection per request, open loop (loadgen.Load), 2 s timeout.'
          % (LEAD, TAIL))
    print()
    sys.stdout.flush()
    return 0 if ok_all else 1


if __name__ == '__main__':
    sys.exit(main())

"""Bench 6: `supervisorctl hot_restart all` over 50 small gunicorn programs.

50 gunicorn programs (1 worker each, preload) under one supervisord with the
plugin.  Three of them (the first, the middle and the last hot restarted) get
an open-loop load for the whole command.  A separate probe process calls
supervisor.getState() every 50 ms and records each call's latency: a main
loop busy or asleep for X seconds shows as a call of about X seconds (no
TICK_5 needed).  The probe runs first on the idle supervisord, then during
`hot_restart all`, so both are measured in the same run.

Targets: every program hot restarted; 0 failed requests on the sample;
report the wall time and the longest main-loop stall.
"""
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common as c  # noqa: E402
from supervisor_unicorn.tools.loadgen import Load  # noqa: E402
from supervisor_unicorn.tools.sandbox import Supervisord  # noqa: E402

RATE = 50          # requests/s on each sampled program
RESULT = re.compile(r'^(\S+): hot restarted \(pid (\d+) -> (\d+) in ([\d.]+)s\)$')


def main(argv=None):
    args = c.parse_args(__doc__.splitlines()[0], argv)
    n, idle = (10, 3.0) if args.quick else (50, 10.0)
    sd = Supervisord()
    names = ['g%02d' % i for i in range(n)]
    sample = [names[0], names[n // 2], names[-1]]
    probes = []
    try:
        for name in names:
            sd.add_app(name, 'gunicorn', workers=1, options='boot_timeout=300',
                       program={'startsecs': '1', 'startretries': '10'})
        c.progress('scale: starting supervisord with %d gunicorns' % n)
        t0 = time.monotonic()
        sd.start(wait_running=False, timeout=300)
        for name in names:
            c.ready(sd, name, 600)
        boot = time.monotonic() - t0
        c.progress('scale: all %d up in %.1f s; idle probe %.0f s' % (n, boot, idle))
        idle_probe = c.Probe(sd.socket)
        probes.append(idle_probe)
        time.sleep(idle)
        idle_probe.stop()
        for name in names:
            sd.apps[name].deploy('v2')
        c.progress('scale: hot_restart all under load on %s' % ', '.join(sample))
        busy_probe = c.Probe(sd.socket)
        probes.append(busy_probe)
        loads = [Load(sd.apps[name].port, rate=RATE, max_seconds=3600) for name in sample]
        traffic = [load.__enter__() for load in loads]
        try:
            time.sleep(1.0)
            t0 = time.monotonic()
            out = sd.ctl('hot_restart', 'all', timeout=3600)
            wall = time.monotonic() - t0
            time.sleep(1.0)
        finally:
            for load in loads:
                load.__exit__(None, None, None)
            busy_probe.stop()
        lines = [RESULT.match(l) for l in out.stdout.splitlines()]
        done = [m for m in lines if m]
        infos = sd.rpc.unicorn.getAllHotRestartInfo()
        good = [i for i in infos if i['restarts'] == 1 and i['last_result'] == 'done']
        answers = {name: c.get(sd.apps[name].port)[1].split()[0] for name in names}
        new_code = sum(1 for v in answers.values() if v == 'v2')
    finally:
        for p in probes:
            p.kill()
        sd.close()

    c.header('Bench 6: `supervisorctl hot_restart all` over %d gunicorn programs' % n, args)
    secs = [float(m.group(4)) for m in done]
    sent = sum(t.sent for t in traffic)
    failed = sum(t.failed for t in traffic)
    errors = {}
    for t in traffic:
        for k, v in t.errors().items():
            errors[k] = errors.get(k, 0) + v
    ok_all = out.returncode == 0 and len(done) == n and len(good) == n
    ok_load = failed == 0
    print(c.table(['figure', 'value', 'target'], [
        ['programs hot restarted (ctl lines / getAllHotRestartInfo / answering new code)',
         '%d / %d / %d of %d' % (len(done), len(good), new_code, n),
         '%s (all, exit status %d)' % (c.verdict(ok_all), out.returncode)],
        ['wall time of `supervisorctl hot_restart all`', '%.1f s' % wall, ''],
        ['per program (its own seconds): median / max',
         '%s / %s s' % (c.fmt(c.median(secs), 2), c.fmt(max(secs) if secs else None, 2)), ''],
        ['requests on the sample (%d req/s each on %s): sent / failed'
         % (RATE, ', '.join(sample)), '%d / %d' % (sent, failed),
         '%s (0 failed)' % c.verdict(ok_load)],
        ['errors', ', '.join('%s: %d' % kv for kv in sorted(errors.items())) or '-', ''],
        ['start-up of the %d programs (until all RUNNING and answering)' % n,
         '%.1f s' % boot, ''],
    ]))
    print()
    rows = []
    for label, p in (('idle (%.0f s)' % idle, idle_probe),
                     ('during hot_restart all', busy_probe)):
        s = p.summary()
        rows.append([label, s['n'], c.fmt(s['median']), c.fmt(s['p99']), c.fmt(s['max']),
                     p.errors])
    print('supervisord responsiveness: latency of supervisor.getState() called every '
          '50 ms from a separate process (longest = longest main-loop stall):\n')
    print(c.table(['window', 'calls', 'median s', 'p99 s', 'max s', 'errors'], rows))
    print()
    if not ok_all:
        print('supervisorctl output:\n```\n%s%s```\n' % (out.stdout, out.stderr))
    sys.stdout.flush()
    return 0 if ok_all and ok_load else 1


if __name__ == '__main__':
    sys.exit(main())

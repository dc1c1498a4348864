"""Bench 4: supervisord's CPU while a hot restart waits on a slow-booting app.

The deployed version is 'slow:30' (the app takes 30 s to load; preload, so
the new master loads it before forking workers) with boot_timeout=60.  CPU is
supervisord's own user+system time (psutil cpu_times of its pid) over the
whole wait, as a percentage of one core.  Alternating, per server:
- wait=True:  `supervisorctl hot_restart NAME` (one deferred XML-RPC call);
- wait=False: unicorn.hotRestart(NAME, False), then getHotRestartInfo every
              1 s until the phase is idle again, as a deploy script would.
An idle window of the same supervisord is measured alongside, for reference.

Target: < 5 % of a core, for wait=True and wait=False.
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common as c  # noqa: E402
from supervisor_unicorn.sandbox import Supervisord  # noqa: E402

TARGET_PCT = 5.0
MODES = ('wait=True', 'wait=False', 'idle')


def measure(sd, name, mode, slow, idle_seconds):
    pid = sd.proc.pid
    old = c.ready(sd, name, 180)
    if mode != 'idle':
        sd.apps[name].deploy('slow:%g' % slow)
    time.sleep(0.5)
    cpu0, t0 = c.supervisord_cpu_seconds(pid), time.monotonic()
    if mode == 'wait=True':
        out = sd.ctl('hot_restart', name, timeout=slow + 180)
        assert out.returncode == 0, out.stdout + out.stderr
    elif mode == 'wait=False':
        rpc = sd.rpc
        r = rpc.unicorn.hotRestart(name, False)
        assert r['status'] in ('started', 'done') and r['old_pid'] == old, r
        deadline = time.monotonic() + slow + 180
        while True:
            time.sleep(1.0)
            info = rpc.unicorn.getHotRestartInfo(name)
            if info['phase'] == 'idle':
                break
            assert time.monotonic() < deadline, info
        assert info['last_result'] == 'done', info
    else:
        time.sleep(idle_seconds)
    cpu1, t1 = c.supervisord_cpu_seconds(pid), time.monotonic()
    return 100.0 * (cpu1 - cpu0) / (t1 - t0), t1 - t0


def main(argv=None):
    args = c.parse_args(__doc__.splitlines()[0], argv)
    runs, slow = (1, 3) if args.quick else (2, 30)
    sd = Supervisord()
    names = {'unicorn': 'uni', 'gunicorn': 'guni'}
    pct = {(s, m): [] for s in c.SERVERS for m in MODES}
    wall = {(s, m): [] for s in c.SERVERS for m in MODES}
    try:
        for server in c.SERVERS:
            sd.add_app(names[server], server, options='boot_timeout=60')
        c.progress('cpu: starting supervisord')
        sd.start(timeout=120)
        for i in range(runs):
            for server in c.SERVERS:
                order = MODES if i % 2 == 0 else (MODES[1], MODES[0], MODES[2])
                for mode in order:
                    p, w = measure(sd, names[server], mode, slow, min(slow, 10))
                    pct[(server, mode)].append(p)
                    wall[(server, mode)].append(w)
                    c.progress('cpu: run %d/%d %s %s: %.2f %% over %.1f s'
                               % (i + 1, runs, server, mode, p, w))
    finally:
        sd.close()

    c.header('Bench 4: supervisord CPU while a hot restart waits on a %g s boot' % slow, args)
    rows = []
    ok_all = True
    for server in c.SERVERS:
        for mode in MODES:
            xs = pct[(server, mode)]
            target = ''
            if mode != 'idle':
                ok = max(xs) < TARGET_PCT
                ok_all &= ok
                target = '%s (< %g %%)' % (c.verdict(ok), TARGET_PCT)
            rows.append([server, mode, len(xs), c.fmt(c.median(wall[(server, mode)]), 1),
                         c.fmt(c.median(xs), 2), c.fmt(max(xs), 2), target])
    print(c.table(['server', 'mode', 'runs', 'window s (median)', 'CPU % of a core (median)',
                   'max %', 'target'], rows))
    print()
    print('wait=True: `supervisorctl hot_restart` (one deferred call); wait=False: '
          'hotRestart(name, False) then getHotRestartInfo every 1 s; idle: the same '
          'supervisord with nothing to do.  VERSION slow:%g, preload, boot_timeout=60.' % slow)
    print()
    sys.stdout.flush()
    return 0 if ok_all else 1


if __name__ == '__main__':
    sys.exit(main())

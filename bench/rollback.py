"""Bench 7: rollback to the standby generation, against a hot restart and a cold start.

One supervisord with a unicorn and a gunicorn program (2 workers, preload_app,
no before_fork QUIT hook, standby=600).  Each run, per server, alternating
the order, under 300 new connections/s on loopback:

- hot restart: ``hotRestart(name, True)`` until it returns (with standby it
  returns when the new generation serves alone and the old one is stopped);
- rollback: ``rollback(name, True)`` until it returns, and until the first
  answer of the old generation (from the load's own replies); failed requests
  from the rollback call until the end of the run;
- cold start: ``stopProcess`` + ``startProcess`` until every worker answers
  (no load: a cold start drops requests by design).

Memory of the standby (USS: what retiring it frees; RSS) is read from /proc
during the standby, next to the old generation's own figures before the hot
restart (master and workers, USS and PSS).

Targets: rollback until the old generation answers < 1 s (max); 0 failed requests.
"""
import os
import sys
import time

import psutil

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common as c  # noqa: E402
from supervisor_unicorn.tools.loadgen import Load  # noqa: E402
from supervisor_unicorn.tools.sandbox import Supervisord  # noqa: E402
from supervisor_unicorn.tools.waiting import wait_for  # noqa: E402

RATE = 300
TARGET_BACK = 1.0


def mem(pid):
    m = psutil.Process(pid).memory_full_info()
    return m.rss / 1048576, m.uss / 1048576, m.pss / 1048576


def generation(pid):
    """(master uss, workers uss, total pss) of a serving master and its workers."""
    workers = [ch.pid for ch in psutil.Process(pid).children()
               if ch.status() != psutil.STATUS_ZOMBIE]
    m = mem(pid)
    ws = [mem(w) for w in workers]
    return m[1], sum(w[1] for w in ws), m[2] + sum(w[2] for w in ws)


def one_run(sd, name, version, out):
    app = sd.apps[name]
    old = c.ready(sd, name, 180)
    out['gen'].append(generation(old))
    app.deploy('v%d' % version)
    with Load(app.port, rate=RATE) as traffic:
        wait_for(lambda: traffic.ok >= 50, 30, 'traffic to flow')
        t0 = time.monotonic()
        r = sd.rpc.unicorn.hotRestart(name, True)
        out['hot'].append(time.monotonic() - t0)
        new = r['new_pid']
        wait_for(lambda: not [ch for ch in psutil.Process(old).children()
                              if ch.pid != new and ch.status() != psutil.STATUS_ZOMBIE],
                 30, 'the old workers to finish')
        out['standby'].append(mem(old))
        target = traffic.ok + 100
        wait_for(lambda: traffic.ok >= target, 30, 'traffic on the new generation')
        t1 = time.monotonic()
        rb = sd.rpc.unicorn.rollback(name, True)
        out['rollback'].append(time.monotonic() - t1)
        assert rb['to_pid'] == old, rb
        target = traffic.ok + 150
        wait_for(lambda: traffic.ok >= target, 30, 'traffic after the rollback')
    back = [r.started for r in traffic.replies
            if r.ok and r.started >= t1 and r.body.split()[1:] == [str(old)]]
    out['back'].append(min(back) - t1 if back else None)
    out['failed'].append(sum(1 for r in traffic.replies if not r.ok and r.started >= t1))
    out['failed_all'].append(traffic.failed)
    # cold start, for comparison (no load)
    t2 = time.monotonic()
    sd.rpc.supervisor.stopProcess(name, True)
    sd.rpc.supervisor.startProcess(name, True)
    c.ready(sd, name, 180)
    out['cold'].append(time.monotonic() - t2)


def main(argv=None):
    args = c.parse_args(__doc__.splitlines()[0], argv)
    runs = 1 if args.quick else 5
    sd = Supervisord()
    names = {'unicorn': 'uni', 'gunicorn': 'guni'}
    keys = ('gen', 'hot', 'standby', 'rollback', 'back', 'failed', 'failed_all', 'cold')
    res = {s: {k: [] for k in keys} for s in c.SERVERS}
    try:
        for server in c.SERVERS:
            sd.add_app(names[server], server, hook=False, options='standby=600',
                       program={'startretries': '100'})
        c.progress('rollback: starting supervisord')
        sd.start(wait_running=False, timeout=120)
        version = 1
        for i in range(runs):
            order = c.SERVERS if i % 2 == 0 else tuple(reversed(c.SERVERS))
            for server in order:
                version += 1
                one_run(sd, names[server], version, res[server])
            c.progress('rollback: run %d/%d' % (i + 1, runs))
    finally:
        sd.close()

    c.header('Bench 7: rollback to the standby generation (preload_app, %d req/s)'
             % RATE, args)
    rows, ok_all = [], True
    for server in c.SERVERS:
        r = res[server]
        backs = [b for b in r['back'] if b is not None]
        ok = len(backs) == len(r['back']) and max(backs) < TARGET_BACK \
            and sum(r['failed_all']) == 0
        ok_all &= ok
        rows.append([server, len(r['hot']), c.fmt(c.median(r['cold']), 2),
                     c.fmt(c.median(r['hot']), 2), c.fmt(c.median(r['rollback']), 2),
                     '%s / %s' % (c.fmt(c.median(backs), 3), c.fmt(max(backs) if backs
                                                                   else None, 3)),
                     sum(r['failed']), sum(r['failed_all']),
                     '%s (< %.0f s, 0 failed)' % (c.verdict(ok), TARGET_BACK)])
    print(c.table(['server', 'runs', 'cold start s', 'hot restart s', 'rollback s',
                   'old version back: median / max s', 'failed in rollback',
                   'failed in run', 'target'], rows))
    print()
    rows = []
    for server in c.SERVERS:
        r = res[server]
        rows.append([server,
                     c.fmt(c.median(g[0] for g in r['gen']), 1),
                     c.fmt(c.median(g[1] for g in r['gen']), 1),
                     c.fmt(c.median(g[2] for g in r['gen']), 1),
                     c.fmt(c.median(m[0] for m in r['standby']), 1),
                     c.fmt(c.median(m[1] for m in r['standby']), 1)])
    print(c.table(['server', 'serving: master USS MB', 'its 2 workers USS MB',
                   'generation PSS MB', 'standby master RSS MB',
                   'standby master USS MB (the cost)'], rows))
    print()
    print('"rollback s": rollback(name, True) until it returns: the old workers ready '
          'again and the new master retired and reaped.  "old version back": from the '
          'call until the first answer of the old master\'s workers.  Cold start: '
          'stopProcess + startProcess until every worker answers.  Memory of the demo '
          'apps (tiny): a real app\'s standby costs about its preloaded heap, since the '
          'master\'s pages stop being shared once its workers are gone (USS rises).')
    print()
    sys.stdout.flush()
    return 0 if ok_all else 1


if __name__ == '__main__':
    sys.exit(main())

"""Bench 5: supervisord's memory with the plugin and 100 configured programs.

Two supervisords with the same 100 cheap programs (`sleep 100000`), both
started in one run (the order alternates run by run): one with the plugin and
a `programs` line for each (as gunicorn servers with pidfiles in the tmp
dir), one without the plugin.  After every program is RUNNING and a settle
time (a few of the plugin's pidfile scans and a TICK_5), both get the same
XML-RPC calls, then RSS and USS of the supervisord process are sampled.  The
process count under each supervisord shows whether the plugin adds any.

Target: < 5 MB more RSS with the plugin; no extra process per program.
"""
import os
import sys
import time

import psutil

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common as c  # noqa: E402
from supervisor_unicorn.tools.sandbox import Supervisord  # noqa: E402
from supervisor_unicorn.tools.waiting import wait_for  # noqa: E402

TARGET_MB = 5.0
MB = 1024.0 * 1024.0


def make(plugin, n):
    sd = Supervisord(plugin=plugin)
    for i in range(n):
        sd.add_app('p%03d' % i, 'gunicorn', program={
            'command': 'sleep 100000', 'stopsignal': 'KILL', 'startsecs': '1'})
    return sd


def all_running(sd, n):
    infos = sd.rpc.supervisor.getAllProcessInfo()
    return len(infos) == n and all(i['statename'] == 'RUNNING' for i in infos)


def sample(sd):
    p = psutil.Process(sd.proc.pid)
    mem = p.memory_full_info()
    kids = [k for k in p.children(recursive=True) if k.status() != psutil.STATUS_ZOMBIE]
    return {'rss': mem.rss / MB, 'uss': mem.uss / MB, 'children': len(kids),
            'threads': p.num_threads(), 'fds': p.num_fds()}


def main(argv=None):
    args = c.parse_args(__doc__.splitlines()[0], argv)
    n = 100
    runs, settle = (1, 2.0) if args.quick else (3, 6.0)
    results = {True: [], False: []}
    for i in range(runs):
        order = (True, False) if i % 2 == 0 else (False, True)
        sds = {}
        try:
            for plugin in order:
                sds[plugin] = make(plugin, n)
                sds[plugin].start(wait_running=False, timeout=120)
            for plugin in order:
                wait_for(lambda: all_running(sds[plugin], n), 180,
                         'all %d programs RUNNING' % n, 0.2)
            time.sleep(settle)
            for plugin in order:
                rpc = sds[plugin].rpc
                rpc.supervisor.getAllProcessInfo()
                rpc.supervisor.getState()
                if plugin:
                    rpc.unicorn.getAllHotRestartInfo()
            time.sleep(0.5)
            for plugin in order:
                samples = [sample(sds[plugin]) for _ in range(3)]
                results[plugin].append({k: c.median(s[k] for s in samples)
                                        for k in samples[0]})
            c.progress('memory: run %d/%d: plugin %.1f MB, plain %.1f MB RSS'
                       % (i + 1, runs, results[True][-1]['rss'], results[False][-1]['rss']))
        finally:
            for sd in sds.values():
                sd.close()

    c.header('Bench 5: supervisord memory with %d configured programs' % n, args)
    rows = []
    for plugin in (False, True):
        rs = results[plugin]
        rows.append(['with plugin' if plugin else 'without plugin', len(rs),
                     c.fmt(c.median(r['rss'] for r in rs), 1),
                     c.fmt(c.median(r['uss'] for r in rs), 1),
                     '%d' % c.median(r['children'] for r in rs),
                     '%d' % c.median(r['threads'] for r in rs),
                     '%d' % c.median(r['fds'] for r in rs)])
    print(c.table(['supervisord', 'runs', 'RSS MB (median)', 'USS MB (median)',
                   'processes under it', 'threads', 'fds'], rows))
    print()
    d_rss = c.median(a['rss'] - b['rss'] for a, b in zip(results[True], results[False]))
    d_uss = c.median(a['uss'] - b['uss'] for a, b in zip(results[True], results[False]))
    extra = c.median(a['children'] - b['children']
                     for a, b in zip(results[True], results[False]))
    ok_mem, ok_procs = d_rss < TARGET_MB, extra == 0
    print(c.table(['figure', 'value', 'target'], [
        ['RSS added by the plugin (median of per-run differences)', '%+.1f MB' % d_rss,
         '%s (< %g MB)' % (c.verdict(ok_mem), TARGET_MB)],
        ['USS added by the plugin', '%+.1f MB' % d_uss, ''],
        ['extra processes with the plugin', '%+d' % extra,
         '%s (none per program)' % c.verdict(ok_procs)],
    ]))
    print()
    print('%d programs `sleep 100000`; the plugin side lists each as `pNNN gunicorn '
          '<tmp>/pNNN.pid`.  MB here = MiB (2**20 bytes).' % n)
    print()
    sys.stdout.flush()
    return 0 if ok_mem and ok_procs else 1


if __name__ == '__main__':
    sys.exit(main())

"""Bench 2: handover time, supervised against the bare server, in one run.

Modes, alternated run by run (the order rotates), per server:
- bare:  the server run directly by this script (same command, directory and
         environment as under supervisord).  unicorn: USR2, its before_fork
         hook retires the old master; timed until the old master has exited
         and the new one answers.  gunicorn never retires the old master:
         USR2, the new master's workers up, TERM to the old one, timed until
         it has exited and the new one answers.
- rpc:   unicorn.hotRestart(name, wait=True) over XML-RPC, timed from the call
         until it returns (old master gone, new master tracked).
- quiet: unicorn.hotRestart(name, wait=False), then nothing talks to
         supervisord: timed until its "hot restarted" log line (1 ms resolution).
- ctl:   `supervisorctl hot_restart NAME`, wall time including its start-up;
         supervisorctl's own start-up (`supervisorctl version`) is reported apart.

Cases, per server: preload (the app loads in the master, before the fork;
unicorn with its before_fork hook) and "no preload, 3 s load" (every worker
loads the app for 3 s after the fork; unicorn without the hook, whose bare
handover is: USR2, every new worker logged that it loaded the app, then QUIT).

Target: rpc and quiet at most 0.1 s over bare (medians), every case.
"""
import os
import re
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common as c  # noqa: E402
from supervisor_unicorn.tools.sandbox import Supervisord  # noqa: E402

TARGET_ADDED = 0.1
MODES = ('bare', 'rpc', 'quiet', 'ctl')
STEPS = ('new master seen', 'retire sent', 'old master exited', 'done logged')
LOAD = 3
# (server, case, short name, App options)
CASES = (
    ('unicorn', 'preload', 'uni', {}),
    ('gunicorn', 'preload', 'guni', {}),
    ('unicorn', 'no preload, %d s load' % LOAD, 'uninp', {'preload': False, 'hook': False}),
    ('gunicorn', 'no preload, %d s load' % LOAD, 'guninp', {'preload': False}),
)


def version_of(case, n):
    # the demo app sleeps LOAD seconds while loading a 'slow:' version
    return 'v%d' % n if case == 'preload' else 'slow:%d.%03d' % (LOAD, n % 1000)


def log_steps(text, name, old):
    """Seconds after 'sent USR2' of each step of one supervised handover,
    from supervisord's log lines (1 ms resolution)."""
    n = re.escape(name)
    pats = {
        'usr2': r'hot_restart: %s: sent USR2 to master pid %d\b' % (n, old),
        'new master seen': r'hot_restart: %s: new master pid \d+ is up \(child of pid %d\)'
                           % (n, old),
        'retire sent': r'hot_restart: %s: new master pid \d+ has \d+ worker\(s\) [^;]*; '
                       r'retiring old master pid %d\b' % (n, old),
        'old master exited': r'hot_restart: %s: old master pid %d exited' % (n, old),
        'done logged': r'hot_restart: %s: hot restarted \(pid %d -> ' % (n, old),
    }
    at = {}
    for key, pat in pats.items():
        ev = c.log_events(text, pat)
        if ev:
            at[key] = ev[0][0]
    if 'usr2' not in at:
        return {}
    return {k: at[k] - at['usr2'] for k in STEPS if k in at}


def supervised(sd, name, kind):
    """One supervised handover of `name` (already deployed); its seconds,
    and the plugin's own `seconds` for an rpc call."""
    if kind == 'rpc':
        r, secs = c.rpc_call_seconds(sd, lambda rpc: rpc.unicorn.hotRestart(name, True))
        assert r['status'] == 'done', r
        return secs, r['seconds']
    if kind == 'quiet':
        rpc = sd.rpc
        t0 = time.time()
        r = rpc.unicorn.hotRestart(name, False)
        t1 = c.wait_log(sd, r'hot_restart: %s: hot restarted \(pid %d -> '
                        % (re.escape(name), r['old_pid']), t0, 120)
        return t1 - t0, None
    t0 = time.monotonic()
    out = sd.ctl('hot_restart', name, timeout=300)
    secs = time.monotonic() - t0
    assert out.returncode == 0, out.stdout + out.stderr
    return secs, None


def options(p):
    p.add_argument('--whatif', nargs='+', metavar='NAME=VALUE',
                   help='also run rpc and quiet against a supervisord whose plugin has '
                        'these constants changed (see bench/_whatif.py), e.g. '
                        'settle.gunicorn=0.1 deferred_delay=0.02')


def main(argv=None):
    args = c.parse_args(__doc__.splitlines()[0], argv, options)
    runs = 2 if args.quick else 10
    c.become_subreaper()
    root = tempfile.mkdtemp(prefix='bench-handover-')
    sds = {'': Supervisord()}
    modes = list(MODES)
    if args.whatif:
        import _whatif
        sds['*'] = Supervisord(launcher=_whatif.launcher(args.whatif))
        modes += ['rpc*', 'quiet*']
    names = {name: name for _, _, name, _ in CASES}
    bare = {}
    times = {(s, m): [] for s in names for m in modes}
    reported = {s: [] for s in names}     # the plugin's own `seconds`
    olds = {(s, m): [] for s in names for m in modes}   # per supervised run
    steps = {}                                               # from the log
    ctl_start = []
    try:
        for sd in sds.values():
            for server, _, name, kw in CASES:
                sd.add_app(name, server, **kw)
        c.progress('handover: starting supervisord and bare servers')
        for sd in sds.values():
            sd.start(timeout=120)
        for server, _, name, kw in CASES:
            bare[name] = c.BareServer(root, 'bare-' + name, server, **kw).start(120)
        version = 1
        for i in range(runs):
            for _, case, server, _ in CASES:     # `server`: the case's short name
                name = names[server]
                k = i % len(modes)
                for mode in modes[k:] + modes[:k]:
                    version += 1
                    v = version_of(case, version)
                    if mode == 'bare':
                        times[(server, mode)].append(bare[server].handover(v, 120))
                        continue
                    variant = '*' if mode.endswith('*') else ''
                    sd = sds[variant]
                    olds[(server, mode)].append(c.ready(sd, name, 120))
                    sd.apps[name].deploy(v)
                    secs, own = supervised(sd, name, mode.rstrip('*'))
                    times[(server, mode)].append(secs)
                    if mode == 'rpc':
                        reported[server].append(own)
            t0 = time.monotonic()
            out = sds[''].ctl('version')
            ctl_start.append(time.monotonic() - t0)
            assert out.returncode == 0, out.stdout + out.stderr
            c.progress('handover: run %d/%d done' % (i + 1, runs))
        texts = {variant: sd.log() for variant, sd in sds.items()}
        for (server, mode), pids in olds.items():
            text = texts['*' if mode.endswith('*') else '']
            steps[(server, mode)] = [log_steps(text, names[server], old) for old in pids]
    finally:
        for sd in sds.values():
            sd.close()
        for b in bare.values():
            b.close()
        bare_steps = {s: b.steps for s, b in bare.items()}
        shutil.rmtree(root, ignore_errors=True)

    c.header('Bench 2: handover time (hot restart, no load)', args)
    rows = []
    verdicts = []
    labels = {name: '%s, %s' % (server, case) for server, case, name, _ in CASES}
    for server in names:
        base = c.median(times[(server, 'bare')])
        for mode in modes:
            xs = times[(server, mode)]
            med = c.median(xs)
            added = None if mode == 'bare' else med - base
            target = ''
            if mode in ('rpc', 'quiet'):
                ok = added <= TARGET_ADDED
                verdicts.append(ok)
                target = '%s (≤ +%.1f s)' % (c.verdict(ok), TARGET_ADDED)
            rows.append([labels[server], mode, len(xs), c.fmt(med), c.fmt(min(xs)),
                         c.fmt(max(xs)),
                         '' if added is None else '%+.3f' % added, target])
    print(c.table(['server', 'mode', 'runs', 'median s', 'min s', 'max s',
                   'added vs bare (median)', 'target'], rows))
    print()
    if args.whatif:
        print('rpc* and quiet*: the same, against a second supervisord whose plugin runs '
              'with %s (bench/_whatif.py; not the shipped configuration).\n'
              % ', '.join(args.whatif))
    ctl_med = c.median(ctl_start)
    print('supervisorctl start-up (`supervisorctl version`, wall): median %s s, min %s, '
          'max %s over %d runs; the ctl rows include it.\n'
          % (c.fmt(ctl_med), c.fmt(min(ctl_start)), c.fmt(max(ctl_start)), len(ctl_start)))
    rows = []
    for server in names:
        sides = [('bare', bare_steps[server])] + [
            (m, steps[(server, m)]) for m in modes if m != 'bare']
        for label, data in sides:
            rows.append([labels[server], label] + [
                c.fmt(c.median(d.get(k) for d in data)) for k in STEPS])
    print('Where the time goes (medians, seconds after USR2; bare: seen by the bench, '
          'supervised modes: supervisord\'s log lines):\n')
    print(c.table(['server', 'mode'] + list(STEPS), rows))
    print()
    for server in names:
        print('%s: the plugin\'s own `seconds` in the rpc result: median %s s.'
              % (labels[server], c.fmt(c.median(reported[server]))))
    print()
    print('Modes: bare = USR2 outside supervisord until the old master exited and the new '
          'one answers (gunicorn: the bench TERMs the old master once the new workers are '
          'up); rpc = hotRestart(name, wait=True) call to return; quiet = '
          'hotRestart(name, wait=False), then no client at all until supervisord logs '
          '"hot restarted"; ctl = `supervisorctl hot_restart` wall time.  No preload: '
          'bare retires the old master (unicorn: QUIT, no before_fork hook; gunicorn: '
          'TERM) once every new worker has logged that it loaded the app.')
    print()
    sys.stdout.flush()
    return 0 if all(verdicts) else 1


if __name__ == '__main__':
    sys.exit(main())

"""Bench 7: supervisord's responsiveness while a hostile app makes /proc expensive.

The hostile gunicorn app of the tests (tests/integration/hostile/gunicorn_cost.py;
supervisord and the app as root) picks its attack from the deployed VERSION:
- fds:18000     four new workers each dup() their heartbeat fd 18,000 times,
                during `supervisorctl hot_restart` (the readiness reader);
- threads:5000  the master runs 5,000 idle threads, an idle window of 10 s
                (the child scan at every idle scan);
- children:5000 the new master forks 5,000 children living 3 s each while its
                workers take 8 s to load, during `hot_restart` (each poll's
                children and their readiness).
Measured over each window: `supervisorctl status` wall time (a loop, its own
start-up included; `quiet` is the same against the idle supervisord before the
attack, for reference), the getState() latency from a separate probe process
(the longest main-loop stall), and supervisord's CPU as % of one core.

Target: `supervisorctl status` < 0.3 s (max over the window), and the hot
restart ends (done, or a Fault naming the old master still serving).
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common as c  # noqa: E402
from supervisor_unicorn.tools.sandbox import Supervisord  # noqa: E402
from supervisor_unicorn.tools.sandbox_app import find_executable  # noqa: E402
from supervisor_unicorn.tools.status_probe import StatusProbe  # noqa: E402

TARGET = 0.3
CONFIG = os.path.join(c.ROOT, 'tests', 'integration', 'hostile', 'gunicorn_cost.py')
ATTACKS = [('fds:18000', 4, 'hot_restart'), ('threads:5000', 2, 'idle'),
           ('children:5000', 2, 'hot_restart')]


def window(sd, action):
    """(status times, probe summary, CPU %, outcome) while `action` runs."""
    probe = c.Probe(sd.socket)
    try:
        cpu0, t0 = c.supervisord_cpu_seconds(sd.proc.pid), time.monotonic()
        with StatusProbe(sd.conf, timeout=60) as loop:
            outcome = action()
        cpu = 100.0 * (c.supervisord_cpu_seconds(sd.proc.pid) - cpu0) / (time.monotonic() - t0)
        probe.stop()
    finally:
        probe.kill()
    return loop.times, probe.summary(), cpu, outcome


def run_attack(version, workers, mode, idle_seconds):
    sd = Supervisord()
    try:
        sd.add_app('web', 'gunicorn', workers=workers, options='boot_timeout=30',
                   program={'command': '%s -c %s wsgi_app:application'
                            % (find_executable('gunicorn'), CONFIG)})
        if mode == 'idle':
            sd.apps['web'].deploy(version)
        sd.start(timeout=120)
        c.ready(sd, 'web', 120)
        if mode == 'idle':
            time.sleep(3)                  # its threads start after when_ready
        quiet = window(sd, lambda: time.sleep(3))[0] if mode != 'idle' else None
        if mode == 'idle':
            outcome = lambda: time.sleep(idle_seconds) or 'idle'
        else:
            sd.apps['web'].deploy(version)

            def outcome():
                r = sd.ctl('hot_restart', 'web', timeout=120)
                return 'done' if r.returncode == 0 else 'failed: ' + r.stdout.strip()
        times, probe, cpu, result = window(sd, outcome)
        warns = [l.split(' web: ', 1)[1][:60] for l in sd.log().splitlines()
                 if ' WARN hot_restart: web: ' in l]
        return quiet, times, probe, cpu, result, warns
    finally:
        sd.close()


def options(p):
    p.add_argument('--attack', nargs='+', choices=[a for a, _, _ in ATTACKS],
                   help='only these attacks')


def main(argv=None):
    args = c.parse_args(__doc__.splitlines()[0], argv, options)
    c.header('hostile_cost: supervisord responsiveness under a hostile app', args)
    idle_seconds = 5 if args.quick else 10
    rows, missed = [], False
    for version, workers, mode in ATTACKS:
        if args.attack and version not in args.attack:
            continue
        c.progress('hostile_cost: %s (%s)' % (version, mode))
        load = '%.2f' % os.getloadavg()[0]
        quiet, times, probe, cpu, result, warns = run_attack(version, workers, mode,
                                                             idle_seconds)
        worst = max(times) if times else None
        ended = not result.startswith('failed') or 'still serving' in result
        ok = worst is not None and worst < TARGET and ended
        missed |= not ok
        rows.append([version, mode, len(times), c.fmt(c.median(times)), c.fmt(worst),
                     c.fmt(max(quiet)) if quiet else 'n/a',
                     c.fmt(probe['median']), c.fmt(probe['max']), '%.1f' % cpu,
                     result[:60], '; '.join(warns) or '-', load, c.verdict(ok)])
    print(c.table(['attack', 'window', 'status n', 'status median s', 'status max s',
                   'quiet status max s', 'getState median s', 'getState max s',
                   'supervisord CPU %', 'hot restart', 'WARN', 'load avg (1 min)',
                   'target < %.1f s' % TARGET], rows))
    print()
    return 1 if missed else 0


if __name__ == '__main__':
    sys.exit(main())

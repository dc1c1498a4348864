"""Run every bench, one after the other, and print all their tables.

    python bench/run_all.py [--quick] [--output bench/RESULTS.md] [--only NAME ...]
                            [--with-whatif]

Each bench runs in its own process (a crash in one does not stop the others);
its progress lines go to stderr, its tables to stdout (and to --output).
The exit status of a bench is 0 when its targets are met, 1 when one is
missed, anything else when it failed to run.
"""
import argparse
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import _common as c  # noqa: E402

BENCHES = [
    ('failed_requests', 'failed requests during a hot restart (300 and 1000 req/s)'),
    ('handover', 'handover time against the bare server'),
    ('sigkill', 'SIGKILL of an adopted master until marked exited'),
    ('cpu', 'supervisord CPU while waiting on a slow boot'),
    ('memory', 'supervisord RSS with 100 programs'),
    ('scale', 'hot_restart all over 50 gunicorns'),
    ('hostile_cost', 'supervisord responsiveness under a hostile app'),
    ('rollback', 'rollback to the standby generation vs hot restart and cold start'),
]
# the product changes the what-if runs try (bench/_whatif.py), see --with-whatif
WHATIF = ['settle.gunicorn=0.1', 'poll_interval=0.05', 'deferred_delay=0.02',
          'fast_children=1']
QUICK_TIMEOUT = 170     # seconds a bench may take with --quick
FULL_TIMEOUT = 1800


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--quick', action='store_true', help='smoke run (< 3 minutes)')
    p.add_argument('--output', help='also write the tables to this markdown file')
    p.add_argument('--only', nargs='+', choices=[b for b, _ in BENCHES])
    p.add_argument('--with-whatif', action='store_true',
                   help='handover also measures a supervisord whose plugin runs with %s '
                        '(side by side), and cpu runs a second time with it'
                        % ' '.join(WHATIF))
    args = p.parse_args(argv)
    chosen = [(b, d, []) for b, d in BENCHES if not args.only or b in args.only]
    if args.with_whatif:
        chosen = [(b, d, ['--whatif'] + WHATIF if b == 'handover' else x)
                  for b, d, x in chosen]
        if any(b == 'cpu' for b, _, _ in chosen):
            chosen.append(('cpu', 'the same, plugin what-if: %s' % ' '.join(WHATIF),
                           ['--whatif'] + WHATIF))

    parts = ['# supervisor_unicorn benchmarks%s\n' % (' (--quick)' if args.quick else ''),
             'Run: `python bench/run_all.py%s`, %s.\n'
             % ((' --quick' if args.quick else '') +
                (' --with-whatif' if args.with_whatif else ''),
                time.strftime('%Y-%m-%d %H:%M %Z')),
             c.machine_table() + '\n']
    print('\n'.join(parts))
    sys.stdout.flush()
    summary = []
    start = time.monotonic()
    for name, desc, extra in chosen:
        cmd = [sys.executable, os.path.join(HERE, name + '.py'), '--no-machine'] + extra
        if args.quick:
            cmd.append('--quick')
        c.progress('run_all: %s' % ' '.join(cmd[1:]))
        t0 = time.monotonic()
        try:
            r = subprocess.run(cmd, stdout=subprocess.PIPE, text=True,
                               timeout=QUICK_TIMEOUT if args.quick else FULL_TIMEOUT)
            out, code = r.stdout, r.returncode
        except subprocess.TimeoutExpired as e:
            out = (e.stdout.decode() if isinstance(e.stdout, bytes) else e.stdout) or ''
            out += '\n(timed out)\n'
            code = 'timeout'
        secs = time.monotonic() - t0
        print(out)
        sys.stdout.flush()
        parts.append(out)
        status = {0: 'targets met', 1: 'a target MISSED'}.get(code, 'FAILED TO RUN (%s)' % code)
        summary.append([name, desc, status, '%.0f s' % secs])
    total = time.monotonic() - start
    tail = '## Summary\n\n%s\n\nTotal: %.0f s.\n' % (
        c.table(['bench', 'what', 'result', 'wall'], summary), total)
    print(tail)
    parts.append(tail)
    if args.output:
        with open(args.output, 'w') as f:
            f.write('\n'.join(parts))
    return 0 if all(s[2] == 'targets met' for s in summary) else 1


if __name__ == '__main__':
    sys.exit(main())

"""supervisor-unicorn-demo: watch a hot restart under load, then clean up.

Starts a private supervisord (temporary directory, its own unix socket) with
the plugin and a demo app, sends loopback traffic, deploys "v2", runs the
real ``supervisorctl hot_restart web``, and prints what happened.  With
``--rollback`` the program has ``standby=60``: after the hot restart the old
generation waits on standby, and ``supervisorctl rollback web`` goes back to it.
"""
import argparse
import sys
import time

from supervisor_unicorn.tools.loadgen import Load
from supervisor_unicorn.tools.sandbox import Supervisord
from supervisor_unicorn.tools.waiting import wait_for


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog='supervisor-unicorn-demo',
        description='Hot restart a demo app under a private supervisord while '
                    'loopback traffic runs, and print what happened.')
    parser.add_argument('--server', choices=('gunicorn', 'unicorn'), default='gunicorn',
                        help='which server runs the demo app (default: gunicorn)')
    parser.add_argument('--rate', type=float, default=300,
                        help='requests per second during the demo (default: 300)')
    parser.add_argument('--rollback', action='store_true',
                        help='keep the old generation on standby (standby=60), then '
                             'roll back to it under the same traffic')
    parser.add_argument('--keep', action='store_true',
                        help='keep the temporary directory (logs, config) afterwards')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    say = print
    sd = Supervisord(keep=args.keep)
    try:
        if args.rollback:
            # no before_fork hook: it would retire the old master itself
            app = sd.add_app('web', args.server, hook=False, options='standby=60')
        else:
            app = sd.add_app('web', args.server)
        say('1. private supervisord in %s with program "web" (%s, 2 workers%s)'
            % (sd.root, args.server, ', standby=60' if args.rollback else ''))
        sd.start()
        old = sd.pid('web')
        say('   web is RUNNING, master pid %d, answering on 127.0.0.1:%d'
            % (old, app.port))
        app.deploy('v2')
        say('2. deployed v2; %d requests/s of loopback traffic; '
            'supervisorctl hot_restart web' % args.rate)
        with Load(app.port, rate=args.rate) as traffic:
            wait_for(lambda: traffic.ok >= args.rate / 2, 30, 'traffic to flow')
            started = time.monotonic()
            r = sd.ctl('hot_restart', 'web')
            took = time.monotonic() - started
            target = traffic.ok + args.rate / 2
            wait_for(lambda: traffic.ok >= target, 30, 'traffic after the restart')
            if args.rollback:
                rolled = _rollback(sd, traffic, args.rate, say, r, took)
        if not args.rollback:
            say('   supervisorctl said: %s (exit status %d, %.2fs wall)'
                % (r.stdout.strip() or r.stderr.strip(), r.returncode, took))
        info = sd.info('web')
        gens = traffic.generations()
        say('3. result')
        say('   requests: %d ok, %d failed' % (traffic.ok, traffic.failed))
        last = traffic.last_ok()
        if last is not None and args.rollback:
            version, _, pid = last.body.strip().partition(' ')
            if (version, int(pid or 0)) != gens[-1]:
                gens.append((version + ' again', int(pid or 0)))
        say('   served by: %s' % ' then '.join('%s (pid %d)' % g for g in gens))
        say('   supervisord: web is %s with pid %d (pid %d -> %d), masters alive: %s'
            % (info['statename'], info['pid'], old, info['pid'], sd.masters('web')))
        exits = [l for l in sd.log().splitlines() if 'exited: web' in l]
        say('   supervisord logged %d exit(s) of web' % len(exits))
        if args.rollback:
            ok = (rolled and traffic.failed == 0 and info['statename'] == 'RUNNING'
                  and info['pid'] == old and sd.masters('web') == [old] and not exits)
            say('4. %s' % ('rollback OK: the old generation serves again under pid %d, '
                           'no request lost, no exit seen by supervisord' % old
                           if ok else 'rollback NOT clean; see %s' % sd.logfile))
        else:
            ok = (r.returncode == 0 and traffic.failed == 0
                  and info['statename'] == 'RUNNING' and info['pid'] != old and not exits)
            say('4. %s' % ('hot restart OK: no request lost, no exit seen by supervisord'
                           if ok else 'hot restart NOT clean; see %s' % sd.logfile))
        if args.keep:
            say('   kept %s' % sd.root)
        return 0 if ok else 1
    finally:
        sd.close()
        say('   stopped supervisord; nothing left running')


def _rollback(sd, traffic, rate, say, r, took) -> bool:
    """The standby, then `supervisorctl rollback web`; True if both worked."""
    say('   supervisorctl said: %s (exit status %d, %.2fs wall)'
        % (r.stdout.strip() or r.stderr.strip(), r.returncode, took))
    hot = sd.rpc.unicorn.getHotRestartInfo('web')
    say('   getHotRestartInfo: phase %r, old_pid %d (stopped, no workers), new_pid %d '
        'serving alone; %.0fs of standby left'
        % (hot['phase'], hot['old_pid'], hot['new_pid'], hot['standby_left']))
    say('   supervisorctl rollback web')
    started = time.monotonic()
    rb = sd.ctl('rollback', 'web')
    took = time.monotonic() - started
    target = traffic.ok + rate / 2
    wait_for(lambda: traffic.ok >= target, 30, 'traffic after the rollback')
    say('   supervisorctl said: %s (exit status %d, %.2fs wall)'
        % (rb.stdout.strip() or rb.stderr.strip(), rb.returncode, took))
    hot = sd.rpc.unicorn.getHotRestartInfo('web')
    say('   getHotRestartInfo: phase %r, last_result %r, rolled_back_from %d, pid %d'
        % (hot['phase'], hot['last_result'], hot['rolled_back_from'], hot['pid']))
    return r.returncode == 0 and rb.returncode == 0 and hot['last_result'] == 'rolled_back'


if __name__ == '__main__':
    sys.exit(main())

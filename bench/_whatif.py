"""Run supervisord with some of the plugin's constants changed: a what-if
launcher for the benches (the product's files are not touched).

    python bench/_whatif.py settle.gunicorn=0.1 deferred_delay=0.02 -- -n -c conf

Known names: settle.<server> (servers.SERVERS[server].settle),
deferred_delay (rpcinterface.DEFERRED_DELAY), poll_interval (core.POLL_INTERVAL),
fast_children=1 (procs.live_children reads /proc/PID/task/PID/children instead
of psutil's children(), which reads /proc/*/stat of every process).
"""
import dataclasses
import sys


def apply(assignments):
    from supervisor_unicorn import rpcinterface
    from supervisor_unicorn.common import servers
    from supervisor_unicorn.supervisord import core
    for item in assignments:
        key, _, value = item.partition('=')
        value = float(value)
        if key.startswith('settle.'):
            name = key.split('.', 1)[1]
            servers.SERVERS[name] = dataclasses.replace(servers.SERVERS[name], settle=value)
        elif key == 'deferred_delay':
            rpcinterface.DEFERRED_DELAY = value
        elif key == 'poll_interval':
            core.POLL_INTERVAL = value
        elif key == 'fast_children' and value:
            from supervisor_unicorn.supervisord import procs
            procs.live_children = _fast_live_children
        else:
            raise SystemExit('unknown what-if name: %s' % key)


def _fast_live_children(pid):
    from supervisor_unicorn.supervisord import procs
    try:
        with open('/proc/%d/task/%d/children' % (pid, pid)) as f:
            pids = [int(p) for p in f.read().split()]
    except (OSError, ValueError):
        return []
    out = []
    for child in pids:
        ident = procs.identify(child)
        if ident is not None:
            out.append(ident)
    return out


def launcher(assignments):
    """The Supervisord(launcher=...) argument for these changes."""
    return [sys.executable, __file__] + list(assignments) + ['--']


if __name__ == '__main__':
    sep = sys.argv.index('--')
    apply(sys.argv[1:sep])
    sys.argv = ['supervisord'] + sys.argv[sep + 1:]
    from supervisor import supervisord
    supervisord.main()

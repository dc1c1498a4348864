"""supervisord with every hook of supervisor_unicorn made to raise.

Run as `python faulty_supervisord.py -n -c CONF`: the injected failures show
that nothing of ours can take supervisord or its children down.
"""
import sys

from supervisor_unicorn.supervisord import core

HOOKS = ('on_running', 'poll', 'poll_one', 'on_reaped', 'on_kill')


def failing(hook):
    def injected(*args, **kwargs):
        raise RuntimeError('injected failure in %s' % hook)
    injected.__name__ = hook
    return injected


for hook in HOOKS:
    setattr(core.Core, hook, failing(hook))

if __name__ == '__main__':
    from supervisor.supervisord import main
    sys.argv[0] = 'supervisord'
    main()

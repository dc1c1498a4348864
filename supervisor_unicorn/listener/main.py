"""supervisor-unicorn-listener: HTTP health checks that heal by hot restart.

The console script's ``main``: it parses the command line (listener_options),
connects to supervisord from the environment it gives its eventlisteners, and
runs the watchdog on stdin/stdout. The watchdog hands events to a ``Healer``
per program (healing, attempts, decision: pure) and carries its decisions out
with ``Remedies`` (remedies, link, probe).
"""

import os
import sys
import time
from typing import List, Optional

from supervisor import childutils

from supervisor_unicorn.listener.listener_options import PROG, OptionsError, parse_options
from supervisor_unicorn.listener.probe import http_probe
from supervisor_unicorn.listener.watchdog import HealthWatcher


def main(argv: Optional[List[str]] = None) -> int:
    try:
        config = parse_options(argv)
    except OptionsError as e:
        sys.stderr.write(f'{e.usage}{PROG}: error: {e}\n')
        return 2
    if not os.environ.get('SUPERVISOR_SERVER_URL'):
        sys.stderr.write(f'{PROG}: must be run as a supervisor event listener'
                         ' (SUPERVISOR_SERVER_URL is not set)\n')
        return 2
    try:
        rpc = childutils.getRPCInterface(os.environ)
    except ValueError as e:     # a serverurl that is neither http:// nor unix://
        sys.stderr.write(f'{PROG}: {e}\n')
        return 2
    watcher = HealthWatcher(config, stdin=sys.stdin, stdout=sys.stdout,
                            stderr=sys.stderr, rpc=rpc, now=time.monotonic,
                            probe=http_probe)
    try:
        return watcher.run()
    except BrokenPipeError:
        # supervisord went away while we answered. Point stdout at /dev/null
        # so the interpreter's final flush does not print a traceback
        # (the recipe from Python's signal module documentation).
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


if __name__ == '__main__':
    sys.exit(main())

"""The re-exec protocol of each supported server, as data.

See shared/reference/servers.md: unicorn renames PIDFILE to PIDFILE.oldbin and
the new master writes PIDFILE; gunicorn's new master writes PIDFILE.2 and
renames it to PIDFILE once promoted.  The graceful stop signal differs too:
QUIT for unicorn, TERM for gunicorn (where QUIT is the fast stop).
"""
import signal
from dataclasses import dataclass
from typing import Tuple


@dataclass(frozen=True)
class ServerProtocol:
    name: str
    retire_signal: int       # graceful stop of the old master
    new_pid_suffixes: Tuple[str, ...]   # where the new master writes its pid
    unpromoted_suffix: str   # a master whose pid is here cannot re-exec yet ('' = none)
    # the time rule, used only where readiness cannot be read (readiness.py):
    # seconds the new workers must stay up before the old master is retired
    settle: float

    def new_master_pidfiles(self, pidfile: str) -> Tuple[str, ...]:
        return tuple(pidfile + suffix for suffix in self.new_pid_suffixes)


SERVERS = {
    'unicorn': ServerProtocol(
        # the standard before_fork hook retires the old master itself at the
        # first fork, loaded or not (README "Readiness")
        name='unicorn', retire_signal=signal.SIGQUIT,
        new_pid_suffixes=('',), unpromoted_suffix='', settle=0.5),
    'gunicorn': ServerProtocol(
        # gunicorn refuses USR2 ("Parent exists.") until it has promoted itself
        name='gunicorn', retire_signal=signal.SIGTERM,
        new_pid_suffixes=('.2', ''), unpromoted_suffix='.2', settle=0.2),
}

# Names of servers that speak unicorn's protocol (same pidfile handling, QUIT
# retires): unicorn_rails is unicorn's Rails launcher, Rainbows! a unicorn fork.
# A `programs` line may use them; it keeps the name it was given.
for _alias in ('unicorn_rails', 'rainbows'):
    SERVERS[_alias] = SERVERS['unicorn']
del _alias

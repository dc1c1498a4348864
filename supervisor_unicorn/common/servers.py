"""Everything that differs between the supported servers, one object each.

How each server re-execs: unicorn renames PIDFILE to PIDFILE.oldbin and
the new master writes PIDFILE; gunicorn's new master writes PIDFILE.2 and
renames it to PIDFILE once promoted.  The graceful stop signal differs too:
QUIT for unicorn, TERM for gunicorn (where QUIT is the fast stop).  Aliases
(unicorn_rails, Rainbows!) share their server's object; no other module
compares server names.
"""
import enum
import signal
from dataclasses import dataclass
from typing import Dict, Tuple


class ReadinessEvidence(enum.Enum):
    """Where a worker shows that it has loaded the app (readiness.py)."""
    SIGNAL_MASKS = 'signal-masks'     # unicorn: USR1 trapped right before accept
    HEARTBEAT_FILE = 'heartbeat-file'  # gunicorn: its heartbeat's mtime moves


@dataclass(frozen=True)
class Server:
    name: str
    retire_signal: int                  # graceful stop of the old master
    new_pid_suffixes: Tuple[str, ...]   # where the new master writes its pid
    unpromoted_suffix: str   # a master whose pid is here cannot re-exec yet ('' = none)
    pid_setting: str         # the server's own setting that must equal PIDFILE
    readiness: ReadinessEvidence
    daemon_hint: str         # what to remove when the server daemonized itself
    # the time rule, used only where readiness cannot be read (readiness.py):
    # seconds the new workers must stay up before the old master is retired
    settle: float

    def new_master_pidfiles(self, pidfile: str) -> Tuple[str, ...]:
        return tuple(pidfile + suffix for suffix in self.new_pid_suffixes)


UNICORN = Server(
    # the standard before_fork hook retires the old master itself at the
    # first fork, loaded or not (README "Readiness")
    name='unicorn', retire_signal=signal.SIGQUIT,
    new_pid_suffixes=('',), unpromoted_suffix='',
    pid_setting='pid', readiness=ReadinessEvidence.SIGNAL_MASKS,
    daemon_hint='remove -D (--daemonize) from the command', settle=0.5)

GUNICORN = Server(
    # gunicorn refuses USR2 ("Parent exists.") until it has promoted itself
    name='gunicorn', retire_signal=signal.SIGTERM,
    new_pid_suffixes=('.2', ''), unpromoted_suffix='.2',
    pid_setting='pidfile', readiness=ReadinessEvidence.HEARTBEAT_FILE,
    daemon_hint="remove -D (--daemon) from the command and daemon = True from "
                "gunicorn's config", settle=0.2)

# The names a `programs` line may use.  unicorn_rails is unicorn's Rails
# launcher and Rainbows! a unicorn fork: same pidfiles, signals and workers.
# A line keeps the name it was given (getHotRestartInfo's `server`).
SERVERS: Dict[str, Server] = {
    'unicorn': UNICORN,
    'unicorn_rails': UNICORN,
    'rainbows': UNICORN,
    'gunicorn': GUNICORN,
}

"""Parsing of the ``[rpcinterface:unicorn]`` section.

Pure: strings in, ``ProgramSpec`` objects out, and a ``ConfigError`` whose
text quotes the offending line (``parse_config``, supervisord's first start),
or a ``LineProblem`` per bad line (``parse_lenient``, after a reload or a
reread: a bad line then costs only its own program).  Checking the names against supervisord's
process table happens in the factory, which has the table.
"""
import os
from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional, Tuple

from supervisor_unicorn.common.servers import SERVERS

DEFAULT_BOOT_TIMEOUT = 60.0
DEFAULT_OVERLAP = 0.0
DEFAULT_STANDBY = 0.0

# keys of the section that are ours; supervisor strips its own factory key
SECTION_KEYS = ('programs', 'boot_timeout', 'overlap', 'standby')
OPTION_KEYS = ('boot_timeout', 'overlap', 'standby')
# seconds settings that may be 0
ZERO_ALLOWED = ('overlap', 'standby')


class ConfigError(ValueError):
    """A setting of the rpcinterface section cannot be used."""


@dataclass(frozen=True)
class ProgramSpec:
    name: str           # as `supervisorctl status` shows it: 'web' or 'group:proc'
    server: str         # a key of servers.SERVERS
    pidfile: str        # the path the server itself writes
    boot_timeout: float
    source: str = ''    # "programs line 2 ('web unicorn /x.pid')", for error messages
    overlap: float = DEFAULT_OVERLAP   # the old master serves this long after ready
    # then it stays this long on standby (stopped, no workers) for rollback()
    standby: float = DEFAULT_STANDBY

    @property
    def group_name(self) -> str:
        return self.name.split(':', 1)[0]

    @property
    def process_name(self) -> str:
        return self.name.split(':', 1)[-1]


def parse_seconds(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ConfigError('%s must be a number of seconds, not %r' % (what, text))
    if what in ZERO_ALLOWED:
        if not (0 <= value < 86400 * 7):
            raise ConfigError('%s must be 0 or more and less than a week, not %r'
                              % (what, text))
    elif not (0 < value < 86400 * 7):
        raise ConfigError('%s must be more than 0 and less than a week, not %r'
                          % (what, text))
    return value


@dataclass(frozen=True)
class LineProblem:
    """Why a `programs` line (or the whole section) cannot be used."""
    text: str                    # "programs line 2 ('web unicron /x.pid'): unknown SERVER ..."
    name: Optional[str] = None   # the line's first word: the program it was meant for


def parse_config(config: Mapping[str, str]) -> List[ProgramSpec]:
    """Turn the section's key/value strings into program specs, strictly.

    @param config   the keyword arguments supervisor passes to the factory
    @return         one ProgramSpec per `programs` line, in order
    @raise ConfigError  naming the first line (or setting) that cannot be used
    """
    specs, problems = parse_lenient(config)
    if problems:
        raise ConfigError(problems[0].text)
    return specs


def parse_lenient(config: Mapping[str, str]) -> Tuple[List[ProgramSpec], List[LineProblem]]:
    """Like parse_config, but a bad line costs only its own program.

    A setting of the section itself that cannot be used (an unknown key, a
    bad default) affects every line: each line's program gets that problem.
    A NAME given on two lines is used on neither.

    @param config   the section's key/value strings
    @return         (the usable specs in line order, the problems in line order)
    """
    lines = [line.strip() for line in config.get('programs', '').splitlines()]
    lines = [line for line in lines if line and not line.startswith(('#', ';'))]
    try:
        defaults = _section_defaults(config)
    except ConfigError as exc:
        names = [line.split()[0] for line in lines]
        return [], [LineProblem(str(exc), name) for name in names] or [LineProblem(str(exc))]
    if not lines:
        return [], [LineProblem('[rpcinterface:unicorn] has no "programs" lines; add one '
                                'line per program: NAME SERVER PIDFILE '
                                '[boot_timeout=SECONDS] [overlap=SECONDS] '
                                '[standby=SECONDS]')]
    specs: Dict[str, ProgramSpec] = {}
    problems: List[LineProblem] = []
    seen: Dict[str, int] = {}
    for number, line in enumerate(lines, 1):
        source = 'programs line %d (%r)' % (number, line)
        name = line.split()[0]
        try:
            spec = parse_program_line(line, defaults, source)
        except ConfigError as exc:
            problems.append(LineProblem('%s: %s' % (source, exc), name))
            continue
        # 'web' and 'web:web' are one process to supervisor (split_namespec)
        key = spec_key(spec.name)
        if key in seen:
            problems.append(LineProblem('%s: %s is already configured on line %d'
                                        % (source, spec.name, seen[key]), spec.name))
            specs.pop(key, None)
            continue
        seen[key] = number
        specs[key] = spec
    return list(specs.values()), problems


def spec_key(name: str) -> str:
    """One key for the names supervisor takes as one process: 'web' is 'web:web'."""
    group, _, process = name.partition(':')
    return '%s:%s' % (group, process or group)


def _section_defaults(config: Mapping[str, str]) -> Dict[str, float]:
    unknown = sorted(set(config) - set(SECTION_KEYS))
    if unknown:
        raise ConfigError('unknown setting %r in [rpcinterface:unicorn] (known: %s)'
                          % (unknown[0], ', '.join(SECTION_KEYS)))
    defaults = {'boot_timeout': DEFAULT_BOOT_TIMEOUT, 'overlap': DEFAULT_OVERLAP,
                'standby': DEFAULT_STANDBY}
    for key in OPTION_KEYS:
        if key in config:
            defaults[key] = parse_seconds(config[key].strip(), key)
    return defaults


def parse_program_line(line: str, defaults: Mapping[str, float],
                       source: str = '') -> ProgramSpec:
    words = line.split()
    if len(words) < 3:
        raise ConfigError('expected NAME SERVER PIDFILE [OPTION=VALUE ...]')
    name, server, pidfile = words[:3]
    if name.endswith(':*') or name.count(':') > 1 or name.startswith(':') \
            or name.endswith(':'):
        raise ConfigError('NAME must name one process ("web" or "group:web"), not %r'
                          % name)
    if server not in SERVERS:
        raise ConfigError('unknown SERVER %r (expected one of: %s)'
                          % (server, ', '.join(sorted(SERVERS))))
    if not os.path.isabs(pidfile):
        raise ConfigError('PIDFILE must be an absolute path, not %r' % pidfile)
    options = dict(defaults)
    for word in words[3:]:
        key, sep, value = word.partition('=')
        if not sep or not value:
            raise ConfigError('expected OPTION=VALUE, not %r' % word)
        if key not in OPTION_KEYS:
            raise ConfigError('unknown option %r (known: %s)'
                              % (key, ', '.join(OPTION_KEYS)))
        options[key] = parse_seconds(value, key)
    return ProgramSpec(name=name, server=server, pidfile=os.path.normpath(pidfile),
                       boot_timeout=options['boot_timeout'], source=source,
                       overlap=options['overlap'], standby=options['standby'])

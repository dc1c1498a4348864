"""Keeps the core's programs in step with supervisord's configuration.

``reread``/``update`` read our ``[rpcinterface:unicorn]`` section again
without calling any factory (internals.Glue.rpcinterface_sections shows the
new settings), and ``update`` adds and removes process groups.  So the table
looks again whenever asked (every API call, and the core's periodic scan).
A changed line keeps the program's state (master, restarts, a hot restart in
progress); a program with work in flight keeps its old spec until that is
over; an unusable line costs only its own program (BAD_CONFIG with the line).
"""
from dataclasses import dataclass
from typing import Callable, Dict, List, Mapping, Optional, Tuple

from supervisor_unicorn.common.config import LineProblem, ProgramSpec, parse_lenient, spec_key

Settings = Mapping[str, str]


@dataclass
class Section:
    """Where the table reads its lines: the settings the factory got, and
    how to read them again as supervisord last read its file (None: the
    section is not there, or cannot be told apart)."""
    settings: Settings
    reread: Callable[[], Optional[Settings]] = lambda: None


class ProgramsTable:
    def __init__(self, glue, programs: Dict[str, object], busy: Callable[[str], bool],
                 make_program, section: Optional[Section] = None):
        self.glue = glue
        self.programs = programs                # name -> program.Program, the core's
        self.busy = busy                        # work is in flight for that name
        self.make_program = make_program        # program.Program
        self.section = section
        self.problems: Dict[str, LineProblem] = {}   # spec_key -> why its line is unusable
        self._specs: List[ProgramSpec] = []
        self._seen: Optional[Settings] = None   # the dict last looked at
        self._present: Tuple[str, ...] = ()     # names supervisord had then
        self._pending = False                   # a change waits for a busy program
        self._gone_said = False
        self._loaded = False                    # the factory's first read is done
        if section is not None:
            self._parse(section.settings)
            self._apply()
        self._loaded = True

    @property
    def _log(self):
        return self.glue.logger

    def problem(self, name: str) -> Optional[str]:
        """Why `name`'s line cannot be used, or None."""
        found = self.problems.get(spec_key(name)) if isinstance(name, str) else None
        return found.text if found is not None else None

    def sync(self) -> None:
        """Cheap when nothing changed: a lookup, an identity test, and which
        of the lines' programs supervisord has."""
        if self.section is None:
            return
        settings = self.section.reread()
        changed = False
        if settings is None:
            if self._seen is not None and not self._gone_said:
                self._gone_said = True
                self._log.warn('hot_restart: the [rpcinterface] section of supervisor_unicorn '
                               'is gone from the configuration; its programs stay as they '
                               'are until supervisord is reloaded')
        elif settings is not self._seen:
            self._seen, self._gone_said = settings, False
            # reloadConfig makes a new dict on every reread, changed or not
            if dict(settings) != dict(self.section.settings):
                self.section.settings = dict(settings)
                self._parse(settings)
                changed = True
        present = self._present_names()
        if changed or self._pending or present != self._present:
            self._apply(warn=changed or present != self._present)

    # --- internals ------------------------------------------------------------

    def _parse(self, settings: Settings) -> None:
        self._specs, problems = parse_lenient(settings)
        self.problems = {spec_key(p.name): p for p in problems if p.name}
        said = set()
        for p in problems:
            if p.text in said:
                continue          # a setting of the section affects every line: once
            said.add(p.text)
            names = sorted({q.name for q in problems if q.text == p.text and q.name})
            self._log.error('hot_restart: %s; hot restart is off%s until that is fixed '
                            '(then supervisorctl reread and update, or reload)'
                            % (p.text, ' for ' + ', '.join(names) if names else ''))

    def _present_names(self) -> Tuple[str, ...]:
        return tuple(s.name for s in self._specs
                     if self.glue.program_problem(s.name) is None)

    def _apply(self, warn: bool = True) -> None:
        programs = self.programs
        wanted = []
        for spec in self._specs:
            why = self.glue.program_problem(spec.name)
            if why is None:
                wanted.append(spec)
            elif warn:
                self._log.warn('hot_restart: %s: %s; ignored (hotRestart %s gives BAD_NAME)'
                               % (spec.source, why, spec.name))
        self._present = tuple(s.name for s in wanted)
        self._pending = False
        by_key = {spec_key(name): name for name in programs}
        kept = {}
        for spec in wanted:
            old_name = by_key.pop(spec_key(spec.name), None)
            if old_name is None:
                kept[spec.name] = self.make_program(spec)
                if self._loaded:                # at the factory, nothing new
                    self._log.info('hot_restart: %s: hot-restartable (%s)'
                                   % (spec.name, spec.source))
                continue
            program = programs[old_name]
            if self.busy(old_name) and (old_name != spec.name or
                                         not _same_but_source(program.spec, spec)):
                self._pending = True
                kept[old_name] = program
                continue
            self._respec(program, spec)
            kept[spec.name] = program
        for name in by_key.values():            # no longer configured
            if self.busy(name):
                self._pending = True
                kept[name] = programs[name]
            else:
                self._log.info('hot_restart: %s: no longer configured for hot restart; '
                               'forgotten' % name)
        # in place: LeftoverMasters and DaemonWatch hold this same dict
        programs.clear()
        programs.update(kept)

    def _respec(self, program, spec: ProgramSpec) -> None:
        old = program.spec
        program.respec(spec)
        if _same_but_source(old, spec):
            return
        self._log.info('hot_restart: %s: now %s' % (spec.name, spec.source))


def _same_but_source(a: ProgramSpec, b: ProgramSpec) -> bool:
    # a line moved (its number changed) is the same program
    return (a.name, a.server, a.pidfile, a.boot_timeout, a.overlap) == \
        (b.name, b.server, b.pidfile, b.boot_timeout, b.overlap)

"""Masters left running by a supervisord that died (SIGKILL, OOM killer).

An adopted master outlives a supervisord killed without a chance to stop it.
The next supervisord would spawn the program again, and the server would
refuse ("Already running on PID ...") until the program went FATAL, with the
old master serving unsupervised for good.

At start, before the first spawn, the ledger that the previous supervisord
wrote (ledger.py; trust rule 5) names each program's masters by pid and start
time: the tracked one and, when a hot restart was cut short, both
generations.  Each that is still alive as recorded, as the recorded user, and
whose supervisord is gone gets the server's graceful stop signal, and the
program's spawn waits until all are gone (SIGKILL after stopwaitsecs).  There
is a short gap in service between the two generations: the old master cannot
be adopted, since it is not our descendant and its output pipes are gone.
"""
import signal
from dataclasses import dataclass
from typing import Dict, List, Optional

from supervisor_unicorn.supervisord import trust
from supervisor_unicorn.supervisord.ledger import Record
from supervisor_unicorn.supervisord.procs import ProcId


@dataclass
class Leftover:
    name: str
    ident: ProcId
    deadline: float
    killed: bool = False


class LeftoverMasters:
    def __init__(self, glue, programs, procs, now, ledger):
        self.glue = glue
        self.programs = programs          # name -> program.Program, shared with the core
        self.procs = procs
        self.now = now
        self.ledger = ledger
        self.pending: Dict[str, List[Leftover]] = {}
        self._me: Optional[ProcId] = None     # supervisord, as the ledger names it
        self._ledger_problem = ''

    def check(self) -> None:
        """Look for leftovers of every program; hold the spawn of those found."""
        entries, why = self.ledger.read()
        if entries is None:
            if why != 'missing':
                self.glue.logger.warn('hot_restart: state file %s is %s; masters left '
                                      'by a previous supervisord are not looked for'
                                      % (self.ledger.path, why))
            return
        if entries.supervisord is not None and self.procs.is_alive(entries.supervisord):
            self.glue.logger.warn('hot_restart: state file %s belongs to supervisord pid '
                                  '%d, which still runs; its programs are left alone'
                                  % (self.ledger.path, entries.supervisord.pid))
            return
        for name, records in entries.programs.items():
            program = self.programs.get(name)
            alive = [r for r in records if self.procs.is_alive(r.ident)]
            if program is None:
                if alive:
                    self.glue.logger.warn(
                        'hot_restart: %s is no longer configured for hot restart; '
                        'leaving its master pid(s) %s from a previous supervisord '
                        'alone' % (name, ', '.join(str(r.ident.pid) for r in alive)))
                continue
            if name in self.pending:
                continue
            found = []
            for record in alive:
                problem = trust.leftover_problem(record.uid,
                                                 self.procs.real_uid(record.ident.pid))
                if problem:
                    self.glue.logger.info('hot_restart: %s: recorded pid %d %s; left alone'
                                          % (name, record.ident.pid, problem))
                    continue
                found.append(self._retire(name, program, record.ident))
            found += self._children_of(name, program, found)
            if found:
                self.pending[name] = found
                self.glue.hold_spawn(name, 'waiting for master pid(s) %s, left by a '
                                     'previous supervisord, to exit'
                                     % ', '.join(str(left.ident.pid) for left in found))

    def record(self) -> None:
        """Keep the ledger in step with the masters that run (trust rule 5):
        after a SIGKILL, the next supervisord retires what it names.  What is
        still being retired stays in it until gone."""
        masters: Dict[str, List[Record]] = {}
        for name, program in self.programs.items():
            if not self.glue.has_process(name):
                continue                    # removed by `update`
            pid = self.glue.tracked_pid(name)
            if pid > 0:
                program.know_master(pid, self.procs.identify)
            idents = [program.master] if pid > 0 else []
            if program.handover is not None:
                idents += [program.old, program.new] + list(program.reexec.values())
            idents += [left.ident for left in self.pending.get(name, [])]
            uid = self.glue.program_uid(name)
            unique = {i for i in idents if i is not None}
            masters[name] = [Record(i, uid) for i in sorted(unique, key=lambda i: i.pid)]
        try:
            if self._me is None:
                self._me = self.procs.identify(self.glue.my_pid())
            self.ledger.write(self._me, masters)
            self._ledger_problem = ''
        except OSError as exc:
            problem = str(exc)
            if problem != self._ledger_problem:
                self._ledger_problem = problem
                self.glue.logger.warn('hot_restart: cannot write state file %s (%s); a '
                                      'supervisord killed now would leave masters that '
                                      'the next one cannot retire'
                                      % (self.ledger.path, problem))

    def _children_of(self, name, program, found: List[Leftover]) -> List[Leftover]:
        """A re-exec child still booting is in no pidfile yet, and outlives
        its parent's retirement: retire the verified children of every
        leftover too (workers take the same signal as a graceful stop)."""
        known = {left.ident.pid for left in found}
        out = []
        for left in found:
            uid = self.procs.real_uid(left.ident.pid)
            for child in self.procs.live_children(left.ident.pid):
                if child.pid not in known and \
                        trust.is_leftovers_child(self.procs.real_uid(child.pid), uid):
                    known.add(child.pid)
                    self.glue.signal(child, program.protocol.retire_signal)
                    out.append(Leftover(name, child, left.deadline))
        if out:
            self.glue.logger.info('hot_restart: %s: retiring their children too (%s)'
                                  % (name, ', '.join(str(c.ident.pid) for c in out)))
        return out

    def _retire(self, name, program, ident: ProcId) -> Leftover:
        _, _, stopwaitsecs = self.glue.stop_settings(name)
        sig = program.protocol.retire_signal
        self.glue.logger.warn(
            'hot_restart: %s: master pid %d was left running by a previous '
            'supervisord; retiring it with %s before starting %s'
            % (name, ident.pid, signal.Signals(sig).name, name))
        self.glue.signal(ident, sig)
        # an old master left on standby (standby.py) is stopped: continued
        # after the stop signal, it acts on that first; a running one ignores it
        self.glue.signal(ident, signal.SIGCONT)
        return Leftover(name, ident, self.now() + stopwaitsecs)

    def poll(self) -> None:
        for name, lefts in list(self.pending.items()):
            for left in lefts:
                self._poll_one(left)
            if not any(self.procs.is_alive(left.ident) for left in lefts):
                del self.pending[name]
                self.glue.release_spawn(name)
                self.glue.logger.info('hot_restart: %s: leftover master pid(s) %s gone; '
                                      'starting %s' % (
                                          name, ', '.join(str(left.ident.pid)
                                                          for left in lefts), name))

    def _poll_one(self, left: Leftover) -> None:
        if self.procs.is_alive(left.ident):
            if self.now() > left.deadline and not left.killed:
                left.killed = True
                self.glue.logger.warn('hot_restart: %s: leftover master pid %d still '
                                      'running; sending KILL' % (left.name, left.ident.pid))
                # the same checked identities as everywhere: a pid may be reused
                for proc in self.procs.descendants_of(left.ident) + [left.ident]:
                    if self.procs.is_alive(proc):
                        self.glue.signal(proc, signal.SIGKILL)

"""What a signal of supervisord's reaches, and what a dead master leaves.

supervisord signals the master it tracks, or with stopasgroup/killasgroup
its process group.  A re-exec'd master keeps the group supervisord spawned the
program into, an adopted one is not supervisord's spawn, and a master may move
itself into any group of the session: so the group is checked (trust rule 1)
and, where it no longer reaches the program, the known processes are
signalled one by one.  Workers a master left behind are the children recorded
while it lived, never "whatever is in its group".
"""
import os
import signal
from typing import Dict, List

from supervisor_unicorn.supervisord import trust
from supervisor_unicorn.supervisord.procs import ProcId


class Stops:
    def __init__(self, glue, procs, programs: Dict[str, object], log):
        self.glue = glue
        self.procs = procs
        self.programs = programs          # name -> program.Program, shared with the core
        self.log = log

    def group_target(self, program, master: int, sig: int) -> int:
        """-group for a group signal to the tracked master: the group
        supervisord spawned the program into, which every re-exec'd master
        keeps, while a verified process of the program is still in it (the
        kernel reuses no number while its group exists).  Otherwise the
        master alone, and its recorded workers one by one."""
        name = program.spec.name
        program.know_master(master, self.procs.identify)   # a fresh spawn leads its group
        pgid = program.pgid
        others = self.glue.other_pids(name) | {
            p.pgid for p in self.programs.values() if p is not program and p.pgid}
        problem = trust.group_problem(pgid, os.getpgrp(), others)
        if problem:
            self.log.warn(name, 'not signalling process group %d: %s; signalling master '
                          'pid %d only' % (pgid, problem, master))
            return master
        members = [m for m in self._live_members(program)
                   if self.procs.process_group(m.pid) == pgid]
        if not members:
            workers = [w for w in program.family.values() if w.pid != master]
            self.log.warn(name, 'process group %d holds no process of %s any more (its '
                          'master left it); signalling master pid %d and its %d worker(s) '
                          'one by one' % (pgid, name, master, len(workers)))
            for worker in workers:
                self.glue.signal(worker, sig)
            return master
        if all(m.pid != master for m in members):
            # the master left the group it was spawned into: that group no longer reaches it
            err = self.glue.signal(program.master, sig) if program.master else 'unknown'
            self.log.warn(name, 'master pid %d left process group %d; signalled it '
                          'directly%s' % (master, pgid, ' (%s)' % err if err else ''))
        return -pgid

    def _live_members(self, program) -> List[ProcId]:
        return [p for p in program.members() if self.procs.is_alive(p)]

    def also_new_generation(self, program, sig: int) -> None:
        """A stop during a hot restart reaches the new generation too."""
        for new in program.new_generation():
            if self.glue.signal(new, sig) is None:
                self.log.info(program.spec.name, 'stop during hot restart: also '
                              'signalled new master pid %d' % new.pid)

    def stop_adopted(self, program) -> None:
        # supervisord signalled the old master; the adopted one must stop too
        name = program.spec.name
        stopsignal, asgroup, _ = self.glue.stop_settings(name)
        if not asgroup and program.master is not None:
            self.glue.signal(program.master, stopsignal)
            self.log.info(name, 'stopping adopted master pid %d' % program.master.pid)

    def retire_orphans(self, program, pid: int, keep: int) -> None:
        """Workers of a master that died without stopping them are now our
        children (the subreaper) and keep the listening socket: a restarted
        master could not bind it until they notice.  Ask them to finish, or,
        while supervisord stops the program, kill them: the stop ends now."""
        me = self.glue.my_pid()
        orphans = [c for c in sorted(program.family.values(), key=lambda c: c.pid)
                   if c.pid not in (keep, pid) and self.procs.is_alive(c)
                   and self.procs.parent_of(c.pid) == me and not self.glue.tracks(c.pid)]
        program.forget_family()
        if not orphans:
            return
        name = program.spec.name
        if self.glue.is_stopping(name):
            sig, how = signal.SIGKILL, 'stopping %s: killing them' % name
        else:
            sig = program.protocol.retire_signal
            how = 'asking them to finish with %s' % signal.Signals(sig).name
        self.log.info(name, 'master pid %d left %d worker(s) behind (%s); %s'
                      % (pid, len(orphans), ', '.join(str(c.pid) for c in orphans), how))
        for orphan in orphans:
            self.glue.signal(orphan, sig)

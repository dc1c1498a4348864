"""A USR2 that supervisord did not send (a deploy script, `kill -USR2`).

Between hot restarts the master's children and its new-master pidfiles are
looked at; a verified re-exec child (successors.py) is taken over as a
handover of its own, so that the old master is retired and the new one
adopted as after a hotRestart.  A master that re-exec'd and was retired
before a scan saw it (unicorn's before_fork hook) is noticed at its exit.
"""
from typing import Optional

from supervisor_unicorn.supervisord.handover import Handover
from supervisor_unicorn.supervisord.loading import worker_count
from supervisor_unicorn.supervisord.procs import ProcId


class OutsideUsr2:
    def __init__(self, glue, procs, readiness, successors, now, log):
        self.glue = glue
        self.procs = procs
        self.readiness = readiness
        self.successors = successors
        self.now = now
        self.log = log

    def scan(self, program) -> None:
        """Record the master's children; notice a USR2 we did not send: a
        verified child of the master (with workers) that a new-master pidfile
        names.  Each pidfile is read only when it changed, or while the child
        it names is still booting."""
        name = program.spec.name
        pid = self.glue.tracked_pid(name)
        if not pid or not self.glue.is_running(name):
            return
        program.know_master(pid, self.procs.identify)
        if program.master is None:
            return
        program.watch_outside()
        self.successors.record_family(program, pid)
        for path in program.protocol.new_master_pidfiles(program.spec.pidfile):
            signature = self.procs.file_signature(path)
            if not program.pidfile_changed(path, signature) or signature is None:
                continue
            new_pid, why = self.procs.read_pidfile(path)
            if new_pid is None:
                self.log.info(name, 'pidfile %s is %s; ignored' % (path, why))
                continue
            if new_pid == pid:
                continue
            new, problem = self.successors.verify(program, new_pid)
            if new is None:
                if new_pid in program.family:
                    program.look_again(path)   # its workers may come: look again
                self.successors.report(program, path, new_pid, problem)
                continue
            self._take_over(program, pid, new)
            return
        new = self.successors.unnamed_reexec(program, pid)
        if new is not None:
            self._take_over(program, pid, new)

    def _begin(self, program, old: ProcId, new: ProcId) -> int:
        """Start following `new`; return how many workers the old master has."""
        children = [c for c in self.procs.live_children(old.pid) if c.pid != new.pid]
        self.readiness.forget(program.begin(old, {c.pid for c in children}))
        program.found_new(new)
        return worker_count(self.procs, old.pid, children)

    def _take_over(self, program, pid: int, new: ProcId) -> None:
        name = program.spec.name
        workers = self._begin(program, program.master, new)
        _, _, stopwaitsecs = self.glue.stop_settings(name)
        program.take_over(Handover.noticed(
            name, pid, new.pid, self.now(), program.spec.boot_timeout,
            stopwaitsecs, expected_workers=workers,
            settle=program.protocol.settle, overlap=program.spec.overlap,
            standby=program.spec.standby))
        self.log.info(name, 'master pid %d re-executed itself as pid %d (USR2 from '
                      'outside supervisord); taking over the handover' % (pid, new.pid))

    def notice_after_exit(self, program, pid: int) -> Optional[Handover]:
        """A master exited with no handover pending: was it a foreign USR2
        whose old master was retired (unicorn's before_fork hook)?"""
        if program.master is None or program.master.pid != pid \
                or self.glue.is_stopping(program.spec.name):
            return None
        master = program.master
        self.readiness.forget(program.begin(
            master, {c.pid for c in self.procs.live_children(master.pid)}))
        new = self.successors.find(program, at_exit=True)
        if new is None:
            return None
        program.found_new(new)
        _, _, stopwaitsecs = self.glue.stop_settings(program.spec.name)
        self.log.info(program.spec.name, 'master pid %d re-executed itself as pid %d '
                      '(USR2 from outside supervisord)' % (pid, new.pid))
        return Handover.noticed(program.spec.name, pid, new.pid, self.now(),
                                program.spec.boot_timeout, stopwaitsecs)

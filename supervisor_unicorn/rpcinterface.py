"""The ``unicorn`` XML-RPC namespace, loaded into supervisord.

    [rpcinterface:unicorn]
    supervisor.rpcinterface_factory = supervisor_unicorn.rpcinterface:make_unicorn_rpcinterface
    programs =
        web  unicorn   /srv/web/tmp/pids/unicorn.pid
        api  gunicorn  /srv/api/run/gunicorn.pid  boot_timeout=120
"""
import sys
from typing import Optional

from supervisor.http import NOT_DONE_YET
from supervisor.xmlrpc import RPCError

from supervisor_unicorn.common.config import ConfigError, parse_config
from supervisor_unicorn.common.faults import Faults, HotRestartError
from supervisor_unicorn.supervisord import procs
from supervisor_unicorn.supervisord.core import Core
from supervisor_unicorn.supervisord.failures import failure_text
from supervisor_unicorn.supervisord.handover import Handover, Phase
from supervisor_unicorn.supervisord.internals import Glue, InternalsError
from supervisor_unicorn.supervisord.program import Program
from supervisor_unicorn.supervisord.programs_table import Section

API_VERSION = '1.0'

# how often supervisord may re-check a waiting client.  >0, or its loop spins
# (http.py:341); the check runs on loop passes, which the timer paces anyway
DEFERRED_DELAY = 0.02

__all__ = ['API_VERSION', 'Faults', 'HotRestartError', 'UnicornNamespaceRPCInterface',
           'make_unicorn_rpcinterface']


class UnicornNamespaceRPCInterface:
    def __init__(self, core: Core):
        self._core = core
        self._glue = core.glue
        self._now = core.now

    def _update(self, text):
        self.update_text = text
        if not self._glue.mood_running():
            raise RPCError(Faults.SHUTDOWN_STATE)

    def getAPIVersion(self):
        """ Return the version of the unicorn RPC API

        @return string version
        """
        self._update('getAPIVersion')
        return API_VERSION

    def hotRestart(self, name, wait=True):
        """ Hot restart a program's master: USR2, wait for the new master and
        its workers, retire the old master gracefully, and track the new one

        @param string name      Process name as status shows it ('web' or 'group:web')
        @param boolean wait     Wait until the hot restart is done or has failed
        @return struct result   name, old_pid, new_pid, seconds, status ('done' or 'started')
        """
        self._update('hotRestart')
        core = self._core
        h = core.start(name)
        if not wait and not h.finished:
            return {'name': name, 'old_pid': h.old_pid, 'new_pid': h.new_pid or 0,
                    'seconds': 0.0, 'status': 'started'}

        def onwait():
            if not h.answered:
                core.poll_one(name)
            if not h.answered:
                return NOT_DONE_YET
            return self._result(h)
        onwait.delay = DEFERRED_DELAY
        return onwait

    def rollback(self, name, wait=True):
        """ Go back to the old generation kept on standby (standby=SECONDS):
        continue the old master, wait until its workers are ready again, then
        retire the new master gracefully.  The program keeps the old pid.

        @param string name      Process name as status shows it ('web' or 'group:web')
        @param boolean wait     Wait until the rollback is done or has failed
        @return struct result   name, from_pid, to_pid, seconds, status ('done' or
                                'started'), cause ('' when asked for)
        """
        self._update('rollback')
        core = self._core
        h = core.rollback(name)
        if not wait and not h.finished:
            return _rollback_started(h)

        def onwait():
            if not h.finished:
                core.poll_one(name)
            if not h.finished:
                return NOT_DONE_YET
            return self._rollback_result(h)
        onwait.delay = DEFERRED_DELAY
        return onwait

    def getHotRestartInfo(self, name):
        """ Hot restart state of one configured program

        @param string name  Process name ('web' or 'group:web')
        @return struct info name, server, pidfile, pid, phase, last_result, last_seconds,
                            restarts, overlap, workers and workers_ready (the new
                            generation's workers, and how many loaded the app),
                            standby, standby_left, rolled_back_from, rollback_cause
        """
        self._update('getHotRestartInfo')
        return self._info(name)

    def getAllHotRestartInfo(self):
        """ Hot restart state of every configured program

        @return array infos  One getHotRestartInfo struct per configured program
        """
        self._update('getAllHotRestartInfo')
        return [self._info(name) for name in self._core.configured()]

    # --- the answers' shapes and words ------------------------------------------

    def _failure(self, h: Handover):
        """(code, text) of a failed handover (failures.py)."""
        program = self._core.programs.get(h.name)
        return failure_text(h, program.waiting_why if program else '')

    def _result(self, h: Handover) -> dict:
        """The hotRestart struct of an answered handover, or raise its Fault.
        Once the old generation went on standby, the hot restart is done,
        whatever the standby leads to."""
        if h.phase != Phase.DONE and h.standby_at is None:
            code, text = self._failure(h)
            raise HotRestartError(code, text)
        return {'name': h.name, 'old_pid': h.old_pid, 'new_pid': h.new_pid or 0,
                'seconds': round(h.hot_restart_seconds(self._now()), 3), 'status': 'done'}

    def _rollback_result(self, h: Handover) -> dict:
        """The rollback struct of a finished rollback, or raise its Fault."""
        if h.phase == Phase.ROLLED_BACK:
            return {'name': h.name, 'from_pid': h.new_pid or 0, 'to_pid': h.old_pid,
                    'seconds': round(h.rollback_seconds(self._now()), 3),
                    'status': 'done', 'cause': h.rollback_cause}
        if h.phase == Phase.DONE:
            raise HotRestartError(Faults.FAILED, 'old master pid %d exited during the '
                                  'rollback; pid %s still serving' % (h.old_pid, h.new_pid))
        code, text = self._failure(h)
        raise HotRestartError(code, 'rollback failed: ' + text)

    def _info(self, name: str) -> dict:
        """One getHotRestartInfo struct: the fields are common/info_fields.py's."""
        program = self._core.program(name)
        h = program.handover
        last = program.last
        if last is None:
            last_result = ''
        elif last.phase == Phase.DONE:
            last_result = 'done'
        elif last.phase == Phase.ROLLED_BACK:
            last_result = 'rolled_back'
        else:
            last_result = 'failed: ' + failure_text(last, program.waiting_why)[1]
        return {
            'name': name,
            'server': program.spec.server,
            'pidfile': program.spec.pidfile,
            'boot_timeout': program.spec.boot_timeout,
            'pid': self._glue.tracked_pid(name),
            'state': self._glue.state_name(name),
            'phase': h.phase.value if h is not None else 'idle',
            'old_pid': h.old_pid if h is not None else 0,
            'new_pid': (h.new_pid or 0) if h is not None else 0,
            'last_result': last_result,
            'last_seconds': round(last.seconds(self._now()), 3) if last else 0.0,
            'restarts': program.restarts,
            'overlap': program.spec.overlap,
            # the new generation, while one boots: ready out of how many
            'workers': h.workers if h is not None else 0,
            'workers_ready': h.workers_ready if h is not None else 0,
            # the last failure as data (the texts are for people): a code, and
            # whether the old master is known to serve on
            'failure': program.failure[0],
            'still_serving': program.failure[1],
            **self._standby_info(program, h),
        }

    def _standby_info(self, program: Program, h: Optional[Handover]) -> dict:
        last = program.last
        left = 0.0
        if h is not None and h.phase == Phase.STANDBY:
            left = max(0.0, h.standby - (self._now() - h.standby_at))
        rolled = last is not None and last.phase == Phase.ROLLED_BACK
        return {
            'standby': program.spec.standby,
            'standby_left': round(left, 1),
            'rolled_back_from': (last.new_pid or 0) if rolled else 0,
            'rollback_cause': last.rollback_cause if rolled else '',
        }


def _rollback_started(h: Handover) -> dict:
    return {'name': h.name, 'from_pid': h.new_pid or 0, 'to_pid': h.old_pid,
            'seconds': 0.0, 'status': 'started', 'cause': h.rollback_cause}


def make_unicorn_rpcinterface(supervisord, **config):
    """Factory named by supervisor.rpcinterface_factory.

    supervisord calls it once per HTTP server and again after each reload,
    with a new Supervisor object each reload: one core per Supervisor.  Its
    programs then follow `reread`/`update` (programs_table.py).
    """
    core = getattr(supervisord, '_supervisor_unicorn_core', None)
    if core is None:
        core = install_core(supervisord, config)
    return UnicornNamespaceRPCInterface(core)


def install_core(supervisord, config, clock=None, proc=procs, readiness=None) -> Core:
    """Make the one core of this Supervisor and hook it into supervisord.
    Unit tests pass a fake /proc (proc), clock and readiness reader."""
    try:
        glue = Glue(supervisord)
        if glue.first_start():
            parse_config(config)     # a bad line stops supervisord, naming it
    except (ConfigError, InternalsError) as exc:
        _fatal(exc)
    # a reload (or a later reread) must never take supervisord and every
    # program down: a bad line then costs only its own program
    core = Core(glue, [], clock=clock, proc=proc, readiness=readiness,
                section=Section(dict(config), _reader(glue, config)))
    glue.install(core)
    supervisord._supervisor_unicorn_core = core
    return core


def _reader(glue: Glue, config):
    """How to read our section again after a reread: by its [rpcinterface:NAME],
    the one of our sections whose settings we were given now."""
    names = [name for name, settings in glue.rpcinterface_sections(make_unicorn_rpcinterface)
             if settings == config]
    if not names:
        return lambda: None

    def reread():
        for name, settings in glue.rpcinterface_sections(make_unicorn_rpcinterface):
            if name == names[0]:
                return settings
        return None
    return reread


def _fatal(exc: Exception):
    # supervisord logs the traceback but prints only "Could not make unicorn
    # rpc interface": say which line is wrong where users look
    sys.stderr.write('Error: supervisor_unicorn: %s\n' % exc)
    sys.stderr.flush()
    raise exc

"""The ``unicorn`` XML-RPC namespace, loaded into supervisord.

    [rpcinterface:unicorn]
    supervisor.rpcinterface_factory = supervisor_unicorn.rpcinterface:make_unicorn_rpcinterface
    programs =
        web  unicorn   /srv/web/tmp/pids/unicorn.pid
        api  gunicorn  /srv/api/run/gunicorn.pid  boot_timeout=120
"""
import sys

from supervisor.http import NOT_DONE_YET
from supervisor.xmlrpc import RPCError

from supervisor_unicorn.common.config import ConfigError, parse_config
from supervisor_unicorn.common.faults import Faults, HotRestartError
from supervisor_unicorn.supervisord.core import Core
from supervisor_unicorn.supervisord.internals import Glue, InternalsError
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

    def _update(self, text):
        self.update_text = text
        if not self._core.glue.mood_running():
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
            return core.result(h)
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
        h = core.standby.rollback(name)
        if not wait and not h.finished:
            return core.standby.started(h)

        def onwait():
            if not h.finished:
                core.poll_one(name)
            if not h.finished:
                return NOT_DONE_YET
            return core.standby.result(h)
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
        return self._core.info(name)

    def getAllHotRestartInfo(self):
        """ Hot restart state of every configured program

        @return array infos  One getHotRestartInfo struct per configured program
        """
        self._update('getAllHotRestartInfo')
        return [self._core.info(name) for name in self._core.configured()]


def make_unicorn_rpcinterface(supervisord, **config):
    """Factory named by supervisor.rpcinterface_factory.

    supervisord calls it once per HTTP server and again after each reload,
    with a new Supervisor object each reload: one core per Supervisor.  Its
    programs then follow `reread`/`update` (programs_table.py).
    """
    core = getattr(supervisord, '_supervisor_unicorn_core', None)
    if core is None:
        try:
            glue = Glue(supervisord)
            if glue.first_start():
                parse_config(config)     # a bad line stops supervisord, naming it
        except (ConfigError, InternalsError) as exc:
            _fatal(exc)
        # a reload (or a later reread) must never take supervisord and every
        # program down: a bad line then costs only its own program
        core = Core(glue, [], section=Section(dict(config), _reader(glue, config)))
        glue.install(core)
        supervisord._supervisor_unicorn_core = core
    return UnicornNamespaceRPCInterface(core)


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

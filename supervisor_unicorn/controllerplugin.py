"""supervisorctl commands ``hot_restart``, ``hot_status`` and ``rollback``.

    [ctlplugin:unicorn]
    supervisor.ctl_factory = supervisor_unicorn.controllerplugin:make_unicorn_controllerplugin

supervisorctl reads this section from the file given with -c; it does not
follow [include].
"""
import shlex
import xmlrpc.client
from typing import List, Optional

from supervisor.supervisorctl import ControllerPluginBase, LSBInitExitStatuses

from supervisor_unicorn.client import (NAMESPACE, expand_names, fault_reason,
                                       format_result, needs_configured)

# fault_reason, format_result and expand_names are shared with the rollout tool
# and the Ansible module (client.py); importable from here as before
__all__ = ['UnicornControllerPlugin', 'make_unicorn_controllerplugin', 'fault_reason',
           'format_result', 'format_info', 'expand_names']


def format_rollback(result: dict) -> str:
    line = '%s: rolled back (pid %d -> %d in %.1fs)' % (
        result['name'], result['from_pid'], result['to_pid'], result['seconds'])
    if result.get('cause'):
        line += ' (%s)' % result['cause']
    return line


def format_info(info: dict) -> str:
    phase = info['phase']
    if phase == 'loading' and info.get('workers'):
        phase += ' %d/%d' % (info.get('workers_ready', 0), info['workers'])
    elif phase == 'standby':
        phase += ' %ds' % info.get('standby_left', 0)
    line = '%-24s %-8s pid %-7s %-9s restarts %d' % (
        info['name'], info['server'], info['pid'] or '-', phase, info['restarts'])
    if info.get('last_result'):
        line += ', last %s (%.1fs)' % (info['last_result'], info['last_seconds'])
    return line


class UnicornControllerPlugin(ControllerPluginBase):
    name = NAMESPACE

    def topics(self):
        return tuple(attr[5:] for attr in dir(self) if attr.startswith('help_'))

    def do_help(self, arg):
        # asked about every topic: answer only about ours
        topic = arg.strip()
        if topic and topic not in self.topics():
            return None
        return super().do_help(arg)

    def _proxy(self):
        # a fresh proxy each time: credentials may have been typed at a 401 prompt
        return self.ctl.get_server_proxy(NAMESPACE)

    def _error(self, text: str, status=LSBInitExitStatuses.GENERIC) -> None:
        self.ctl.output('Error: %s' % text)
        self.ctl.exitstatus = status

    def _configured(self, api) -> Optional[List[str]]:
        try:
            return [info['name'] for info in api.getAllHotRestartInfo()]
        except xmlrpc.client.Fault as e:
            self._error(fault_reason(e))
        except (OSError, xmlrpc.client.ProtocolError) as e:
            self._error('cannot reach supervisord: %s' % e)
        return None

    def _names(self, api, arg: str, command: str) -> Optional[List[str]]:
        names = shlex.split(arg)
        if not names and command in ('hot_restart', 'rollback'):
            self._error('%s requires a process name' % command,
                        LSBInitExitStatuses.INVALID_ARGS)
            getattr(self, 'help_' + command)()
            return None
        if not names or needs_configured(names):
            configured = self._configured(api)
            if configured is None:
                return None
            try:
                return expand_names(names or ['all'], configured)
            except ValueError as e:
                self._error(str(e), LSBInitExitStatuses.INVALID_ARGS)
                return None
        return expand_names(names, [])

    def do_hot_restart(self, arg):
        self._each(arg, 'hot_restart', lambda api, name: format_result(
            api.hotRestart(name, True)))

    def do_rollback(self, arg):
        self._each(arg, 'rollback', lambda api, name: format_rollback(
            api.rollback(name, True)))

    def _each(self, arg, command, call):
        """Run `call` for each name; one line each; exit status 0 only when
        every one succeeded."""
        if not self.ctl.upcheck():
            return
        api = self._proxy()
        names = self._names(api, arg, command)
        if names is None:
            return
        if not names:
            self._error('no program is configured for hot restart')
            return
        for name in names:
            try:
                line = call(api, name)
            except xmlrpc.client.Fault as e:
                self.ctl.output('%s: ERROR (%s)' % (name, fault_reason(e)))
                self.ctl.set_exitstatus_from_xmlrpc_fault(e.faultCode)
                if self.ctl.exitstatus == LSBInitExitStatuses.SUCCESS:
                    self.ctl.exitstatus = LSBInitExitStatuses.GENERIC
            except (OSError, xmlrpc.client.ProtocolError) as e:
                self.ctl.output('%s: ERROR (lost contact with supervisord: %s)' % (name, e))
                self.ctl.exitstatus = LSBInitExitStatuses.GENERIC
            else:
                self.ctl.output(line)

    def help_hot_restart(self):
        self.ctl.output('hot_restart <name>\t\tHot restart a unicorn/gunicorn master: '
                        'USR2, new master and workers up,')
        self.ctl.output('\t\t\t\told master retired, no request dropped.')
        self.ctl.output('hot_restart <name> <name>\tHot restart several, one after '
                        'the other.')
        self.ctl.output('hot_restart <gname>:*\t\tHot restart every configured '
                        'program of a group.')
        self.ctl.output('hot_restart all\t\t\tHot restart every configured program.')
        self.ctl.output('\t\t\t\tExit status 0 only when every one succeeded.')

    def help_rollback(self):
        self.ctl.output('rollback <name>\t\tGo back to the generation kept on standby '
                        'after a hot restart')
        self.ctl.output('\t\t\t\t(standby=SECONDS): its workers come back, the new '
                        'master is retired.')
        self.ctl.output('\t\t\t\tExit status 0 only when every one was rolled back.')

    def do_hot_status(self, arg):
        if not self.ctl.upcheck():
            return
        api = self._proxy()
        names = self._names(api, arg, 'hot_status')
        if names is None:
            return
        for name in names:
            try:
                self.ctl.output(format_info(api.getHotRestartInfo(name)))
            except xmlrpc.client.Fault as e:
                self.ctl.output('%s: ERROR (%s)' % (name, fault_reason(e)))
                self.ctl.set_exitstatus_from_xmlrpc_fault(e.faultCode)

    def help_hot_status(self):
        self.ctl.output('hot_status\t\t\tHot restart state of every configured program.')
        self.ctl.output('hot_status <name> <name>\tHot restart state of some: tracked '
                        'pid, phase, count, last result.')


def make_unicorn_controllerplugin(controller, **config):
    plugin = UnicornControllerPlugin(controller)
    # supervisorctl asks every plugin for help on a topic, and each one
    # without it prints "*** No help on ...": quiet the plugins loaded before
    # us (the default one) about our topics
    for other in getattr(getattr(controller, 'options', None), 'plugins', None) or []:
        _quiet_help(other, plugin.topics())
    return plugin


def _quiet_help(other, topics):
    original = other.do_help

    def do_help(arg):
        if arg.strip() in topics:
            return None
        return original(arg)
    other.do_help = do_help

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) supervisor_unicorn contributors
# BSD-3-Clause (see LICENSE in the supervisor_unicorn repository)

from __future__ import annotations

DOCUMENTATION = r'''
module: hot_restart
short_description: Hot restart unicorn or gunicorn programs under supervisord (USR2, no dropped request)
version_added: 0.1.0
description:
  - Asks the local supervisord, over its XML-RPC interface, to hot restart one
    program, every configured program of a group, or every configured program.
    The master re-executes itself with C(USR2), the new master and its workers
    load the new code, the old master is retired, and supervisord adopts the new
    master. No request is dropped.
  - Needs supervisord with the C([rpcinterface:unicorn]) section of supervisor_unicorn
    and a C(programs) line for each program.
  - All programs are checked first (configured, running, no hot restart in
    progress); if one fails the check, none is touched. Then they are hot restarted
    one after the other, stopping at the first failure.
  - A failed hot restart (say the new code does not boot) fails the task with
    supervisord's text, which says what still serves (the old master), and its
    Fault code. In a play with C(serial) and C(max_fail_percentage=0), that stops
    the rollout at the failed host.
  - The module needs only the Python standard library on the target, not
    supervisor or supervisor_unicorn, so any C(ansible_python_interpreter) does.
options:
  name:
    description:
      - The program as C(supervisorctl status) shows it (V(web), or V(group:web)),
        V(group:*) for every configured program of a group, or V(all) for every
        program configured for hot restart.
    type: str
    required: true
  server_url:
    description:
      - Where supervisord serves XML-RPC, V(unix:///var/run/supervisor.sock) or
        V(http://127.0.0.1:9001) (optionally with the path of the handler, V(/RPC2)).
      - Credentials go in O(username) and O(password), not in the URL.
      - When neither O(server_url) nor O(config) is given, the URL and credentials
        come from the C([supervisorctl]) section of C(/etc/supervisord.conf) or
        C(/etc/supervisor/supervisord.conf), whichever exists first, as
        supervisorctl finds them.
    type: str
  config:
    description:
      - A supervisord configuration file whose C([supervisorctl]) section gives
        C(serverurl), C(username) and C(password), as C(supervisorctl -c) reads it.
    type: path
  username:
    description:
      - User for supervisord's HTTP basic auth. Overrides the one from the config file.
    type: str
  password:
    description:
      - Password for supervisord's HTTP basic auth. Overrides the one from the config file.
    type: str
  wait:
    description:
      - Wait until each hot restart is done (the new master serves, the old one is
        retired) or has failed.
      - With V(false), the module returns once supervisord has started each hot
        restart; a failure then shows only in C(supervisorctl hot_status) and
        supervisord's log, so a rollout cannot stop on it.
    type: bool
    default: true
  timeout:
    description:
      - Seconds to wait for an answer from supervisord, per call. A hot restart
        with O(wait) takes up to the program's C(boot_timeout) plus the old master's
        graceful stop.
    type: float
    default: 600
  namespace:
    description:
      - The NAME of the C([rpcinterface:NAME]) section.
    type: str
    default: unicorn
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details:
      - Reports which programs would be hot restarted and their pids, and fails
        where the real run would be refused (unknown name, not running, a hot
        restart in progress). Sends no signal.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
  platform:
    description: Target OS/families that can be operated against.
    support: full
    platforms: posix
notes:
  - Rollback to a standby generation (C(standby), C(rollback)) is not supported yet.
  - A hot restart always changes the pid, so the task always reports C(changed)
    when it succeeds.
requirements:
  - supervisord (supervisor 4.2 or later) with supervisor_unicorn's C([rpcinterface:unicorn]) section.
seealso:
  - module: community.general.supervisorctl
    description: Start, stop and restart under supervisord (no hot restart).
author:
  - supervisor_unicorn contributors
'''

EXAMPLES = r'''
- name: Hot restart web (server URL from /etc/supervisor/supervisord.conf)
  supervisor_unicorn.supervisor.hot_restart:
    name: web
  become: true

- name: Every program of group app, over supervisord's inet server
  supervisor_unicorn.supervisor.hot_restart:
    name: 'app:*'
    server_url: http://127.0.0.1:9001
    username: deploy
    password: "{{ vault_supervisor_password }}"
    timeout: 300
  register: hot

- name: Show the new pids
  ansible.builtin.debug:
    msg: "{{ hot.programs | map(attribute='new_pid') | list }}"

- name: Which programs would be hot restarted, and are they ready for it
  supervisor_unicorn.supervisor.hot_restart:
    name: all
    config: /etc/supervisor/supervisord.conf
  check_mode: true
'''

RETURN = r'''
programs:
  description: One entry per program, in the order they were (or would be) hot restarted.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The program.
      type: str
      sample: web
    old_pid:
      description: The master that served before.
      type: int
      sample: 1234
    new_pid:
      description:
        - The master that serves now. V(0) while a hot restart started with
          O(wait=false) has no new master yet; null in check mode.
      type: int
      sample: 1240
    seconds:
      description: How long the hot restart took; null in check mode.
      type: float
      sample: 1.84
    status:
      description:
        - V(done); V(started) with O(wait=false); V(check_mode) (would be hot
          restarted); V(failed); V(skipped) (not attempted after a failure).
      type: str
      sample: done
    error:
      description: Why the hot restart failed, as supervisorctl says it.
      type: str
      returned: when status is failed
      sample: new master failed to boot; pid 1234 still serving
msg:
  description: One line per program, as C(supervisorctl hot_restart) prints them.
  returned: always
  type: str
  sample: "web: hot restarted (pid 1234 -> 1240 in 1.8s)"
fault_code:
  description:
    - The XML-RPC Fault code when supervisord refused or failed a call (e.g. V(30)
      FAILED, V(10) BAD_NAME, V(70) NOT_RUNNING, V(230) IN_PROGRESS).
  returned: when a call raised a Fault
  type: int
  sample: 30
fault_string:
  description: The Fault's full text.
  returned: when a call raised a Fault
  type: str
  sample: "FAILED: new master failed to boot; pid 1234 still serving"
'''

import urllib.parse
import xmlrpc.client

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.supervisor_unicorn.supervisor.plugins.module_utils.client import (
    CONFIG_SEARCH_PATHS, RPC_ERRORS, describe_error, find_config, format_result,
    make_proxy, read_ctl_config, refusal, resolve_names)


ARGUMENT_SPEC = dict(
    name=dict(type='str', required=True),
    server_url=dict(type='str'),
    config=dict(type='path'),
    username=dict(type='str'),
    password=dict(type='str', no_log=True),
    wait=dict(type='bool', default=True),
    timeout=dict(type='float', default=600),
    namespace=dict(type='str', default='unicorn'),
)
MUTUALLY_EXCLUSIVE = [('server_url', 'config')]


class Failure(Exception):
    """The task fails: `msg` for people, and the Fault, when there was one."""

    def __init__(self, msg, fault=None):
        super().__init__(msg)
        self.msg = msg
        self.fault = fault


def locate(params):
    """serverurl, handler, username and password from the module's options.

    @raise ValueError when no supervisord can be located
    """
    username = password = None
    handler = '/RPC2'
    if params['server_url']:
        serverurl = params['server_url']
        if serverurl.startswith('http://'):
            url = urllib.parse.urlsplit(serverurl)
            # a password in the URL would show in the task's arguments
            if url.username is not None:
                raise ValueError('server_url: give credentials in username and '
                                 'password, not in the URL')
            if url.path not in ('', '/'):
                handler = url.path
            serverurl = 'http://%s' % url.netloc
    else:
        config = params['config'] or find_config()
        if config is None:
            raise ValueError('no supervisord config at %s; set server_url or config'
                             % ' or '.join(CONFIG_SEARCH_PATHS))
        serverurl, username, password = read_ctl_config(config)
    if params['username'] is not None:
        username = params['username']
    if params['password'] is not None:
        password = params['password']
    return serverurl, handler, username, password


def hot_restart(api, name, wait, check_mode, timeout, programs):
    """Hot restart `name` (a program, 'group:*' or 'all') through `api`, the
    unicorn namespace: check every program first, then one after the other,
    stopping at the first failure.

    @param programs a list that receives one entry per program as it goes
    @return the lines for msg
    @raise Failure with the text for people and the Fault, if any
    """
    try:
        names = resolve_names(api, [name])
    except ValueError as e:
        raise Failure(str(e))
    except RPC_ERRORS as e:
        raise Failure(describe_error(e, timeout, name), e)
    if not names:
        raise Failure('no program is configured for hot restart')

    # the preflight: touch nothing unless every program can be hot restarted
    infos = []
    for n in names:
        try:
            info = api.getHotRestartInfo(n)
        except RPC_ERRORS as e:
            raise Failure('%s: ERROR (preflight: %s)' % (n, describe_error(e, timeout, n)),
                          e)
        why = refusal(info)
        if why is not None:
            raise Failure('%s: ERROR (preflight: %s)' % (n, why))
        infos.append(info)

    if check_mode:
        lines = []
        for info in infos:
            programs.append({'name': info['name'], 'old_pid': info['pid'],
                             'new_pid': None, 'seconds': None, 'status': 'check_mode'})
            lines.append('%s: would hot restart (pid %d)' % (info['name'], info['pid']))
        return lines

    lines = []
    for i, info in enumerate(infos):
        n = info['name']
        try:
            result = api.hotRestart(n, wait)
        except RPC_ERRORS as e:
            why = describe_error(e, timeout, n)
            programs.append({'name': n, 'old_pid': info['pid'], 'new_pid': None,
                             'seconds': None, 'status': 'failed', 'error': why})
            programs.extend({'name': later['name'], 'old_pid': later['pid'],
                             'new_pid': None, 'seconds': None, 'status': 'skipped'}
                            for later in infos[i + 1:])
            # the lines of the programs done before it stay in the message
            raise Failure('\n'.join(lines + ['%s: ERROR (%s)' % (n, why)]), e)
        programs.append({'name': result['name'], 'old_pid': result['old_pid'],
                         'new_pid': result['new_pid'], 'seconds': result['seconds'],
                         'status': result['status']})
        if result['status'] == 'done':
            lines.append(format_result(result))
        else:
            lines.append('%s: hot restart started (pid %d)' % (n, result['old_pid']))
    return lines


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC,
                           mutually_exclusive=MUTUALLY_EXCLUSIVE,
                           supports_check_mode=True)
    params = module.params
    if params['timeout'] <= 0:
        module.fail_json(msg='timeout must be more than 0')
    try:
        serverurl, handler, username, password = locate(params)
        api = getattr(make_proxy(serverurl, username, password, params['timeout'],
                                 handler), params['namespace'])
    except ValueError as e:
        module.fail_json(msg=str(e))

    programs = []
    try:
        lines = hot_restart(api, params['name'], params['wait'], module.check_mode,
                            params['timeout'], programs)
    except Failure as e:
        extra = {}
        if isinstance(e.fault, xmlrpc.client.Fault):
            extra = {'fault_code': e.fault.faultCode, 'fault_string': e.fault.faultString}
        changed = any(p['status'] in ('done', 'started') for p in programs)
        module.fail_json(msg=e.msg, changed=changed, programs=programs, **extra)
    module.exit_json(changed=bool(programs), msg='\n'.join(lines), programs=programs)


if __name__ == '__main__':
    main()

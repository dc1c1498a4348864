"""The compatibility matrix.

One row per way of running a server under supervisord, each against one
supervisord of its own, and the same steps in order on every row:

  hot_restart  `supervisorctl hot_restart web` under loopback load
  usr2         a bare `kill -USR2` of the master, under load
  slow_deploy  new code that takes 3 s to load (preload off), under load
  bad_deploy   new code that fails late while loading, under load
  sigkill      supervisord SIGKILLed right after a hot restart, then started
               again with the same configuration
  stop         `supervisorctl stop web`

and, in the unicorn_rails row, pidfile_mismatch (after usr2): a second program
whose server writes another pidfile than its PIDFILE, hot restarted and sent a
bare USR2 (adopted by ancestry, one WARN line each).

Each step ends with no failed request during the step, one master, and
nothing left behind (after `stop`: no process of the program).  A step that
fails does not hide the others: the row goes on while the program is still
sane (RUNNING, one master, serving), `stop` always runs, and the failure
names every failed step with supervisord's lines about it.

Every row runs without preload_app and without unicorn's before_fork hook
(README: the hook is harmful without preload), so every step also exercises
the readiness evidence of the new workers.

The SIGKILL of supervisord is a documented gap in service (README, "When
things go wrong": the leftover master is retired, then the program spawned):
requests must not fail before the kill nor once the new supervisord serves;
the failures in between are reported, not counted.

    bash tests/run tests -m matrix        # the matrix alone (.ci/run runs it once)
"""
import os
import re
import signal
import sys
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional

import psutil
import pytest

import other_python
from checks import (RESULT_LINE, app_pids, hot_restart_under_load, program_events,
                    under_load, wait_answers)
from supervisor_unicorn.tools.loadgen import Load, get
from supervisor_unicorn.tools.sandbox import Supervisord
from supervisor_unicorn.tools.waiting import wait_for

pytestmark = pytest.mark.matrix

RATE = 100                       # requests a second during each step
NAME = 'web'
STEPS = ('hot_restart', 'usr2', 'pidfile_mismatch', 'slow_deploy', 'bad_deploy', 'sigkill',
         'stop')
# steps on a program of their own, run whatever happened to `web`
OWN_PROGRAM = ('pidfile_mismatch',)
MISMATCH = ("hot_restart: %s: new master pid %d (re-exec child of pid %d) is named by no "
            "pidfile: PIDFILE in `programs` is %s, and the server's `%s` setting must be "
            "that same path; adopting it by ancestry")

# every row: no preload, no before_fork hook, a bounded boot_timeout
COMMON = {'preload': False, 'hook': False, 'workers': 2, 'options': 'boot_timeout=30'}


@dataclass
class Row:
    server: str                                   # SERVER on the programs line
    app: Dict[str, object] = field(default_factory=dict)   # sandbox.App options
    pid_namespace: bool = False
    user: Optional[str] = None                    # supervisord as this user
    added_by_update: bool = False                 # `reread` + `update` adds the program
    # a second program whose server writes another pidfile than its PIDFILE:
    # hot_restart and a bare USR2 adopt by ancestry
    mismatch: bool = False


ROWS = {
    'gunicorn-sync-setproctitle': Row('gunicorn', {'setproctitle': True}),
    'gunicorn-sync-no-setproctitle': Row('gunicorn', {'setproctitle': False}),
    'gunicorn-gthread': Row('gunicorn', {'setproctitle': True, 'worker_class': 'gthread'}),
    'gunicorn-gevent': Row('gunicorn', {'setproctitle': True, 'worker_class': 'gevent'}),
    'gunicorn-uvicorn': Row('gunicorn', {'setproctitle': True,
                                         'worker_class': 'uvicorn_worker.UvicornWorker'}),
    'unicorn-short-command': Row('unicorn', {'short_command': True}),
    'unicorn_rails': Row('unicorn_rails', mismatch=True),
    'pid-namespace-unicorn': Row('unicorn', pid_namespace=True),
    'non-root-gunicorn': Row('gunicorn', user='nobody'),
    'reread-update-gunicorn': Row('gunicorn', added_by_update=True),
}


# --- the non-root row's Python: not ours, which lives under /root (0700) ------

@pytest.fixture(scope='session')
def world_readable_python():
    """A venv of Debian's /usr/bin/python3 in a world-readable temp dir, with our
    supervisor and gunicorn releases, and a copy of this package; made once
    per session (only when a row asks for it), removed at its end."""
    with other_python.world_readable_python(['supervisor', 'gunicorn', 'psutil'],
                                            'su-matrix-python-', copy_package=True) as python:
        yield python


# --- one row --------------------------------------------------------------------

class StepFailed(AssertionError):
    pass


@dataclass
class Result:
    step: str
    outcome: str = 'not run'      # ok, FAILED, not run
    seconds: float = 0.0
    note: str = ''


class RowRun:
    def __init__(self, row_id: str, row: Row, python: Optional[other_python.OtherPython]):
        self.row_id, self.row = row_id, row
        self.results = [Result(step) for step in STEPS]
        self.seen = set()            # every host pid of the program, all along
        kw = {'pid_namespace': row.pid_namespace}
        app = dict(COMMON, **row.app)
        if row.user:
            kw.update(user=row.user, launcher=[os.path.join(python.venv, 'bin', 'python'),
                                               '-m', 'supervisor.supervisord'])
            app.update(demo_dir=os.path.join(python.src, 'supervisor_unicorn', 'demo_app'),
                       gunicorn=os.path.join(python.venv, 'bin', 'gunicorn'))
        self.sd = Supervisord(**kw)
        if row.user:
            self.sd.env = {'PATH': '%s/bin:/usr/bin:/bin' % python.venv,
                           'PYTHONPATH': python.src, 'HOME': self.sd.root,
                           'LANG': 'C.UTF-8'}
        self.app_options = app
        self.app = None

    # --- helpers ---

    def track(self) -> List[int]:
        pids = app_pids(self.sd, NAME)
        self.seen.update(pids)
        return pids

    def context(self, log_from: int = 0) -> str:
        """supervisord's lines about the program, and the program's last lines."""
        lines, in_trace = [], False
        for line in self.sd.log()[log_from:].splitlines():
            if re.match(r'\d{4}-\d\d-\d\d ', line):
                in_trace = ' CRIT ' in line
                if re.search(r"hot_restart|'%s'|: %s |%s:" % (NAME, NAME, NAME), line):
                    lines.append(line)
            elif in_trace and line.strip() and not line.startswith(' '):
                lines.append('  ' + line)          # the exception of a traceback
        app_lines = self.app.log().splitlines() if self.app else []
        app_lines = [line for line in app_lines if 'GET /' not in line and '" 200 ' not in line]
        return ('\n  supervisord log (last lines about %s):\n    %s\n  program stderr '
                '(last lines):\n    %s' % (NAME, '\n    '.join(lines[-14:]),
                                         '\n    '.join(app_lines[-6:])))

    def check(self, ok, what: str) -> None:
        if not ok:
            raise StepFailed(what)

    def one_master(self, pid: int, timeout: float = 15) -> None:
        try:
            wait_for(lambda: self.sd.masters(NAME) == [pid], timeout,
                     'one master (pid %d) of %s' % (pid, NAME))
        except TimeoutError as e:
            raise StepFailed('%s; masters now: %s' % (e, self.sd.masters(NAME)))

    def serves(self, version: str, master: int) -> None:
        try:
            status, body = get(self.app.port)
        except OSError as e:
            raise StepFailed('GET / failed: %r' % e)
        self.check(status == 200 and body.split() == [version, str(self.sd.ns_pid(master))],
                   'GET / answered %d %r; expected %r from master pid %d'
                   % (status, body.strip(), version, master))

    def no_failures(self, traffic, what: str = 'during the step') -> None:
        self.check(traffic.sent > 0, 'no request was sent')
        self.check(traffic.failed == 0, '%d of %d requests failed %s: %s'
                   % (traffic.failed, traffic.sent, what, dict(traffic.errors())))

    def handover(self, traffic, old: int, version: str, events_before) -> int:
        self.no_failures(traffic)
        info = self.sd.info(NAME)
        self.check(info['statename'] == 'RUNNING', '%s is %s' % (NAME, info['statename']))
        new = info['pid']
        self.check(new != old, 'supervisord still tracks the old master pid %d' % old)
        events = program_events(self.sd, NAME)
        self.check(events == events_before, 'supervisord saw the program exit or spawn: %s'
                   % events[len(events_before):])
        self.one_master(new)
        self.serves(version, new)
        self.track()
        return new

    def recover(self) -> str:
        """After a failed step: the program RUNNING with one master, serving,
        or why the next steps cannot run.  A master supervisord does not track
        (a bare USR2's new master it did not adopt) is retired, by pid, with
        the server's graceful signal, so that the next steps can still run."""
        sd, note = self.sd, ''
        try:
            info = sd.info(NAME)
            if info['statename'] != 'RUNNING':
                return 'not run: %s is %s' % (NAME, info['statename'])
            tracked = info['pid']
            extra = [m for m in sd.masters(NAME) if m != tracked]
            if extra:
                sig = signal.SIGQUIT if self.app.is_unicorn else signal.SIGTERM
                for pid in extra:
                    os.kill(pid, sig)
                note = ('(the test then retired master(s) %s, not tracked by supervisord, '
                        'with %s, to go on)' % (extra, sig.name))
            wait_for(lambda: sd.masters(NAME) == [tracked], 20, 'one master')
            sd.wait_serving(NAME, 10)
        except Exception as e:
            return 'not run: not sane after the failed step: %s: %s' % (type(e).__name__, e)
        return note

    def wait_promoted(self, pid: int) -> None:
        """gunicorn ignores USR2 until its new master promoted itself (PIDFILE
        names it); unicorn until the old master's .oldbin is gone."""
        want = str(self.sd.ns_pid(pid))

        def promoted():
            with open(self.app.pidfile) as f:
                return f.read().strip() == want and \
                    not os.path.exists(self.app.pidfile + '.oldbin')
        wait_for(promoted, 15, 'PIDFILE to name master pid %d' % pid)

    # --- set-up ---

    def start(self) -> None:
        sd, row = self.sd, self.row
        if not row.added_by_update:
            self.app = sd.add_app(NAME, row.server, **self.app_options)
            if row.mismatch:
                mm = sd.add_app('mm', row.server, **self.app_options)
                mm.program['autostart'] = 'false'
                mm.program['environment'] = mm.environment().replace(
                    mm.pidfile, mm.pidfile + '.real')
            sd.start(wait_running=False)
            sd.wait_state(NAME, 'RUNNING')
            sd.wait_serving(NAME)
            self.track()
            self.check_title_blanks_environment()
            return
        # a supervisord with another program only, then the program and its
        # `programs` line are added to the configuration: reread + update
        sd.programs_extra = '    other unicorn %s' % os.path.join(sd.root, 'other.pid')
        sd.extra = ('[program:other]\ncommand = sleep 600\nstartsecs = 0\n'
                    'stopsignal = KILL\n')
        sd.start()
        sd.wait_state('other', 'RUNNING')
        self.app = sd.add_app(NAME, row.server, **self.app_options)
        sd.write_config()
        r = sd.ctl('reread')
        assert NAME in r.stdout, 'reread: %s%s' % (r.stdout, r.stderr)
        r = sd.ctl('update')
        assert '%s: added process group' % NAME in r.stdout, 'update: %s%s' % (r.stdout,
                                                                            r.stderr)
        sd.wait_state(NAME, 'RUNNING')
        sd.wait_serving(NAME)
        self.track()

    def check_title_blanks_environment(self) -> None:
        # what the row is for: the process title has overwritten the master's
        # environment (and command line), so nothing can be told from them
        if self.app_options.get('setproctitle') or self.app_options.get('short_command'):
            env = psutil.Process(self.sd.pid(NAME)).environ()
            assert 'SUPERVISOR_PROCESS_NAME' not in env, \
                'the master\'s environment is intact: %s' % sorted(env)

    # --- the steps ---

    def step_hot_restart(self) -> str:
        sd = self.sd
        old, before = sd.pid(NAME), program_events(sd, NAME)
        r, traffic = hot_restart_under_load(sd, 'v2', RATE, NAME, more=30)
        out = (r.stdout + r.stderr).strip()
        self.check(r.returncode == 0, 'supervisorctl hot_restart: exit %d: %s'
                   % (r.returncode, out))
        m = RESULT_LINE.match(r.stdout.strip())
        self.check(m and int(m.group(2)) == sd.ns_pid(old), 'supervisorctl said %r' % out)
        new = self.handover(traffic, old, 'v2', before)
        self.check(int(m.group(3)) == sd.ns_pid(new), 'supervisorctl said %r' % out)
        return '%d requests; %s' % (traffic.sent, out)

    def step_usr2(self) -> str:
        sd, app = self.sd, self.app
        old, before = sd.pid(NAME), program_events(sd, NAME)
        restarts = sd.rpc.unicorn.getHotRestartInfo(NAME)['restarts']
        self.wait_promoted(old)
        app.deploy('v3')
        with under_load(app.port, RATE, more=30) as traffic:
            os.kill(old, signal.SIGUSR2)
            try:
                wait_for(lambda: sd.pid(NAME) not in (0, old), 15,
                         'supervisord to track a new master after the USR2')
            except TimeoutError as e:
                children = [c.pid for c in psutil.Process(old).children()
                            if c.pid not in self.seen] if psutil.pid_exists(old) else []
                raise StepFailed('%s: it still tracks pid %d; masters now: %s; new children '
                                 'of the old master: %s' % (e, sd.pid(NAME), sd.masters(NAME),
                                                            children))
            wait_for(lambda: len(sd.masters(NAME)) == 1, 30, 'one master')
        new = self.handover(traffic, old, 'v3', before)
        info = sd.rpc.unicorn.getHotRestartInfo(NAME)
        self.check(info['restarts'] == restarts + 1, 'restarts %d, expected %d'
                   % (info['restarts'], restarts + 1))
        return '%d requests; pid %d -> %d' % (traffic.sent, old, new)

    def step_slow_deploy(self) -> str:
        sd = self.sd
        old, before = sd.pid(NAME), program_events(sd, NAME)
        self.wait_promoted(old)
        version = 'slow:3'
        log_from = len(sd.log())
        r, traffic = hot_restart_under_load(sd, version, RATE, NAME, more=30)
        out = (r.stdout + r.stderr).strip()
        self.check(r.returncode == 0, 'supervisorctl hot_restart: exit %d: %s'
                   % (r.returncode, out))
        self.handover(traffic, old, version, before)
        m = RESULT_LINE.match(r.stdout.strip())
        self.check(m and float(m.group(4)) >= 3, 'supervisorctl said %r (expected the 3 s '
                   'load included)' % out)
        # from the server's own evidence, never the time rule
        log = sd.log()[log_from:]
        ready = log.find('new workers ready: 2/2')
        retire = log.find('retiring old master pid %d' % sd.ns_pid(old))
        self.check(0 <= ready < retire and 'time rule' not in log,
                   'the old master was not retired on the readiness of both new workers')
        self.check('readiness cannot be observed' not in sd.log()
                   and 'internal error' not in sd.log(),
                   'supervisord could not read readiness, or failed internally')
        return '%d requests; %s' % (traffic.sent, out)

    def step_bad_deploy(self) -> str:
        sd, app = self.sd, self.app
        old, before = sd.pid(NAME), program_events(sd, NAME)
        self.wait_promoted(old)
        family = sorted(self.track())
        served = get(app.port)[1].split()[0]
        app.deploy('slowbroken:2')
        with Load(app.port, rate=RATE) as traffic:
            wait_answers(traffic, 30)
            r = sd.ctl('hot_restart', NAME)
            out = (r.stdout + r.stderr).strip()
            try:
                wait_answers(traffic, 30, timeout=10)
                wait_for(lambda: sorted(app_pids(sd, NAME)) == family, 15,
                         'only the old master and its workers')
            except TimeoutError as e:
                raise StepFailed('%s (supervisorctl hot_restart: exit %d: %s); processes %s, '
                                 'were %s; %d of %d requests failed' % (
                                     e, r.returncode, out, sorted(app_pids(sd, NAME)), family,
                                     traffic.failed, traffic.sent))
        self.check(r.returncode == 1 and out.startswith('%s: ERROR (' % NAME) and
                   'pid %d still serving' % sd.ns_pid(old) in out,
                   'supervisorctl hot_restart: exit %d: %s' % (r.returncode, out))
        self.no_failures(traffic)
        info = sd.info(NAME)
        self.check(info['statename'] == 'RUNNING' and info['pid'] == old,
                   '%s is %s with pid %d' % (NAME, info['statename'], info['pid']))
        events = program_events(sd, NAME)
        self.check(events == before, 'supervisord saw the program exit or spawn: %s'
                   % events[len(before):])
        self.one_master(old)
        self.serves(served, old)
        app.deploy(served)
        return '%d requests; %s' % (traffic.sent, out)

    def step_sigkill(self) -> str:
        sd, app = self.sd, self.app
        old = sd.pid(NAME)
        self.wait_promoted(old)
        app.deploy('v5')
        with Load(app.port, rate=RATE) as traffic:
            wait_answers(traffic, 30)
            r = sd.ctl('hot_restart', NAME)
            left = self.track()
            killed_at = time.monotonic()
            os.kill(sd.main_pid(), signal.SIGKILL)
            sd.proc.wait(10)
            alive_at_restart = [p for p in left if _alive(p)]
            log_from = len(sd.log())
            sd.start(wait_running=False)
            try:
                info = wait_for(lambda: (lambda i: i if i['statename'] in ('RUNNING', 'FATAL')
                                         else None)(sd.info(NAME)), 60,
                                '%s to be RUNNING again' % NAME)
                self.check(info['statename'] == 'RUNNING', 'after the restart of supervisord, '
                           '%s is FATAL' % NAME)
                sd.wait_serving(NAME, 30)
            except TimeoutError as e:
                raise StepFailed(str(e))
            serving_at = time.monotonic()
            wait_answers(traffic, 50)
        out = (r.stdout + r.stderr).strip()
        self.check(r.returncode == 0, 'supervisorctl hot_restart: exit %d: %s'
                   % (r.returncode, out))
        before = [x for x in traffic.replies if not x.ok and x.started < killed_at]
        after = [x for x in traffic.replies if not x.ok and x.started >= serving_at]
        gap = [x for x in traffic.replies if not x.ok and killed_at <= x.started < serving_at]
        self.check(not before, '%d requests failed before supervisord was killed'
                   % len(before))
        self.check(not after, '%d requests failed after the new supervisord served'
                   % len(after))
        try:
            wait_for(lambda: not [p for p in left if _alive(p)], 20,
                     'every process left by the killed supervisord to be gone')
        except TimeoutError as e:
            raise StepFailed('%s: still alive: %s' % (e, [p for p in left if _alive(p)]))
        new = sd.pid(NAME)
        self.one_master(new)
        self.serves('v5', new)
        log = sd.log()[log_from:]
        if alive_at_restart and not self.row.pid_namespace:
            # (in a PID namespace the kernel killed them all with supervisord)
            self.check('left running by a previous supervisord' in log,
                       'the new supervisord did not retire the masters left running (%s '
                       'were alive when it started)' % alive_at_restart)
        for bad in ('FATAL', 'BACKOFF', 'gave up', 'Already running'):
            self.check(bad not in log + app.log(), '%r after the restart' % bad)
        self.track()
        return ('%d requests; %s; supervisord restarted and %s served again %.1fs after '
                'the kill, %d requests failed in between'
                % (traffic.sent, out, NAME, serving_at - killed_at, len(gap)))

    def step_pidfile_mismatch(self) -> str:
        if not self.row.mismatch:
            return 'not in this row'
        sd, app = self.sd, self.sd.apps['mm']
        r = sd.ctl('start', 'mm')
        self.check(r.returncode == 0, 'supervisorctl start mm: %s' % r.stdout)
        sd.wait_serving('mm')
        before = program_events(sd, 'mm')
        setting = 'pid' if app.is_unicorn else 'pidfile'
        notes, seen = [], set()
        try:
            self._mismatch(sd, app, setting, notes, seen, before)
        finally:
            r = sd.ctl('stop', 'mm')
        self.check(r.returncode == 0, 'supervisorctl stop mm: %s' % r.stdout)
        try:
            wait_for(lambda: not [p for p in seen if _alive(p)], 15,
                     'every process of mm to exit')
        except TimeoutError as e:
            raise StepFailed('%s: still alive: %s' % (e, [p for p in seen if _alive(p)]))
        return '; '.join(notes)

    def _mismatch(self, sd, app, setting, notes, seen, before) -> None:
        with Load(app.port, rate=RATE) as traffic:
            for how in ('hot_restart', 'usr2'):
                old = sd.pid('mm')
                nsold = sd.ns_pid(old)
                seen.update(app_pids(sd, 'mm'))
                if how == 'hot_restart':
                    r = sd.ctl('hot_restart', 'mm')
                    self.check(r.returncode == 0, 'mm: supervisorctl hot_restart: exit %d: %s'
                               % (r.returncode, (r.stdout + r.stderr).strip()))
                else:
                    wait_for(lambda: open(app.pidfile + '.real').read().strip() ==
                             str(nsold), 10, 'mm: the real pidfile to name %d' % old)
                    os.kill(old, signal.SIGUSR2)
                try:
                    new = wait_for(lambda: (lambda p: p if p not in (0, old) else None)(
                        sd.pid('mm')), 15, 'mm: a new master to be tracked (%s)' % how)
                    wait_for(lambda: sd.masters('mm') == [new], 15,
                             'mm: one master (%s)' % how)
                except TimeoutError as e:
                    raise StepFailed('%s: tracked %d, masters %s' % (e, sd.pid('mm'),
                                                                     sd.masters('mm')))
                line = MISMATCH % ('mm', sd.ns_pid(new), nsold, app.pidfile, setting)
                self.check(line in sd.log(), 'mm: no line %r (%s)' % (line, how))
                notes.append('%s: pid %d -> %d' % (how, old, new))
                wait_answers(traffic, 30)
        notes.insert(0, '%d requests' % traffic.sent)
        self.no_failures(traffic)
        self.check(program_events(sd, 'mm') == before, 'mm: supervisord saw it exit or spawn')
        seen.update(app_pids(sd, 'mm'))

    def step_stop(self) -> str:
        sd = self.sd
        try:
            self.track()
        except Exception:
            pass
        others = {sd.main_pid()} | {p.pid for p in sd.family()
                                    if 'sleep' in ' '.join(_cmdline(p))}
        r = sd.ctl('stop', NAME)
        self.check(r.returncode == 0, 'supervisorctl stop: exit %d: %s'
                   % (r.returncode, (r.stdout + r.stderr).strip()))
        state = sd.info(NAME)['statename']
        self.check(state == 'STOPPED', '%s is %s' % (NAME, state))
        try:
            wait_for(lambda: not [p for p in self.seen if _alive(p)] and
                     sd.port_free(self.app.port), 15,
                     'every process of %s to exit and port %d to be free'
                     % (NAME, self.app.port))
        except TimeoutError as e:
            raise StepFailed('%s: still alive: %s' % (e, [
                '%d %s' % (p, ' '.join(_cmdline(psutil.Process(p)))[:60])
                for p in self.seen if _alive(p)]))
        rest = [p.pid for p in sd.family() if p.pid not in others]
        self.check(not rest, 'processes left under supervisord: %s' % rest)
        return ''

    # --- the row ---

    def run(self) -> None:
        t0 = time.monotonic()
        blocked = None
        try:
            self.start()
        except Exception as e:
            blocked = 'not run: the set-up failed: %s: %s%s' % (type(e).__name__, e,
                                                                self.context())
        self.setup_seconds = time.monotonic() - t0
        for result in self.results:
            if blocked and (result.step not in ('stop',) + OWN_PROGRAM or self.app is None):
                result.note = blocked
                continue
            log_from = len(self.sd.log())
            t0 = time.monotonic()
            try:
                result.note = getattr(self, 'step_' + result.step)()
                result.outcome = 'ok'
            except Exception as e:          # any failure of a step is reported
                result.outcome = 'FAILED'
                result.note = '%s: %s%s' % (type(e).__name__, e, self.context(log_from))
            result.seconds = time.monotonic() - t0
            if result.outcome == 'FAILED' and result.step != 'stop':
                why = self.recover()
                if why.startswith('not run'):
                    blocked = why.replace('not run: ', 'not run: after %s, ' % result.step)
                elif why:
                    result.note += '\n  ' + why

    def close(self) -> None:
        self.sd.close()

    def report(self) -> str:
        lines = ['%s (set-up %.1fs)' % (self.row_id, getattr(self, 'setup_seconds', 0))]
        for r in self.results:
            lines.append('  %-16s %-7s %5.1fs  %s' % (r.step, r.outcome, r.seconds,
                                                     r.note.replace('\n', '\n' + ' ' * 33)))
        return '\n'.join(lines)


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _cmdline(proc) -> List[str]:
    try:
        return proc.cmdline()
    except psutil.Error:
        return []


@pytest.mark.parametrize('row_id', list(ROWS))
def test_matrix_row(request, record_property, row_id):
    row = ROWS[row_id]
    python = request.getfixturevalue('world_readable_python') if row.user else None
    run = RowRun(row_id, row, python)
    t0 = time.monotonic()
    try:
        run.run()
    finally:
        run.close()
        total = time.monotonic() - t0
        record_property('matrix', '%s\n  (row total %.1fs)' % (run.report(), total))
    failed = [r.step for r in run.results if r.outcome != 'ok']
    assert not failed, 'row %s: steps %s did not pass\n%s' % (row_id, ', '.join(failed),
                                                              run.report())

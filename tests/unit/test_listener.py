"""Unit tests for supervisor_unicorn.listener: protocol and decisions, fakes only.

The one exception is HttpProbeTests, which points the real urllib probe at a
throwaway HTTP server on loopback.
"""

import contextlib
import http.server
import io
import os
import socket
import threading
import unittest
import xmlrpc.client
from unittest import mock

from supervisor.xmlrpc import Faults

WEB = 'http://127.0.0.1:8080/ping'
API = 'http://127.0.0.1:9090/health'

OK = (True, 'HTTP 200')
SICK = (False, 'HTTP 500')


# ---------------------------------------------------------------------------
# Fakes

class FakeClock:
    """A monotonic clock that only moves when told to. The listener gets no
    sleep(): whatever has to wait is resumed by a later event."""

    def __init__(self, t=1000.0):
        self.t = t

    def now(self):
        return self.t

    def advance(self, seconds):
        self.t += seconds


class FakeProbe:
    """probe(url, timeout): answers what ``answer[url]`` says, records calls."""

    def __init__(self):
        self.answer = {}
        self.calls = []

    def __call__(self, url, timeout):
        self.calls.append((url, timeout))
        answer = self.answer.get(url, OK)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    def urls(self):
        return [url for url, _ in self.calls]


def hot_fault(code, text, failure='', still_serving=False):
    """A hotRestart Fault, with what supervisord records in getHotRestartInfo
    when it raises it (the listener reads `failure` and `still_serving`)."""
    fault = xmlrpc.client.Fault(code, text)
    fault.failure, fault.still_serving = failure, still_serving
    return fault


class FakeNamespace:
    """rpc.<ns>.<method>(*args): records the call, raises a scripted error or
    delegates to FakeRPC.<ns>_<method>."""

    def __init__(self, rpc, ns):
        self._rpc = rpc
        self._ns = ns

    def __getattr__(self, method):
        full = f'{self._ns}.{method}'

        def call(*args):
            self._rpc.calls.append((full, args))
            error = self._rpc.errors.get(full)
            if isinstance(error, list):          # one scripted outcome per call
                error = error.pop(0) if error else None
            if error is not None:
                if hasattr(error, 'failure') and args and args[0] in self._rpc.hot:
                    self._rpc.hot[args[0]].update(failure=error.failure,
                                                  still_serving=error.still_serving)
                raise error
            return getattr(self._rpc, f'{self._ns}_{method}')(*args)
        return call


class FakeRPC:
    """Stands in for supervisor's ServerProxy with a tiny stateful supervisord.

    ``errors['ns.method']`` is an exception raised on every call, or a list of
    exceptions/None consumed one per call.

    A hot restart started with wait=False stays in progress (phase 'booting')
    for ``hot_reads`` reads of the hot restart info, then ends: 'done' (the
    new master is the old pid + 100) or, when ``hot_failure`` is set, with
    last_result 'failed: <hot_failure>'. ``hot_immediate`` makes hotRestart
    itself answer 'done'. A stopProcess leaves the program STOPPING for
    ``stop_reads`` reads of its process info, then STOPPED.
    """

    def __init__(self):
        self.calls = []
        self.errors = {}
        self.closed = 0
        self.procs = {}
        self.hot = {}
        self.hot_reads = 0
        self.hot_failure = None
        self.hot_failure_data = ('NO_REEXEC', False)    # (failure, still_serving)
        self.hot_immediate = False
        self.stop_reads = 0
        self._hot_left = {}
        self._stop_left = {}
        self.supervisor = FakeNamespace(self, 'supervisor')
        self.unicorn = FakeNamespace(self, 'unicorn')

    def __call__(self, attr):      # ServerProxy('close')()
        assert attr == 'close', attr

        def close():
            self.closed += 1
        return close

    def add(self, namespec, state='RUNNING', pid=100, hot=True, restarts=0,
            phase='idle'):
        group, _, name = namespec.rpartition(':')
        self.procs[namespec] = {'group': group or name, 'name': name,
                                'statename': state, 'pid': pid}
        if hot:
            self.hot[namespec] = {
                'name': namespec, 'server': 'unicorn',
                'pidfile': f'/tmp/{name}.pid', 'pid': pid, 'state': state,
                'phase': phase, 'old_pid': 0, 'new_pid': 0, 'last_result': '',
                'last_seconds': 0.0, 'restarts': restarts, 'boot_timeout': 60.0,
                'overlap': 0.0, 'workers': 0, 'workers_ready': 0, 'failure': '',
                'still_serving': False, 'standby': 0.0, 'standby_left': 0.0,
                'rolled_back_from': 0, 'rollback_cause': ''}

    def run(self, namespec, pid):
        """supervisord made the program RUNNING with this pid."""
        self.procs[namespec].update(statename='RUNNING', pid=pid)
        if namespec in self.hot:
            self.hot[namespec]['pid'] = pid

    def called(self, method=None):
        return [(m, a) for m, a in self.calls if method is None or m == method]

    def methods(self):
        return [m for m, _ in self.calls]

    def waits(self):
        """The wait argument of every call that has one."""
        return [a[1] for m, a in self.calls
                if m in ('unicorn.hotRestart', 'supervisor.stopProcess',
                         'supervisor.startProcess')]

    def _proc(self, name):
        if name not in self.procs:
            raise xmlrpc.client.Fault(Faults.BAD_NAME, f'BAD_NAME: {name}')
        return self.procs[name]

    def _progress_stops(self):
        for name, left in list(self._stop_left.items()):
            if left <= 0:
                self.procs[name].update(statename='STOPPED', pid=0)
                del self._stop_left[name]
            else:
                self._stop_left[name] = left - 1

    def _progress_hot(self):
        for name, left in list(self._hot_left.items()):
            if left > 0:
                self._hot_left[name] = left - 1
                continue
            del self._hot_left[name]
            hot, proc = self.hot[name], self.procs[name]
            hot.update(phase='idle', old_pid=0, new_pid=0, last_seconds=1.84)
            if self.hot_failure:
                hot['last_result'] = 'failed: ' + self.hot_failure
                hot['failure'], hot['still_serving'] = self.hot_failure_data
            else:
                hot.update(failure='', still_serving=False)
                proc['pid'] = hot['pid'] = proc['pid'] + 100
                hot['restarts'] += 1
                hot['last_result'] = 'done'

    # supervisor namespace
    def supervisor_getAllProcessInfo(self):
        self._progress_stops()
        return [dict(p) for p in self.procs.values()]

    def supervisor_getProcessInfo(self, name):
        self._progress_stops()
        return dict(self._proc(name))

    def supervisor_stopProcess(self, name, wait):
        proc = self._proc(name)
        if proc['statename'] not in ('RUNNING', 'STARTING', 'BACKOFF'):
            raise xmlrpc.client.Fault(Faults.NOT_RUNNING, f'NOT_RUNNING: {name}')
        proc['statename'] = 'STOPPING'
        self._stop_left[name] = self.stop_reads
        return True

    def supervisor_startProcess(self, name, wait):
        proc = self._proc(name)
        if proc['statename'] in ('RUNNING', 'STARTING', 'BACKOFF'):
            raise xmlrpc.client.Fault(Faults.ALREADY_STARTED,
                                      f'ALREADY_STARTED: {name}')
        proc.update(statename='STARTING', pid=0)
        return True

    # unicorn namespace
    def unicorn_getAllHotRestartInfo(self):
        self._progress_hot()
        return [dict(h) for h in self.hot.values()]

    def unicorn_getHotRestartInfo(self, name):
        self._progress_hot()
        if name not in self.hot:
            raise xmlrpc.client.Fault(Faults.BAD_NAME, f'BAD_NAME: {name}')
        return dict(self.hot[name])

    def unicorn_hotRestart(self, name, wait):
        proc, hot = self.procs[name], self.hot[name]
        if hot['phase'] != 'idle':
            raise xmlrpc.client.Fault(
                230, f'IN_PROGRESS: a hot restart of {name} is already in progress')
        old = proc['pid']
        if self.hot_immediate:
            proc['pid'] = hot['pid'] = old + 100
            hot.update(restarts=hot['restarts'] + 1, last_result='done',
                       last_seconds=0.9)
            return {'name': name, 'old_pid': old, 'new_pid': old + 100,
                    'seconds': 0.9, 'status': 'done'}
        hot.update(phase='booting', old_pid=old, new_pid=0)
        self._hot_left[name] = self.hot_reads
        return {'name': name, 'old_pid': old, 'new_pid': 0,
                'seconds': 0.0, 'status': 'started'}

    def unicorn_rollback(self, name, wait):
        proc, hot = self.procs[name], self.hot[name]
        if hot['phase'] != 'standby':
            raise xmlrpc.client.Fault(233, f'NO_STANDBY: {name} has no standby to'
                                           ' roll back to')
        # done by the next read: the old master (tracked all along) serves
        hot.update(phase='idle', last_result='rolled_back', last_seconds=0.2,
                   rolled_back_from=hot['new_pid'], old_pid=0, new_pid=0,
                   standby_left=0.0)
        return {'name': name, 'from_pid': hot['rolled_back_from'],
                'to_pid': proc['pid'], 'seconds': 0.0, 'status': 'started', 'cause': ''}

    def stand_by(self, name, new_pid):
        """A hot restart with standby: the new master serves, the old waits."""
        self.hot[name].update(phase='standby', old_pid=self.procs[name]['pid'],
                              new_pid=new_pid, standby=60.0, standby_left=50.0)


class FlushCheckingStdout(io.StringIO):
    """Counts characters written since the last flush."""
    unflushed = 0

    def write(self, s):
        self.unflushed += len(s)
        return super().write(s)

    def flush(self):
        self.unflushed = 0
        super().flush()


class StdinRequiringFlushedStdout(io.StringIO):
    """Records, at every readline, whether stdout had been flushed."""

    def __init__(self, text, stdout):
        super().__init__(text)
        self.stdout = stdout
        self.unflushed_at_read = []

    def readline(self, *args):
        self.unflushed_at_read.append(self.stdout.unflushed)
        return super().readline(*args)


def event(eventname, payload='', serial=1):
    header = (f'ver:3.0 server:supervisor serial:{serial} pool:unicorn_watch'
              f' poolserial:{serial} eventname:{eventname} len:{len(payload)}\n')
    return header + payload


def tick(when=1700000005):
    return event('TICK_5', f'when:{when}')


def running(namespec, pid, from_state='STARTING'):
    group, _, name = namespec.rpartition(':')
    return event('PROCESS_STATE_RUNNING',
                 f'processname:{name} groupname:{group or name}'
                 f' from_state:{from_state} pid:{pid}')


def protocol_for(n_events):
    """What stdout must be after n events and EOF: nothing but the protocol."""
    return 'READY\n' + 'RESULT 2\nOKREADY\n' * n_events


class WatcherTestBase(unittest.TestCase):

    def getTargetClass(self):
        from supervisor_unicorn.listener.watchdog import HealthWatcher
        return HealthWatcher

    def makeOne(self, checks=None, rpc=None, **options):
        from supervisor_unicorn.listener.listener_options import Config
        self.rpc = rpc if rpc is not None else self.makeRPC()
        self.clock = FakeClock()
        self.probe = FakeProbe()
        self.stdout = FlushCheckingStdout()
        self.stderr = io.StringIO()
        self.stdin = io.StringIO('')
        config = Config(checks=checks or {'web': WEB}, **options)
        self.watcher = self.getTargetClass()(
            config, stdin=self.stdin, stdout=self.stdout, stderr=self.stderr,
            rpc=self.rpc, now=self.clock.now, probe=self.probe)
        return self.watcher

    def makeRPC(self):
        rpc = FakeRPC()
        rpc.add('web', pid=100)
        return rpc

    def feed(self, *events):
        """Run the listener over these events, then EOF; returns exit status."""
        self.stdin.seek(0)
        self.stdin.truncate()
        self.stdin.write(''.join(events))
        self.stdin.seek(0)
        return self.watcher.run()

    def log_lines(self):
        return self.stderr.getvalue().splitlines()

    def assertLogged(self, fragment):
        lines = self.log_lines()
        self.assertTrue(any(fragment in line for line in lines),
                        f'{fragment!r} not in stderr:\n' + '\n'.join(lines))

    def assertNotLogged(self, fragment):
        lines = self.log_lines()
        self.assertFalse(any(fragment in line for line in lines),
                         f'{fragment!r} unexpectedly in stderr:\n' + '\n'.join(lines))


# ---------------------------------------------------------------------------
# Protocol

class ProtocolTests(WatcherTestBase):

    def test_run_sends_ready_then_acks_every_event_with_result_2_ok(self):
        self.makeOne()
        status = self.feed(tick(), event('PROCESS_STATE_STOPPED',
                                         'processname:x groupname:x from_state:STOPPING pid:5'))
        self.assertEqual(status, 0)
        self.assertEqual(self.stdout.getvalue(), protocol_for(2))

    def test_run_returns_0_quietly_when_stdin_is_closed(self):
        self.makeOne()
        status = self.feed()
        self.assertEqual(status, 0)
        self.assertEqual(self.stdout.getvalue(), 'READY\n')
        self.assertEqual(len(self.log_lines()), 1)   # only the start line
        self.assertLogged('watching web=' + WEB)

    def test_run_returns_0_when_stdin_closes_in_the_middle_of_a_payload(self):
        self.makeOne()
        status = self.feed(tick()[:-3])
        self.assertEqual(status, 0)
        self.assertEqual(self.stdout.getvalue(), 'READY\n')
        self.assertEqual(self.probe.calls, [])

    def test_stdout_is_flushed_before_every_read_from_stdin(self):
        self.makeOne()
        stdin = StdinRequiringFlushedStdout(tick() + tick(), self.stdout)
        self.watcher.stdin = stdin
        self.watcher.run()
        self.assertEqual(len(stdin.unflushed_at_read), 3)
        self.assertEqual(stdin.unflushed_at_read, [0, 0, 0])
        self.assertEqual(self.stdout.unflushed, 0)

    def test_payload_is_read_by_length_so_back_to_back_events_stay_in_frame(self):
        self.makeOne()
        # payloads carry no trailing newline; reading a line would swallow the
        # next header and the second event would be lost
        self.feed(running('web', 100), tick())
        self.assertEqual(self.probe.urls(), [WEB, WEB])
        self.assertEqual(self.rpc.methods().count('supervisor.getAllProcessInfo'), 1)

    def test_malformed_header_is_logged_and_still_acknowledged(self):
        self.makeOne()
        status = self.feed('this is not a header\n', 'ver:3.0 eventname:TICK_5\n', tick())
        self.assertEqual(status, 0)
        self.assertEqual(self.stdout.getvalue(), protocol_for(3))
        self.assertLogged("malformed event header 'this is not a header'")
        self.assertLogged("malformed event header 'ver:3.0 eventname:TICK_5'")
        self.assertEqual(self.probe.urls(), [WEB])   # the good tick still works

    def test_a_handler_crash_is_logged_in_one_line_and_the_event_still_acked(self):
        self.makeOne()
        self.rpc.errors['supervisor.getAllProcessInfo'] = [RuntimeError('boom'), None]
        status = self.feed(tick(), tick())
        self.assertEqual(status, 0)
        self.assertEqual(self.stdout.getvalue(), protocol_for(2))
        self.assertLogged("error handling TICK_5: RuntimeError('boom')")
        self.assertEqual(self.probe.urls(), [WEB])

    def test_a_malformed_process_state_payload_is_still_acknowledged(self):
        self.makeOne()
        self.feed(event('PROCESS_STATE_RUNNING', 'garbage'))
        self.assertEqual(self.stdout.getvalue(), protocol_for(1))
        self.assertLogged('error handling PROCESS_STATE_RUNNING')

    def test_stdout_carries_only_the_protocol_through_heals_and_errors(self):
        self.makeOne(failures=1)
        self.probe.answer[WEB] = SICK
        self.rpc.errors['unicorn.hotRestart'] = [
            hot_fault(Faults.FAILED, 'FAILED: master pid 100 did not re-exec; it may be hung',
                      'NO_REEXEC', False), None]
        self.rpc.errors['unicorn.getAllHotRestartInfo'] = [None, ConnectionRefusedError(111, 'refused')]
        self.feed(tick(), tick(), running('web', 7), tick())
        self.assertEqual(self.stdout.getvalue(), protocol_for(4))
        self.assertLogged('falling back to stop/start')

    def test_every_log_line_carries_the_prefix(self):
        self.makeOne(failures=2)
        self.probe.answer[WEB] = SICK
        self.feed(tick(), tick(), tick())
        lines = self.log_lines()
        self.assertGreater(len(lines), 3)
        for line in lines:
            self.assertTrue(line.startswith('unicorn_watch: '), line)

    def test_events_other_than_ticks_and_running_make_no_rpc_call_without_a_heal(self):
        self.makeOne()
        self.feed()                      # validation only
        before = len(self.rpc.calls)
        self.feed(event('PROCESS_STATE_EXITED',
                        'processname:web groupname:web from_state:RUNNING expected:0 pid:100'),
                  event('PROCESS_GROUP_ADDED', 'groupname:x'))
        self.assertEqual(len(self.rpc.calls), before)
        self.assertEqual(self.probe.calls, [])


# ---------------------------------------------------------------------------
# Command line

class ParseConfigTests(unittest.TestCase):

    def parse(self, *argv):
        from supervisor_unicorn.listener.listener_options import parse_options
        return parse_options(list(argv))

    def assertOptionsError(self, fragment, *argv):
        from supervisor_unicorn.listener.listener_options import OptionsError
        with self.assertRaises(OptionsError) as cm:
            self.parse(*argv)
        self.assertIn(fragment, str(cm.exception))
        self.assertIn('usage: supervisor-unicorn-listener', cm.exception.usage)
        return str(cm.exception)

    def test_defaults_are_3_failures_2s_timeout_60s_backoff_60s_grace_unicorn_namespace(self):
        config = self.parse('--check', f'web={WEB}')
        self.assertEqual(config.checks, {'web': WEB})
        self.assertEqual(config.failures, 3)
        self.assertEqual(config.timeout, 2.0)
        self.assertEqual(config.backoff, 60.0)
        self.assertEqual(config.max_backoff, 960.0)
        self.assertEqual(config.grace, 60.0)
        self.assertEqual(config.namespace, 'unicorn')

    def test_check_is_repeatable_and_keeps_order_and_group_names(self):
        config = self.parse('--check', f'web={WEB}', '--check', f'grp:api={API}',
                            '--failures', '5', '--timeout', '0.5',
                            '--backoff', '10', '--max-backoff', '40',
                            '--namespace', 'hot')
        self.assertEqual(list(config.checks.items()), [('web', WEB), ('grp:api', API)])
        self.assertEqual((config.failures, config.timeout, config.backoff,
                          config.max_backoff, config.namespace),
                         (5, 0.5, 10.0, 40.0, 'hot'))

    def test_https_url_with_port_and_query_is_accepted(self):
        config = self.parse('--check', 'web=https://app.internal:8443/up?deep=1')
        self.assertEqual(config.checks['web'], 'https://app.internal:8443/up?deep=1')

    def test_check_is_required(self):
        self.assertOptionsError('--check')

    def test_check_without_equals_sign_is_rejected_naming_the_argument(self):
        message = self.assertOptionsError('is not NAME=URL', '--check', WEB)
        self.assertIn('argument --check', message)

    def test_check_with_empty_name_is_rejected(self):
        self.assertOptionsError('is not NAME=URL', '--check', f'={WEB}')

    def test_check_with_non_http_scheme_is_rejected_naming_the_argument(self):
        message = self.assertOptionsError('URL must be http:// or https://',
                                        '--check', 'web=ftp://127.0.0.1/ping')
        self.assertIn('argument --check', message)

    def test_check_with_url_without_host_is_rejected(self):
        self.assertOptionsError('with a host', '--check', 'web=http:///ping')

    def test_check_with_relative_url_is_rejected(self):
        self.assertOptionsError('with a host', '--check', 'web=/ping')

    def test_check_with_non_numeric_port_is_rejected(self):
        self.assertOptionsError('bad port', '--check', 'web=http://127.0.0.1:80x/')

    def test_check_naming_a_program_twice_is_rejected(self):
        self.assertOptionsError('web is given twice',
                              '--check', f'web={WEB}', '--check', f'web={API}')

    def test_failures_below_one_is_rejected(self):
        self.assertOptionsError('argument --failures', '--check', f'web={WEB}',
                              '--failures', '0')

    def test_failures_that_is_not_a_number_is_rejected(self):
        self.assertOptionsError("'many' is not a whole number", '--check', f'web={WEB}',
                              '--failures', 'many')

    def test_timeout_must_be_positive_and_finite(self):
        for bad in ('0', '-1', 'nan', 'inf', 'soon'):
            self.assertOptionsError('argument --timeout', '--check', f'web={WEB}',
                                  '--timeout', bad)

    def test_grace_accepts_0_and_fractions(self):
        for text, value in (('0', 0.0), ('2.5', 2.5), ('300', 300.0)):
            self.assertEqual(self.parse('--check', f'web={WEB}', '--grace', text).grace, value)

    def test_grace_must_be_finite_and_not_negative(self):
        for bad in ('-1', 'nan', 'inf', 'long'):
            self.assertOptionsError('argument --grace', '--check', f'web={WEB}',
                                  '--grace', bad)

    def test_max_backoff_below_backoff_is_rejected(self):
        self.assertOptionsError('argument --max-backoff', '--check', f'web={WEB}',
                              '--backoff', '120', '--max-backoff', '60')

    def test_abbreviated_options_are_not_accepted(self):
        self.assertOptionsError('unrecognized arguments', '--check', f'web={WEB}',
                              '--fail', '2')

    def test_help_documents_every_option_and_the_environment(self):
        out = io.StringIO()
        with contextlib.redirect_stdout(out), self.assertRaises(SystemExit) as cm:
            self.parse('--help')
        self.assertEqual(cm.exception.code, 0)
        text = out.getvalue()
        for word in ('--check NAME=URL', '--failures N', '--timeout SECONDS',
                     '--backoff SECONDS', '--max-backoff SECONDS', '--grace SECONDS',
                     '--namespace', 'wait=False', 'healthy again', 'still starting',
                     'SUPERVISOR_SERVER_URL', 'SUPERVISOR_USERNAME',
                     'SUPERVISOR_PASSWORD', 'events = PROCESS_STATE,TICK_5',
                     'stopProcess', 'exit status'):
            self.assertIn(word, text)


class MainTests(unittest.TestCase):

    def main(self, argv, env):
        from supervisor_unicorn.listener.main import main
        err = io.StringIO()
        with mock.patch.dict(os.environ, env, clear=True), \
                contextlib.redirect_stderr(err):
            status = main(argv)
        return status, err.getvalue()

    def test_main_without_supervisor_server_url_exits_2_with_the_message(self):
        status, err = self.main(['--check', f'web={WEB}'], {})
        self.assertEqual(status, 2)
        self.assertEqual(err, 'supervisor-unicorn-listener: must be run as a supervisor'
                              ' event listener (SUPERVISOR_SERVER_URL is not set)\n')

    def test_main_with_a_bad_argument_exits_2_with_usage_and_the_argument_name(self):
        status, err = self.main(['--check', 'web=gopher://x/'],
                                {'SUPERVISOR_SERVER_URL': 'unix:///tmp/none.sock'})
        self.assertEqual(status, 2)
        self.assertTrue(err.startswith('usage: supervisor-unicorn-listener'), err)
        self.assertIn('supervisor-unicorn-listener: error: argument --check:', err)

    def test_main_with_an_unusable_server_url_exits_2(self):
        status, err = self.main(['--check', f'web={WEB}'],
                                {'SUPERVISOR_SERVER_URL': 'ftp://nowhere'})
        self.assertEqual(status, 2)
        self.assertIn('Unknown protocol for serverurl ftp://nowhere', err)

    def test_main_passes_credentials_from_the_environment_to_the_transport(self):
        from supervisor_unicorn.listener import main as listener
        seen = {}

        class Stop(Exception):
            pass

        def fake_watcher(config, **kw):
            transport = kw['rpc']._ServerProxy__transport
            seen.update(user=transport.username, password=transport.password,
                        url=transport.serverurl)
            raise Stop
        with mock.patch.object(listener, 'HealthWatcher', fake_watcher), \
                self.assertRaises(Stop):
            self.main(['--check', f'web={WEB}'],
                      {'SUPERVISOR_SERVER_URL': 'unix:///tmp/s.sock',
                       'SUPERVISOR_USERNAME': 'ops', 'SUPERVISOR_PASSWORD': 'pw'})
        self.assertEqual(seen, {'user': 'ops', 'password': 'pw',
                                'url': 'unix:///tmp/s.sock'})


# ---------------------------------------------------------------------------
# Configuration check at start

class ValidationTests(WatcherTestBase):

    def test_a_name_not_configured_for_hot_restart_exits_2_naming_it(self):
        rpc = self.makeRPC()
        rpc.add('worker', hot=False)
        self.makeOne(checks={'web': WEB, 'worker': API}, rpc=rpc)
        status = self.feed(tick())
        self.assertEqual(status, 2)
        self.assertLogged('--check worker: not configured for hot restart')
        self.assertLogged('configured: web')
        self.assertEqual(self.stdout.getvalue(), '')    # exits before READY
        self.assertEqual(self.probe.calls, [])

    def test_configuration_is_checked_before_the_first_ready(self):
        self.makeOne()
        self.feed()
        self.assertEqual(self.rpc.methods(), ['unicorn.getAllHotRestartInfo'])

    def test_a_missing_rpcinterface_section_exits_2_with_a_clear_message(self):
        self.makeOne()
        self.rpc.errors['unicorn.getAllHotRestartInfo'] = xmlrpc.client.Fault(
            Faults.UNKNOWN_METHOD, 'UNKNOWN_METHOD')
        status = self.feed(tick())
        self.assertEqual(status, 2)
        self.assertLogged('supervisord has no [rpcinterface:unicorn] section')

    def test_the_namespace_option_selects_the_rpc_namespace(self):
        rpc = self.makeRPC()
        rpc.hot_ns = FakeNamespace(rpc, 'unicorn')
        rpc.unicorn = None
        self.makeOne(rpc=rpc, namespace='hot_ns')
        status = self.feed(tick())
        self.assertEqual(status, 0)
        self.assertIn('unicorn.getAllHotRestartInfo', rpc.methods())

    def test_refused_credentials_exit_2_and_name_the_environment_variables(self):
        self.makeOne()
        self.rpc.errors['unicorn.getAllHotRestartInfo'] = xmlrpc.client.ProtocolError(
            'localhost/RPC2', 401, 'Unauthorized', {})
        status = self.feed(tick())
        self.assertEqual(status, 2)
        self.assertLogged('HTTP 401 Unauthorized')
        self.assertLogged('SUPERVISOR_USERNAME and SUPERVISOR_PASSWORD')

    def test_an_unreachable_supervisord_is_logged_and_checked_again_on_the_next_event(self):
        self.makeOne()
        self.rpc.errors['unicorn.getAllHotRestartInfo'] = [
            ConnectionRefusedError(111, 'Connection refused'),
            xmlrpc.client.Fault(Faults.SHUTDOWN_STATE, 'SHUTDOWN_STATE'),
            None, None]
        status = self.feed(tick(), tick(), tick())
        self.assertEqual(status, 0)
        self.assertLogged('cannot check the configuration yet: supervisord unreachable')
        self.assertLogged('retrying on the next event')
        # start, tick 1 and tick 2 validate; ticks 2 and 3 poll restarts
        self.assertEqual(self.rpc.methods().count('unicorn.getAllHotRestartInfo'), 5)
        self.assertEqual(self.probe.urls(), [WEB, WEB])  # not before validated
        self.assertEqual(self.stdout.getvalue(), protocol_for(3))

    def test_a_name_found_unconfigured_on_a_later_event_is_acked_then_exits_2(self):
        rpc = self.makeRPC()
        rpc.add('worker', hot=False)
        self.makeOne(checks={'worker': API}, rpc=rpc)
        rpc.errors['unicorn.getAllHotRestartInfo'] = [OSError('no socket'), None]
        status = self.feed(tick(), tick())
        self.assertEqual(status, 2)
        self.assertEqual(self.stdout.getvalue(), 'READY\nRESULT 2\nOK')
        self.assertLogged('--check worker: not configured for hot restart')


# ---------------------------------------------------------------------------
# A --check NAME whose programs line cannot be used (issue 14 item 4)

BROKEN = ("BAD_CONFIG: programs line 2 ('api unicron /x.pid'): unknown SERVER"
          " 'unicron' (expected one of: gunicorn, rainbows, unicorn, unicorn_rails)")


class BrokenLineRPC(FakeRPC):
    """getHotRestartInfo of a name in ``broken`` answers that Fault, as
    supervisor_unicorn does for a program whose line cannot be used."""

    def __init__(self):
        super().__init__()
        self.broken = {}

    def unicorn_getHotRestartInfo(self, name):
        if name in self.broken:
            raise xmlrpc.client.Fault(232, self.broken[name])
        return super().unicorn_getHotRestartInfo(name)

    def unicorn_getAllHotRestartInfo(self):
        return [h for h in super().unicorn_getAllHotRestartInfo()
                if h['name'] not in self.broken]


class BrokenLineTests(WatcherTestBase):

    def makeRPC(self):
        rpc = BrokenLineRPC()
        rpc.add('web', pid=100)
        rpc.add('api', pid=200)
        return rpc

    def test_a_broken_line_at_start_is_said_and_the_others_are_watched(self):
        self.makeOne(checks={'web': WEB, 'api': API})
        self.rpc.broken['api'] = BROKEN
        status = self.feed(tick(), tick())
        self.assertEqual(status, 0)                  # not FATAL
        self.assertLogged(f'api cannot be hot restarted now ({BROKEN}); not probing'
                          ' or healing it until that is fixed (then supervisorctl'
                          ' reread and update); watching the others')
        self.assertEqual(len([l for l in self.log_lines() if 'unicron' in l]), 1)
        self.assertEqual(self.probe.urls(), [WEB, WEB])
        self.assertNotLogged('configured: none')

    def test_every_line_broken_keeps_the_listener_running(self):
        self.makeOne(checks={'web': WEB})
        self.rpc.broken['web'] = BROKEN.replace('api', 'web')
        status = self.feed(tick())
        self.assertEqual(status, 0)
        self.assertEqual(self.probe.calls, [])

    def test_a_line_broken_later_is_said_once_and_its_program_left_alone(self):
        self.makeOne(checks={'web': WEB, 'api': API})
        self.feed(tick())
        self.rpc.broken['api'] = BROKEN
        self.probe.answer[API] = SICK
        self.feed(tick(), tick(), tick(), tick(), running('api', 300))
        self.assertEqual(len([l for l in self.log_lines() if 'unicron' in l]), 1)
        self.assertEqual(self.probe.urls().count(API), 1)    # the first tick only
        self.assertNotIn('unicorn.hotRestart', self.rpc.methods())
        self.assertNotIn('supervisor.stopProcess', self.rpc.methods())

    def test_a_fixed_line_is_said_and_its_program_probed_again(self):
        self.makeOne(checks={'web': WEB, 'api': API})
        self.rpc.broken['api'] = BROKEN
        self.feed(tick())
        del self.rpc.broken['api']
        self.feed(tick())
        self.assertLogged('api can be hot restarted again; watching it')
        self.assertEqual(self.probe.urls(), [WEB, WEB, API])

    def test_a_name_removed_from_the_programs_line_later_is_said_not_fatal(self):
        self.makeOne(checks={'web': WEB, 'api': API})
        self.feed(tick())
        del self.rpc.hot['api']          # update: its line is gone, the program stays
        status = self.feed(tick())
        self.assertEqual(status, 0)
        self.assertLogged('api cannot be hot restarted now (BAD_NAME: api)')

    def test_a_name_on_no_line_at_start_still_exits_2(self):
        # decided from the Fault code: BAD_NAME is the listener's own mistake
        self.makeOne(checks={'web': WEB, 'api': API})
        del self.rpc.hot['api']
        self.assertEqual(self.feed(tick()), 2)
        self.assertLogged('--check api: not configured for hot restart')


# ---------------------------------------------------------------------------
# Probing and failure counting

class ProbeDecisionTests(WatcherTestBase):

    def test_a_tick_probes_each_running_checked_program_with_one_process_info_call(self):
        rpc = self.makeRPC()
        rpc.add('grp:api', pid=200)
        rpc.add('stopped', state='STOPPED', pid=0)
        rpc.add('other', pid=300)
        self.makeOne(checks={'web': WEB, 'grp:api': API,
                             'stopped': 'http://127.0.0.1:1/'}, rpc=rpc)
        self.feed(tick())
        self.assertEqual(self.probe.urls(), [WEB, API])
        self.assertEqual(rpc.methods().count('supervisor.getAllProcessInfo'), 1)
        self.assertEqual(rpc.methods().count('unicorn.getAllHotRestartInfo'), 2)

    def test_the_probe_gets_the_configured_timeout(self):
        self.makeOne(timeout=0.75)
        self.feed(tick())
        self.assertEqual(self.probe.calls, [(WEB, 0.75)])

    def test_healthy_probes_log_nothing(self):
        self.makeOne()
        self.feed(tick(), tick())
        self.assertEqual(len(self.log_lines()), 1)    # the start line

    def test_failures_below_the_threshold_are_counted_and_do_not_heal(self):
        self.makeOne(failures=3)
        self.probe.answer[WEB] = SICK
        self.feed(tick(), tick())
        self.assertLogged('web probe failed (1 of 3): HTTP 500')
        self.assertLogged('web probe failed (2 of 3): HTTP 500')
        self.assertNotIn('unicorn.hotRestart', self.rpc.methods())

    def test_a_good_probe_resets_the_failure_count(self):
        self.makeOne(failures=3)
        self.probe.answer[WEB] = SICK
        self.feed(tick(), tick())
        self.probe.answer[WEB] = OK
        self.feed(tick())
        self.assertLogged('web probe ok (HTTP 200) after 2 failed; failure count reset')
        self.probe.answer[WEB] = SICK
        self.feed(tick(), tick())
        self.assertNotIn('unicorn.hotRestart', self.rpc.methods())
        self.assertLogged('(2 of 3)')

    def test_a_new_master_pid_resets_the_failure_count(self):
        self.makeOne(failures=3)
        self.probe.answer[WEB] = SICK
        self.feed(tick(), tick())
        self.rpc.procs['web']['pid'] = 555      # e.g. autorestarted after a crash
        self.feed(tick())
        self.assertLogged('web master pid changed (100 -> 555); failure count reset')
        self.assertNotIn('unicorn.hotRestart', self.rpc.methods())
        self.assertLogged('web probe failed (1 of 3)')

    def test_a_probe_that_raises_counts_as_a_failure(self):
        self.makeOne()
        self.probe.answer[WEB] = ValueError('bad')
        self.feed(tick())
        self.assertLogged("web probe failed (1 of 3): probe error ValueError('bad')")
        self.assertEqual(self.stdout.getvalue(), protocol_for(1))

    def test_running_event_for_a_checked_program_probes_it_right_away(self):
        self.makeOne()
        self.feed(running('web', 100))
        self.assertEqual(self.probe.urls(), [WEB])
        self.assertNotIn('supervisor.getAllProcessInfo', self.rpc.methods())
        self.assertLogged('web probe after start (pid 100) ok (HTTP 200)')

    def test_running_event_uses_group_colon_name_unless_they_are_equal(self):
        rpc = self.makeRPC()
        rpc.add('grp:api', pid=200)
        self.makeOne(checks={'web': WEB, 'grp:api': API}, rpc=rpc)
        self.feed(running('grp:api', 200), running('web', 100))
        self.assertEqual(self.probe.urls(), [API, WEB])

    def test_running_event_for_an_unchecked_program_is_ignored(self):
        self.makeOne()
        self.feed(running('other', 300), running('grp:web', 301))
        self.assertEqual(self.probe.calls, [])

    def test_a_changed_restarts_counter_means_a_hot_restart_and_probes_it(self):
        self.makeOne(failures=3)
        self.probe.answer[WEB] = SICK
        self.feed(tick(), tick())
        # someone ran `supervisorctl hot_restart web` (or kill -USR2)
        self.rpc.hot['web']['restarts'] = 1
        self.rpc.procs['web']['pid'] = 777
        self.probe.answer[WEB] = OK
        self.feed(tick())
        self.assertLogged('web probe after hot restart (pid 100 -> 777) ok (HTTP 200)')
        self.assertNotLogged('failure count reset')   # the restart line says it all
        self.probe.answer[WEB] = SICK
        self.feed(tick())
        self.assertLogged('web probe failed (1 of 3)')

    def test_a_hot_restart_that_leaves_the_app_sick_is_reported_by_the_next_probe(self):
        self.makeOne()
        self.feed(tick())
        self.rpc.hot['web']['restarts'] = 3
        self.probe.answer[WEB] = SICK
        self.feed(tick())
        self.assertLogged('web probe after hot restart (pid 100 -> 100) failed (1 of 3): HTTP 500')

    def test_a_hot_restart_before_any_pid_was_seen_names_the_new_pid_only(self):
        self.makeOne()
        self.feed()
        self.rpc.hot['web']['restarts'] = 1
        self.feed(tick())
        self.assertLogged('web probe after hot restart (pid 100) ok (HTTP 200)')

    def test_a_smaller_restarts_counter_is_a_new_supervisord_not_a_hot_restart(self):
        self.makeOne()
        self.feed(tick())
        self.rpc.hot['web']['restarts'] = 4
        self.feed(tick())
        self.assertLogged('web probe after hot restart (pid 100 -> 100) ok')
        self.rpc.hot['web']['restarts'] = 0       # supervisorctl reload
        self.feed(tick())
        self.assertEqual(sum('after hot restart' in l for l in self.log_lines()), 1)

    def test_a_program_supervisord_no_longer_knows_is_logged_once(self):
        self.makeOne()
        del self.rpc.procs['web']
        self.feed(tick(), tick(), tick())
        self.assertEqual(
            sum('web is not a process supervisord knows' in l for l in self.log_lines()), 1)
        self.assertEqual(self.probe.calls, [])


# ---------------------------------------------------------------------------
# Healing

class HealTests(WatcherTestBase):

    def sicken(self, n_ticks, **options):
        self.makeOne(**options)
        self.probe.answer[WEB] = SICK
        return self.feed(*[tick() for _ in range(n_ticks)])

    def heal_calls(self):
        return [c for c in self.rpc.calls
                if c[0] in ('unicorn.hotRestart', 'supervisor.stopProcess',
                            'supervisor.startProcess')]

    def test_the_nth_failure_starts_a_hot_restart_without_waiting_for_it(self):
        self.sicken(3, failures=3)
        self.assertEqual(self.rpc.called('unicorn.hotRestart'),
                         [('unicorn.hotRestart', ('web', False))])
        self.assertLogged('web probe failed (3 in a row): HTTP 500; hot restarting web'
                          ' (pid 100); if still sick, next attempt 60s after it')
        # nothing is claimed before it is over, nor probed meanwhile
        self.assertNotLogged('hot restarted')
        self.assertNotLogged('healed')
        self.assertEqual(len(self.probe.calls), 3)
        self.assertEqual(self.stdout.getvalue(), protocol_for(3))
        self.assertNotIn('supervisor.stopProcess', self.rpc.methods())

    def test_the_next_tick_finds_it_done_logs_it_and_probes_the_new_master(self):
        self.sicken(1, failures=1)
        self.probe.answer[WEB] = OK
        self.feed(tick())
        self.assertLogged('hot restarted web (pid 100 -> 200 in 1.8s)')
        self.assertEqual(self.probe.urls(), [WEB, WEB])
        self.assertLogged('web probe after hot restart (pid 100 -> 200) ok (HTTP 200);'
                          ' web is healthy again')
        # the counter moved because of us: the next tick does not report it again
        self.feed(tick())
        self.assertEqual(sum('after hot restart' in l for l in self.log_lines()), 1)
        self.assertEqual(sum('healthy again' in l for l in self.log_lines()), 1)
        self.assertNotLogged('healed')

    def test_a_hot_restart_in_progress_is_followed_on_each_tick_without_probing(self):
        self.rpc = self.makeRPC()
        self.rpc.hot_reads = 3
        self.makeOne(rpc=self.rpc, failures=1)
        self.probe.answer[WEB] = SICK
        self.feed(tick())
        for _ in range(3):
            self.clock.advance(5)
            self.feed(tick())
            self.assertNotLogged('hot restarted')
        self.assertEqual(len(self.probe.calls), 1)
        self.assertNotLogged('backing off')           # it was not probed at all
        self.clock.advance(5)
        self.probe.answer[WEB] = OK
        self.feed(tick())
        self.assertLogged('hot restarted web (pid 100 -> 200 in 1.8s)')
        self.assertEqual(len(self.probe.calls), 2)
        self.assertEqual(len(self.rpc.called('unicorn.hotRestart')), 1)

    def test_a_sick_program_with_a_standby_is_rolled_back_not_hot_restarted(self):
        self.makeOne(failures=1)
        self.rpc.stand_by('web', 200)
        self.probe.answer[WEB] = SICK
        self.feed(tick())
        self.assertEqual(self.rpc.called('unicorn.rollback'),
                         [('unicorn.rollback', ('web', False))])
        self.assertNotIn('unicorn.hotRestart', self.rpc.methods())
        self.assertLogged('web probe failed (1 in a row): HTTP 500; web has the previous'
                          ' generation on standby (master pid 100); rolling back to it'
                          ' instead of a hot restart')
        self.clock.advance(5)
        self.probe.answer[WEB] = OK
        self.feed(tick())
        self.assertLogged('rolled back web (pid 200 -> 100 in 0.2s)')
        self.assertLogged('web probe after rollback (pid 200 -> 100) ok (HTTP 200)')
        self.assertNotIn('supervisor.stopProcess', self.rpc.methods())

    def test_a_refused_rollback_leaves_the_next_heal_to_a_hot_restart(self):
        self.makeOne(failures=1)
        self.rpc.stand_by('web', 200)
        self.rpc.errors['unicorn.rollback'] = xmlrpc.client.Fault(
            233, 'NO_STANDBY: web has no standby to roll back to')
        self.probe.answer[WEB] = SICK
        self.feed(tick())
        self.assertLogged('web rollback refused: NO_STANDBY: web has no standby to roll'
                          ' back to; the next heal attempt hot restarts it')
        self.assertNotIn('supervisor.stopProcess', self.rpc.methods())

    def test_a_process_state_event_of_the_program_also_looks_at_its_hot_restart(self):
        self.sicken(1, failures=1)
        self.probe.answer[WEB] = OK
        before = len(self.rpc.calls)
        self.feed(event('PROCESS_STATE_BACKOFF',
                        'processname:web groupname:web from_state:STARTING tries:1'))
        self.assertEqual(self.rpc.methods()[before:], ['unicorn.getHotRestartInfo'])
        self.assertLogged('hot restarted web (pid 100 -> 200 in 1.8s)')

    def test_a_failure_right_after_our_hot_restart_counts_no_grace(self):
        self.sicken(2, failures=2)
        self.feed(tick())                         # done; the new master is sick too
        self.assertLogged('web probe after hot restart (pid 100 -> 200) failed (1 of 2): HTTP 500')
        self.assertNotLogged('still starting')

    def test_a_hot_restart_that_ends_within_the_call_is_logged_and_probed_at_once(self):
        self.rpc = self.makeRPC()
        self.rpc.hot_immediate = True
        self.makeOne(rpc=self.rpc, failures=1)
        self.probe.answer[WEB] = SICK
        self.feed(tick())
        self.assertLogged('hot restarted web (pid 100 -> 200 in 0.9s)')
        self.assertEqual(len(self.probe.calls), 2)
        self.assertLogged('web probe after hot restart (pid 100 -> 200) failed (1 in a row):'
                          ' HTTP 500; backing off, next heal attempt in 60s')
        self.feed(tick())        # our restart: not reported a second time
        self.assertEqual(sum('after hot restart' in l for l in self.log_lines()), 1)

    def test_a_hot_restart_already_in_progress_is_waited_for(self):
        self.makeOne(failures=1)
        self.rpc.hot['web']['phase'] = 'waiting'
        self.probe.answer[WEB] = SICK
        self.feed(tick())
        self.assertNotIn('unicorn.hotRestart', self.rpc.methods())
        self.assertNotIn('supervisor.stopProcess', self.rpc.methods())
        self.assertLogged('a hot restart is already in progress (waiting), waiting for it')
        # waiting is not an attempt: once idle, the next failure heals at once
        self.rpc.hot['web']['phase'] = 'idle'
        self.feed(tick())
        self.assertEqual(len(self.rpc.called('unicorn.hotRestart')), 1)

    def test_one_started_by_someone_else_just_before_ours_is_not_fallen_back_from(self):
        self.makeOne(failures=1)
        self.rpc.errors['unicorn.hotRestart'] = xmlrpc.client.Fault(
            230, 'IN_PROGRESS: a hot restart of web is already in progress (booting)')
        self.probe.answer[WEB] = SICK
        self.feed(tick())
        self.assertLogged('web hot restart refused: IN_PROGRESS: a hot restart of web is'
                          ' already in progress (booting); waiting for that one')
        self.assertNotIn('supervisor.stopProcess', self.rpc.methods())

    def test_a_faulting_hot_restart_falls_back_to_stop_then_start_at_once(self):
        self.makeOne(failures=1)
        self.rpc.errors['unicorn.hotRestart'] = hot_fault(
            231, 'UNSUPPORTED: supervisord is not a child subreaper', 'UNSUPPORTED', True)
        self.probe.answer[WEB] = SICK
        self.feed(tick())
        self.assertEqual(self.heal_calls(), [('unicorn.hotRestart', ('web', False)),
                                             ('supervisor.stopProcess', ('web', False)),
                                             ('supervisor.startProcess', ('web', False))])
        self.assertLogged('web hot restart failed (UNSUPPORTED: supervisord is not a'
                          ' child subreaper); falling back to stop/start')
        self.assertLogged('web stop/start: pid 100 stopped in 0.0s; start requested')
        self.assertNotLogged('healed')

    def test_a_hot_restart_that_ends_failed_on_a_hung_master_falls_back_to_stop_start(self):
        self.rpc = self.makeRPC()
        self.rpc.hot_failure = ('master pid 100 did not re-exec within boot_timeout (2s);'
                                ' it may be hung')
        self.makeOne(rpc=self.rpc, failures=1)
        self.probe.answer[WEB] = SICK
        self.feed(tick())
        self.assertNotIn('supervisor.stopProcess', self.rpc.methods())
        self.feed(tick())
        self.assertLogged('web hot restart failed (master pid 100 did not re-exec within'
                          ' boot_timeout (2s); it may be hung); falling back to stop/start')
        self.assertEqual(self.heal_calls()[1:], [('supervisor.stopProcess', ('web', False)),
                                                 ('supervisor.startProcess', ('web', False))])
        self.assertNotLogged('hot restarted')

    def test_a_hot_restart_that_ends_failed_with_the_old_master_serving_backs_off(self):
        # issue 10 item 5: a stop/start would load the same broken code
        self.rpc = self.makeRPC()
        self.rpc.hot_failure = 'new master failed to boot (pid 201 exited); pid 100 still serving'
        self.rpc.hot_failure_data = ('BOOT_FAILED', True)
        self.makeOne(rpc=self.rpc, failures=1, backoff=60)
        self.probe.answer[WEB] = SICK
        self.feed(tick())
        self.clock.advance(5)
        self.feed(tick())
        reason = ('web hot restart failed (new master failed to boot (pid 201 exited); pid 100'
                  ' still serving); not stop/starting: the old master still serves and a cold'
                  ' start would load the same code; backing off, next heal attempt in 60s;'
                  ' failed probes not logged until then')
        self.assertEqual(self.log_lines()[-1], 'unicorn_watch: ' + reason)
        lines = len(self.log_lines())
        for _ in range(11):                   # the window: sick, silent, untouched
            self.clock.advance(5)
            self.feed(tick())
        self.assertEqual([l for l in self.log_lines()[lines:] if 'watching' not in l], [])
        self.assertEqual(len(self.probe.calls), 12)
        self.assertEqual(self.heal_calls(), [('unicorn.hotRestart', ('web', False))])
        # the window over, it tries a hot restart again (a deploy may have fixed it)
        self.clock.advance(5)
        self.feed(tick())
        self.assertLogged('web probe failed (12 in a row): HTTP 500; back-off over; hot'
                          ' restarting web (pid 100); if still sick, next attempt 120s after it')
        self.assertEqual(self.heal_calls(), [('unicorn.hotRestart', ('web', False))] * 2)
        self.assertNotIn('supervisor.stopProcess', self.rpc.methods())
        self.assertNotIn('supervisor.startProcess', self.rpc.methods())
        self.assertEqual(sum(reason in l for l in self.log_lines()), 1)

    def test_a_hot_restart_fault_saying_still_serving_backs_off_at_once(self):
        self.makeOne(failures=1)
        self.rpc.errors['unicorn.hotRestart'] = hot_fault(
            Faults.FAILED, 'FAILED: new master failed to boot; pid 100 still serving',
            'BOOT_FAILED', True)
        self.probe.answer[WEB] = SICK
        self.feed(tick())
        self.assertLogged('web hot restart failed (FAILED: new master failed to boot; pid 100'
                          ' still serving); not stop/starting')
        self.assertEqual(self.heal_calls(), [('unicorn.hotRestart', ('web', False))])

    def test_a_hot_restart_that_failed_because_the_program_was_stopped_is_left(self):
        self.rpc = self.makeRPC()
        self.rpc.hot_failure = 'web was stopped during the hot restart'
        self.rpc.hot_failure_data = ('STOPPED', False)
        self.makeOne(rpc=self.rpc, failures=1)
        self.probe.answer[WEB] = SICK
        self.feed(tick())
        self.rpc.procs['web'].update(statename='STOPPED', pid=0)   # supervisorctl stop web
        self.feed(event('PROCESS_STATE_STOPPED',
                        'processname:web groupname:web from_state:STOPPING pid:100'))
        self.assertLogged('not stop/starting web: it is STOPPED')
        self.assertNotIn('supervisor.stopProcess', self.rpc.methods())
        self.assertNotIn('supervisor.startProcess', self.rpc.methods())

    def test_the_start_waits_for_an_event_that_finds_the_program_stopped(self):
        self.rpc = self.makeRPC()
        self.rpc.stop_reads = 2
        self.makeOne(rpc=self.rpc, failures=1)
        self.rpc.errors['unicorn.hotRestart'] = hot_fault(Faults.FAILED, 'FAILED', 'NO_REEXEC', False)
        self.probe.answer[WEB] = SICK
        self.feed(tick())                      # stop requested, still STOPPING: acked
        self.assertEqual(self.stdout.getvalue(), protocol_for(1))
        self.assertNotIn('supervisor.startProcess', self.rpc.methods())
        self.clock.advance(0.3)
        self.feed(event('PROCESS_STATE_STOPPING',
                        'processname:web groupname:web from_state:RUNNING pid:100'))
        self.assertNotIn('supervisor.startProcess', self.rpc.methods())
        self.clock.advance(0.1)
        self.feed(event('PROCESS_STATE_STOPPED',
                        'processname:web groupname:web from_state:STOPPING pid:100'))
        self.assertEqual(self.rpc.called('supervisor.startProcess'),
                         [('supervisor.startProcess', ('web', False))])
        self.assertLogged('web stop/start: pid 100 stopped in 0.4s; start requested')
        methods = self.rpc.methods()
        stop, start = (methods.index('supervisor.stopProcess'),
                       methods.index('supervisor.startProcess'))
        self.assertEqual(methods[stop + 1:start], ['supervisor.getProcessInfo'] * 3)

    def test_a_tick_carries_the_stop_on_too(self):
        self.rpc = self.makeRPC()
        self.rpc.stop_reads = 1
        self.makeOne(rpc=self.rpc, failures=1)
        self.rpc.errors['unicorn.hotRestart'] = hot_fault(Faults.FAILED, 'FAILED', 'NO_REEXEC', False)
        self.probe.answer[WEB] = SICK
        self.feed(tick())
        self.clock.advance(5)
        self.feed(tick())
        self.assertLogged('web stop/start: pid 100 stopped in 5.0s; start requested')
        self.assertEqual(len(self.probe.calls), 1)      # not probed meanwhile

    def test_a_stop_that_never_completes_is_given_up_after_60s_without_start(self):
        self.rpc = self.makeRPC()
        self.rpc.stop_reads = 10 ** 6
        self.makeOne(rpc=self.rpc, failures=1)
        self.rpc.errors['unicorn.hotRestart'] = hot_fault(Faults.FAILED, 'FAILED', 'NO_REEXEC', False)
        self.probe.answer[WEB] = SICK
        self.feed(tick())
        for _ in range(11):
            self.clock.advance(5)
            self.feed(tick())
        self.assertNotLogged('still STOPPING')
        self.clock.advance(5)
        self.feed(tick())
        self.assertLogged('web still STOPPING 60s after stopProcess; not starting it')
        self.assertNotIn('supervisor.startProcess', self.rpc.methods())
        self.assertEqual(self.stdout.getvalue(), protocol_for(1) * 13)

    def test_a_program_started_by_someone_else_during_the_stop_is_not_started(self):
        self.rpc = self.makeRPC()
        self.rpc.stop_reads = 10 ** 6
        self.makeOne(rpc=self.rpc, failures=1)
        self.rpc.errors['unicorn.hotRestart'] = hot_fault(Faults.FAILED, 'FAILED', 'NO_REEXEC', False)
        self.probe.answer[WEB] = SICK
        self.feed(tick())
        self.rpc.procs['web'].update(statename='STARTING', pid=0)
        self.feed(event('PROCESS_STATE_STARTING',
                        'processname:web groupname:web from_state:STOPPED tries:0'))
        self.assertLogged('web was started by someone else meanwhile (STARTING); not starting it')
        self.assertNotIn('supervisor.startProcess', self.rpc.methods())

    def test_a_running_program_without_live_master_is_stop_started_not_hot_restarted(self):
        self.makeOne(failures=1)
        self.probe.answer[WEB] = SICK
        self.feed()
        self.rpc.procs['web']['pid'] = 0
        self.feed(tick())
        self.assertNotIn('unicorn.hotRestart', self.rpc.methods())
        self.assertLogged('web has no live master (RUNNING, pid 0); stop/start instead;'
                          ' if still sick, next attempt 60s after it')
        self.assertEqual(self.heal_calls(), [('supervisor.stopProcess', ('web', False)),
                                             ('supervisor.startProcess', ('web', False))])

    def test_an_exited_program_is_started_directly(self):
        self.makeOne(failures=1, grace=0)
        self.probe.answer[WEB] = SICK
        # probed on its RUNNING event, but it has died since
        self.rpc.procs['web'].update(statename='EXITED', pid=0)
        self.feed(running('web', 100))
        self.assertLogged('web has no live master (EXITED, pid 0)')
        self.assertNotIn('unicorn.hotRestart', self.rpc.methods())
        self.assertEqual(self.rpc.called('supervisor.startProcess'),
                         [('supervisor.startProcess', ('web', False))])
        self.assertLogged('web stop/start: it was not running; start requested')

    def test_a_program_stopped_by_hand_meanwhile_is_left_alone(self):
        self.makeOne(failures=1, grace=0)
        self.probe.answer[WEB] = SICK
        self.rpc.procs['web'].update(statename='STOPPED', pid=0)
        self.feed(running('web', 100))
        self.assertLogged('not healing web: it is STOPPED')
        self.assertFalse({'unicorn.hotRestart', 'supervisor.stopProcess',
                          'supervisor.startProcess'} & set(self.rpc.methods()))

    def test_a_shutting_down_supervisord_gets_no_stop_start(self):
        self.makeOne(failures=1)
        self.rpc.errors['unicorn.hotRestart'] = xmlrpc.client.Fault(
            Faults.SHUTDOWN_STATE, 'SHUTDOWN_STATE')
        self.probe.answer[WEB] = SICK
        self.feed(tick())
        self.assertNotIn('supervisor.stopProcess', self.rpc.methods())
        self.assertLogged('not stop/starting during shutdown')

    def test_a_start_fault_is_logged(self):
        self.makeOne(failures=1)
        self.rpc.errors['unicorn.hotRestart'] = hot_fault(Faults.FAILED, 'FAILED', 'NO_REEXEC', False)
        self.rpc.errors['supervisor.startProcess'] = xmlrpc.client.Fault(
            Faults.SPAWN_ERROR, 'SPAWN_ERROR: web')
        self.probe.answer[WEB] = SICK
        status = self.feed(tick())
        self.assertEqual(status, 0)
        self.assertLogged('web startProcess failed (SPAWN_ERROR: web)')
        self.assertNotLogged('start requested')

    def test_after_the_fallback_the_started_program_gets_its_grace_then_healthy_again(self):
        self.makeOne(failures=1)
        self.rpc.errors['unicorn.hotRestart'] = hot_fault(Faults.FAILED, 'FAILED', 'NO_REEXEC', False)
        self.probe.answer[WEB] = SICK
        self.feed(tick())
        self.rpc.run('web', 300)
        self.probe.answer[WEB] = (False, 'connection refused')
        self.feed(running('web', 300))          # still loading
        self.assertLogged('web still starting')
        self.probe.answer[WEB] = OK
        self.clock.advance(5)
        self.feed(tick())
        self.assertLogged('web probe after start (pid 300) ok (HTTP 200); web is healthy again')
        self.assertEqual(len(self.heal_calls()), 3)

    def test_a_hot_restart_that_ended_unseen_is_dropped_and_probing_resumes(self):
        self.rpc = self.makeRPC()
        self.rpc.hot_reads = 10 ** 6
        self.makeOne(rpc=self.rpc, failures=1)
        self.probe.answer[WEB] = SICK
        self.feed(tick())
        # supervisord was restarted: a new core knows no hot restart
        self.rpc._hot_left.clear()
        self.rpc.hot['web'].update(phase='idle', restarts=0, last_result='')
        self.probe.answer[WEB] = OK
        self.clock.advance(5)
        self.feed(tick())
        self.assertLogged("web hot restart ended unseen (last result 'none', restarts 0);"
                          ' probing it again')
        self.clock.advance(5)
        self.feed(tick())
        self.assertEqual(len(self.probe.calls), 2)
        self.assertLogged('web probe ok (HTTP 200); web is healthy again')

    def test_a_hot_restart_that_never_ends_is_no_longer_followed_after_a_bound(self):
        self.rpc = self.makeRPC()
        self.rpc.hot_reads = 10 ** 6
        self.makeOne(rpc=self.rpc, failures=1)
        self.rpc.hot['web']['boot_timeout'] = 30
        self.probe.answer[WEB] = SICK
        self.feed(tick())
        self.clock.advance(149)
        self.feed(tick())
        self.assertNotLogged('no longer following')
        self.clock.advance(1)
        self.feed(tick())
        self.assertLogged('web hot restart still booting after 150s; no longer following it')

    def test_no_call_ever_waits(self):
        self.rpc = self.makeRPC()
        self.rpc.stop_reads = 1
        self.makeOne(rpc=self.rpc, failures=1, backoff=5, max_backoff=5)
        self.probe.answer[WEB] = SICK
        for _ in range(3):
            self.feed(tick())
            self.clock.advance(5)
        self.rpc.hot_failure = 'master pid 200 did not re-exec within boot_timeout (60s)'
        for _ in range(6):
            self.feed(tick())
            self.clock.advance(5)
        self.assertIn('unicorn.hotRestart', self.rpc.methods())
        self.assertIn('supervisor.startProcess', self.rpc.methods())
        self.assertTrue(self.rpc.waits())
        self.assertEqual(set(self.rpc.waits()), {False})


class BackoffTests(WatcherTestBase):
    """With the fakes, a hot restart is found over on the tick after it was
    started; the back-off window counts from then."""

    def test_a_program_that_stays_sick_is_not_healed_again_before_the_backoff(self):
        self.makeOne(failures=1, backoff=60, max_backoff=960)
        self.probe.answer[WEB] = SICK
        self.feed(tick())                       # t=0: hot restart started
        self.clock.advance(5)
        self.feed(tick())                       # t=5: over, still sick
        self.assertLogged('failed (1 in a row): HTTP 500; backing off, next heal attempt in 60s')
        for _ in range(11):                     # up to t=60
            self.clock.advance(5)
            self.feed(tick())
        self.assertEqual(len(self.rpc.called('unicorn.hotRestart')), 1)
        # said when it began, not on every tick
        self.assertEqual(sum('backing off' in l for l in self.log_lines()), 1)
        self.assertNotLogged('failed (2 in a row)')
        self.clock.advance(5)
        self.feed(tick())                       # t=65
        self.assertEqual(len(self.rpc.called('unicorn.hotRestart')), 2)
        self.assertLogged('web probe failed (13 in a row): HTTP 500; back-off over; hot'
                          ' restarting web (pid 200)')

    def test_the_backoff_counts_from_the_end_of_a_long_hot_restart(self):
        self.rpc = self.makeRPC()
        self.rpc.hot_reads = 5                  # over on the 6th tick: 30 s
        self.makeOne(rpc=self.rpc, failures=1, backoff=60)
        self.probe.answer[WEB] = SICK
        times = []
        for _ in range(40):
            before = len(self.rpc.called('unicorn.hotRestart'))
            self.feed(tick())
            if len(self.rpc.called('unicorn.hotRestart')) > before:
                times.append(self.clock.now())
            self.clock.advance(5)
        self.assertEqual(times[1] - times[0], 30 + 60)

    def test_the_backoff_doubles_while_sick_and_is_capped(self):
        self.makeOne(failures=1, backoff=60, max_backoff=200)
        self.probe.answer[WEB] = SICK
        times = []
        for _ in range(250):
            before = len(self.rpc.called('unicorn.hotRestart'))
            self.feed(tick())
            if len(self.rpc.called('unicorn.hotRestart')) > before:
                times.append(self.clock.now())
            self.clock.advance(5)
        gaps = [b - a for a, b in zip(times, times[1:])]
        # each gap: the 5 s the hot restart took, then the window
        self.assertEqual(gaps[:4], [65, 125, 205, 205])
        self.assertLogged('next attempt 120s after it')
        self.assertLogged('next attempt 200s after it')

    def test_a_good_probe_brings_the_backoff_back_to_its_base(self):
        self.makeOne(failures=1, backoff=60, max_backoff=960)
        self.probe.answer[WEB] = SICK
        self.feed(tick())                      # heal 1, window 60
        self.clock.advance(5)
        self.feed(tick())                      # over, still sick
        self.clock.advance(60)
        self.feed(tick())                      # heal 2, window 120
        self.probe.answer[WEB] = OK
        self.clock.advance(5)
        self.feed(tick())                      # over, healthy again
        self.assertLogged('web is healthy again')
        self.probe.answer[WEB] = SICK
        self.clock.advance(120)
        self.feed(tick())                      # heal 3: window back to 60
        self.assertEqual(len(self.rpc.called('unicorn.hotRestart')), 3)
        self.assertIn('next attempt 60s after it',
                      [l for l in self.log_lines() if 'hot restarting' in l][-1])

    def test_a_failed_heal_attempt_also_backs_off(self):
        self.makeOne(failures=1, backoff=60)
        self.rpc.errors['unicorn.hotRestart'] = hot_fault(Faults.FAILED, 'FAILED', 'NO_REEXEC', False)
        self.rpc.errors['supervisor.stopProcess'] = ConnectionResetError(104, 'reset')
        self.probe.answer[WEB] = SICK
        self.feed(tick())
        self.clock.advance(5)
        self.feed(tick())
        self.assertEqual(len(self.rpc.called('unicorn.hotRestart')), 1)
        self.assertLogged('web stopProcess not done: supervisord unreachable')
        self.assertLogged('backing off, next heal attempt in 55s')


# ---------------------------------------------------------------------------
# The start grace

class GraceTests(WatcherTestBase):

    def test_failures_after_a_start_are_not_counted_and_said_once(self):
        self.makeOne(failures=1)
        self.probe.answer[WEB] = (False, 'connection refused')
        self.feed(running('web', 100))
        for _ in range(10):                    # 50 s of ticks, still loading
            self.clock.advance(5)
            self.feed(tick())
        self.assertNotIn('unicorn.hotRestart', self.rpc.methods())
        self.assertEqual(len(self.probe.calls), 11)
        lines = [l for l in self.log_lines() if 'still starting' in l]
        self.assertEqual(lines, ['unicorn_watch: web probe after start (pid 100) failed:'
                                 ' connection refused; web still starting: probe failures'
                                 ' not counted for up to 60s'])
        self.probe.answer[WEB] = OK
        self.clock.advance(5)
        self.feed(tick())
        self.assertLogged('web probe after start (pid 100) ok (HTTP 200)')
        self.assertNotLogged('healthy again')      # it never was sick
        # the grace is over with the first good probe: failures count again
        self.probe.answer[WEB] = SICK
        self.clock.advance(5)
        self.feed(tick())
        self.assertEqual(len(self.rpc.called('unicorn.hotRestart')), 1)

    def test_failures_count_again_once_the_grace_has_passed(self):
        self.makeOne(failures=2, grace=20)
        self.probe.answer[WEB] = SICK
        self.feed(running('web', 100))
        for _ in range(3):
            self.clock.advance(5)
            self.feed(tick())
        self.assertNotLogged('of 2')
        self.clock.advance(5)
        self.feed(tick())                      # 20 s after RUNNING
        self.assertLogged('web probe failed (1 of 2): HTTP 500 (still failing 20s after'
                          ' start: now counted)')
        self.clock.advance(5)
        self.feed(tick())
        self.assertLogged('web probe failed (2 in a row): HTTP 500; hot restarting web')

    def test_a_grace_of_0_counts_failures_at_once(self):
        self.makeOne(failures=1, grace=0)
        self.probe.answer[WEB] = SICK
        self.feed(running('web', 100))
        self.assertLogged('web probe after start (pid 100) failed (1 in a row): HTTP 500;'
                          ' hot restarting web')
        self.assertNotLogged('still starting')

    def test_each_start_opens_a_new_grace(self):
        self.makeOne(failures=1)
        self.feed(running('web', 100))
        self.rpc.run('web', 150)                 # crashed, autorestarted
        self.probe.answer[WEB] = SICK
        self.clock.advance(300)
        self.feed(running('web', 150))
        self.assertLogged('web probe after start (pid 150) failed: HTTP 500; web still'
                          ' starting: probe failures not counted for up to 60s')
        self.assertNotIn('unicorn.hotRestart', self.rpc.methods())

    def test_a_hot_restart_by_someone_else_ends_the_grace(self):
        self.makeOne(failures=1)
        self.probe.answer[WEB] = SICK
        self.feed(running('web', 100))
        self.rpc.hot['web']['restarts'] = 1
        self.rpc.run('web', 777)
        self.clock.advance(5)
        self.feed(tick())
        self.assertLogged('web probe after hot restart (pid 100 -> 777) failed (1 in a row)')

    def test_a_program_of_unknown_age_seen_by_a_tick_gets_no_grace(self):
        self.makeOne(failures=1)
        self.probe.answer[WEB] = SICK
        self.feed(tick())
        self.assertEqual(len(self.rpc.called('unicorn.hotRestart')), 1)

    def test_a_long_running_program_seen_first_by_a_tick_gets_no_grace(self):
        # the listener (re)started while web was already serving
        self.makeOne(failures=1)
        self.rpc.procs['web'].update(start=1700000000, now=1700000600)
        self.probe.answer[WEB] = SICK
        self.feed(tick())
        self.assertEqual(len(self.rpc.called('unicorn.hotRestart')), 1)

    def test_a_tick_that_comes_before_the_running_event_opens_the_grace(self):
        # supervisord queued a TICK while web was STARTING and delivered it
        # after web became RUNNING, before web's RUNNING event
        self.makeOne(failures=1)
        self.rpc.procs['web'].update(start=1700000000, now=1700000003)
        self.probe.answer[WEB] = (False, 'connection refused')
        self.feed(tick())
        self.assertNotIn('unicorn.hotRestart', self.rpc.methods())
        self.assertLogged('web probe after start (pid 100) failed: connection refused;'
                          ' web still starting: probe failures not counted for up to 57s')
        # the RUNNING event of that same start adds nothing
        self.clock.advance(1)
        self.feed(running('web', 100))
        self.assertEqual(len(self.probe.calls), 1)
        self.assertEqual(sum('still starting' in l for l in self.log_lines()), 1)
        # and the grace still ends 60 s after the start
        self.clock.advance(55)
        self.feed(tick())
        self.assertNotIn('unicorn.hotRestart', self.rpc.methods())
        self.clock.advance(1)
        self.feed(tick())
        self.assertLogged('web probe failed (1 in a row): connection refused (still failing'
                          ' 60s after start: now counted); hot restarting web')

    def test_a_pid_seen_by_a_tick_after_our_hot_restart_is_not_a_start(self):
        self.makeOne(failures=2)
        self.rpc.procs['web'].update(start=1700000000, now=1700000003)
        self.probe.answer[WEB] = SICK
        self.feed(tick(), tick())       # grace: not counted... until it ends
        self.clock.advance(60)
        self.feed(tick(), tick())       # counted: hot restart
        self.feed(tick())               # over: probe of pid 200 counts at once
        self.assertLogged('web probe after hot restart (pid 100 -> 200) failed (1 of 2)')
        self.feed(tick())
        self.assertLogged('web probe failed (2 in a row): HTTP 500; backing off')
        self.assertEqual(sum('still starting' in l for l in self.log_lines()), 1)


# ---------------------------------------------------------------------------
# XML-RPC trouble

class RPCErrorTests(WatcherTestBase):

    def test_connection_errors_on_a_tick_are_logged_and_the_listener_goes_on(self):
        self.makeOne()
        self.rpc.errors['supervisor.getAllProcessInfo'] = [
            ConnectionRefusedError(111, 'Connection refused'),
            FileNotFoundError(2, 'No such file or directory'),
            xmlrpc.client.ProtocolError('localhost/RPC2', 500, 'Internal Server Error', {}),
            None]
        status = self.feed(tick(), tick(), tick(), tick())
        self.assertEqual(status, 0)
        self.assertEqual(self.stdout.getvalue(), protocol_for(4))
        self.assertLogged('tick skipped: supervisord unreachable (ConnectionRefusedError')
        self.assertLogged('tick skipped: supervisord answered HTTP 500 Internal Server Error')
        self.assertEqual(self.probe.urls(), [WEB])

    def test_a_transport_error_drops_the_persistent_connection(self):
        self.makeOne()
        self.rpc.errors['supervisor.getAllProcessInfo'] = [BrokenPipeError(32, 'Broken pipe'), None]
        self.feed(tick(), tick())
        self.assertEqual(self.rpc.closed, 1)

    def test_a_fault_keeps_the_connection(self):
        self.makeOne()
        self.rpc.errors['supervisor.getAllProcessInfo'] = [
            xmlrpc.client.Fault(Faults.SHUTDOWN_STATE, 'SHUTDOWN_STATE'), None]
        self.feed(tick(), tick())
        self.assertEqual(self.rpc.closed, 0)
        self.assertLogged('tick skipped: SHUTDOWN_STATE; going on')

    def test_a_failing_hot_restart_info_poll_does_not_stop_the_probes(self):
        self.makeOne()
        self.feed()
        self.rpc.errors['unicorn.getAllHotRestartInfo'] = xmlrpc.client.Fault(
            Faults.SHUTDOWN_STATE, 'SHUTDOWN_STATE')
        self.feed(tick())
        self.assertLogged('cannot poll hot restarts: SHUTDOWN_STATE')
        self.assertEqual(self.probe.urls(), [WEB])

    def test_an_unreachable_supervisord_during_hot_restart_means_no_stop_start(self):
        self.makeOne(failures=1)
        self.rpc.errors['unicorn.hotRestart'] = ConnectionResetError(104, 'Connection reset by peer')
        self.probe.answer[WEB] = SICK
        status = self.feed(tick(), tick())
        self.assertEqual(status, 0)
        self.assertLogged('web hot restart not done: supervisord unreachable')
        self.assertNotIn('supervisor.stopProcess', self.rpc.methods())
        self.assertEqual(self.stdout.getvalue(), protocol_for(2))

    def test_an_rpc_error_while_deciding_to_heal_is_logged_and_not_an_attempt(self):
        self.makeOne(failures=1)
        self.rpc.errors['unicorn.getHotRestartInfo'] = [OSError('socket gone'), None]
        self.probe.answer[WEB] = SICK
        self.feed(tick(), tick())
        self.assertLogged('cannot heal now: supervisord unreachable (OSError: socket gone)')
        self.assertEqual(len(self.rpc.called('unicorn.hotRestart')), 1)

    def test_an_rpc_error_while_following_the_stop_is_logged_and_asked_again_later(self):
        self.makeOne(failures=1)
        self.rpc.errors['unicorn.hotRestart'] = hot_fault(Faults.FAILED, 'FAILED', 'NO_REEXEC', False)
        self.rpc.errors['supervisor.getProcessInfo'] = [None, ConnectionRefusedError(111, 'x')]
        self.probe.answer[WEB] = SICK
        self.feed(tick())
        self.assertLogged('web stop not confirmed: supervisord unreachable')
        self.assertNotIn('supervisor.startProcess', self.rpc.methods())
        self.feed(event('PROCESS_STATE_STOPPED',
                        'processname:web groupname:web from_state:STOPPING pid:100'))
        self.assertEqual(self.rpc.called('supervisor.startProcess'),
                         [('supervisor.startProcess', ('web', False))])

    def test_an_rpc_error_while_following_a_hot_restart_is_logged_and_asked_again(self):
        self.makeOne(failures=1)
        self.probe.answer[WEB] = SICK
        self.feed(tick())
        self.rpc.errors['unicorn.getHotRestartInfo'] = OSError('socket gone')
        self.feed(event('PROCESS_STATE_STOPPING',
                        'processname:web groupname:web from_state:RUNNING pid:100'))
        self.assertLogged('cannot follow the hot restart of web: supervisord unreachable'
                          ' (OSError: socket gone); going on')
        # a tick whose getAllHotRestartInfo fails leaves it pending too
        self.rpc.errors['unicorn.getAllHotRestartInfo'] = [OSError('socket gone'), None]
        self.feed(tick())
        self.assertNotLogged('hot restarted')
        self.probe.answer[WEB] = OK
        self.feed(tick())
        self.assertLogged('hot restarted web (pid 100 -> 200 in 1.8s)')


# ---------------------------------------------------------------------------
# The real urllib probe, against a throwaway loopback server

class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == '/hang':
            self.server.release.wait(5)
            return
        if self.path == '/redirect':
            self.send_response(302)
            self.send_header('Location', '/ok')
            self.end_headers()
            return
        code = 200 if self.path == '/ok' else 500
        self.send_response(code)
        self.send_header('Content-Length', '2')
        self.end_headers()
        self.wfile.write(b'hi')

    def log_message(self, *args):
        pass


class HttpProbeTests(unittest.TestCase):

    def setUp(self):
        self.server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), _Handler)
        self.server.daemon_threads = True
        self.server.release = threading.Event()
        thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        thread.start()
        self.addCleanup(self.server.server_close)
        self.addCleanup(self.server.shutdown)
        self.addCleanup(self.server.release.set)
        self.base = f'http://127.0.0.1:{self.server.server_address[1]}'

    def probe(self, path, timeout=2.0):
        from supervisor_unicorn.listener.probe import http_probe
        return http_probe(self.base + path, timeout)

    def test_a_200_is_healthy(self):
        self.assertEqual(self.probe('/ok'), (True, 'HTTP 200'))

    def test_a_500_is_a_failure(self):
        self.assertEqual(self.probe('/broken'), (False, 'HTTP 500'))

    def test_redirects_are_followed(self):
        self.assertEqual(self.probe('/redirect'), (True, 'HTTP 200'))

    def test_a_hung_app_fails_within_the_timeout(self):
        self.assertEqual(self.probe('/hang', timeout=0.3), (False, 'no answer within 0.3s'))

    def test_a_refused_connection_is_a_failure(self):
        sock = socket.socket()
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
        sock.close()
        from supervisor_unicorn.listener.probe import http_probe
        self.assertEqual(http_probe(f'http://127.0.0.1:{port}/', 1.0),
                         (False, 'connection refused'))

    def test_proxy_environment_variables_are_ignored(self):
        with mock.patch.dict(os.environ, {'http_proxy': 'http://127.0.0.1:9/',
                                          'HTTP_PROXY': 'http://127.0.0.1:9/',
                                          'no_proxy': '', 'NO_PROXY': ''}):
            self.assertEqual(self.probe('/ok'), (True, 'HTTP 200'))


class FakeShapeTests(unittest.TestCase):
    """The fake's answers have the real shapes: a listener tested against a
    struct that lacks a field would never read it."""

    def test_the_fake_info_has_every_field_getHotRestartInfo_returns(self):
        from test_rpcinterface import PROGRAMS, make_supervisord
        from supervisor_unicorn.rpcinterface import make_unicorn_rpcinterface
        real = make_unicorn_rpcinterface(make_supervisord(), programs=PROGRAMS)
        rpc = FakeRPC()
        rpc.add('web')
        self.assertEqual(set(rpc.hot['web']), set(real.getHotRestartInfo('web')))


if __name__ == '__main__':
    unittest.main()

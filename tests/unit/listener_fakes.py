"""Fakes and helpers shared by the listener's unit tests (not collected:
the name does not start with test_).

FakeRPC is a tiny stateful supervisord behind a ServerProxy-like object;
test_watchdog.py checks its answers against the real shapes.
"""

import io
import unittest
import xmlrpc.client

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


T0 = 1000.0


class HealerTestBase(unittest.TestCase):

    def makeOne(self, limit=3, backoff=60.0, max_backoff=960.0, grace=60.0):
        from supervisor_unicorn.listener.healing import Healer
        return Healer('web', 'http://127.0.0.1:8080/ping', limit=limit,
                      base_backoff=backoff, max_backoff=max_backoff, grace=grace)

    def sick_until_due(self, h, now=T0):
        """Failed probes until a heal is due; returns that decision."""
        from supervisor_unicorn.listener.decision import Remedy
        for _ in range(h.limit):
            d = h.probed(*SICK, None, now)
        self.assertEqual(d.action, Remedy.HEAL)
        return d

    def hot_restarting(self, h, now=T0, restarts=0):
        """A heal chosen and accepted: a hot restart of pid 100 is running."""
        from supervisor_unicorn.listener.decision import Remedy
        d = h.choose('why', 'idle', 'RUNNING', 100, now)
        self.assertEqual(d.action, Remedy.HOT_RESTART)
        h.follower.hot_restart_accepted({'status': 'started', 'old_pid': 100}, 100,
                                        {'restarts': restarts, 'boot_timeout': 10}, now)
        return h.follower.attempt

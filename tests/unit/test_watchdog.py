"""Unit tests for supervisor_unicorn.listener.watchdog: the eventlistener
protocol, the configuration check at start, and what each event leads to
(fakes only: FakeRPC, FakeProbe, FakeClock from listener_fakes).
"""

import unittest
import xmlrpc.client

from supervisor.xmlrpc import Faults

from listener_fakes import (API, OK, SICK, WEB, FakeNamespace, FakeRPC,
                            StdinRequiringFlushedStdout, WatcherTestBase, event, hot_fault,
                            protocol_for, running, tick)


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
# A --check NAME whose programs line cannot be used

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
# The fakes have the real shapes

class FakeShapeTests(unittest.TestCase):
    """The fake's answers have the real shapes: a listener tested against a
    struct that lacks a field would never read it."""

    def test_the_fake_info_has_every_field_getHotRestartInfo_returns(self):
        from test_rpcinterface import PROGRAMS, make_supervisord
        from supervisor_unicorn.common.info_fields import INFO_FIELDS
        from supervisor_unicorn.rpcinterface import make_unicorn_rpcinterface
        real = make_unicorn_rpcinterface(make_supervisord(), programs=PROGRAMS)
        rpc = FakeRPC()
        rpc.add('web')
        self.assertEqual(set(rpc.hot['web']), set(real.getHotRestartInfo('web')))
        self.assertEqual(set(rpc.hot['web']), set(INFO_FIELDS))
        self.assertEqual(set(rpc.unicorn.getAllHotRestartInfo()[0]),
                         set(real.getAllHotRestartInfo()[0]))

    def test_the_fake_process_info_has_only_fields_getProcessInfo_returns(self):
        from supervisor.rpcinterface import SupervisorNamespaceRPCInterface
        from test_rpcinterface import make_supervisord
        real = SupervisorNamespaceRPCInterface(make_supervisord())
        rpc = FakeRPC()
        rpc.add('web')
        fields = set(real.getProcessInfo('web'))
        self.assertLessEqual(set(rpc.supervisor.getProcessInfo('web')), fields)
        self.assertLessEqual(set(rpc.supervisor.getAllProcessInfo()[0]), fields)
        # what the listener reads of it
        self.assertLessEqual({'group', 'name', 'statename', 'pid', 'start', 'now'}, fields)


if __name__ == '__main__':
    unittest.main()

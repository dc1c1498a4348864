"""A callback for the tests: every task result of the run, as JSON, in the file
$RECORD_FILE (ansible-core 2.19 no longer ships a json stdout callback; it
moved to ansible.posix, which the tests do not install)."""
import json
import os

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = '''
name: record
type: aggregate
short_description: record task results as JSON in $RECORD_FILE (tests only)
description: [Writes plays, their tasks' per-host results and the stats.]
requirements: [enabled in callbacks_enabled]
'''


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'record'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.plays = []

    def v2_playbook_on_play_start(self, play):
        self.plays.append({'play': {'name': play.get_name()}, 'tasks': []})

    def v2_playbook_on_task_start(self, task, is_conditional):
        self.plays[-1]['tasks'].append({'task': {'name': task.get_name()}, 'hosts': {}})

    def _record(self, result, **extra):
        data = dict(self._convert(result._result), **extra)
        self.plays[-1]['tasks'][-1]['hosts'][result._host.get_name()] = data

    @staticmethod
    def _convert(value):
        # results may hold ansible's own str/dict subclasses: plain JSON only
        return json.loads(json.dumps(value, default=str))

    def v2_runner_on_ok(self, result, **kwargs):
        self._record(result)

    def v2_runner_on_failed(self, result, ignore_errors=False, **kwargs):
        self._record(result, failed=True)

    def v2_runner_on_skipped(self, result, **kwargs):
        self._record(result, skipped=True)

    def v2_runner_on_unreachable(self, result, **kwargs):
        self._record(result, unreachable=True)

    def v2_playbook_on_stats(self, stats):
        hosts = sorted(stats.processed)
        summary = {h: stats.summarize(h) for h in hosts}
        with open(os.environ['RECORD_FILE'], 'w') as f:
            json.dump({'plays': self.plays, 'stats': summary}, f)

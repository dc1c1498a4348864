"""Integration tests: a real supervisord, real unicorn (Debian) and real
gunicorn (PyPI), real supervisorctl, loopback load.  They are the default run:
a missing server fails the run with what to install, it never skips."""
import shutil

import pytest

from checks import Web, program_events
from other_python import world_readable_python
from supervisor_unicorn.tools.sandbox import Supervisord
from supervisor_unicorn.tools.sandbox_app import find_executable


def pytest_configure(config):
    missing = []
    if not shutil.which('unicorn'):
        missing.append("unicorn (Debian: apt-get install -y unicorn ruby-rack)")
    if not find_executable('gunicorn'):
        missing.append("gunicorn (pip install gunicorn)")
    if not find_executable('supervisorctl'):
        missing.append("supervisor (pip install supervisor)")
    if missing:
        raise pytest.UsageError('integration tests need: ' + '; '.join(missing))


@pytest.fixture
def make_supervisord():
    """make_supervisord(apps=[('web', 'unicorn', {...})], **kw) -> started Supervisord."""
    made = []

    def make(apps, start=True, **kw):
        sd = Supervisord(**kw)
        made.append(sd)
        for name, server, options in apps:
            sd.add_app(name, server, **options)
        if start:
            sd.start()
        return sd

    yield make
    for sd in made:
        sd.close()


@pytest.fixture
def make_web(make_supervisord):
    """make_web(server, **app_options) -> Web, started (its own temp dir and
    ports; stopped and cleaned up with the test)."""
    def make(server, **options):
        sd = make_supervisord([('web', server, options)])
        return Web(sd, sd.apps['web'], sd.pid('web'), program_events(sd, 'web'))
    return make


@pytest.fixture(scope='session')
def python_for_nobody():
    """Debian's python3 with our gunicorn and setproctitle releases, for a
    gunicorn program that runs as another user (`user = nobody`): ours lives
    under /root (0700).  Made once per session, when a test asks for it."""
    with world_readable_python(['gunicorn', 'setproctitle'], 'su-nobody-python-') as python:
        yield python


def pytest_sessionfinish(session, exitstatus):
    # the real-server tests are the point of this suite: a skip is a failure
    reporter = session.config.pluginmanager.get_plugin('terminalreporter')
    if reporter is not None and reporter.stats.get('skipped') and exitstatus == 0:
        reporter.write_line('ERROR: tests were skipped; every test must run', red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter):
    # the compatibility matrix: each row's steps, outcomes and timings
    rows = [value for reports in terminalreporter.stats.values() for report in reports
            if getattr(report, 'when', '') == 'call'
            for key, value in getattr(report, 'user_properties', ()) if key == 'matrix']
    if rows:
        terminalreporter.section('compatibility matrix')
        for row in rows:
            terminalreporter.write_line(row)

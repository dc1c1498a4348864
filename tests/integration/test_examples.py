"""Every file of conf.d-examples/ works as a new user would use it.

Each example is copied as it is, its documented placeholders substituted
(/srv/app, /srv/rack, /srv/api -> a temp dir holding a tiny app;
/var/lib/supervisor-unicorn-demo -> a temp dir that does not exist yet; the
ports; the socket, pid and log paths; `user = deploy` -> the user running the
tests),
and loaded into a real supervisord through the example main supervisord.conf
and its [include]. Then it is deployed and hot restarted under load.

Only two changes go beyond placeholders, both in a [program:x] command line,
never in a server config file:
- unicorn_rails.conf runs `unicorn` instead of `bundle exec unicorn_rails`:
  there is no Rails or bundler here. config/unicorn.rb is used unchanged.
- the gunicorn Flask variant swaps the active `command =` for the commented one.

The tiny apps are the demo apps: config.ru (unicorn) and wsgi_app (gunicorn),
behind a config.ru / myproject.wsgi / app.py shim that points them at their
directory.  demo.conf needs no app: its supervisor-unicorn-demo-app (this
venv's console script, first on supervisord's PATH) creates the directory and
runs the packaged demo app under this venv's gunicorn.
"""
import getpass
import os
import re
import signal
import sys
from typing import Dict, List

import pytest

from checks import (RESULT_LINE, app_pids, assert_clean_handover, assert_nothing_left,
                    program_events, wait_answers, wait_one_master, wait_pid_change)
from supervisor_unicorn.tools.loadgen import Load, get
from supervisor_unicorn.tools.sandbox import Supervisord
from supervisor_unicorn.tools.sandbox_app import (APP_DIR as DEMO_APP_DIR, RACKUP as DEMO_RACKUP,
                                                  App, find_executable, free_port)
from supervisor_unicorn.tools.waiting import wait_for

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), 'conf.d-examples')

# program -> (include file, SERVER, app placeholder, port placeholder)
PROGRAMS = {
    'web': ('unicorn_rails.conf', 'unicorn', '/srv/app', '8080'),
    'rack': ('unicorn.conf', 'unicorn', '/srv/rack', '8081'),
    'api': ('gunicorn.conf', 'gunicorn', '/srv/api', '8000'),
    'demo': ('demo.conf', 'gunicorn', '/var/lib/supervisor-unicorn-demo', '8090'),
}
# the gunicorn config supervisor-unicorn-demo-app runs the demo app with
DEMO_GUNICORN_CONF = os.path.join(DEMO_APP_DIR, 'gunicorn.conf.py')


def example(*path: str) -> str:
    with open(os.path.join(EXAMPLES, *path)) as f:
        return f.read()


def sub_once(pattern: str, repl: str, text: str, flags=re.M) -> str:
    """re.sub that insists on exactly one match, so an edited example fails loudly."""
    out, n = re.subn(pattern, repl, text, flags=flags)
    assert n == 1, 'expected one match of %r, found %d' % (pattern, n)
    return out


def write(path: str, text: str, mode: int = 0o644) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        f.write(text)
    os.chmod(path, mode)


class ExampleSupervisord(Supervisord):
    """The example supervisord.conf + conf.d/ copies of the examples, with the
    apps they name, in the sandbox's temp dir."""

    def __init__(self, programs: List[str], listener: bool = False,
                 flask: bool = False, as_is: bool = False, listener_demo: bool = False):
        super().__init__()
        self.programs = programs
        self.as_is = as_is      # keep every programs line of the main file
        self.listener_conf = listener
        self.listener_demo = listener_demo   # listener.conf's commented demo command
        self.flask = flask
        self.logdir = os.path.join(self.root, 'log')
        os.makedirs(self.logdir)
        self.logfile = os.path.join(self.logdir, 'supervisord.log')
        self.ports = {name: free_port() for name in PROGRAMS}
        self.releases = 0
        for name in programs:
            _, server, placeholder, _ = PROGRAMS[name]
            d = self.app_dir(name)
            self.apps[name] = App(name=name, server=server, dir=d, port=self.ports[name])
            getattr(self, '_setup_' + name)(d)

    # --- placeholders ------------------------------------------------------------

    def app_dir(self, name: str) -> str:
        return os.path.join(self.root, name)

    def substitute(self, text: str) -> str:
        for name, (_, _, placeholder, port) in PROGRAMS.items():
            text = re.sub(re.escape(placeholder) + r'(?=[/\s\'"]|$)',
                          self.app_dir(name), text, flags=re.M)
            text = re.sub(r'\b%s\b' % port, str(self.ports[name]), text)
        text = text.replace('/var/run/supervisor.sock', self.socket)
        text = text.replace('/var/run/supervisord.pid',
                            os.path.join(self.root, 'supervisord.pid'))
        text = text.replace('/var/log/supervisor', self.logdir)
        text = re.sub(r'^user = deploy$', 'user = %s' % getpass.getuser(), text,
                      flags=re.M)
        return text

    # --- the tiny apps -----------------------------------------------------------

    def _setup_web(self, d: str) -> None:
        # capistrano's layout: releases/N, current -> releases/N, shared/tmp/pids
        os.makedirs(os.path.join(d, 'shared', 'tmp', 'pids'))
        self.deploy('web', 'v1')

    def _setup_rack(self, d: str) -> None:
        os.makedirs(os.path.join(d, 'tmp', 'pids'))
        write(os.path.join(d, 'unicorn.rb'), self.substitute(example('unicorn', 'unicorn.rb')))
        write(os.path.join(d, 'config.ru'), self._rackup(d))
        self.deploy('rack', 'v1')

    def _setup_api(self, d: str) -> None:
        os.makedirs(os.path.join(d, 'run'))
        write(os.path.join(d, 'gunicorn.conf.py'),
              self.substitute(example('gunicorn', 'gunicorn.conf.py')))
        # Django's layout: myproject/wsgi.py defines `application`
        write(os.path.join(d, 'myproject', '__init__.py'), '')
        write(os.path.join(d, 'myproject', 'wsgi.py'),
              'import os\nimport sys\n'
              'os.environ["APP_DIR"] = %r\n'
              'sys.path.insert(0, %r)\n'
              'from wsgi_app import application  # noqa: E402,F401\n'
              % (d, DEMO_APP_DIR))
        # Flask's: app.py defines `app`
        write(os.path.join(d, 'app.py'),
              'from myproject.wsgi import application as app  # noqa: F401\n')
        # the venv's gunicorn, at the path the example gives
        os.makedirs(os.path.join(d, 'venv', 'bin'))
        os.symlink(find_executable('gunicorn'), os.path.join(d, 'venv', 'bin', 'gunicorn'))
        self.deploy('api', 'v1')

    def _setup_demo(self, d: str) -> None:
        # nothing: the example's command creates the directory and VERSION (v1)
        assert not os.path.exists(d)

    @staticmethod
    def _rackup(app_dir: str) -> str:
        return ('# the demo app, reading VERSION from this directory\n'
                'ENV["APP_DIR"] = %r\n'
                'instance_eval(File.read(%r), %r)\n' % (app_dir, DEMO_RACKUP, DEMO_RACKUP))

    def deploy(self, name: str, version: str) -> None:
        """What a deploy does before the hot restart: new code on disk."""
        if name != 'web':
            self.apps[name].deploy(version)
            return
        # a capistrano deploy: a new release, then the `current` symlink flips
        d = self.app_dir('web')
        self.releases += 1
        release = os.path.join(d, 'releases', str(self.releases))
        write(os.path.join(release, 'config', 'unicorn.rb'),
              self.substitute(example('unicorn_rails', 'config', 'unicorn.rb')))
        write(os.path.join(release, 'config.ru'), self._rackup(release))
        write(os.path.join(release, 'VERSION'), version + '\n')
        link = os.path.join(d, 'current.new')
        os.symlink(release, link)
        os.replace(link, os.path.join(d, 'current'))

    # --- configuration -------------------------------------------------------------

    def include_text(self, name: str) -> str:
        text = self.substitute(example(PROGRAMS[name][0]))
        if name == 'web':
            # no Rails here: plain unicorn runs the same config/unicorn.rb
            text = sub_once(r'^(command = )bundle exec unicorn_rails ', r'\1unicorn ', text)
        if name == 'api' and self.flask:
            text = sub_once(r'^command = .* myproject\.wsgi:application\n', '', text)
            text = sub_once(r'^;(command = .* app:app)$', r'\1', text)
        return text

    def write_config(self) -> None:
        main = self.substitute(example('supervisord.conf'))

        # keep the programs lines of the included programs: the documented edit
        def keep(m):
            return m.group(0) if m.group(1) in self.programs or self.as_is else ''
        main, n = re.subn(r'^    (\S+) +(?:unicorn|gunicorn) +/.*\n', keep, main, flags=re.M)
        assert n == len(PROGRAMS), main
        with open(self.conf, 'w') as f:
            f.write(main)
        confd = os.path.join(self.root, 'conf.d')
        os.makedirs(confd, exist_ok=True)
        for name in self.programs:
            write(os.path.join(confd, PROGRAMS[name][0]), self.include_text(name))
        if self.listener_conf:
            text = self.substitute(example('listener.conf'))
            if self.listener_demo:
                text = sub_once(r'^command = .*\n', '', text)
                text = sub_once(r'^;(command = .* --check demo=.*)$', r'\1', text)
            write(os.path.join(confd, 'listener.conf'), text)

    def tail(self, name: str) -> str:
        return self.ctl('tail', name, 'stderr').stdout


@pytest.fixture
def make_example(monkeypatch):
    # supervisord finds the listener's console script and runs 2 workers per app
    monkeypatch.setenv('PATH', os.path.dirname(sys.executable) + os.pathsep +
                       os.environ.get('PATH', ''))
    monkeypatch.setenv('WEB_CONCURRENCY', '2')
    made = []

    def make(programs, start=True, **kw):
        sd = ExampleSupervisord(programs, **kw)
        made.append(sd)
        if start:
            try:
                sd.start()
            except Exception:
                print(sd.log(), sd.output(), *[sd.tail(n) for n in programs], sep='\n')
                raise
        return sd

    yield make
    for sd in made:
        sd.close()


def read_pid(path: str) -> int:
    with open(path) as f:
        return int(f.read().strip())


def programs_lines() -> Dict[str, List[str]]:
    """NAME -> [SERVER, PIDFILE, options...] of the example main file."""
    text = example('supervisord.conf')
    block = re.search(r'^programs =\n((?:    .*\n)+)', text, flags=re.M).group(1)
    return {line.split()[0]: line.split()[1:] for line in block.splitlines()}


# --- the files themselves --------------------------------------------------------

@pytest.mark.parametrize('name', sorted(PROGRAMS))
def test_each_include_documents_placeholders_and_the_main_file_sections(name):
    conf, server, placeholder, port = PROGRAMS[name]
    text = example(conf)
    header = text.split('[program:')[0]
    assert 'Placeholders' in header and placeholder in header and port in header
    # a reminder of what belongs in the main file, commented out, with this
    # program's programs line exactly as the example main file has it
    commented = [line[1:].strip() for line in header.splitlines() if line.startswith(';')]
    assert '[rpcinterface:unicorn]' in commented and '[ctlplugin:unicorn]' in commented
    line = ' '.join([name] + programs_lines()[name])
    assert any(' '.join(c.split()) == line for c in commented), (line, commented)
    assert programs_lines()[name][0] == server
    # one program, in the foreground, pidfile from the server's config
    assert re.findall(r'^\[program:(\S+)\]$', text, flags=re.M) == [name]
    for command in re.findall(r'^;?command = (.*)$', text, flags=re.M):
        words = command.split()
        assert not {'-D', '-P', '--daemon', '--pid', '-p'} & set(words), command


def test_stopwaitsecs_covers_the_graceful_stop_of_each_server():
    with open(DEMO_GUNICORN_CONF) as f:
        demo = f.read()
    for name, text, setting in [
            ('web', example('unicorn_rails', 'config', 'unicorn.rb'), r'^timeout (\d+)$'),
            ('rack', example('unicorn', 'unicorn.rb'), r'^timeout (\d+)$'),
            ('api', example('gunicorn', 'gunicorn.conf.py'), r'^graceful_timeout = (\d+)$'),
            ('demo', demo, r'^graceful_timeout = (\d+)$')]:
        graceful = int(re.search(setting, text, flags=re.M).group(1))
        stopwait = int(re.search(r'^stopwaitsecs = (\d+)', example(PROGRAMS[name][0]),
                                 flags=re.M).group(1))
        assert stopwait >= graceful, name


def test_main_file_names_every_example_program():
    names = set()
    for conf in os.listdir(EXAMPLES):
        if conf.endswith('.conf') and conf != 'supervisord.conf':
            names.update(re.findall(r'^\[program:(\S+)\]$', example(conf), flags=re.M))
    assert set(programs_lines()) == names == set(PROGRAMS)
    main = example('supervisord.conf')
    for section in ('unix_http_server', 'supervisord', 'rpcinterface:supervisor',
                    'rpcinterface:unicorn', 'ctlplugin:unicorn', 'supervisorctl',
                    'include'):
        assert re.search(r'^\[%s\]$' % re.escape(section), main, flags=re.M), section
    assert re.search(r'^files = conf\.d/\*\.conf$', main, flags=re.M)
    # the %(here)s quirk is documented next to the programs lines
    assert '%(here)s' in main and '[include]' in main.split('programs =')[0]


# --- loaded into supervisord and hot restarted ------------------------------------

EXAMPLE_CASES = [
    pytest.param('web', False, id='unicorn_rails'),
    pytest.param('rack', False, id='unicorn'),
    pytest.param('api', False, id='gunicorn-django'),
    pytest.param('api', True, id='gunicorn-flask'),
    pytest.param('demo', False, id='demo'),
]


@pytest.mark.parametrize('name,flask', EXAMPLE_CASES)
def test_example_deploys_and_hot_restarts_under_load(make_example, name, flask):
    sd = make_example([name], flask=flask)
    app = sd.apps[name]
    old = sd.pid(name)
    # the server writes the PIDFILE of the programs line (the `pid` directive)
    pidfile = programs_lines()[name][1]
    pidfile = sd.substitute(pidfile)
    assert read_pid(pidfile) == old
    assert sd.rpc.unicorn.getHotRestartInfo(name)['pidfile'] == pidfile
    status, body = get(app.port)
    assert status == 200 and body.split() == ['v1', str(old)]
    before = program_events(sd, name)

    sd.deploy(name, 'v2')
    with Load(app.port, rate=150) as traffic:
        wait_answers(traffic)
        r = sd.ctl('hot_restart', name)
        wait_answers(traffic)
    assert r.returncode == 0, r.stdout + r.stderr + sd.tail(name)
    m = RESULT_LINE.match(r.stdout.strip())
    assert m and m.group(1) == name and int(m.group(2)) == old, r.stdout
    new = assert_clean_handover(sd, name, traffic, old, 'v2', before)
    assert int(m.group(3)) == new
    wait_for(lambda: read_pid(pidfile) == new, 10, 'the pidfile to name the new master')
    if name == 'demo':
        # supervisor-unicorn-demo-app exec'd gunicorn (the pidfile named the
        # spawned pid, above), and gunicorn's re-exec ran in the app directory
        assert os.readlink('/proc/%d/cwd' % new) == sd.app_dir('demo')

    if name == 'web':
        # the capistrano recipe: flip `current`, then `kill -USR2` the master;
        # working_directory makes the new master load the new release
        sd.deploy(name, 'v3')
        before = program_events(sd, name)
        with Load(app.port, rate=150) as traffic:
            wait_answers(traffic)
            os.kill(new, signal.SIGUSR2)
            newer = wait_pid_change(sd, name, new)
            wait_one_master(sd, name)
            wait_answers(traffic)
        assert_clean_handover(sd, name, traffic, new, 'v3', before)
        release = os.path.realpath(os.path.join(sd.app_dir('web'), 'current'))
        assert os.readlink('/proc/%d/cwd' % newer) == release
        new = newer

    # stopping the adopted master stops all of it (stopsignal, killasgroup)
    pids = app_pids(sd, name)
    assert new in pids and len(pids) >= 3, pids
    r = sd.ctl('stop', name)
    assert r.returncode == 0, r.stdout
    assert_nothing_left(sd, name, pids, within=15)


def test_complete_example_set_with_the_listener(make_example):
    """supervisord.conf + every conf.d example, listener.conf included, as a
    user who copies the whole directory gets them."""
    names = ['web', 'rack', 'api', 'demo']
    sd = make_example(names, listener=True)
    sd.wait_state('unicorn_watch', 'RUNNING', 30)
    old = {name: sd.pid(name) for name in names}
    r = sd.ctl('hot_status')
    assert r.returncode == 0 and len(r.stdout.splitlines()) == len(names), r.stdout
    for name in names:
        sd.deploy(name, 'v2')
    loads = [Load(sd.apps[name].port, rate=40) for name in names]
    traffic = [load.__enter__() for load in loads]
    try:
        for t in traffic:
            wait_answers(t, more=20)
        r = sd.ctl('hot_restart', 'all')
        for t in traffic:
            wait_answers(t, more=20)
    finally:
        for load in loads:
            load.__exit__(None, None, None)
    assert r.returncode == 0, r.stdout + r.stderr
    lines = [RESULT_LINE.match(line) for line in r.stdout.splitlines()]
    assert all(lines) and [m.group(1) for m in lines] == names, r.stdout
    for name, m, t in zip(names, lines, traffic):
        assert t.failed == 0, (name, t.errors())
        new = sd.pid(name)
        assert int(m.group(2)) == old[name] and int(m.group(3)) == new != old[name]
        status, body = get(sd.apps[name].port)
        assert status == 200 and body.split() == ['v2', str(new)], (name, body)
    # the listener noticed the hot restart of `web` and probed it: healthy
    new_web = sd.pid('web')
    wait_for(lambda: re.search(r'web probe after hot restart \(pid %d -> %d\) ok'
                               % (old['web'], new_web),
                               sd.ctl('tail', 'unicorn_watch', 'stderr').stdout),
             30, "the listener's probe of web after the hot restart")
    assert 'healed' not in sd.ctl('tail', 'unicorn_watch', 'stderr').stdout


def test_demo_made_sick_is_healed_by_the_listener(make_example):
    """demo.conf's recipe: `touch DIR/SICK` makes the generation serving answer
    500; listener.conf's commented demo check notices and hot restarts it."""
    sd = make_example(['demo'], listener=True, listener_demo=True)
    sd.wait_state('unicorn_watch', 'RUNNING', 30)
    old = sd.pid('demo')

    def said(pattern):
        return re.search(pattern, sd.ctl('tail', 'unicorn_watch', 'stderr').stdout, re.M)
    # a good first probe ends the start grace: failures count from then on
    wait_for(lambda: said(r'demo probe after start \(pid %d\) ok' % old), 30,
             "the listener's first probe of demo")
    with open(os.path.join(sd.app_dir('demo'), 'SICK'), 'w') as f:
        f.write('sick\n')
    assert get(sd.apps['demo'].port)[0] == 500
    m = wait_for(lambda: said(r'demo probe after hot restart \(pid %d -> (\d+)\) ok .*demo '
                              r'is healthy again' % old), 60, 'the listener to heal demo')
    new = int(m.group(1))
    assert said(r'demo probe failed \(3 in a row\): HTTP 500; hot restarting demo')
    info = sd.info('demo')
    assert (info['statename'], info['pid']) == ('RUNNING', new) and new != old
    assert get(sd.apps['demo'].port) == (200, 'v1 %d\n' % new)
    assert 'exited: demo' not in sd.log()


@pytest.mark.parametrize('name', sorted(PROGRAMS))
def test_main_file_as_is_with_one_example_starts(make_example, name):
    """The main file copied without editing its programs lines, and
    one conf.d example: supervisord starts, the example's program runs and
    hot restarts, and each line naming a program that is not there is a WARN
    naming that line."""
    sd = make_example([name], as_is=True)
    lines = list(programs_lines())
    for number, other in enumerate(lines, 1):
        if other != name:
            assert re.search(r"WARN .*programs line %d \('%s " % (number, other),
                             sd.log()), sd.log()
    assert sd.rpc.supervisor.getState()['statename'] == 'RUNNING'
    old = sd.pid(name)
    r = sd.ctl('hot_restart', name)
    assert r.returncode == 0, r.stdout + r.stderr
    m = RESULT_LINE.match(r.stdout.strip())
    assert m and int(m.group(2)) == old and int(m.group(3)) == sd.pid(name) != old, r.stdout


# --- supervisorctl help --------------------------------------------------------------

@pytest.fixture
def example_ctl(make_example):
    """supervisorctl with the example main file; help needs no supervisord."""
    sd = make_example(['web'], start=False)
    sd.write_config()
    return sd


def test_supervisorctl_help_lists_hot_restart_and_hot_status(example_ctl):
    r = example_ctl.ctl('help')
    assert r.returncode == 0, r.stderr
    assert 'unicorn commands (type help <topic>):' in r.stdout
    listed = r.stdout.split('unicorn commands (type help <topic>):')[1].split()
    assert {'hot_restart', 'hot_status'} <= set(listed), r.stdout


def test_supervisorctl_help_hot_restart_prints_our_text(example_ctl):
    r = example_ctl.ctl('help', 'hot_restart')
    assert r.returncode == 0, r.stderr
    for words in ('hot_restart <name>', 'USR2', 'old master retired',
                  'hot_restart <gname>:*', 'hot_restart all', 'Exit status 0'):
        assert words in r.stdout, r.stdout
    r = example_ctl.ctl('help', 'hot_status')
    assert r.returncode == 0
    assert 'hot_status <name>' in r.stdout and 'last result' in r.stdout, r.stdout


def test_supervisorctl_help_has_no_no_help_noise(example_ctl):
    for topic in ('hot_restart', 'status'):
        r = example_ctl.ctl('help', topic)
        assert '*** No help on' not in r.stdout, r.stdout


# --- the %(here)s quirk the main file documents ----------------------------------------

@pytest.mark.parametrize('with_include', [True, False], ids=['include', 'no-include'])
def test_here_expands_in_the_unicorn_section_only_with_an_include(with_include):
    sd = Supervisord(plugin=False, extra=(
        '[rpcinterface:unicorn]\n'
        'supervisor.rpcinterface_factory = '
        'supervisor_unicorn.rpcinterface:make_unicorn_rpcinterface\n'
        'programs =\n    idle unicorn %(here)s/idle.pid\n'
        '[program:idle]\ncommand = sleep 600\nstartsecs = 0\n' +
        ('[include]\nfiles = conf.d/*.conf\n' if with_include else '')))
    try:
        if with_include:
            sd.start(wait_running=False)
            pidfile = sd.rpc.unicorn.getHotRestartInfo('idle')['pidfile']
            assert pidfile == os.path.join(sd.root, 'idle.pid')
        else:
            with pytest.raises(RuntimeError) as e:
                sd.start(wait_running=False)
            # supervisor's own start-up error, naming the setting
            assert ("'rpcinterface:unicorn.programs' contains names ('here') which "
                    "cannot be expanded") in str(e.value), str(e.value)
    finally:
        sd.close()

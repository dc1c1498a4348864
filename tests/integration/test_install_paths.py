"""The README's two install paths, each command run, then used for real.

apt: commands 1-3 (build-dep, dpkg-buildpackage, apt install) are run by
tests/debian-package, which tests/run calls before pytest and this test calls
again (it reads them from the README; nothing to do when the installed
package is current).  There is no systemd here: `systemctl restart supervisor`
is replaced by what Debian's installed supervisor.service runs (its
ExecStart, with systemd's default PATH), and `systemctl enable --now
supervisord` by the ExecStart and Environment of conf.d-examples/
supervisord.service.  Paths under /etc, /opt and /var are placeholders
mapped to a temp dir, as the example files' placeholders are.

Each path then runs the example configuration (supervisord.conf with
unicorn_rails.conf as `web` on Debian's unicorn, gunicorn.conf as `api`, and
listener.conf): the README's XML-RPC snippet, run by the Python that
supervisor is installed in, hot restarts `web` and supervisorctl hot
restarts `api`, each under load with 0 failed requests; then `web` goes sick
and the installed listener heals it.
"""
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

import psutil
import pytest

from checks import wait_answers
from supervisor_unicorn.tools.loadgen import Load, get
from supervisor_unicorn.tools.waiting import wait_for
from test_examples import ExampleSupervisord

pytestmark = pytest.mark.install

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
README = os.path.join(ROOT, 'README.md')
SYSTEMD_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
DEBIAN_UNIT = '/lib/systemd/system/supervisor.service'
EXAMPLES_DOC = '/usr/share/doc/python3-supervisor-unicorn/examples'


def readme_commands(title: str):
    text = open(README).read()
    section = text.split('\n### %s' % title, 1)[1]
    section = re.split(r'\n##+ ', section, 1)[0]
    return [line[4:] for line in section.splitlines() if line.startswith('    ')]


def unit_service(path: str):
    """(ExecStart words, Environment dict) of a systemd unit file."""
    exec_start, env = None, {}
    for line in open(path):
        key, _, value = line.strip().partition('=')
        if key == 'ExecStart':
            exec_start = shlex.split(value)
        elif key == 'Environment':
            name, _, val = value.partition('=')
            env[name] = val
    return exec_start, env


def run(command: str, cwd: str, mapping: dict, timeout: float = 300):
    for placeholder, path in mapping.items():
        command = command.replace(placeholder, path)
    r = subprocess.run(['bash', '-c', command], cwd=cwd, capture_output=True, text=True,
                       timeout=timeout)
    assert r.returncode == 0, '%s failed (%d):\n%s\n%s' % (
        command, r.returncode, r.stdout[-3000:], r.stderr[-3000:])
    return r


class InstalledSupervisord(ExampleSupervisord):
    """The example configuration run by an installed supervisord."""

    def __init__(self, launcher, env, bin_dir, gunicorn):
        super().__init__(['web', 'api'], listener=True)
        self.launcher = launcher
        self.env = env
        self.bin_dir = bin_dir
        link = os.path.join(self.app_dir('api'), 'venv', 'bin', 'gunicorn')
        os.remove(link)
        os.symlink(gunicorn, link)

    def ctl(self, *args, timeout=120):
        return subprocess.run([os.path.join(self.bin_dir, 'supervisorctl'), '-c', self.conf]
                              + list(args), capture_output=True, text=True, timeout=timeout)


def hot_restart_both_and_heal_web(sd: InstalledSupervisord, python: str) -> None:
    try:
        sd.start()
        sd.wait_state('unicorn_watch', 'RUNNING', 30)
    except Exception:
        print(sd.log(), sd.output(), sd.tail('web'), sd.tail('api'), sep='\n')
        raise
    # the listener is the installed one, found on the service's PATH
    listener = psutil.Process(sd.pid('unicorn_watch'))
    assert listener.cmdline()[1] == os.path.join(sd.bin_dir, 'supervisor-unicorn-listener')

    # web: the README's XML-RPC snippet, as written but for the socket path
    text = open(README).read()
    start = text.index('    from xmlrpc.client import ServerProxy\n')
    end = text.index('\n', text.index("    print(server.unicorn.hotRestart('web'))", start))
    snippet = '\n'.join(line[4:] for line in text[start:end].splitlines())
    assert "'unix:///var/run/supervisor.sock'" in snippet, snippet
    snippet = snippet.replace('/var/run/supervisor.sock', sd.socket)
    for name in ('web', 'api'):
        old = sd.pid(name)
        sd.deploy(name, 'v2')
        with Load(sd.apps[name].port, rate=100) as traffic:
            wait_answers(traffic)
            if name == 'web':
                r = subprocess.run([python, '-c', snippet], capture_output=True, text=True,
                                   timeout=120, cwd=sd.root, env=sd.env)
                assert r.returncode == 0 and "'status': 'done'" in r.stdout, r.stdout + r.stderr
            else:
                # longer than api's boot_timeout (120 s): a failure is a Fault
                # with its reason, and then what supervisord logged is shown
                r = sd.ctl('hot_restart', name, timeout=180)
                if r.returncode != 0:
                    print(sd.rpc.unicorn.getHotRestartInfo(name), sd.log()[-8000:],
                          sd.tail(name)[-3000:], sep='\n')
                assert r.returncode == 0, r.stdout + r.stderr
            wait_answers(traffic)
        assert traffic.failed == 0, (name, traffic.errors())
        new = sd.pid(name)
        assert new != old and sd.info(name)['statename'] == 'RUNNING'
        status, body = get(sd.apps[name].port)
        assert status == 200 and body.split() == ['v2', str(new)], (name, body)
        assert [g[0] for g in traffic.generations()] == ['v1', 'v2'], traffic.generations()

    # web goes bad; the listener notices within its --failures 3 ticks and heals it
    sick_pid = sd.pid('web')
    with open(os.path.join(sd.app_dir('web'), 'current', 'SICK'), 'w') as f:
        f.write('sick\n')
    wait_for(lambda: re.search(r'web probe after hot restart \(pid %d -> \d+\) ok .*web is '
                               r'healthy again' % sick_pid,
                               sd.ctl('tail', 'unicorn_watch', 'stderr').stdout),
             60, 'the listener to heal web')
    status, body = get(sd.apps['web'].port)
    assert status == 200 and body.split()[1] == str(sd.pid('web')) != str(sick_pid), body


@pytest.fixture
def tmp():
    d = tempfile.mkdtemp(prefix='su-install-')
    yield d
    shutil.rmtree(d, ignore_errors=True)


def test_readme_install_section_comes_first_with_two_short_paths():
    text = open(README).read()
    assert re.findall(r'^## .*$', text, flags=re.M)[0] == '## Install'
    subsections = re.findall(r'^### .*$', text.split('\n## Install\n')[1].split('\n## ')[0],
                             flags=re.M)
    assert [s.split(':')[0] for s in subsections] == ['### apt users', '### pip users']
    for title in ('apt users', 'pip users'):
        assert 0 < len(readme_commands(title)) <= 5, readme_commands(title)


def test_apt_path_with_debians_supervisord(tmp):
    commands = readme_commands('apt users')
    assert commands[-1] == 'systemctl restart supervisor', commands
    # 1-3: tests/debian-package runs them (the same lines, read from this README)
    r = subprocess.run(['bash', os.path.join(ROOT, 'tests', 'debian-package')],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    assert re.search(r'python3-supervisor-unicorn \S+ (installed|is installed and current)',
                     r.stdout), r.stdout
    # the system service was never started by the installs
    for proc in psutil.process_iter(['cmdline']):
        assert '/etc/supervisor/supervisord.conf' not in ' '.join(proc.info['cmdline'] or [])

    exec_start, unit_env = unit_service(DEBIAN_UNIT)
    assert exec_start == ['/usr/bin/supervisord', '-n', '-c',
                          '/etc/supervisor/supervisord.conf'], exec_start
    sd = InstalledSupervisord(exec_start[:1], dict(unit_env, PATH=SYSTEMD_PATH), '/usr/bin',
                              '/usr/bin/gunicorn')
    try:
        # 4: the example main file, then edited as documented (placeholders)
        run(commands[3], tmp, {'/etc/supervisor/': sd.root + '/'})
        assert open(sd.conf).read() == open(os.path.join(ROOT, 'conf.d-examples',
                                                         'supervisord.conf')).read()
        hot_restart_both_and_heal_web(sd, '/usr/bin/python3')
        # Debian's supervisord ran the Debian package's modules
        assert psutil.Process(sd.proc.pid).cmdline()[:2] == ['/usr/bin/python3',
                                                             '/usr/bin/supervisord']
        r = subprocess.run(['/usr/bin/python3', '-c',
                            'import supervisor, supervisor_unicorn; '
                            'print(supervisor.__file__, supervisor_unicorn.__file__)'],
                           capture_output=True, text=True, env=sd.env, cwd='/')
        assert 'PYTHONPATH' not in psutil.Process(sd.proc.pid).environ()
        assert r.stdout.split() == ['/usr/lib/python3/dist-packages/supervisor/__init__.py',
                                    '/usr/lib/python3/dist-packages/supervisor_unicorn/'
                                    '__init__.py'], r.stdout + r.stderr
    finally:
        sd.close()


def test_pip_path_with_a_venv_and_the_service_unit(tmp):
    commands = readme_commands('pip users')
    assert commands[-1] == 'systemctl enable --now supervisord', commands
    src = os.path.join(tmp, 'src')
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(
        '.git', 'build', 'dist', '*.egg-info', '__pycache__', '.venv*', '.pytest_cache',
        'bench', 'debian', '.pybuild'))
    venv, units = os.path.join(tmp, 'opt-supervisor'), os.path.join(tmp, 'units')
    os.makedirs(units)
    sd = None
    try:
        sd = InstalledSupervisord(None, None, os.path.join(venv, 'bin'),
                                  os.path.join(os.path.dirname(sys.executable), 'gunicorn'))
        mapping = {'/opt/supervisor': venv, '/etc/supervisor': sd.root,
                   '/etc/systemd/system': units}
        for command in commands[:-1]:
            run(command, src, mapping)
        assert open(sd.conf).read() == open(os.path.join(ROOT, 'conf.d-examples',
                                                         'supervisord.conf')).read()
        # 5: what the unit runs, with its Environment
        exec_start, unit_env = unit_service(os.path.join(units, 'supervisord.service'))
        assert exec_start == ['/opt/supervisor/bin/supervisord', '-n', '-c',
                              '/etc/supervisor/supervisord.conf'], exec_start
        assert unit_env['PATH'].split(':')[0] == '/opt/supervisor/bin', unit_env
        assert 'LogsDirectory=supervisor' in open(os.path.join(units, 'supervisord.service')
                                                  ).read()
        sd.launcher = [exec_start[0].replace('/opt/supervisor', venv)]
        sd.env = {k: v.replace('/opt/supervisor', venv) for k, v in unit_env.items()}
        # the fresh venv's supervisor and this package, not the test venv's
        r = subprocess.run([os.path.join(venv, 'bin', 'python'), '-c',
                            'import supervisor_unicorn; print(supervisor_unicorn.__file__)'],
                           capture_output=True, text=True, cwd=tmp)
        assert r.stdout.startswith(venv), r.stdout + r.stderr
        hot_restart_both_and_heal_web(sd, os.path.join(venv, 'bin', 'python'))
    finally:
        if sd is not None:
            sd.close()

"""The wheel works from a clean venv.

A copy of the work tree is built into a wheel (`python -m build --wheel` when
the `build` package is there, else `pip wheel --no-deps`), the wheel is
installed into a fresh venv (pip brings supervisor and psutil), and its
metadata, console scripts and package data are checked there, from a
directory outside the source tree so nothing is imported from the checkout.
"""
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import venv

import pytest

import supervisor_unicorn

pytestmark = pytest.mark.once

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPTS = ['supervisor-unicorn-listener', 'supervisor-unicorn-demo',
           'supervisor-unicorn-demo-app', 'supervisor-unicorn-rollout']
DEMO_FILES = ['config.ru', 'unicorn.rb', 'gunicorn.conf.py', 'wsgi_app.py']

METADATA = r'''
import importlib.metadata as md, json, os
import supervisor, psutil, supervisor_unicorn
from supervisor_unicorn.rpcinterface import make_unicorn_rpcinterface
from supervisor_unicorn.controllerplugin import make_unicorn_controllerplugin
d = md.distribution('supervisor_unicorn')
print(json.dumps({
    'name': d.metadata['Name'], 'version': d.version,
    'requires': d.requires or [],
    'python': d.metadata['Requires-Python'],
    'entry_points': sorted('%s=%s' % (e.name, e.value) for e in d.entry_points
                           if e.group == 'console_scripts'),
    'files': [str(f) for f in d.files],
    'package': os.path.dirname(supervisor_unicorn.__file__),
    'module_version': supervisor_unicorn.__version__,
}))
'''


def run(args, cwd, timeout=180):
    r = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, '%s failed (%d):\n%s\n%s' % (
        ' '.join(args), r.returncode, r.stdout[-3000:], r.stderr[-3000:])
    return r


@pytest.fixture(scope='module')
def installed():
    tmp = tempfile.mkdtemp(prefix='su-pkg-')
    try:
        # build from a copy: the build writes build/ and *.egg-info next to the
        # sources, and other work goes on in the checkout meanwhile
        src = os.path.join(tmp, 'src')
        shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(
            '.git', 'build', 'dist', '*.egg-info', '__pycache__', '.venv*',
            '.pytest_cache', 'bench'))
        dist = os.path.join(tmp, 'dist')
        if importlib.util.find_spec('build') is not None:
            run([sys.executable, '-m', 'build', '--wheel', '--outdir', dist, src], tmp)
        else:
            run([sys.executable, '-m', 'pip', 'wheel', '-q', '--no-deps',
                 '--wheel-dir', dist, src], tmp)
        wheels = [f for f in os.listdir(dist) if f.endswith('.whl')]
        assert len(wheels) == 1, wheels
        env_dir = os.path.join(tmp, 'venv')
        venv.EnvBuilder(with_pip=True, clear=True).create(env_dir)
        bin_dir = os.path.join(env_dir, 'bin')
        run([os.path.join(bin_dir, 'pip'), 'install', '-q', '--disable-pip-version-check',
             os.path.join(dist, wheels[0])], tmp)
        outside = os.path.join(tmp, 'elsewhere')
        os.makedirs(outside)
        yield {'bin': bin_dir, 'wheel': wheels[0], 'cwd': outside, 'venv': env_dir}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_wheel_metadata(installed):
    assert re.match(r'^supervisor_unicorn-%s-py3-none-any\.whl$'
                    % re.escape(supervisor_unicorn.__version__), installed['wheel'])
    r = run([os.path.join(installed['bin'], 'python'), '-c', METADATA], installed['cwd'])
    meta = json.loads(r.stdout)
    assert meta['name'] in ('supervisor_unicorn', 'supervisor-unicorn')
    assert meta['version'] == meta['module_version'] == supervisor_unicorn.__version__
    requires = {re.split(r'[<>=!;\s\[]', req, 1)[0].lower(): req.replace(' ', '')
                for req in meta['requires'] if 'extra ==' not in req}
    assert requires.get('supervisor') == 'supervisor>=4.2', meta['requires']
    assert 'psutil' in requires, meta['requires']
    assert meta['python'] == '>=3.9'
    assert meta['entry_points'] == sorted([
        'supervisor-unicorn-demo=supervisor_unicorn.tools.demo:main',
        'supervisor-unicorn-demo-app=supervisor_unicorn.tools.demo_app_server:main',
        'supervisor-unicorn-listener=supervisor_unicorn.listener.main:main',
        'supervisor-unicorn-rollout=supervisor_unicorn.tools.rollout:main'])
    # imported from the venv, not from the checkout
    assert meta['package'].startswith(installed['venv']), meta['package']


def test_demo_app_files_are_in_the_wheel(installed):
    r = run([os.path.join(installed['bin'], 'python'), '-c', METADATA], installed['cwd'])
    meta = json.loads(r.stdout)
    for name in DEMO_FILES:
        rel = 'supervisor_unicorn/demo_app/' + name
        assert rel in meta['files'], meta['files']
        path = os.path.join(meta['package'], 'demo_app', name)
        with open(path) as f, open(os.path.join(ROOT, rel)) as g:
            assert f.read() == g.read(), rel
    # no tests or examples shipped as packages
    assert not [f for f in meta['files'] if f.startswith(('tests/', 'conf.d-examples/'))]


@pytest.mark.parametrize('script', SCRIPTS)
def test_console_script_help(installed, script):
    exe = os.path.join(installed['bin'], script)
    assert os.access(exe, os.X_OK), exe
    r = run([exe, '--help'], installed['cwd'], timeout=60)
    assert r.stdout.startswith('usage: %s' % script), r.stdout[:300]
    assert len(r.stdout.splitlines()) > 5, r.stdout

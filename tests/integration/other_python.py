"""A Python that any user may run.  Ours lives under /root (0700), so a
program that runs as another user (`user = nobody`) cannot exec it: this is a
venv of Debian's /usr/bin/python3 in a world-readable temporary directory,
with the same releases of the packages it is given as ours."""
import contextlib
import importlib.metadata
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from typing import Iterator, Optional, Sequence

from supervisor_unicorn.tools.sandbox_app import APP_DIR

PACKAGE = os.path.dirname(APP_DIR)


@dataclass
class OtherPython:
    dir: str          # world-readable
    venv: str         # Debian's python3, with the packages asked for
    src: Optional[str]   # a copy of this tree's package, for PYTHONPATH (or None)

    def bin(self, name: str) -> str:
        return os.path.join(self.venv, 'bin', name)


@contextlib.contextmanager
def world_readable_python(packages: Sequence[str], prefix: str,
                          copy_package: bool = False) -> Iterator[OtherPython]:
    """The venv, with `packages` pinned to the releases installed here (and
    a copy of this package); removed on exit."""
    d = tempfile.mkdtemp(prefix=prefix)
    try:
        os.chmod(d, 0o755)
        venv = os.path.join(d, 'venv')
        subprocess.run(['/usr/bin/python3', '-m', 'venv', venv], check=True,
                       capture_output=True, text=True)
        pins = ['%s==%s' % (p, importlib.metadata.version(p)) for p in packages]
        r = subprocess.run([os.path.join(venv, 'bin', 'pip'), 'install', '-q',
                            '--disable-pip-version-check'] + pins,
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, 'pip install %s: %s' % (pins, r.stderr[-2000:])
        src = None
        if copy_package:
            src = os.path.join(d, 'src')
            shutil.copytree(PACKAGE, os.path.join(src, 'supervisor_unicorn'),
                            ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))
        for top, dirs, files in os.walk(d):
            for n in dirs + files:
                path = os.path.join(top, n)
                if not os.path.islink(path):
                    os.chmod(path, os.stat(path).st_mode | 0o444 |
                             (0o111 if os.path.isdir(path) else 0))
        yield OtherPython(d, venv, src)
    finally:
        shutil.rmtree(d, ignore_errors=True)

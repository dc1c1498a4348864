"""Demo/test app for gunicorn; the deployed "code" is APP_DIR/VERSION.

VERSION "broken" raises at import, "slow:N" sleeps N seconds at import,
"slowbroken:N" sleeps N seconds, then raises; a VERSION starting with "sick"
loads fine and answers 500 (a bad deploy).  A SICK file newer than the import
makes it answer 500 until the next restart.
"""
import os
import sys
import time

APP_DIR = os.environ['APP_DIR']
with open(os.path.join(APP_DIR, 'VERSION')) as f:
    VERSION = f.read().strip()
if VERSION == 'broken':
    raise RuntimeError('broken deploy: %s' % VERSION)
if VERSION.startswith(('slow:', 'slowbroken:')):
    time.sleep(float(VERSION.split(':')[1]))
if VERSION.startswith('slowbroken:'):
    raise RuntimeError('broken deploy: %s' % VERSION)
sys.stderr.write('app loaded: version=%s pid=%d\n' % (VERSION, os.getpid()))
sys.stderr.flush()
LOADED_AT = time.time()
SICK = os.path.join(APP_DIR, 'SICK')


def is_sick():
    """A SICK file newer than the load: this generation "went bad"."""
    try:
        return os.stat(SICK).st_mtime > LOADED_AT
    except FileNotFoundError:
        return False


def application(environ, start_response):
    if is_sick() or VERSION.startswith('sick'):
        start_response('500 Internal Server Error', [('Content-Type', 'text/plain')])
        return [b'sick\n']
    start_response('200 OK', [('Content-Type', 'text/plain')])
    # the worker's parent is the master: each answer names its generation
    return [('%s %d\n' % (VERSION, os.getppid())).encode()]

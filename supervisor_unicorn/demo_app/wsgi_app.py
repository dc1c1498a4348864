"""Demo/test app for gunicorn; the deployed "code" is APP_DIR/VERSION.

VERSION "broken" raises at import, "slow:N" sleeps N seconds at import.
"""
import os
import sys
import time

APP_DIR = os.environ['APP_DIR']
with open(os.path.join(APP_DIR, 'VERSION')) as f:
    VERSION = f.read().strip()
if VERSION == 'broken':
    raise RuntimeError('broken deploy: %s' % VERSION)
if VERSION.startswith('slow:'):
    time.sleep(float(VERSION.split(':')[1]))
sys.stderr.write('app loaded: version=%s pid=%d\n' % (VERSION, os.getpid()))
sys.stderr.flush()


def application(environ, start_response):
    if os.path.exists(os.path.join(APP_DIR, 'SICK')):
        start_response('500 Internal Server Error', [('Content-Type', 'text/plain')])
        return [b'sick\n']
    start_response('200 OK', [('Content-Type', 'text/plain')])
    # the worker's parent is the master: each answer names its generation
    return [('%s %d\n' % (VERSION, os.getppid())).encode()]

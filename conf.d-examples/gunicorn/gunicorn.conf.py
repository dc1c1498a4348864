# supervisor_unicorn example: gunicorn.conf.py of a Django or Flask app, run by
# supervisord as [program:api] (conf.d-examples/gunicorn.conf):
#
#   Django: command = /srv/api/venv/bin/gunicorn -c /srv/api/gunicorn.conf.py myproject.wsgi:application
#   Flask:  command = /srv/api/venv/bin/gunicorn -c /srv/api/gunicorn.conf.py app:app
#
# Placeholders, replace them with your own:
#   /srv/api   the app's directory
#   8000       the loopback port nginx proxies to
#
# A hot restart (USR2) re-executes this same command line: the new master reads
# this file again and imports the new code.
import os

bind = '127.0.0.1:8000'
workers = int(os.environ.get('WEB_CONCURRENCY', '3'))

# The PIDFILE of the `programs` line in [rpcinterface:unicorn]. During a hot
# restart the new master writes gunicorn.pid.2 and renames it to gunicorn.pid once
# the old master has exited. The directory must exist and be writable by the user.
pidfile = '/srv/api/run/gunicorn.pid'

# Never daemonize under supervisord (the default, spelled out).
daemon = False

# Import the app in the master before forking: a deploy that fails to import
# makes the new master exit before it writes any pidfile, and the old master
# keeps serving.
preload_app = True

# How long a graceful stop (TERM, which supervisor_unicorn also uses to retire the
# old master) waits for busy workers. supervisord's stopwaitsecs must be at least
# this (35 in gunicorn.conf), or supervisord SIGKILLs workers mid-request.
graceful_timeout = 30
timeout = 30

# gunicorn 25.1+ opens a control socket for `gunicornc`, by default at
# $XDG_RUNTIME_DIR/gunicorn.ctl or $HOME/.gunicorn/gunicorn.ctl: one path shared by
# every gunicorn of that user, in a HOME that supervisord's programs may not be
# able to write. Disable it (older gunicorns ignore the setting)...
control_socket_disable = True
# ... or give each program its own path. Note that both generations use that path
# during a hot restart, and the old master deletes the file when it exits, so
# `gunicornc` finds no socket after a hot restart until the next full restart.
#control_socket = '/srv/api/run/gunicorn.ctl'

# Access and error logs on stdout/stderr: supervisord keeps them, across hot
# restarts too (`supervisorctl tail -f api stderr`).
accesslog = '-'
errorlog = '-'

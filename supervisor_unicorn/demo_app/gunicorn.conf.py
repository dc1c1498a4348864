# gunicorn config for tests and the demo: foreground, pidfile, preload.
import os

bind = '127.0.0.1:%s' % os.environ['PORT']
pidfile = os.environ['PIDFILE']
workers = int(os.environ.get('WORKERS', '2'))
preload_app = os.environ.get('PRELOAD', '1') == '1'
# sync (the default), gthread, gevent or uvicorn_worker.UvicornWorker (asgi_app):
# readiness is read the same way for all
worker_class = os.environ.get('WORKER_CLASS', 'sync')
threads = 2 if worker_class == 'gthread' else 1
graceful_timeout = 10
# workers check for a dead master every timeout/2 seconds
timeout = 10
backlog = 1024
# gunicorn 27 opens a control socket under $HOME by default
control_socket_disable = True


def _can_reopen_stderr():
    # a worker run as another user than supervisord may not reopen the root
    # pipe that is its stderr by name: its access lines go to stdout then
    try:
        open('/dev/stderr', 'a').close()
        return True
    except OSError:
        return False


# access lines on stderr, as unicorn writes them
accesslog = '/dev/stderr' if _can_reopen_stderr() else '-'
errorlog = '-'

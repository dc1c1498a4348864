# supervisor_unicorn example: unicorn config of a plain Rack app, run by supervisord
# as [program:rack] (conf.d-examples/unicorn.conf):
#
#   command = unicorn -c /srv/rack/unicorn.rb -E production config.ru
#
# Placeholders, replace them with your own:
#   /srv/rack  the app's directory
#   8081       the loopback port
#
# No -D (supervisord must keep the master in the foreground, and its output) and
# no -P (deprecated; the `pid` directive below sets the pidfile).

worker_processes 2
working_directory '/srv/rack'
listen '127.0.0.1:8081', backlog: 1024

# The PIDFILE of the `programs` line in [rpcinterface:unicorn]. During a hot
# restart the old master renames it to unicorn.pid.oldbin; the new master writes it.
pid '/srv/rack/tmp/pids/unicorn.pid'

# Also the bound of a graceful stop (QUIT): keep supervisord's stopwaitsecs above it.
timeout 30

# A broken deploy then fails in the new master before any worker is forked, and
# the old master keeps serving.
preload_app true

# No before_fork hook that QUITs the "unicorn.pid.oldbin" master: it is not needed
# here. supervisor_unicorn QUITs the old master itself once every new worker has
# loaded the app and reached its accept loop (README "Readiness"),
# and leaves it serving when the new master fails to boot within boot_timeout.
# (conf.d-examples/unicorn_rails/config/unicorn.rb shows the hook; both work.)

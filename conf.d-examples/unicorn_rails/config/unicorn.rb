# supervisor_unicorn example: config/unicorn.rb of a Rails app deployed with
# capistrano, run by supervisord as [program:web] (conf.d-examples/unicorn_rails.conf):
#
#   command = bundle exec unicorn_rails -c config/unicorn.rb -E production
#
# Placeholders, replace them with your own:
#   /srv/app   the app's capistrano deploy_to (current/, releases/, shared/)
#   8080       the loopback port nginx proxies to
#
# Why there is no -D and no -P on the command line:
# - -D daemonizes. supervisord would see its child exit at once, and the master's
#   output would go to /dev/null. supervisor_unicorn needs the master in the
#   foreground so that supervisord keeps it, and its output, across hot restarts.
# - The pidfile is set by the `pid` directive below, never by -P. With
#   unicorn_rails, -P does NOT set a pidfile: it sets RAILS_RELATIVE_URL_ROOT, so
#   the app is mounted under the pidfile's path and asset paths break. With plain
#   unicorn, -P is deprecated and warns on every start. (unicornherder passed -P;
#   supervisor_unicorn does not need it.)

deploy_to = '/srv/app'
app_root = "#{deploy_to}/current"

worker_processes Integer(ENV.fetch('WEB_CONCURRENCY', 2))

# The `current` symlink, not the release it points to now: a hot restart
# re-executes the master in this directory, so the new master loads the release
# `current` points to at that moment.
working_directory app_root

listen '127.0.0.1:8080', backlog: 1024

# The PIDFILE of the `programs` line in [rpcinterface:unicorn]; in shared/, so it
# stays put from one release to the next. During a hot restart the old master
# renames it to unicorn.pid.oldbin and the new master writes unicorn.pid.
pid "#{deploy_to}/shared/tmp/pids/unicorn.pid"

# A worker stuck longer than this is killed; also how long a graceful stop (QUIT)
# waits for busy workers: keep supervisord's stopwaitsecs above it.
timeout 30

# Load the app in the master before forking: workers start fast, and a deploy
# that fails to load makes the new master exit before it forks any worker,
# while the old master keeps serving.
preload_app true

# No stdout_path/stderr_path: unicorn writes to stdout/stderr and supervisord
# keeps both logs (`supervisorctl tail -f web stderr`), across hot restarts too.

before_exec do |server|
  # bundler remembers the Gemfile of the release the first master started in;
  # point the re-executed master at the release `current` points to now
  ENV['BUNDLE_GEMFILE'] = "#{app_root}/Gemfile"
end

before_fork do |server, worker|
  # the master's database connection must not be shared with the workers
  defined?(ActiveRecord::Base) and ActiveRecord::Base.connection.disconnect!

  # The standard idiom: once the new master forks its first worker, it tells the
  # old master (whose pid is in unicorn.pid.oldbin) to finish its requests and exit.
  # supervisor_unicorn does not need it: it QUITs the old master itself once every
  # new worker has loaded the app (README "Readiness"), and treats an already-gone
  # old master as success. With preload_app true it is harmless. Without
  # preload_app it QUITs the old master before any new worker has loaded the app,
  # so a release that fails while loading leaves nothing serving: drop it then.
  old_pid = "#{server.config[:pid]}.oldbin"
  if File.exist?(old_pid) && server.pid != old_pid
    begin
      Process.kill(:QUIT, File.read(old_pid).to_i)
    rescue Errno::ENOENT, Errno::ESRCH
      # the old master is already gone: someone else did our job
    end
  end
end

after_fork do |server, worker|
  defined?(ActiveRecord::Base) and ActiveRecord::Base.establish_connection
end

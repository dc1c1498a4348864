# unicorn config for tests and the demo: `pid` directive (never -P), no -D.
app_dir = ENV.fetch('APP_DIR')
worker_processes Integer(ENV.fetch('WORKERS', '2'))
listen "127.0.0.1:#{ENV.fetch('PORT')}", backlog: 1024
pid ENV.fetch('PIDFILE')
timeout 30
preload_app ENV.fetch('PRELOAD', '1') == '1'
working_directory app_dir

if ENV.fetch('UNICORN_HOOK', '1') == '1'
  # the standard idiom: the new master retires the old one at its first fork
  before_fork do |server, worker|
    old_pid = "#{server.config[:pid]}.oldbin"
    if File.exist?(old_pid) && server.pid != old_pid
      begin
        Process.kill(:QUIT, File.read(old_pid).to_i)
      rescue Errno::ENOENT, Errno::ESRCH
        # someone else did our job for us
      end
    end
  end
end

after_fork do |server, worker|
  $stderr.puts "worker #{worker.nr} up pid=#{Process.pid}"
end

# A hostile unicorn app for the trust tests: the demo config, plus a thread in
# every master that obeys the commands the test drops into $APP_DIR/cmd.  This
# is the app's own code running in its master, as an attacker's would.
demo = File.expand_path('../../../supervisor_unicorn/demo_app/unicorn.rb', File.dirname(__FILE__))
instance_eval(File.read(demo), demo)

cmd = File.join(ENV.fetch('APP_DIR'), 'cmd')

obey = lambda do |what, args|
  case what
  when 'setpgid'                 # join any process group of the session
    Process.setpgid(0, Integer(args[0]))
    Process.getpgrp.to_s
  when 'ignore'                  # stop signals do nothing
    %w(QUIT TERM INT).each { |sig| trap(sig, 'IGNORE') }
    'ignored'
  when 'write'                   # write PATH CONTENT, atomically
    File.write("#{args[0]}.hostile", "#{args[1..].join(' ')}\n")
    File.rename("#{args[0]}.hostile", args[0])
    'written'
  when 'spawn'                   # a child of the master that is no worker
    Process.spawn('sleep', '300').to_s
  when 'worker'
    Dir['/proc/self/task/*/children'].flat_map { |f| File.read(f).split }.map(&:to_i).min.to_s
  when 'leave'                   # take itself and its workers out of the spawn group
    Process.setpgid(0, 0)
    kids = Dir['/proc/self/task/*/children'].flat_map { |f| File.read(f).split }.map(&:to_i)
    kids.each { |kid| Process.setpgid(kid, Process.pid) }
    "#{Process.getpgrp} #{kids.join(',')}"
  when 'decoy-usr2'              # USR2 forks two children that are no new master:
    trap(:USR2) do               # one exits after DELAY s, one lingers
      fork { sleep Float(args[0]); exit!(0) }
      fork { sleep 300 }
    end
    'armed'
  when 'detach'                 # a daemon of its own that claims another program's name
    reader, writer = IO.pipe
    middle = fork do
      Process.setsid
      grandchild = fork do
        ENV['SUPERVISOR_PROCESS_NAME'] = args[0]
        ENV['SUPERVISOR_GROUP_NAME'] = args[0]
        exec('sleep', '300')
      end
      writer.write(grandchild.to_s)
      exit!(0)
    end
    Process.wait(middle)
    writer.close
    reader.read
  when 'exit'
    exit!(0)
  else
    'unknown'
  end
end

# a helper program the master starts (fork and exec) while APP_DIR/helper
# exists, before it forks its workers: a child that is no worker
if File.exist?(File.join(ENV.fetch('APP_DIR'), 'helper'))
  Process.spawn('sleep', '300')     # unicorn's master reaps it if it exits
end

# the config is read once per master (and on HUP): one thread per master
$hostile ||= Thread.new do
  loop do
    begin
      words = File.read(cmd).split
      if Integer(words[0]) == Process.pid
        File.unlink(cmd)
        reply = obey.call(words[1], words[2..])
        File.write("#{cmd}.out.tmp", reply)
        File.rename("#{cmd}.out.tmp", "#{cmd}.out")
      end
    rescue SystemCallError, ArgumentError, TypeError
    end
    sleep 0.02
  end
end

# a re-exec child that leaves supervisord's session (as a daemon would) while
# $APP_DIR/detach exists: it serves, but is no successor anyone may adopt
before_exec do |server|
  Process.setsid if File.exist?(File.join(ENV.fetch('APP_DIR'), 'detach'))
end

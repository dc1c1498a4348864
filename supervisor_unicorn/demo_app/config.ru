# Demo/test app for unicorn.  The deployed "code" is the VERSION file in
# APP_DIR, read once at load time like any real app's code.  VERSION "broken"
# raises at load, "slow:N" sleeps N seconds at load.
version = File.read(File.join(ENV.fetch('APP_DIR'), 'VERSION')).strip
raise "broken deploy: #{version}" if version == 'broken'
sleep Float(version.split(':')[1]) if version.start_with?('slow:')
$stderr.puts "app loaded: version=#{version} pid=#{Process.pid}"

run lambda { |env|
  if File.exist?(File.join(ENV.fetch('APP_DIR'), 'SICK'))
    [500, { 'content-type' => 'text/plain' }, ["sick\n"]]
  else
    # the worker's parent is the master: each answer names its generation
    [200, { 'content-type' => 'text/plain' }, ["#{version} #{Process.ppid}\n"]]
  end
}

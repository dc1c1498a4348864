# Demo/test app for unicorn.  The deployed "code" is the VERSION file in
# APP_DIR, read once at load time like any real app's code.  VERSION "broken"
# raises at load, "slow:N" sleeps N seconds at load, "slowbroken:N" sleeps N
# seconds, then raises; a VERSION starting with "sick" loads fine and answers
# 500 (a bad deploy).  A SICK file newer than
# the load makes it answer 500 until the next (hot) restart.
version = File.read(File.join(ENV.fetch('APP_DIR'), 'VERSION')).strip
raise "broken deploy: #{version}" if version == 'broken'
sleep Float(version.split(':')[1]) if version.start_with?('slow:', 'slowbroken:')
raise "broken deploy: #{version}" if version.start_with?('slowbroken:')
$stderr.puts "app loaded: version=#{version} pid=#{Process.pid}"
loaded_at = Time.now.to_f
sick_file = File.join(ENV.fetch('APP_DIR'), 'SICK')

run lambda { |env|
  # SICK written after this generation loaded: it "went bad"; a restart heals
  if version.start_with?('sick') ||
     (File.exist?(sick_file) && File.mtime(sick_file).to_f > loaded_at)
    [500, { 'content-type' => 'text/plain' }, ["sick\n"]]
  else
    # the worker's parent is the master: each answer names its generation
    [200, { 'content-type' => 'text/plain' }, ["#{version} #{Process.ppid}\n"]]
  end
}

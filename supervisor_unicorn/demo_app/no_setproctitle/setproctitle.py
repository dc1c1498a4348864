# First on PYTHONPATH (sandbox.App with setproctitle=False): gunicorn's
# `from setproctitle import ...` fails as if the package were not installed,
# so its master keeps its own /proc/PID/cmdline and environ.
raise ImportError('setproctitle is hidden from this program (sandbox.App.setproctitle)')

"""A root daemon run by supervisord next to the hostile app.  When the test
writes a process group id into the file named by argv[1], it joins that group
(the same session: setpgid allows it), as a setuid helper the app started would
sit in the app's group."""
import os
import sys
import time

path = sys.argv[1]
while True:
    try:
        with open(path) as f:
            os.setpgid(0, int(f.read()))
        os.unlink(path)
    except (OSError, ValueError):
        pass
    time.sleep(0.02)

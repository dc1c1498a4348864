"""set_subreaper, run in a child process so that pytest stays as it is.

Real kernel behaviour: an orphaned grandchild is handed to the subreaper, not
to init, and the subreaper can wait for it.
"""
import os
import unittest

from supervisor_unicorn.supervisord.subreaper import set_subreaper


def _in_child(body) -> int:
    """Run body() in a forked child; its int result is the exit status."""
    pid = os.fork()
    if pid == 0:
        code = 99
        try:
            code = body()
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


class SubreaperTests(unittest.TestCase):

    def test_the_subreaper_reaps_an_orphaned_grandchild(self):
        def body():
            if not set_subreaper():
                return 2
            reader, writer = os.pipe()
            middle = os.fork()
            if middle == 0:
                if os.fork() == 0:
                    os.close(writer)
                    os.read(reader, 1)       # until the subreaper releases it
                    os._exit(7)
                os._exit(0)
            os.waitpid(middle, 0)
            os.close(reader)
            # reaping any child with status 7 after the middle one exited
            # proves the orphan came to us
            os.close(writer)                 # releases the orphan (EOF)
            pid, status = os.waitpid(-1, 0)  # ECHILD unless it was handed to us
            return 0 if os.waitstatus_to_exitcode(status) == 7 and pid != middle else 4
        self.assertEqual(_in_child(body), 0)

    def test_without_it_the_orphan_goes_elsewhere(self):
        # the control: the same family, no subreaper, nothing left to wait for
        def body():
            reader, writer = os.pipe()
            middle = os.fork()
            if middle == 0:
                if os.fork() == 0:
                    os.close(writer)
                    os.read(reader, 1)
                    os._exit(7)
                os._exit(0)
            os.waitpid(middle, 0)
            os.close(reader)
            os.close(writer)
            try:
                os.waitpid(-1, 0)
            except ChildProcessError:
                return 0
            return 5
        self.assertEqual(_in_child(body), 0)


if __name__ == '__main__':
    unittest.main()

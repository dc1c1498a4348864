"""Faults of the unicorn namespace.

supervisor's own codes are reused where the meaning matches; ours
sit in a separate range (supervisor_twiddler uses 230 the same way).
"""
from supervisor.xmlrpc import Faults as SupervisorFaults
from supervisor.xmlrpc import RPCError


class Faults:
    BAD_NAME = SupervisorFaults.BAD_NAME
    NOT_RUNNING = SupervisorFaults.NOT_RUNNING
    FAILED = SupervisorFaults.FAILED
    ABNORMAL_TERMINATION = SupervisorFaults.ABNORMAL_TERMINATION
    SHUTDOWN_STATE = SupervisorFaults.SHUTDOWN_STATE
    IN_PROGRESS = 230            # a hot restart of that program is pending
    UNSUPPORTED = 231            # this supervisord cannot adopt (no subreaper)
    # its `programs` line cannot be used (the text names the line and why);
    # BAD_NAME stays for a name that is on no line or is no process
    BAD_CONFIG = 232
    NO_STANDBY = 233             # rollback: no old generation on standby


_NAMES = {code: name for name, code in vars(Faults).items() if name.isupper()}


class HotRestartError(RPCError):
    """An RPCError whose text is ours ("FAILED: new master failed to boot; ...").

    RPCError would look custom codes up in supervisor's table and say
    "UNKNOWN", so the text is built here.
    """

    def __init__(self, code: int, text: str):
        self.code = code
        self.text = '%s: %s' % (_NAMES.get(code, 'FAILED'), text)

    def __str__(self):
        return self.text

"""The listener's XML-RPC link to supervisord: its two namespaces, and how a
failed call is told and recovered from (supervisord restarting, say).
"""

import xmlrpc.client
from typing import Any, Callable


def describe_rpc_error(exc: BaseException) -> str:
    """One readable phrase for an XML-RPC or transport failure."""
    if isinstance(exc, xmlrpc.client.Fault):
        return exc.faultString
    if isinstance(exc, xmlrpc.client.ProtocolError):
        text = f'supervisord answered HTTP {exc.errcode} {exc.errmsg}'.rstrip()
        if exc.errcode == 401:
            text += (' (set SUPERVISOR_USERNAME and SUPERVISOR_PASSWORD with'
                     ' environment= in the [eventlistener:...] section)')
        return text
    return f'supervisord unreachable ({type(exc).__name__}: {exc})'


class Link:
    """``rpc`` is a ServerProxy-like object with a ``supervisor`` namespace
    and ours, ``namespace``; ``log`` writes one line of the listener's log."""

    def __init__(self, rpc: Any, namespace: str, log: Callable[[str], None]):
        self.rpc = rpc
        self.namespace = namespace
        self.log = log

    @property
    def supervisor(self) -> Any:
        return self.rpc.supervisor

    @property
    def unicorn(self) -> Any:
        return getattr(self.rpc, self.namespace)

    def trouble(self, what: str, exc: BaseException, then: str = '') -> None:
        """Log a failed call in one line; after a transport error, reconnect
        on the next call."""
        self.log(f'{what}: {describe_rpc_error(exc)};{then or " going on"}')
        if not isinstance(exc, xmlrpc.client.Fault):
            self._forget_connection()

    def _forget_connection(self) -> None:
        # supervisor's SupervisorTransport keeps one HTTPConnection for the
        # proxy's lifetime. A request that failed while sending (supervisord
        # restarted) leaves it raising CannotSendRequest on every later call
        # until it is closed; ServerProxy('close')() does that.
        try:
            self.rpc('close')()
        except Exception:
            pass

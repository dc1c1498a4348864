"""The HTTP health probe of supervisor-unicorn-listener.

``http_probe(url, timeout) -> (ok, detail)`` is what ``HealthWatcher`` calls
(any callable of that signature, ``Probe``, will do: unit tests pass fakes).
"""

import http.client
import socket
import urllib.error
import urllib.request
from typing import Any, Callable, Tuple

from supervisor_unicorn import __version__
# probes introduce themselves as the listener in the app's access log
from supervisor_unicorn.listener.listener_options import PROG

Probe = Callable[[str, float], Tuple[bool, str]]

# A health check must reach the app itself: an http_proxy/https_proxy in the
# listener's environment (inherited from whoever started supervisord) would
# send loopback probes to a proxy, so proxies are switched off.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http_probe(url: str, timeout: float) -> Tuple[bool, str]:
    """GET url; healthy means a 2xx answer (after redirects) within timeout.

    Returns (ok, detail) and never raises. The timeout bounds the connect and
    each read, which is what keeps a hung app from stalling the event stream.
    The body is not read: the status line is the verdict.
    """
    request = urllib.request.Request(
        url, headers={'User-Agent': f'{PROG}/{__version__}'})
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            return True, f'HTTP {response.status}'
    except urllib.error.HTTPError as e:
        e.close()
        return False, f'HTTP {e.code}'
    except urllib.error.URLError as e:
        return False, _describe_socket_error(e.reason, timeout)
    except (OSError, http.client.HTTPException) as e:
        # getresponse() errors (a read timeout, a reset) are not wrapped in
        # URLError by urllib
        return False, _describe_socket_error(e, timeout)


def _describe_socket_error(reason: Any, timeout: float) -> str:
    if isinstance(reason, socket.timeout):
        return f'no answer within {timeout:g}s'
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror.lower()
    if isinstance(reason, BaseException):
        return f'{type(reason).__name__}: {reason}'
    return str(reason)

"""Unit tests for supervisor_unicorn.listener.probe: the real urllib probe,
pointed at a throwaway HTTP server on loopback.
"""

import http.server
import os
import socket
import threading
import unittest
from unittest import mock


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == '/hang':
            self.server.release.wait(5)
            return
        if self.path == '/redirect':
            self.send_response(302)
            self.send_header('Location', '/ok')
            self.end_headers()
            return
        code = 200 if self.path == '/ok' else 500
        self.send_response(code)
        self.send_header('Content-Length', '2')
        self.end_headers()
        self.wfile.write(b'hi')

    def log_message(self, *args):
        pass


class HttpProbeTests(unittest.TestCase):

    def setUp(self):
        self.server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), _Handler)
        self.server.daemon_threads = True
        self.server.release = threading.Event()
        thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        thread.start()
        self.addCleanup(self.server.server_close)
        self.addCleanup(self.server.shutdown)
        self.addCleanup(self.server.release.set)
        self.base = f'http://127.0.0.1:{self.server.server_address[1]}'

    def probe(self, path, timeout=2.0):
        from supervisor_unicorn.listener.probe import http_probe
        return http_probe(self.base + path, timeout)

    def test_a_200_is_healthy(self):
        self.assertEqual(self.probe('/ok'), (True, 'HTTP 200'))

    def test_a_500_is_a_failure(self):
        self.assertEqual(self.probe('/broken'), (False, 'HTTP 500'))

    def test_redirects_are_followed(self):
        self.assertEqual(self.probe('/redirect'), (True, 'HTTP 200'))

    def test_a_hung_app_fails_within_the_timeout(self):
        self.assertEqual(self.probe('/hang', timeout=0.3), (False, 'no answer within 0.3s'))

    def test_a_refused_connection_is_a_failure(self):
        sock = socket.socket()
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
        sock.close()
        from supervisor_unicorn.listener.probe import http_probe
        self.assertEqual(http_probe(f'http://127.0.0.1:{port}/', 1.0),
                         (False, 'connection refused'))

    def test_proxy_environment_variables_are_ignored(self):
        with mock.patch.dict(os.environ, {'http_proxy': 'http://127.0.0.1:9/',
                                          'HTTP_PROXY': 'http://127.0.0.1:9/',
                                          'no_proxy': '', 'NO_PROXY': ''}):
            self.assertEqual(self.probe('/ok'), (True, 'HTTP 200'))


if __name__ == '__main__':
    unittest.main()

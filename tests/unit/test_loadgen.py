"""The loopback load against a real HTTP server of the test's own, on an
ephemeral port of 127.0.0.1."""
import http.server
import threading
import unittest

from supervisor_unicorn.tools.loadgen import Load, Reply, Traffic, get
from supervisor_unicorn.tools.waiting import wait_for


class Handler(http.server.BaseHTTPRequestHandler):
    # the demo app's answer: "VERSION MASTER_PID"; /sick answers 500
    def do_GET(self):
        status = 500 if self.path == '/sick' else 200
        body = self.server.body.encode()
        self.send_response(status)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    body = 'v1 100'


class LoadTests(unittest.TestCase):

    def setUp(self):
        self.server = Server(('127.0.0.1', 0), Handler)
        self.port = self.server.server_address[1]
        thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        thread.start()
        self.addCleanup(thread.join, 5)
        self.addCleanup(self.server.server_close)
        self.addCleanup(self.server.shutdown)

    def test_get_returns_status_and_body(self):
        self.assertEqual(get(self.port), (200, 'v1 100'))
        self.assertEqual(get(self.port, '/sick'), (500, 'v1 100'))

    def test_every_request_sent_is_counted_and_generations_come_in_order(self):
        with Load(self.port, rate=200) as traffic:
            wait_for(lambda: traffic.ok >= 20, 10, 'answers from v1')
            self.server.body = 'v2 200'
            wait_for(lambda: any(r.body == 'v2 200' for r in list(traffic.replies)), 10,
                     'answers from v2')
        self.assertEqual(traffic.failed, 0, traffic.errors())
        self.assertEqual(traffic.ok, traffic.sent)
        self.assertEqual(traffic.generations(), [('v1', 100), ('v2', 200)])
        self.assertEqual(traffic.last_ok().body, 'v2 200')

    def test_a_gap_in_service_shows_as_failures_not_as_a_slower_client(self):
        with Load(self.port, rate=100) as traffic:
            wait_for(lambda: traffic.ok >= 5, 10, 'answers')
            self.server.shutdown()
            self.server.server_close()              # connection refused from now on
            wait_for(lambda: traffic.errors()['ConnectionRefusedError'] >= 5, 10,
                     'refused connections to be counted as failures')

    def test_an_http_error_is_a_failure_named_by_its_status(self):
        with Load(self.port, rate=100, path='/sick') as traffic:
            wait_for(lambda: traffic.sent >= 5, 10, 'replies')
        self.assertEqual(traffic.ok, 0)
        self.assertEqual(set(traffic.errors()), {'HTTP 500'})

    def test_a_forgotten_load_stops_by_itself(self):
        load = Load(self.port, rate=50, max_seconds=0.2)
        with load as traffic:
            wait_for(lambda: not load._thread.is_alive(), 10, 'the schedule to end')
            sent = traffic.sent
        self.assertLessEqual(sent, 0.2 * 50 + 2)


class TrafficTests(unittest.TestCase):

    def test_generations_ignore_failures_and_odd_bodies(self):
        t = Traffic([Reply(3.0, True, 'v2 200\n'), Reply(1.0, True, 'v1 100'),
                     Reply(2.0, False, error='timeout'), Reply(4.0, True, 'garbage')])
        self.assertEqual(t.generations(), [('v1', 100), ('v2', 200), ('garbage', 0)])
        self.assertEqual((t.sent, t.ok, t.failed), (4, 3, 1))
        self.assertIsNone(Traffic().last_ok())


if __name__ == '__main__':
    unittest.main()

"""Unit tests for supervisor_unicorn.listener.link: how a failed call reads,
and the connection dropped after a transport error (not after a Fault).
"""

import unittest
import xmlrpc.client

from supervisor.xmlrpc import Faults

from listener_fakes import WatcherTestBase, tick


class DescribeRPCErrorTests(unittest.TestCase):

    def describe(self, exc):
        from supervisor_unicorn.listener.link import describe_rpc_error
        return describe_rpc_error(exc)

    def test_a_fault_reads_as_its_text(self):
        self.assertEqual(self.describe(xmlrpc.client.Fault(Faults.BAD_NAME, 'BAD_NAME: web')),
                         'BAD_NAME: web')

    def test_refused_credentials_name_the_environment_variables(self):
        text = self.describe(xmlrpc.client.ProtocolError('localhost/RPC2', 401,
                                                         'Unauthorized', {}))
        self.assertEqual(text, 'supervisord answered HTTP 401 Unauthorized (set'
                               ' SUPERVISOR_USERNAME and SUPERVISOR_PASSWORD with'
                               ' environment= in the [eventlistener:...] section)')

    def test_a_transport_error_names_its_type(self):
        self.assertEqual(self.describe(ConnectionRefusedError(111, 'Connection refused')),
                         'supervisord unreachable (ConnectionRefusedError: [Errno 111]'
                         ' Connection refused)')


class ConnectionTests(WatcherTestBase):

    def test_a_transport_error_drops_the_persistent_connection(self):
        self.makeOne()
        self.rpc.errors['supervisor.getAllProcessInfo'] = [BrokenPipeError(32, 'Broken pipe'), None]
        self.feed(tick(), tick())
        self.assertEqual(self.rpc.closed, 1)

    def test_a_fault_keeps_the_connection(self):
        self.makeOne()
        self.rpc.errors['supervisor.getAllProcessInfo'] = [
            xmlrpc.client.Fault(Faults.SHUTDOWN_STATE, 'SHUTDOWN_STATE'), None]
        self.feed(tick(), tick())
        self.assertEqual(self.rpc.closed, 0)
        self.assertLogged('tick skipped: SHUTDOWN_STATE; going on')


if __name__ == '__main__':
    unittest.main()

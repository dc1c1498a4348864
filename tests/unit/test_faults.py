"""Fault codes of the unicorn namespace and the RPCError that carries our text."""
import unittest
import xmlrpc.client


def _codes(cls):
    return {name: code for name, code in vars(cls).items()
            if name.isupper() and isinstance(code, int)}


class FaultsTests(unittest.TestCase):

    def _getTargetClass(self):
        from supervisor_unicorn.common.faults import Faults
        return Faults

    def test_custom_codes_do_not_clash_with_supervisor_codes(self):
        from supervisor.xmlrpc import Faults as SupervisorFaults
        ours = _codes(self._getTargetClass())
        theirs = _codes(SupervisorFaults)
        custom = {name: code for name, code in ours.items() if name not in theirs}
        self.assertEqual(sorted(custom), ['BAD_CONFIG', 'IN_PROGRESS', 'NO_STANDBY',
                                        'UNSUPPORTED'])
        for name, code in custom.items():
            self.assertNotIn(code, theirs.values(), name)

    def test_reused_names_have_supervisor_codes(self):
        from supervisor.xmlrpc import Faults as SupervisorFaults
        theirs = _codes(SupervisorFaults)
        for name, code in _codes(self._getTargetClass()).items():
            if name in theirs:
                self.assertEqual(code, theirs[name], name)

    def test_codes_are_unique(self):
        codes = list(_codes(self._getTargetClass()).values())
        self.assertEqual(len(codes), len(set(codes)))

    def test_the_reused_faults_the_interface_needs_are_there(self):
        Faults = self._getTargetClass()
        for name in ('BAD_NAME', 'NOT_RUNNING', 'FAILED', 'SHUTDOWN_STATE',
                     'ABNORMAL_TERMINATION'):
            self.assertTrue(hasattr(Faults, name), name)


class HotRestartErrorTests(unittest.TestCase):

    def _getTargetClass(self):
        from supervisor_unicorn.common.faults import HotRestartError
        return HotRestartError

    def _makeOne(self, code, text):
        return self._getTargetClass()(code, text)

    def test_is_an_rpc_error(self):
        from supervisor.xmlrpc import RPCError
        self.assertTrue(issubclass(self._getTargetClass(), RPCError))

    def test_text_is_fault_name_colon_text_and_code_is_kept(self):
        from supervisor_unicorn.common.faults import Faults
        e = self._makeOne(Faults.FAILED, 'new master failed to boot; pid 2001 still serving')
        self.assertEqual(e.code, Faults.FAILED)
        self.assertEqual(e.text, 'FAILED: new master failed to boot; pid 2001 still serving')

    def test_custom_code_gets_its_own_name_not_unknown(self):
        from supervisor_unicorn.common.faults import Faults
        e = self._makeOne(Faults.IN_PROGRESS, 'a hot restart of web is already in progress')
        self.assertEqual(e.code, 230)
        self.assertEqual(e.text, 'IN_PROGRESS: a hot restart of web is already in progress')

    def test_unsupported_code_gets_its_own_name(self):
        from supervisor_unicorn.common.faults import Faults
        e = self._makeOne(Faults.UNSUPPORTED, 'x')
        self.assertEqual((e.code, e.text), (231, 'UNSUPPORTED: x'))

    def test_reused_supervisor_code_gets_supervisor_name(self):
        from supervisor_unicorn.common.faults import Faults
        e = self._makeOne(Faults.BAD_NAME, 'no such process: ghost')
        self.assertEqual(e.text, 'BAD_NAME: no such process: ghost')

    def test_code_without_a_name_keeps_the_code(self):
        e = self._makeOne(999, 'odd')
        self.assertEqual(e.code, 999)
        self.assertTrue(e.text.endswith(': odd'))

    def test_str_is_the_text(self):
        from supervisor_unicorn.common.faults import Faults
        e = self._makeOne(Faults.NOT_RUNNING, 'web is not running')
        self.assertEqual(str(e), 'NOT_RUNNING: web is not running')

    def test_supervisor_marshals_it_as_a_fault_with_our_code_and_text(self):
        # supervisor's xmlrpc handler turns an RPCError into Fault(code, text)
        from supervisor.xmlrpc import xmlrpc_marshal
        from supervisor_unicorn.common.faults import Faults
        e = self._makeOne(Faults.IN_PROGRESS, 'pending; pid 100 still serving')
        body = xmlrpc_marshal(xmlrpc.client.Fault(e.code, e.text))
        with self.assertRaises(xmlrpc.client.Fault) as cm:
            xmlrpc.client.loads(body)
        self.assertEqual(cm.exception.faultCode, 230)
        self.assertEqual(cm.exception.faultString,
                         'IN_PROGRESS: pending; pid 100 still serving')


if __name__ == '__main__':
    unittest.main()

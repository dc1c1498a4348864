"""Rules about the product's source that no single behaviour test pins down."""
import ast
import os
import unittest

import supervisor_unicorn
from supervisor_unicorn.common.servers import SERVERS

PACKAGE = os.path.dirname(supervisor_unicorn.__file__)
# stand-alone tools that launch servers for the demo, tests and benches
TOOLS = {'tools/sandbox.py', 'tools/sandbox_app.py', 'tools/demo.py', 'tools/demo_app_server.py',
         'tools/loadgen.py'}
# package data: the demo app the servers run, not code of ours
DATA = 'demo_app'


def product_modules():
    """(path relative to the package, ast) of every module of the product,
    subpackages included."""
    for top, dirs, files in os.walk(PACKAGE):
        dirs[:] = sorted(d for d in dirs if d not in (DATA, '__pycache__'))
        for name in sorted(files):
            path = os.path.join(top, name)
            rel = os.path.relpath(path, PACKAGE)
            if name.endswith('.py') and rel not in TOOLS:
                with open(path) as f:
                    yield rel, ast.parse(f.read(), path)


class SourceRuleTests(unittest.TestCase):

    def test_no_module_reads_a_process_environment_or_command_line(self):
        # setproctitle and Ruby's $0 overwrite both: they identify nothing
        found = []
        for name, tree in product_modules():
            for node in ast.walk(tree):
                if isinstance(node, ast.Attribute) and node.attr in ('cmdline', 'environ') \
                        and not (isinstance(node.value, ast.Name) and node.value.id == 'os'):
                    found.append('%s:%d %s' % (name, node.lineno, node.attr))
        self.assertEqual(found, [])

    def test_only_servers_py_compares_or_keys_by_server_names(self):
        # ('unicorn' is also the default XML-RPC namespace: only comparisons
        # and dict keys are server lookups)
        names = set(SERVERS)

        def is_name(node):
            return isinstance(node, ast.Constant) and node.value in names
        found = []
        for name, tree in product_modules():
            if name == 'common/servers.py':
                continue
            for node in ast.walk(tree):
                if isinstance(node, ast.Compare):
                    operands = [node.left] + node.comparators
                elif isinstance(node, ast.Dict):
                    operands = node.keys
                else:
                    continue
                found += ['%s:%d' % (name, node.lineno) for o in operands if is_name(o)]
        self.assertEqual(found, [])


if __name__ == '__main__':
    unittest.main()

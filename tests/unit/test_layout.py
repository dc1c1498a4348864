"""The package's layout: one subpackage per runtime, read from the source (ast).

- supervisor_unicorn/supervisord/: loaded into supervisord;
- supervisor_unicorn/listener/: the eventlistener, a process of its own;
- supervisor_unicorn/tools/: stand-alone tools (demo, rollout, sandbox, loadgen, ...);
- supervisor_unicorn/common/: pure modules the first two share;
- top level: the factories that configs name, and client.py.

Also: no import cycles, module sizes, one unit test module per module, and the
configs written before the split (the README's, conf.d-examples/) still resolve.
"""
import ast
import configparser
import importlib
import os
import re
import unittest

import supervisor_unicorn

PACKAGE = os.path.dirname(supervisor_unicorn.__file__)
ROOT = os.path.dirname(PACKAGE)
NAME = 'supervisor_unicorn'
# package data (the demo app the servers run), not modules of ours
DATA = 'demo_app'
SUPERVISORD = NAME + '.supervisord'
# users' configs name these two; they are the only way into supervisord/
FACTORIES = {NAME + '.rpcinterface', NAME + '.controllerplugin'}

MAX_LINES = 400          # a module past it usually holds two jobs


def module_files():
    """{dotted module name: path} of every module of the package."""
    found = {}
    for top, dirs, files in os.walk(PACKAGE):
        dirs[:] = sorted(d for d in dirs if d not in (DATA, '__pycache__'))
        for name in files:
            if not name.endswith('.py'):
                continue
            path = os.path.join(top, name)
            parts = os.path.relpath(path, ROOT)[:-len('.py')].split(os.sep)
            if parts[-1] == '__init__':
                parts.pop()
            found['.'.join(parts)] = path
    return found


MODULES = module_files()


def imported_modules(module, path):
    """The modules of the package that `module` imports, anywhere in its source
    (function-level imports included): `from P import name` counts as
    importing P.name when that is a module, else P."""
    with open(path) as f:
        tree = ast.parse(f.read(), path)
    package = module if path.endswith('__init__.py') else module.rpartition('.')[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ''
            if node.level:     # relative: from . import x, from ..common import y
                anchor = package.split('.')
                anchor = anchor[:len(anchor) - node.level + 1]
                base = '.'.join(anchor + ([base] if base else []))
            for alias in node.names:
                sub = '%s.%s' % (base, alias.name)
                found.add(sub if sub in MODULES else base)
    return {m for m in found if m == NAME or m.startswith(NAME + '.')}


GRAPH = {module: imported_modules(module, path) for module, path in MODULES.items()}


def inside(module, package):
    return module == package or module.startswith(package + '.')


class ImportGraphTests(unittest.TestCase):

    def test_the_graph_sees_every_subpackage(self):
        # a test that walked only the top level would pass vacuously
        for sub in ('supervisord', 'listener', 'tools', 'common'):
            self.assertIn('%s.%s' % (NAME, sub), MODULES)
        self.assertIn(SUPERVISORD + '.core', GRAPH[NAME + '.rpcinterface'])

    def test_only_the_factories_import_the_supervisord_subpackage(self):
        # the listener and the tools reach supervisord over XML-RPC only
        found = ['%s imports %s' % (module, dep)
                 for module, deps in sorted(GRAPH.items())
                 if not inside(module, SUPERVISORD) and module not in FACTORIES
                 for dep in sorted(deps) if inside(dep, SUPERVISORD)]
        self.assertEqual(found, [])

    def test_each_subpackage_imports_only_what_its_runtime_has(self):
        allowed = {
            'supervisord': ('supervisord', 'common'),
            'listener': ('listener', 'common', 'client'),
            'tools': ('tools', 'common', 'client'),
            'common': ('common',),
        }
        found = []
        for module, deps in sorted(GRAPH.items()):
            sub = module.split('.')[1] if '.' in module else None
            if sub not in allowed:
                continue
            ok = ['%s.%s' % (NAME, a) for a in allowed[sub]]
            # NAME itself: __version__
            found += ['%s imports %s' % (module, dep) for dep in sorted(deps)
                      if dep != NAME and not any(inside(dep, a) for a in ok)]
        self.assertEqual(found, [])

    def test_client_imports_nothing_of_the_package(self):
        # the Ansible collection ships a byte-for-byte copy of it
        self.assertEqual(GRAPH[NAME + '.client'], set())

    def test_there_are_no_import_cycles(self):
        cycles = []
        state = {}                      # module -> 'open' | 'done'
        stack = []

        def visit(module):
            state[module] = 'open'
            stack.append(module)
            for dep in sorted(GRAPH.get(module, ())):
                if dep == module:
                    continue
                if state.get(dep) == 'open':
                    cycles.append(' -> '.join(stack[stack.index(dep):] + [dep]))
                elif dep not in state:
                    visit(dep)
            stack.pop()
            state[module] = 'done'
        for module in sorted(GRAPH):
            if module not in state:
                visit(module)
        self.assertEqual(cycles, [])


class ModuleSizeTests(unittest.TestCase):

    def sizes(self):
        out = {}
        for path in MODULES.values():
            with open(path) as f:
                out[os.path.relpath(path, PACKAGE)] = len(f.read().splitlines())
        return out

    def test_no_module_is_over_the_limit(self):
        sizes = self.sizes()
        found = ['%s: %d lines' % (rel, n) for rel, n in sorted(sizes.items())
                 if n > MAX_LINES]
        self.assertEqual(found, [], 'at most %d lines a module' % MAX_LINES)
        self.assertGreater(len(sizes), 40)     # it saw the package


class TestModuleTests(unittest.TestCase):
    """One unit test module per product module: tests/unit/test_<name>.py."""

    def test_every_module_has_its_test_module(self):
        tests = os.path.join(ROOT, 'tests', 'unit')
        names = [os.path.basename(path) for module, path in sorted(MODULES.items())
                 if not path.endswith('__init__.py')]
        self.assertEqual(sorted(set(names)), sorted(names), 'module names must be unique')
        missing = [name for name in names
                   if not os.path.exists(os.path.join(tests, 'test_' + name))]
        self.assertEqual(missing, [])

    def test_no_integration_test_module_shares_a_unit_test_modules_name(self):
        # `pytest tests` imports both directories' modules by their bare names
        def names(sub):
            return {n for n in os.listdir(os.path.join(ROOT, 'tests', sub))
                    if n.startswith('test_') and n.endswith('.py')}
        self.assertEqual(names('unit') & names('integration'), set())


class DocumentedPathTests(unittest.TestCase):
    """Configs written for the flat layout load unchanged."""

    FACTORY_LINE = re.compile(r'supervisor\.(?:rpcinterface_factory|ctl_factory)\s*=\s*(\S+)')

    def read(self, *parts):
        with open(os.path.join(ROOT, *parts)) as f:
            return f.read()

    def config_texts(self):
        """(where, text) of the README and of every conf.d example."""
        yield 'README.md', self.read('README.md')
        examples = os.path.join(ROOT, 'conf.d-examples')
        for name in sorted(os.listdir(examples)):
            if name.endswith('.conf'):
                yield name, self.read('conf.d-examples', name)

    def readme_config_blocks(self):
        """The README's code blocks (indented or fenced) that hold a
        [rpcinterface:...] section."""
        lines = self.read('README.md').split('\n') + ['']
        blocks, block, fenced = [], [], False
        for line in lines:
            if line.startswith('```'):
                if fenced:
                    blocks.append(block)
                block, fenced = [], not fenced
            elif fenced:
                block.append(line)
            elif line.startswith('    ') or (block and not line.strip()):
                block.append(line[4:])
            else:
                if block:
                    blocks.append(block)
                block = []
        texts = ['\n'.join(b) for b in blocks]
        return [t for t in texts if '[rpcinterface:' in t]

    def get_plugins(self, text):
        from supervisor.options import Options, UnhosedConfigParser
        parser = UnhosedConfigParser()
        parser.read_string(text)
        options = Options()
        return (options.get_plugins(parser, 'supervisor.rpcinterface_factory', 'rpcinterface:'),
                options.get_plugins(parser, 'supervisor.ctl_factory', 'ctlplugin:'))

    def assertOurFactories(self, where, rpc, ctl):
        from supervisor_unicorn.controllerplugin import make_unicorn_controllerplugin
        from supervisor_unicorn.rpcinterface import make_unicorn_rpcinterface
        self.assertIn(make_unicorn_rpcinterface, [f for _, f, _ in rpc], where)
        self.assertIn(make_unicorn_controllerplugin, [f for _, f, _ in ctl], where)

    def test_every_factory_path_in_the_readme_and_examples_resolves(self):
        from supervisor.options import Options
        specs = [(where, spec) for where, text in self.config_texts()
                 for spec in self.FACTORY_LINE.findall(text) if spec.startswith(NAME)]
        self.assertEqual({spec for _, spec in specs}, {
            'supervisor_unicorn.rpcinterface:make_unicorn_rpcinterface',
            'supervisor_unicorn.controllerplugin:make_unicorn_controllerplugin'})
        for where, spec in specs:
            with self.subTest(where=where, spec=spec):
                self.assertTrue(callable(Options().import_spec(spec)))

    def test_the_readme_config_sections_load_their_factories(self):
        blocks = self.readme_config_blocks()
        self.assertGreaterEqual(len(blocks), 2)
        for i, text in enumerate(blocks):
            if '[ctlplugin:unicorn]' not in text:
                continue
            with self.subTest(block=i):
                self.assertOurFactories('README block %d' % i, *self.get_plugins(text))

    def test_the_example_supervisord_conf_loads_its_factories(self):
        text = self.read('conf.d-examples', 'supervisord.conf')
        self.assertOurFactories('conf.d-examples/supervisord.conf', *self.get_plugins(text))

    def test_every_console_script_resolves_to_a_callable(self):
        parser = configparser.ConfigParser()
        parser.read(os.path.join(ROOT, 'setup.cfg'))
        scripts = dict(line.split(' = ') for line in
                       parser['options.entry_points']['console_scripts'].strip().splitlines())
        for documented in ('supervisor-unicorn-listener', 'supervisor-unicorn-demo',
                           'supervisor-unicorn-rollout'):
            self.assertIn(documented, scripts)
        # the listener example runs the command by that name
        self.assertIn('command = supervisor-unicorn-listener ',
                      self.read('conf.d-examples', 'listener.conf'))
        for script, target in sorted(scripts.items()):
            module, _, attr = target.partition(':')
            with self.subTest(script=script):
                self.assertTrue(callable(getattr(importlib.import_module(module), attr)))


if __name__ == '__main__':
    unittest.main()

"""Code that runs inside supervisord, loaded by the ``rpcinterface`` factory.

It must never block supervisord's loop nor raise out of a hook.  Only the two
factory modules (``supervisor_unicorn.rpcinterface`` and
``supervisor_unicorn.controllerplugin``) import from here; the listener and
the tools talk to it over XML-RPC (tests/unit/test_layout.py).
"""

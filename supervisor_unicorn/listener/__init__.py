"""The ``supervisor-unicorn-listener`` eventlistener, a process of its own.

``main`` is the console script's entry point; it reaches supervisord over
XML-RPC only and never imports ``supervisor_unicorn.supervisord``.
"""

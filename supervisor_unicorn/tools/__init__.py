"""Stand-alone tools: ``supervisor-unicorn-demo``, ``supervisor-unicorn-rollout``,
and the private supervisord and loopback load (``sandbox``, ``loadgen``) that
the demo, the tests and the benches use.  They reach supervisord over XML-RPC
only and never import ``supervisor_unicorn.supervisord``.
"""

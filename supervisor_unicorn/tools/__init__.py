"""Stand-alone tools: ``supervisor-unicorn-demo``, ``supervisor-unicorn-rollout``,
and what the demo, the tests and the benches use: a private supervisord
(``sandbox``) and its programs (``sandbox_app``), loopback load (``loadgen``),
waiting with a deadline (``waiting``) and a ``supervisorctl status`` probe
(``status_probe``).  They reach supervisord over XML-RPC only and never import
``supervisor_unicorn.supervisord``.
"""

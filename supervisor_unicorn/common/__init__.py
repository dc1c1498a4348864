"""Pure modules shared by the code in supervisord and the listener: the
``[rpcinterface:unicorn]`` settings and their defaults (``config``), one
description per server (``servers``) and the Fault codes of the unicorn
namespace (``faults``).  They import nothing else of supervisor_unicorn.
"""

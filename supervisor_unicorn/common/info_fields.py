"""The fields of a getHotRestartInfo struct, for both ends of the RPC: the
namespace answers exactly these, and the listener's test doubles are checked
against them.  Pure: importable without supervisor."""

INFO_FIELDS = frozenset({
    'name', 'server', 'pidfile', 'boot_timeout', 'pid', 'state', 'phase', 'old_pid',
    'new_pid', 'last_result', 'last_seconds', 'restarts', 'overlap', 'workers',
    'workers_ready', 'failure', 'still_serving', 'standby', 'standby_left',
    'rolled_back_from', 'rollback_cause',
})

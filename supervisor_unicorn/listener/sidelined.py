"""The listener's --check NAMEs that supervisor_unicorn cannot hot restart
now, and why.

A `programs` line that breaks at a reload or a reread costs only its own
program (programs_table.py); the listener must not give up on the others
for it.  Such a NAME is neither probed nor healed (a heal would be a cold
restart of a program nobody asked to restart) until supervisor_unicorn
lists it again.  Each reason is said once, when it starts or changes, and
the return once.  Pure: the watchdog logs the lines it gets back.
"""
from typing import Dict, Optional


class Sidelined:
    def __init__(self) -> None:
        self.why: Dict[str, str] = {}        # NAME -> supervisor_unicorn's Fault text

    def __contains__(self, name: str) -> bool:
        return name in self.why

    def off(self, name: str, why: str) -> Optional[str]:
        """`name` is not hot-restartable (`why`): the line to log, if new."""
        if self.why.get(name) == why:
            return None
        self.why[name] = why
        return (f'{name} cannot be hot restarted now ({why}); not probing or healing'
                f' it until that is fixed (then supervisorctl reread and update);'
                f' watching the others')

    def back(self, name: str) -> Optional[str]:
        """`name` is hot-restartable again: the line to log, if it was not."""
        if self.why.pop(name, None) is None:
            return None
        return f'{name} can be hot restarted again; watching it'

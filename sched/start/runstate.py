"""``run_state_HOST.xml``: the enabled flag and when each task last ran.

The file is BOINC's (start reads and writes it the same way)::

    <?xml version="1.0" ?>
    <boinc>
        <tasks>
            <task>
                <cmd>update_stats</cmd>
                <last_run>1700000000</last_run>
            </task>
        </tasks>
        <enabled>1</enabled>
    </boinc>

A missing file means DISABLED with no task run yet.
"""

import os
import sys
from dataclasses import dataclass, field

from ..errors import BoincError
from ..xmlutil import XMLError, escape, parse_file, text_of

# Seconds per unit; a unit is recognised by its first letter(s).
_UNITS = (("s", 1), ("mo", 30 * 86400), ("m", 60), ("h", 3600), ("d", 86400),
          ("w", 7 * 86400))


def interpret_period(text):
    """``"5 min"`` -> 300, ``"1 hour"`` -> 3600, ``"2"`` -> 120 (minutes).

    Raises ValueError for anything else.
    """
    words = text.split()
    if len(words) not in (1, 2):
        raise ValueError(text)
    number = int(words[0])
    if len(words) == 1:
        return number * 60
    unit = words[1].lower()
    for prefix, seconds in _UNITS:
        if unit.startswith(prefix):
            return number * seconds
    raise ValueError(text)


@dataclass
class TaskState:
    cmd: str
    last_run: float = 0.0
    seen: bool = False      # looked up in this run; unseen ones are pruned


@dataclass
class RunState:
    path: str
    enabled: bool = False
    tasks: list = field(default_factory=list)

    @classmethod
    def read(cls, path):
        state = cls(path)
        if not os.path.exists(path):
            return state
        try:
            root = parse_file(path)
        except (OSError, XMLError) as exc:
            # As BOINC: warn and start from an empty state.
            sys.stderr.write("Warning: couldn't parse XML file: %s (%s)\n" % (path, exc))
            return state
        try:
            state.enabled = int(text_of(root, "enabled", "0") or 0) != 0
        except ValueError:
            state.enabled = False
        tasks = root.find("tasks")
        for elem in (tasks if tasks is not None else []):
            if elem.tag != "task" or not text_of(elem, "cmd"):
                continue
            try:
                last_run = float(text_of(elem, "last_run", "0") or 0)
            except ValueError:
                last_run = 0.0
            state.tasks.append(TaskState(text_of(elem, "cmd"), last_run))
        return state

    def lookup(self, cmd):
        """The entry of task ``cmd``, created (never run) if missing."""
        for task in self.tasks:
            if task.cmd == cmd:
                task.seen = True
                return task
        task = TaskState(cmd, seen=True)
        self.tasks.append(task)
        return task

    def forget_seen(self):
        for task in self.tasks:
            task.seen = False

    def prune(self):
        """Drop entries of tasks not looked up since :meth:`forget_seen`."""
        self.tasks = [t for t in self.tasks if t.seen]

    def write(self):
        lines = ['<?xml version="1.0" ?>', "<boinc>",
                 "    <tasks>" if self.tasks else "    <tasks/>"]
        for task in self.tasks:
            last_run = task.last_run
            last_run = "%d" % last_run if last_run == int(last_run) else repr(last_run)
            lines += ["        <task>",
                      "            <cmd>%s</cmd>" % escape(task.cmd),
                      "            <last_run>%s</last_run>" % last_run,
                      "        </task>"]
        if self.tasks:
            lines.append("    </tasks>")
        lines += ["    <enabled>%d</enabled>" % int(self.enabled), "</boinc>"]
        tmp = "%s.tmp%d" % (self.path, os.getpid())
        try:
            with open(tmp, "w") as f:
                f.write("\n".join(lines) + "\n")
            os.replace(tmp, self.path)
        except OSError as exc:
            raise BoincError("can't write %s: %s" % (self.path, exc.strerror)) from None

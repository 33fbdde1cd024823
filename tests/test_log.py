import io
import re

from sched import log


def test_line_format_matches_boinc():
    out = io.StringIO()
    lg = log.Log(level=log.NORMAL, stream=out, with_pid=True)
    lg.indent = 1
    lg.normal("Request: [USER#%d] [HOST#%d]", 2, 2)
    lg.critical("Can't attach shmem: %d (feeder not running?)", -144)
    lg.debug("not shown at level 3")
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    stamp = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{4} UTC"
    assert re.fullmatch(stamp + r" \[PID=\d+ *\]   Request: \[USER#2\] \[HOST#2\]", lines[0])
    assert re.fullmatch(stamp + r" \[PID=\d+ *\] \[CRITICAL\]  Can't attach shmem: -144 "
                        r"\(feeder not running\?\)", lines[1])


def test_daemon_lines_have_no_pid_and_levels_filter():
    out = io.StringIO()
    lg = log.Log(level=log.DEBUG, stream=out)
    lg.warning("[RESULT#%d] odd", 1)
    lg.debug("shown")
    lg.detail("hidden")
    text = out.getvalue()
    assert "[PID=" not in text and "hidden" not in text
    assert re.search(r"UTC \[warning\] \[RESULT#1\] odd\n", text)
    assert "[debug] shown" in text

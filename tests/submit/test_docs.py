"""The Python examples of docs/remote-submission.md run as written, against our
server, with the volunteers' part done by hand."""

import os
import re

from test_cli import finisher
from submitproject import submit_project  # noqa: F401 (fixture)

DOC = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(
    __file__)))), "docs", "remote-submission.md")


def examples():
    with open(DOC) as f:
        return re.findall(r"```python\n(.*?)```", f.read(), re.S)


def test_the_examples_run(submit_project, capsys):
    p = submit_project()
    _, key = p.user("sci@example.org")
    blocks = examples()
    assert len(blocks) == 2
    namespace = {"URL": p.serve(), "AUTH": key}
    t = finisher(p, 3)
    exec(compile(blocks[0], DOC, "exec"), namespace)
    t.join()
    t = finisher(p, 1)                  # "just one"
    exec(compile(blocks[1], DOC, "exec"), namespace)
    t.join()
    assert capsys.readouterr().out == "b'JUST ONE'\n"
    states = [r[0] for r in p.db.rows("SELECT state FROM batch ORDER BY id")]
    assert states == [2, 4, 2]        # the cancelled job ended its batch

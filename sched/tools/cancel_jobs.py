"""``cancel_jobs MIN_ID MAX_ID`` | ``--name WUNAME`` | ``--batch N``: cancel jobs.

The workunits' unsent results become OVER with outcome DIDNT_NEED; each
workunit gets the CANCELLED error bit and ``transition_time`` = now, so the
transitioner finishes it.  Results already sent run on (the scheduler tells
their hosts to abort them when ``<send_result_abort/>`` is set).  The id
range and ``--name`` forms are BOINC's; ``--batch`` is ours (it leaves the
``batch`` row alone; the web pages' abort does that).
"""

import sys

from .. import cli, config, db as dbmod
from ..errors import BoincError
from ..work import cancel_batch, cancel_job, cancel_jobs

USAGE = """Usage: cancel_jobs min-ID max-ID
or cancel_jobs --name wuname
or cancel_jobs --batch N
"""


def _int(text):
    try:
        return int(text)
    except ValueError:
        return 0


def main(argv):
    if len(argv) != 2:
        sys.stderr.write(USAGE)
        return 1
    option = argv[0].lstrip("-") if argv[0].startswith("-") else None
    if option not in (None, "name", "batch"):
        sys.stderr.write(USAGE)
        return 1
    if option is None and (not _int(argv[0]) or not _int(argv[1])):
        sys.stderr.write(USAGE)
        return 1
    if option == "batch" and _int(argv[1]) <= 0:
        raise BoincError("--batch needs a batch ID > 0 (batch 0 means 'no batch')")
    cfg = config.load()
    with dbmod.connect(cfg) as db:
        if option == "name":
            wu_id = db.scalar("SELECT id FROM workunit WHERE name = %s", (argv[1],))
            if wu_id is None:
                raise BoincError("No workunit named '%s'" % argv[1])
            cancel_job(db, wu_id)
        elif option == "batch":
            batch = _int(argv[1])
            if not db.scalar("SELECT COUNT(*) FROM workunit WHERE batch = %s", (batch,)):
                raise BoincError("No workunits in batch %d" % batch)
            cancel_batch(db, batch)
        else:
            cancel_jobs(db, _int(argv[0]), _int(argv[1]))
    return 0


def run():
    cli.run(main)

"""update_stats: decay the average credit of idle users, hosts, teams and
app versions, and recount team members.  A daily task, run once per call.

Granting credit keeps ``expavg_credit`` current for whoever earns it; a
volunteer who stops computing would keep the last value forever.  So once a
day each row whose average is above a floor (0.1; app versions: 0) and was
last updated more than ``--min_age`` seconds ago (default one day) gets the
decay BOINC's update_stats applies: :func:`sched.credit.update_average` with
no new work, i.e. the value halves every week (``CREDIT_HALF_LIFE``) and
``expavg_time`` becomes now.  Both are stored as BOINC's ``"%f"`` update
writes them (six decimals).  ``team.nusers`` is set to the number of users
whose ``teamid`` is the team.

Options as BOINC's: ``--update_users``, ``--update_hosts``,
``--update_teams``, ``--update_avs`` (none given: all four), ``--min_age
SECS``, ``-d N``.

Where we differ, on purpose:

* rows are read and written 1000 at a time (two statements per batch, not
  two per row), and a row granted credit between the read and the write is
  left alone (its ``expavg_time`` is then recent) rather than overwritten
  with the stale decayed value;
* ``nusers`` is recounted for every team, not only for teams with
  ``expavg_credit > 0.1``: BOINC's web site sets it when a team is made and
  never again, so an idle team's count would stay wrong forever.
"""

import time

from . import __version__
from .credit import CREDIT_HALF_LIFE, bulk_update, update_average
from .daemon import Daemon

DEFAULT_MIN_AGE = 86400
BATCH = 1000
# Only rows whose expavg_credit is above this are decayed (BOINC's floors).
FLOOR = {"user": 0.1, "host": 0.1, "team": 0.1, "app_version": 0.0}


def as_written(x):
    """A double as BOINC's ``expavg_credit=%f`` update stores it."""
    return float("%f" % x)


def decayed(row, now):
    """``(expavg_credit, expavg_time)`` of ``row`` decayed to ``now``."""
    avg, avg_time = update_average(now, 0, 0, CREDIT_HALF_LIFE, row["expavg_credit"],
                                   row["expavg_time"])
    return as_written(avg), as_written(avg_time)


def _write(db, table, rows, cutoff):
    """Store the new averages of ``rows``, skipping rows credited meanwhile."""
    first = "SELECT %s AS id, %s AS expavg_credit, %s AS expavg_time"
    values = " UNION ALL ".join([first] + ["SELECT %s, %s, %s"] * (len(rows) - 1))
    args = [x for r in rows for x in (r["id"], r["expavg_credit"], r["expavg_time"])]
    return db.execute(
        "UPDATE %s AS t JOIN (%s) AS v ON t.id = v.id SET t.expavg_credit = v.expavg_credit, "
        "t.expavg_time = v.expavg_time WHERE t.expavg_time < %%s" % (table, values),
        args + [cutoff])


def decay(db, table, cutoff, now, batch=BATCH):
    """Decay ``table``'s averages not updated since ``cutoff``; return how many."""
    last_id = done = 0
    while True:
        rows = db.query("SELECT id, expavg_credit, expavg_time FROM %s WHERE id > %%s AND "
                        "expavg_credit > %%s AND expavg_time < %%s ORDER BY id LIMIT %d"
                        % (table, batch), (last_id, FLOOR[table], cutoff))
        if not rows:
            return done
        last_id = rows[-1]["id"]
        for row in rows:
            row["expavg_credit"], row["expavg_time"] = decayed(row, now)
        done += _write(db, table, rows, cutoff)
        if len(rows) < batch:
            return done


def recount_team_members(db, log=None):
    """Set ``team.nusers`` to the real member count where it differs; return how many."""
    wrong = db.query("SELECT t.id, t.nusers, COUNT(u.id) AS n FROM team t "
                     "LEFT JOIN user u ON u.teamid = t.id GROUP BY t.id, t.nusers "
                     "HAVING t.nusers <> n ORDER BY t.id")
    for row in wrong:
        if log:
            log.critical("updating member count for [TEAM#%d]: database has %d users, "
                         "count shows %d", row["id"], row["nusers"], row["n"])
    bulk_update(db, "team", ("id",), [dict(id=r["id"], nusers=r["n"]) for r in wrong],
                set_cols=("nusers",))
    return len(wrong)


class UpdateStats(Daemon):
    name = "update_stats"
    description = ("Decay the average credit of idle users, hosts, teams and app versions "
                   "(run about once a day); also recount the members of teams.")

    def add_arguments(self, p):
        p.add_argument("-v", "--version", action="version", version="%(prog)s " + __version__)
        p.add("update_users", action="store_true", help="decay users' average credit")
        p.add("update_hosts", action="store_true", help="decay hosts' average credit")
        p.add("update_teams", action="store_true",
              help="decay teams' average credit, recount their members")
        p.add("update_avs", action="store_true", help="decay app versions' average credit")
        p.add("min_age", type=float, default=DEFAULT_MIN_AGE, metavar="SECS",
              help="leave rows updated less than SECS ago (default %d)" % DEFAULT_MIN_AGE)

    def setup(self):
        self.args.one_pass = True       # a task: one pass per run
        a = self.args
        if not (a.update_users or a.update_hosts or a.update_teams or a.update_avs):
            a.update_users = a.update_hosts = a.update_teams = a.update_avs = True

    def do_pass(self):
        now = time.time()
        cutoff = now - self.args.min_age
        for flag, table, what in (("update_users", "user", "users"),
                                  ("update_hosts", "host", "hosts"),
                                  ("update_teams", "team", "teams"),
                                  ("update_avs", "app_version", "app versions")):
            if not getattr(self.args, flag):
                continue
            n = decay(self.db, table, cutoff, now)
            self.log.debug("decayed the average credit of %d %s", n, what)
            if table == "team":
                recount_team_members(self.db, self.log)
            self.log.normal("Updated %s", what)
        self.log.normal("Finished")
        return True


def run():
    UpdateStats.run()

"""badge_assign.php: BOINC's default badges for top average credit (daily task).

Three badges each for users and for teams, "Top 1% / 5% / 25% in average
credit" (names ``user_pct_0..2`` and ``team_pct_0..2``, images
``img/pct_1.png`` ...), made in the ``badge`` table the first time.  The
thresholds are the 99th, 95th and 75th percentiles of ``expavg_credit``
among rows with ``expavg_credit > 1`` (the value at row ``int(n*p/100)`` in
ascending order, as BOINC computes them).  Every user or team with
``total_credit > 0`` then holds the highest badge it qualifies for (its
``reassign_time`` refreshed, ``create_time`` kept) and none of the other
two.  db_dump publishes the badges (tables.xml, badge_user.gz,
badge_team.gz).

BOINC's PHP stops at "Can't get percentiles" when no user has average
credit above 1 (a new project, every day); we say so and go on to the teams.
"""

import time

from . import OpsTask, say, time_str

PERCENTILES = (1, 5, 25)
IMAGES = ("pct_1.png", "pct_5.png", "pct_25.png")
CHUNK = 10000                   # ids per pair of statements


def get_badge(db, name, title, image, now):
    """The badge called ``name``, made first if need be; its id."""
    found = db.scalar("SELECT id FROM badge WHERE name = %s ORDER BY id LIMIT 1", (name,))
    if found is not None:
        return found
    return db.insert("INSERT INTO badge (create_time, type, name, title, description, "
                     "image_url, level, tags, sql_rule) VALUES (%s, 0, %s, %s, '', %s, '', '', "
                     "'')", (now, name, title, "img/" + image))


def percentile(db, table, pct):
    """BOINC's percentile of expavg_credit over rows with expavg_credit > 1, or None."""
    n = db.scalar("SELECT COUNT(*) FROM %s WHERE expavg_credit > 1" % table)
    if not n:
        return None
    return db.scalar("SELECT expavg_credit FROM %s WHERE expavg_credit > 1 "
                     "ORDER BY expavg_credit LIMIT %d, 1" % (table, n * pct // 100))


def assign(db, kind, now, log=say):
    """Badges of ``kind`` ("user" or "team"); returns the thresholds (or None)."""
    badges = [get_badge(db, "%s_pct_%d" % (kind, i), "Top %d%% in average credit" % pct,
                        IMAGES[i], now) for i, pct in enumerate(PERCENTILES)]
    limits = [percentile(db, kind, 100 - pct) for pct in PERCENTILES]
    if None in limits:
        log("no %s has average credit above 1: no %s badges assigned" % (kind, kind))
        return None
    link, owner = "badge_" + kind, kind + "_id"
    level = "CASE WHEN x.expavg_credit >= %s THEN %s WHEN x.expavg_credit >= %s THEN %s " \
            "WHEN x.expavg_credit >= %s THEN %s END"
    level_args = [v for pair in zip(limits, badges) for v in pair]
    top = db.scalar("SELECT MAX(id) FROM %s" % kind) or 0
    for lo in range(0, top + 1, CHUNK):
        ids = (lo, lo + CHUNK)
        # the badge each one earns: given, or its reassign_time refreshed
        db.execute("INSERT INTO {0} (create_time, {1}, badge_id, reassign_time) "
                   "SELECT %s, x.id, {2}, %s FROM {3} x WHERE x.id >= %s AND x.id < %s AND "
                   "x.total_credit > 0 AND x.expavg_credit >= %s ON DUPLICATE KEY UPDATE "
                   "reassign_time = VALUES(reassign_time)".format(link, owner, level, kind),
                   [now] + level_args + [now, ids[0], ids[1], limits[2]])
        # and none of the other two
        db.execute("DELETE b FROM {0} b JOIN {1} x ON x.id = b.{2} WHERE x.id >= %s AND "
                   "x.id < %s AND x.total_credit > 0 AND b.badge_id IN (%s, %s, %s) AND "
                   "NOT (b.badge_id <=> ({3}))".format(link, kind, owner, level),
                   [ids[0], ids[1]] + badges + level_args)
    return limits


class BadgeAssign(OpsTask):
    name = "badge_assign"
    description = "Give users and teams BOINC's top-1/5/25% average credit badges."

    def work(self, db, cfg, args):
        say("Starting: " + time_str())
        now = int(time.time())
        for kind in ("user", "team"):
            assign(db, kind, now)
        say("Finished: " + time_str())
        return 0


def run():
    BadgeAssign.run()

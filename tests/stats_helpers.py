"""Rows for the statistics tests (update_stats, db_dump, the html/ops tasks):
a project made by make_project, and users, teams and hosts whose every
column a test may set."""

import secrets
import time

import pytest

from validation_helpers import VProject

from sched import db as dbmod

NOW = int(time.time())


class StatsProject(VProject):
    def add_user(self, teamid=0, **kw):
        values = dict(create_time=NOW, email_addr="%s@x" % secrets.token_hex(4),
                      name="u" + secrets.token_hex(4), authenticator=secrets.token_hex(16),
                      cross_project_id=secrets.token_hex(16), teamid=teamid, show_hosts=1)
        values.update(kw)
        return self.insert("user", **values)

    def add_team(self, **kw):
        values = dict(create_time=NOW, name="team%s" % secrets.token_hex(3))
        values.update(kw)
        return self.insert("team", **values)

    def add_host(self, userid, hav=False, **kw):
        values = dict(create_time=NOW, userid=userid, domain_name="h" + secrets.token_hex(3))
        values.update(kw)
        return self.insert("host", **values)


@pytest.fixture
def sp(project):
    """The ``project`` fixture's project with row helpers on its database."""
    db = dbmod.connect(project.config)
    p = StatsProject(project.dir, db, project.db_name)
    p.made = project
    yield p
    db.close()


def row(sp, table, rid):
    return sp.db.query_one("SELECT * FROM %s WHERE id = %%s" % table, (rid,))

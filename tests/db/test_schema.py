"""db/schema.sql against a database made by BOINC's own make_project."""

import os
import shutil
import subprocess

import pytest

from testenv import SHARED
from sched import db as dbmod
from sched import schema
from sched.errors import BoincError

FIXTURE = os.path.join(SHARED, "fixtures", "boinc-schema")
REFPROJ_SQL = os.path.join(SHARED, "fixtures", "boinc-made-project", "refproj.sql")

CONSENT_TYPES = [
    ("ENROLL", "General terms-of-use for this BOINC project.", 0, 0, 0),
    ("STATSEXPORT", "Do you consent to exporting your data to BOINC statistics "
     "aggregation Web sites?", 0, 0, 1),
]


@pytest.fixture
def loaded_db(fresh_db):
    schema.load_schema(fresh_db)
    return fresh_db


def test_fixture_is_what_we_think_it_is():
    boinc = schema.load_tsv(FIXTURE)
    assert len(boinc["tables"]) == 47
    assert sum(len(c) for c in boinc["columns"].values()) == 489
    assert boinc["tables"]["latest_consent"] == schema.Table(None, None)
    misc = boinc["columns"]["host"][-1]
    assert misc == schema.Column("misc", "text", False, "''", "")
    assert boinc["indexes"]["user"]["user_tot"] == schema.Index(
        False, (("total_credit", None, "D"),))
    assert boinc["indexes"]["post"]["post_content"].fulltext


def test_schema_matches_boinc_exactly(loaded_db):
    actual = schema.describe(loaded_db)
    assert schema.compare(actual, schema.load_tsv(FIXTURE)) == []
    # the copy the checker uses at run time says the same
    assert schema.compare(actual, schema.expected_description()) == []
    assert schema.compare(schema.expected_description(), schema.load_tsv(FIXTURE)) == []
    # ... but for the indexes of ours, which compare leaves out
    boinc = schema.load_tsv(FIXTURE)["indexes"]
    ours = {(t, n): ix for t, idx in actual["indexes"].items() for n, ix in idx.items()
            if n not in boinc.get(t, {})}
    assert ours == schema.ADDED_INDEXES


def test_added_indexes(loaded_db):
    assert schema.index_like(loaded_db, "result", "res_feeder") == "res_feeder"
    assert schema.add_indexes(loaded_db) == []
    loaded_db.execute("ALTER TABLE result DROP INDEX res_feeder, "
                      "ADD INDEX feeder_order (server_state, priority DESC, workunitid, id)")
    assert schema.index_like(loaded_db, "result", "res_feeder") == "feeder_order"
    loaded_db.execute("ALTER TABLE result DROP INDEX feeder_order, "
                      "ADD INDEX ascending (server_state, priority, workunitid)")
    assert schema.index_like(loaded_db, "result", "res_feeder") is None
    assert "extra index result.ascending KEY (server_state, priority, workunitid)" in \
        schema.compare(schema.describe(loaded_db), schema.expected_description())
    assert schema.add_indexes(loaded_db) == ["result.res_feeder"]
    assert schema.index_like(loaded_db, "result", "res_feeder") == "res_feeder"


def test_content_rows(loaded_db):
    rows = loaded_db.rows("SELECT id, shortname, description, enabled, project_specific, "
                          "privacypref FROM consent_type ORDER BY id")
    assert [r[0] for r in rows] == [1, 2]
    assert [tuple(r[1:]) for r in rows] == CONSENT_TYPES
    # nothing else is seeded
    others = [t for t in schema.describe(loaded_db)["tables"]
              if t not in ("consent_type", "latest_consent")]
    for table in others:
        assert loaded_db.scalar("SELECT COUNT(*) FROM `%s`" % table) == 0, table


def test_view_and_foreign_key_work(loaded_db):
    db = loaded_db
    for t, flag in ((100, 0), (200, 1)):
        db.execute("INSERT INTO consent (userid, consent_type_id, consent_time, consent_flag, "
                   "consent_not_required, source) VALUES (7, 2, %s, %s, 0, 'web')", (t, flag))
    assert db.rows("SELECT userid, consent_type_id, consent_flag FROM latest_consent") == (
        (7, 2, 1),)
    with pytest.raises(dbmod.DatabaseError, match="foreign key"):
        db.execute("INSERT INTO consent (userid, consent_type_id, consent_time, consent_flag, "
                   "consent_not_required, source) VALUES (7, 99, 1, 1, 0, 'web')")


def test_defaults_fill_omitted_columns(loaded_db):
    # a host row written without misc / error_rate gets BOINC's defaults
    db = loaded_db
    cols = [c for c in schema.describe(db)["columns"]["host"]
            if c.default is None and "auto_increment" not in c.extra and not c.nullable]
    hid = db.insert("INSERT INTO host (%s) VALUES (%s)" % (
        ", ".join(c.name for c in cols), ", ".join(["%s"] * len(cols))),
        ["" if c.type.startswith("varchar") else 0 for c in cols])
    row = db.query_one("SELECT misc, error_rate FROM host WHERE id=%s", (hid,))
    assert row == {"misc": "", "error_rate": 0.0}


def test_load_schema_refuses_a_non_empty_database(loaded_db):
    with pytest.raises(BoincError, match="already has 47 tables"):
        schema.load_schema(loaded_db)


def test_create_database(admin_db, db_name):
    schema.create_database(admin_db, db_name)
    row = admin_db.query_one("SELECT default_character_set_name AS cs, "
                             "default_collation_name AS co FROM information_schema.schemata "
                             "WHERE schema_name=%s", (db_name,))
    assert row == {"cs": "utf8mb4", "co": "utf8mb4_unicode_ci"}
    with pytest.raises(BoincError, match="already exists"):
        schema.create_database(admin_db, db_name)
    admin_db.execute("CREATE TABLE `%s`.t (i int)" % db_name)
    schema.create_database(admin_db, db_name, drop_first=True)
    assert admin_db.scalar("SELECT COUNT(*) FROM information_schema.tables "
                           "WHERE table_schema=%s", (db_name,)) == 0
    with pytest.raises(BoincError, match="letters, digits"):
        schema.create_database(admin_db, "x`; DROP DATABASE mysql; --")


def test_tsv_round_trip(loaded_db, tmp_path):
    desc = schema.describe(loaded_db)
    schema.write_tsv(desc, str(tmp_path))
    assert schema.load_tsv(str(tmp_path)) == desc
    assert schema.has_column(loaded_db, "host", "misc")
    assert not schema.has_column(loaded_db, "host", "serial_number")


# An older BOINC project: shapes BOINC itself produced before 2024-2026.
OLDER = [
    "ALTER TABLE host DROP COLUMN misc",
    "ALTER TABLE user MODIFY name varchar(254)",
    "ALTER TABLE user DROP INDEX name, ADD INDEX user_name (name)",
    "ALTER TABLE user DROP INDEX user_tot, ADD INDEX user_tot (total_credit)",
    "ALTER TABLE app_version MODIFY plan_class varchar(254) NOT NULL DEFAULT ''",
    "ALTER TABLE result ADD INDEX res_wu_user (workunitid, userid)",
    "ALTER TABLE result DROP INDEX res_batch",
    "ALTER TABLE workunit DROP INDEX wu_batch",
    "ALTER TABLE post ENGINE=MyISAM",
    "ALTER TABLE platform CONVERT TO CHARACTER SET utf8mb3 COLLATE utf8mb3_unicode_ci",
]
OLDER_DIFFS = [
    "missing column host.misc (text NOT NULL DEFAULT '')",
    "column user.name: type varchar(254), expected varchar(191)",
    "missing index user.name UNIQUE (name)",
    "extra index user.user_name KEY (name)",
    "index user.user_tot: KEY (total_credit), expected KEY (total_credit DESC)",
    "column app_version.plan_class: type varchar(254), expected varchar(128)",
    "extra index result.res_wu_user KEY (workunitid, userid)",
    "missing index result.res_batch KEY (batch)",
    "missing index workunit.wu_batch KEY (batch)",
    "table post: engine MyISAM, expected InnoDB",
    "table platform: collation utf8mb3_unicode_ci, expected utf8mb4_unicode_ci",
]


def test_older_boinc_schema_is_reported_but_tolerated(loaded_db):
    for sql in OLDER:
        loaded_db.execute(sql)
    diffs = schema.compare(schema.describe(loaded_db), schema.expected_description())
    assert sorted(diffs) == sorted(OLDER_DIFFS)
    assert schema.compatibility_problems(loaded_db) == []
    assert not schema.has_column(loaded_db, "host", "misc")


BROKEN = [
    ("ALTER TABLE workunit DROP COLUMN keywords",
     "missing column workunit.keywords (varchar(254) NOT NULL)"),
    ("ALTER TABLE result MODIFY xml_doc_in text",
     "column result.xml_doc_in: type text, expected blob"),
    ("ALTER TABLE app MODIFY weight int NOT NULL DEFAULT 1",
     "column app.weight: type int(11), expected double"),
    ("ALTER TABLE result MODIFY appid smallint NOT NULL",
     "column result.appid: type smallint(6) is narrower than int(11)"),
    ("ALTER TABLE workunit MODIFY result_template_file varchar(30) NOT NULL",
     "column workunit.result_template_file: type varchar(30) is shorter than varchar(63)"),
    ("ALTER TABLE msg_to_host MODIFY id int NOT NULL",
     "column msg_to_host.id: not auto_increment"),
    ("ALTER TABLE user MODIFY login_token char(32) NOT NULL",
     "column user.login_token: no default (expected ''); inserts that leave it out fail"),
    ("ALTER TABLE host ADD COLUMN project_flag int NOT NULL",
     "extra column host.project_flag is NOT NULL without a default; "
     "inserts that leave it out fail"),
    ("ALTER TABLE host_app_version DROP INDEX hap",
     "table host_app_version: no unique index on (host_id, app_version_id)"),
    ("ALTER TABLE batch ENGINE=MyISAM", "table batch: engine MyISAM, the server needs InnoDB"),
    ("DROP TABLE credited_job", "missing table credited_job"),
    # tolerated: web-only tables, and host.misc the way BOINC's upgrade adds it
    ("DROP TABLE forum", None),
    ("DROP VIEW latest_consent", None),
    ("ALTER TABLE host MODIFY misc text NOT NULL", None),
    ("ALTER TABLE user MODIFY email_addr varchar(254) NOT NULL", None),
    ("ALTER TABLE workunit MODIFY id bigint NOT NULL AUTO_INCREMENT", None),
]


def test_compatibility_problems_name_what_the_server_needs(loaded_db):
    for sql, _ in BROKEN:
        loaded_db.execute(sql)
    expected = [msg for _, msg in BROKEN if msg]
    assert sorted(schema.compatibility_problems(loaded_db)) == sorted(expected)


def test_mysql8_spelling_is_translated():
    assert schema._norm_type("int") == "int(11)"
    assert schema._norm_type("INT UNSIGNED") == "int(10) unsigned"
    assert schema._norm_type("bigint unsigned") == "bigint(20) unsigned"
    assert schema._norm_type("double(6,2)") == "double(6,2)"
    assert schema._norm_default("CURRENT_TIMESTAMP", "timestamp", mysql=True) == \
        "current_timestamp()"
    assert schema._norm_default("_utf8mb4\\'\\'", "text", mysql=True) == "''"
    assert schema._norm_default("", "varchar(254)", mysql=True) == "''"
    assert schema._norm_default("0", "char(12)", mysql=True) == "'0'"
    assert schema._norm_default("-25", "int(11)", mysql=True) == "-25"
    assert schema._norm_default(None, "int(11)", mysql=True) is None
    assert schema._norm_extra("DEFAULT_GENERATED on update CURRENT_TIMESTAMP") == \
        "on update current_timestamp()"


def _mariadb_client(admin_db, database, sql_path):
    client = shutil.which("mariadb") or shutil.which("mysql")
    assert client, "the MariaDB command-line client is needed (scripts/setup installs it)"
    cmd = [client, "--user=" + admin_db.user]
    if admin_db.host != "localhost":
        cmd.append("--host=" + admin_db.host)
    env = dict(os.environ, MYSQL_PWD=admin_db.passwd or "")
    with open(sql_path, "rb") as f:
        subprocess.run(cmd + [database], stdin=f, env=env, check=True,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_project_made_by_boinc_has_our_schema(admin_db, fresh_db, db_name):
    """mysqldump of a project BOINC's make_project made (and then used)."""
    _mariadb_client(admin_db, db_name, REFPROJ_SQL)
    assert schema.compare(schema.describe(fresh_db), schema.expected_description()) == []
    assert schema.compatibility_problems(fresh_db) == []
    rows = fresh_db.rows("SELECT shortname, description, enabled, project_specific, "
                         "privacypref FROM consent_type ORDER BY id")
    assert [tuple(r) for r in rows] == CONSENT_TYPES

"""The transitioner (sched/transitioner.py) on a real project and MariaDB.

Every expectation is a number BOINC documents (database.md §3, §5):
server_state 2 UNSENT, 4 IN_PROGRESS, 5 OVER; outcome 1 SUCCESS, 3
CLIENT_ERROR, 4 NO_REPLY, 5 DIDNT_NEED; validate_state 0 INIT, 1 VALID,
2 INVALID, 3 NO_CHECK, 5 TOO_LATE; error_mask bits 1, 2, 8; file_delete_state
1 READY; assimilate_state 1 READY, 2 DONE; INT_MAX = 2147483647.
"""

import os
import re
import signal
import time

import pytest

from testenv import SHARED
from backend_helpers import add_result, add_wu, program
from jobs_helpers import wproj  # noqa: F401 (fixture)
from jobcache_helpers import insert
from sched import config as configmod
from sched import crypt
from sched import db as dbmod
from sched import transitioner as tmod
from sched import xmlutil
from sched.input_template import InputFile
from sched.work import Workunit, create_work
from test_result_template import load_dump

INT_MAX = 2147483647
TEN_DAYS = 864000
UNSENT, IN_PROGRESS, OVER = 2, 4, 5
SUCCESS, COULDNT_SEND, CLIENT_ERROR, NO_REPLY, DIDNT_NEED = 1, 2, 3, 4, 5
INIT, VALID, INVALID, NO_CHECK, INCONCLUSIVE, TOO_LATE = 0, 1, 2, 3, 4, 5


# An input template that leaves the job's parameters to the caller.
PLAIN_IN = """<input_template>
    <file_info>
        <number>0</number>
    </file_info>
    <workunit>
        <file_ref>
            <file_number>0</file_number>
            <open_name>in</open_name>
        </file_ref>
    </workunit>
</input_template>
"""


class Harness:
    """The project plus: run the transitioner in this process, set options."""

    def __init__(self, wp, monkeypatch, capsys):
        self.wp, self.db, self.dir = wp, wp.db, wp.dir
        self.monkeypatch, self.capsys = monkeypatch, capsys
        self.app = wp.app_id
        self.nstaged = 0

    def run(self, *args, cls=tmod.Transitioner):
        """Run ``transitioner --one_pass ARGS``; return (status, log lines)."""
        self.monkeypatch.setenv("BOINC_PROJECT_DIR", self.dir)
        saved = {s: signal.getsignal(s) for s in (signal.SIGHUP, signal.SIGTERM)}
        self.capsys.readouterr()
        try:
            status = cls().main(["--one_pass"] + [str(a) for a in args])
        finally:
            for s, handler in saved.items():
                signal.signal(s, handler)
        err = self.capsys.readouterr().err
        # drop the time stamp, "2026-11-24 22:03:03.4654 UTC ", and the space
        # that stands for the kind of a normal line
        return status, [re.sub(r"^\S+ \S+ UTC (?=\[)|^\S+ \S+ UTC  ", "", line)
                        for line in err.splitlines()]

    def set_config(self, **options):
        """Set (value) or remove (None) <config> options in config.xml."""
        path = os.path.join(self.dir, "config.xml")
        root = xmlutil.parse_file(path)
        cfg = root.find("config")
        for tag, value in options.items():
            for old in cfg.findall(tag):
                cfg.remove(old)
            if value is not None:
                elem = cfg.makeelement(tag, {})
                elem.text = str(value)
                cfg.append(elem)
        configmod.write_xml(root, path)

    def create(self, name, **params):
        """A job made by create_work (one staged input file)."""
        self.nstaged += 1
        infile = "%s_in" % name
        self.wp.put_staged(infile, b"input %d\n" % self.nstaged)
        params.setdefault("delay_bound", 86400)
        template = self.wp.path("templates", "plain_in")
        if not os.path.exists(template):
            with open(template, "w") as f:
                f.write(PLAIN_IN)
        wu = create_work(self.db, self.wp.cfg, "worker", Workunit(name=name, **params),
                         template, [InputFile(infile)])
        # due now; the transitioner takes it a second later (transition_time < now)
        self.db.execute("UPDATE workunit SET transition_time = transition_time - 1 "
                        "WHERE id = %s", (wu.id,))
        return wu.id

    def wu(self, wuid):
        return self.db.query_one("SELECT * FROM workunit WHERE id = %s", (wuid,))

    def results(self, wuid):
        return self.db.query("SELECT * FROM result WHERE workunitid = %s ORDER BY id", (wuid,))

    def add_wu(self, name, **cols):
        cols.setdefault("transition_time", int(time.time()) - 1)
        return add_wu(self.db, self.app, name, **cols)

    def add_result(self, wuid, name, **cols):
        return add_result(self.db, wuid, self.app, name, **cols)


@pytest.fixture
def t(wproj, monkeypatch, capsys):  # noqa: F811
    return Harness(wproj, monkeypatch, capsys)


def between(value, low, high):
    return low <= value <= high


# -- creating results

def test_new_wu_gets_target_nresults_unsent_results(t):
    wuid = t.create("job1", target_nresults=3, min_quorum=2, max_success_results=3,
                    max_total_results=6, max_error_results=3, priority=4, batch=7)
    before = int(time.time())
    status, log = t.run()
    after = int(time.time())
    assert status == 0
    assert ("[WU#%d job1] Generating 3 more results (3 target - 0 unsent - 0 in progress"
            " - 0 success)" % wuid) in log
    rows = t.results(wuid)
    assert [r["name"] for r in rows] == ["job1_0", "job1_1", "job1_2"]
    upload_url = t.wp.cfg.upload_url
    randoms = set()
    for i, r in enumerate(rows):
        assert (r["server_state"], r["outcome"], r["client_state"], r["validate_state"],
                r["file_delete_state"]) == (UNSENT, 0, 0, INIT, 0)
        assert (r["appid"], r["priority"], r["batch"], r["size_class"]) == (t.app, 4, 7, -1)
        assert (r["hostid"], r["userid"], r["report_deadline"], r["sent_time"]) == (0, 0, 0, 0)
        assert between(r["create_time"], before, after)
        assert 0 <= r["random"] < 2 ** 31
        doc = r["xml_doc_in"].decode()
        m = re.fullmatch(
            r"<file_info>\n        <name>(job1_%d_r(\d+)_0)</name>\n"
            r"        <generated_locally/>\n        <upload_when_present/>\n"
            r"        <max_nbytes>1000000</max_nbytes>\n"
            r"        <url>%s</url>\n    </file_info>\n    <result>\n        <file_ref>\n"
            r"            <file_name>\1</file_name>\n            <open_name>out</open_name>\n"
            r"        </file_ref>\n    </result>" % (i, re.escape(upload_url)), doc)
        assert m, doc
        randoms.add(m.group(2))
        assert r["xml_doc_out"] == b"" and r["stderr_out"] == b""
    assert len(randoms) == 3
    wu = t.wu(wuid)
    assert between(wu["transition_time"], before + TEN_DAYS, after + TEN_DAYS)
    assert (wu["need_validate"], wu["error_mask"], wu["assimilate_state"]) == (0, 0, 0)

    # nothing due any more: a second pass changes nothing
    status, log = t.run()
    assert status == 0 and not any("Generating" in line for line in log)
    assert len(t.results(wuid)) == 3


def test_long_delay_bound_sets_safety_net_further(t):
    wuid = t.create("slow", delay_bound=1000001)
    before = int(time.time())
    t.run()
    after = int(time.time())
    assert between(t.wu(wuid)["transition_time"], before + 1500001, after + 1500001)


def test_signed_when_certificates_on_and_signature_verifies(t):
    t.set_config(dont_generate_upload_certificates=None)
    wuid = t.create("signed")
    assert t.run()[0] == 0
    (r,) = t.results(wuid)
    doc = r["xml_doc_in"].decode()
    m = re.search(r"<name>(signed_0_r\d+_0)</name>\n.*"
                  r"        <url>.*</url>\n    <xml_signature>\n(.*?)</xml_signature>\n"
                  r"</file_info>\n", doc, re.S)
    assert m, doc
    public = crypt.read_public_key(os.path.join(t.dir, "keys", "upload_public"))
    signed = "<name>%s</name><max_nbytes>1000000</max_nbytes>" % m.group(1)
    assert crypt.verify_string(signed, m.group(2), public)
    assert not crypt.verify_string(signed.replace("_0</name>", "_1</name>"), m.group(2),
                                   public)


def test_unsigned_when_certificates_off(t):
    assert t.wp.cfg.dont_generate_upload_certificates        # make_project's default
    wuid = t.create("plain")
    t.run()
    (r,) = t.results(wuid)
    assert b"xml_signature" not in r["xml_doc_in"]


def test_new_results_continue_after_highest_suffix(t):
    wuid = t.add_wu("sfx", target_nresults=2, max_total_results=9, max_error_results=5)
    t.add_result(wuid, "sfx_0", outcome=CLIENT_ERROR)
    t.add_result(wuid, "sfx_7", outcome=CLIENT_ERROR)
    t.add_result(wuid, "sfx_x", outcome=CLIENT_ERROR)
    status, log = t.run()
    assert [r["name"] for r in t.results(wuid)][3:] == ["sfx_8", "sfx_9"]


def test_priority_raised_when_a_result_is_over(t):
    t.set_config(reliable_priority_on_over=10)
    wuid = t.add_wu("prio", priority=3, max_total_results=5, max_error_results=3)
    t.add_result(wuid, "prio_0", outcome=CLIENT_ERROR)
    t.run()
    assert [r["priority"] for r in t.results(wuid)] == [0, 13]


def test_no_new_results_for_targeted_jobs_and_broadcast_ones_untouched(t):
    targeted = t.add_wu("tgt", transitioner_flags=2)
    broadcast = t.add_wu("bc", transitioner_flags=1, transition_time=5)
    before = int(time.time())
    t.run()
    assert t.results(targeted) == [] and t.results(broadcast) == []
    assert t.wu(targeted)["transition_time"] >= before + TEN_DAYS
    assert t.wu(broadcast)["transition_time"] == 5


# -- timeouts

def add_app_version(t, version_num, platformid=1, plan_class=""):
    return insert(t.db, "app_version", create_time=1, appid=t.app, version_num=version_num,
                  platformid=platformid, plan_class=plan_class, xml_doc="")


def test_result_past_deadline_times_out_and_is_replaced(t):
    t.set_config(daily_result_quota=8)
    av = add_app_version(t, 100)
    wuid = t.add_wu("late", target_nresults=1, max_total_results=3, delay_bound=5000)
    now = int(time.time())
    rid = t.add_result(wuid, "late_0", server_state=IN_PROGRESS, outcome=0, hostid=42,
                       app_version_id=av, report_deadline=now - 100, sent_time=now - 5100)
    insert(t.db, "host_app_version", host_id=42, app_version_id=av, max_jobs_per_day=20,
           consecutive_valid=7)
    status, log = t.run()
    assert status == 0
    pattern = (r"\[WU#%d late\] \[RESULT#%d late_0\] result timed out \(%d < (\d+)\) "
               r"server_state:IN_PROGRESS=>OVER; outcome:NO_REPLY" % (wuid, rid, now - 100))
    (m,) = [m for m in map(re.compile(pattern).fullmatch, log) if m]
    assert int(m.group(1)) >= now
    old, new = t.results(wuid)
    assert (old["server_state"], old["outcome"]) == (OVER, NO_REPLY)
    assert (new["name"], new["server_state"]) == ("late_1", UNSENT)
    hav = t.db.query_one("SELECT * FROM host_app_version WHERE host_id = 42")
    # quota: min(20, daily_result_quota 8) - 1; turnaround: first sample = delay_bound
    assert (hav["max_jobs_per_day"], hav["consecutive_valid"]) == (7, 0)
    assert (hav["turnaround_n"], hav["turnaround_avg"], hav["turnaround_var"]) == (1, 5000, 0)
    assert t.wu(wuid)["error_mask"] == 0


def test_timeout_inherits_hosts_record_of_older_version(t):
    old_av, new_av = add_app_version(t, 100), add_app_version(t, 200)
    other_platform = add_app_version(t, 300, platformid=2)
    insert(t.db, "host_app_version", host_id=5, app_version_id=old_av, max_jobs_per_day=0,
           turnaround_n=1, turnaround_avg=100)
    insert(t.db, "host_app_version", host_id=5, app_version_id=other_platform,
           max_jobs_per_day=50)
    wuid = t.add_wu("inh", max_total_results=3, delay_bound=400)
    t.add_result(wuid, "inh_0", server_state=IN_PROGRESS, hostid=5, app_version_id=new_av,
                 report_deadline=1000)
    t.run()
    rows = t.db.query("SELECT * FROM host_app_version WHERE host_id = 5 ORDER BY app_version_id")
    assert [r["app_version_id"] for r in rows] == sorted([new_av, other_platform])
    taken = [r for r in rows if r["app_version_id"] == new_av][0]
    # 0 = no limit yet: daily_result_quota (make_project's 500) - 1
    assert taken["max_jobs_per_day"] == 499
    assert (taken["turnaround_n"], taken["turnaround_avg"]) == (2, 250)
    assert [r for r in rows if r["app_version_id"] == other_platform][0]["max_jobs_per_day"] == 50


def test_timeout_with_no_results_left_to_make_errors_the_wu(t):
    wuid = t.add_wu("last", target_nresults=1, max_total_results=1)
    t.add_result(wuid, "last_0", server_state=IN_PROGRESS, report_deadline=1000)
    status, log = t.run()
    wu = t.wu(wuid)
    assert wu["error_mask"] == 8
    assert (wu["assimilate_state"], wu["transition_time"]) == (1, INT_MAX)
    assert len(t.results(wuid)) == 1
    assert "[WU#%d last] WU has too many total results (1)" % wuid in log
    assert ("   target_nresults=1 nunsent=0 ninprogress=0 nsuccess=0 new_needed=1 "
            "new_allowed=0") in log
    assert "[WU#%d last] error_mask:8 assimilate_state:INIT=>READY" % wuid in log


def test_more_results_than_allowed_errors_the_wu(t):
    wuid = t.add_wu("over", target_nresults=1, max_total_results=1, max_error_results=5)
    t.add_result(wuid, "over_0", outcome=CLIENT_ERROR)
    t.add_result(wuid, "over_1", server_state=UNSENT, outcome=0)
    t.run()
    assert t.wu(wuid)["error_mask"] == 8
    assert [(r["server_state"], r["outcome"]) for r in t.results(wuid)] == [
        (OVER, CLIENT_ERROR), (OVER, DIDNT_NEED)]


# -- errors

def test_too_many_errors(t):
    wuid = t.add_wu("err", target_nresults=3, min_quorum=2, max_error_results=1,
                    max_total_results=8, hr_class=3, app_version_id=9)
    t.add_result(wuid, "err_0", outcome=CLIENT_ERROR, exit_status=1)
    t.add_result(wuid, "err_1", outcome=CLIENT_ERROR, exit_status=-1)
    unsent = t.add_result(wuid, "err_2", server_state=UNSENT, outcome=0)
    t.add_result(wuid, "err_3", outcome=SUCCESS, validate_state=INCONCLUSIVE)
    status, log = t.run()
    assert status == 0
    wu = t.wu(wuid)
    assert wu["error_mask"] == 2
    assert (wu["assimilate_state"], wu["transition_time"]) == (1, INT_MAX)
    # a success is still there: the HR class and version stay committed
    assert (wu["hr_class"], wu["app_version_id"]) == (3, 9)
    states = [(r["server_state"], r["outcome"], r["validate_state"]) for r in t.results(wuid)]
    assert states == [(OVER, CLIENT_ERROR, 0), (OVER, CLIENT_ERROR, 0),
                      (OVER, DIDNT_NEED, 0), (OVER, SUCCESS, NO_CHECK)]
    assert len(states) == 4                       # no new results for an errored WU
    assert "[WU#%d err] WU has too many errors (2 errors for 4 results)" % wuid in log
    assert ("[WU#%d err] [RESULT#%d err_2] server_state:UNSENT=>OVER; outcome:=>DIDNT_NEED"
            % (wuid, unsent)) in log


def test_only_errors_reset_hr_class_unless_static(t):
    wuid = t.add_wu("hr", max_error_results=3, max_total_results=5, hr_class=3,
                    app_version_id=9)
    t.add_result(wuid, "hr_0", outcome=CLIENT_ERROR)
    t.run()
    wu = t.wu(wuid)
    assert (wu["hr_class"], wu["app_version_id"], wu["error_mask"]) == (0, 0, 0)
    assert [r["name"] for r in t.results(wuid)] == ["hr_0", "hr_1"]

    t.set_config(hr_class_static=1)
    wuid = t.add_wu("hr2", max_error_results=3, max_total_results=5, hr_class=3)
    t.add_result(wuid, "hr2_0", outcome=CLIENT_ERROR)
    t.run()
    assert t.wu(wuid)["hr_class"] == 3


def test_user_abort_is_not_an_error(t):
    wuid = t.add_wu("gui", max_error_results=0, max_total_results=3)
    t.add_result(wuid, "gui_0", outcome=CLIENT_ERROR, exit_status=203)
    t.run()
    assert t.wu(wuid)["error_mask"] == 0
    assert len(t.results(wuid)) == 2


def test_couldnt_send(t):
    wuid = t.add_wu("cs", max_total_results=3)
    rid = t.add_result(wuid, "cs_0", outcome=COULDNT_SEND)
    status, log = t.run()
    assert t.wu(wuid)["error_mask"] == 1
    assert "[WU#%d cs] [RESULT#%d cs_0] result couldn't be sent" % (wuid, rid) in log


# -- validation and assimilation

def test_success_reaching_min_quorum_asks_for_validation(t):
    wuid = t.add_wu("q", target_nresults=2, min_quorum=2, max_success_results=2,
                    max_total_results=4)
    deadline = int(time.time()) + 5000
    t.add_result(wuid, "q_0", outcome=SUCCESS, received_time=100)
    r1 = t.add_result(wuid, "q_1", server_state=IN_PROGRESS, outcome=0,
                      report_deadline=deadline)
    t.run()
    wu = t.wu(wuid)
    assert wu["need_validate"] == 0                   # 1 success < min_quorum 2
    assert wu["transition_time"] == deadline          # the in-progress deadline
    assert len(t.results(wuid)) == 2

    # the scheduler records the second success and asks for a transition
    t.db.execute("UPDATE result SET server_state=5, outcome=1 WHERE id=%s", (r1,))
    t.db.execute("UPDATE workunit SET transition_time=%s WHERE id=%s",
                 (int(time.time()) - 1, wuid))
    before = int(time.time())
    status, log = t.run()
    wu = t.wu(wuid)
    assert wu["need_validate"] == 1
    assert "[WU#%d q] need_validate:=>true" % wuid in log
    assert wu["transition_time"] >= before + TEN_DAYS


def test_invalid_results_dont_count_as_successes(t):
    wuid = t.add_wu("inv", min_quorum=1, max_total_results=3)
    t.add_result(wuid, "inv_0", outcome=SUCCESS, validate_state=INVALID)
    t.run()
    assert t.wu(wuid)["need_validate"] == 0
    assert [r["name"] for r in t.results(wuid)] == ["inv_0", "inv_1"]


def test_canonical_result_means_no_more_transitions(t):
    wuid = t.add_wu("done", assimilate_state=1)
    rid = t.add_result(wuid, "done_0", validate_state=VALID)
    t.db.execute("UPDATE workunit SET canonical_resultid=%s WHERE id=%s", (rid, wuid))
    t.run()
    assert t.wu(wuid)["transition_time"] == INT_MAX


def test_success_after_canonical_files_deleted_is_too_late(t):
    wuid = t.add_wu("tl", assimilate_state=2, file_delete_state=2)
    rid = t.add_result(wuid, "tl_0", validate_state=VALID, file_delete_state=2)
    late = t.add_result(wuid, "tl_1", validate_state=INIT)
    t.db.execute("UPDATE workunit SET canonical_resultid=%s WHERE id=%s", (rid, wuid))
    status, log = t.run()
    assert t.results(wuid)[1]["validate_state"] == TOO_LATE
    assert "[WU#%d tl] [RESULT#%d tl_1] validate_state:INIT=>TOO_LATE" % (wuid, late) in log
    assert t.wu(wuid)["need_validate"] == 0


def test_deferred_assimilation_when_all_results_are_in(t):
    wuid = t.add_wu("defer", target_nresults=2, max_total_results=4)
    rid = t.add_result(wuid, "defer_0", validate_state=VALID)
    deadline = int(time.time()) + 3000
    other = t.add_result(wuid, "defer_1", server_state=IN_PROGRESS, outcome=0,
                         report_deadline=deadline)
    t.db.execute("UPDATE workunit SET canonical_resultid=%s WHERE id=%s", (rid, wuid))
    t.run()
    wu = t.wu(wuid)
    assert wu["assimilate_state"] == 0
    assert wu["transition_time"] == deadline          # INT_MAX, lowered to the deadline
    t.db.execute("UPDATE result SET server_state=5, outcome=1, validate_state=1 WHERE id=%s",
                 (other,))
    t.db.execute("UPDATE workunit SET transition_time=1 WHERE id=%s", (wuid,))
    status, log = t.run()
    wu = t.wu(wuid)
    assert (wu["assimilate_state"], wu["transition_time"]) == (1, INT_MAX)
    assert "[WU#%d defer] Deferred assimilation now set to ASSIMILATE_STATE_READY" % wuid in log


# -- file deletion

def assimilated_wu(t, name, received):
    wuid = t.add_wu(name, assimilate_state=2, max_total_results=9)
    ids = dict(
        canonical=t.add_result(wuid, name + "_0", validate_state=VALID, received_time=received),
        error=t.add_result(wuid, name + "_1", outcome=CLIENT_ERROR, received_time=received),
        invalid=t.add_result(wuid, name + "_2", validate_state=INVALID, received_time=received),
        didnt_need=t.add_result(wuid, name + "_3", outcome=DIDNT_NEED))
    t.db.execute("UPDATE workunit SET canonical_resultid=%s WHERE id=%s",
                 (ids["canonical"], wuid))
    return wuid, ids


def file_delete_states(t, ids):
    return {k: t.db.scalar("SELECT file_delete_state FROM result WHERE id=%s", (v,))
            for k, v in ids.items()}


def test_assimilated_wu_files_deleted_after_delete_delay(t):
    t.set_config(delete_delay_hours=1)
    wuid, ids = assimilated_wu(t, "fd", int(time.time()) - 3700)
    status, log = t.run()
    wu = t.wu(wuid)
    assert (wu["file_delete_state"], wu["transition_time"]) == (1, INT_MAX)
    assert file_delete_states(t, ids) == dict(canonical=1, error=1, invalid=1, didnt_need=0)
    assert "[WU#%d fd] [RESULT#%d fd_1] file_delete_state:=>READY" % (wuid, ids["error"]) in log


def test_file_deletion_deferred_until_delete_delay(t):
    t.set_config(delete_delay_hours=1)
    received = int(time.time()) - 60
    wuid, ids = assimilated_wu(t, "wait", received)
    t.run()
    wu = t.wu(wuid)
    assert (wu["file_delete_state"], wu["transition_time"]) == (0, received + 3600)
    assert set(file_delete_states(t, ids).values()) == {0}


def test_canonical_files_kept_while_a_success_awaits_validation(t):
    wuid, ids = assimilated_wu(t, "keep", 100)
    ids["pending"] = t.add_result(wuid, "keep_4", validate_state=INIT, received_time=100)
    t.run()
    assert t.wu(wuid)["file_delete_state"] == 0
    assert file_delete_states(t, ids) == dict(canonical=0, error=1, invalid=1, didnt_need=0,
                                              pending=0)
    assert t.wu(wuid)["need_validate"] == 1


# -- selection

def test_mod_only_touches_its_slice(t):
    ids = [t.add_wu("m%d" % i) for i in range(6)]
    assert t.run("--mod", 2, 1)[0] == 0
    for wuid in ids:
        assert len(t.results(wuid)) == wuid % 2, wuid
    t.run("-mod", 2, 0)
    assert all(len(t.results(wuid)) == 1 for wuid in ids)


def test_wu_id_transitions_that_wu_whatever_its_time(t):
    a = t.add_wu("wa", transition_time=INT_MAX)
    b = t.add_wu("wb")
    assert t.run("--wu_id", a)[0] == 0
    assert len(t.results(a)) == 1 and t.results(b) == []


def test_batches_of_1000_workunits(t, monkeypatch):
    ids = [t.add_wu("b%d" % i) for i in range(5)]
    queries = []

    class Small(tmod.Transitioner):
        def setup(self):
            super().setup()
            self.limit = 2

        def enumerate(self, now):
            wus = super().enumerate(now)
            queries.append(len(wus))
            return wus

    t.run(cls=Small)
    assert queries == [2, 2, 1, 0]
    assert all(len(t.results(w)) == 1 for w in ids)
    assert tmod.SELECT_LIMIT == 1000


# -- concurrent writers

def test_result_reported_meanwhile_is_not_clobbered(t):
    wuid = t.add_wu("race", max_total_results=3)
    rid = t.add_result(wuid, "race_0", server_state=IN_PROGRESS, outcome=0,
                       report_deadline=1000)

    class Racing(tmod.Transitioner):
        def enumerate(self, now):
            wus = super().enumerate(now)
            # the scheduler takes the late report after we read the rows
            if wus:
                self.db.execute("UPDATE result SET server_state=5, outcome=1, received_time=%s "
                                "WHERE id=%s", (now, rid))
            return wus

    before = int(time.time())
    status, log = t.run("--wu_id", wuid, cls=Racing)     # one look only
    after = int(time.time())
    (r,) = t.results(wuid)                            # no replacement made
    assert (r["server_state"], r["outcome"]) == (OVER, SUCCESS)
    wu = t.wu(wuid)
    assert between(wu["transition_time"], before, after)       # looked at again soon
    assert (wu["need_validate"], wu["error_mask"]) == (0, 0)
    # next time round the success is seen
    t.db.execute("UPDATE workunit SET transition_time=1 WHERE id=%s", (wuid,))
    t.run()
    assert t.wu(wuid)["need_validate"] == 1


def test_unsent_result_sent_meanwhile_is_not_cancelled(t):
    wuid = t.add_wu("race2", max_error_results=0, max_total_results=3)
    t.add_result(wuid, "race2_0", outcome=CLIENT_ERROR)
    rid = t.add_result(wuid, "race2_1", server_state=UNSENT, outcome=0)

    class Racing(tmod.Transitioner):
        def enumerate(self, now):
            wus = super().enumerate(now)
            if wus:
                self.db.execute("UPDATE result SET server_state=4, report_deadline=%s "
                                "WHERE id=%s AND server_state=2", (now + 999, rid))
            return wus

    t.run(cls=Racing)
    r = t.results(wuid)[1]
    assert (r["server_state"], r["outcome"]) == (IN_PROGRESS, 0)


def test_transition_time_moved_meanwhile_means_look_again(t):
    wuid = t.add_wu("moved")

    class Racing(tmod.Transitioner):
        def enumerate(self, now):
            wus = super().enumerate(now)
            if wus:
                self.db.execute("UPDATE workunit SET transition_time=12345 WHERE id=%s",
                                (wuid,))
            return wus

    before = int(time.time())
    t.run("--wu_id", wuid, cls=Racing)
    after = int(time.time())
    assert between(t.wu(wuid)["transition_time"], before, after)
    assert len(t.results(wuid)) == 1


def test_cancel_bit_set_meanwhile_survives(t):
    wuid = t.add_wu("cx", max_total_results=3)
    t.add_result(wuid, "cx_0", outcome=COULDNT_SEND)

    class Racing(tmod.Transitioner):
        def enumerate(self, now):
            wus = super().enumerate(now)
            if wus:
                self.db.execute("UPDATE workunit SET error_mask=error_mask|16 WHERE id=%s",
                                (wuid,))
            return wus

    t.run(cls=Racing)
    assert t.wu(wuid)["error_mask"] == 1 | 16


# -- the program

def test_refuses_to_start_without_upload_private(t):
    os.rename(os.path.join(t.dir, "keys", "upload_private"),
              os.path.join(t.dir, "keys", "elsewhere"))
    wuid = t.add_wu("nokey")
    proc = program(t.wp.made, "transitioner", "--one_pass")
    assert proc.returncode == 1
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert re.fullmatch(r"\S+ \S+ UTC \[CRITICAL\] can't read key file \S+/keys/upload_private:"
                        r" No such file or directory", lines[0]), lines[0]
    assert t.results(wuid) == []


def test_bad_template_stops_the_daemon(t):
    wuid = t.add_wu("badt", result_template_file="templates/missing_out")
    status, log = t.run()
    assert status == 1
    assert re.fullmatch(r"\[CRITICAL\] \[WU#%d badt\] create_result_ti\(\): can't read result "
                        r"template file '\S+/templates/missing_out': No such file or directory"
                        % wuid, log[-1]), log


def test_installed_program_runs_a_pass(t):
    wuid = t.create("prog")
    proc = program(t.wp.made, "transitioner", "--one_pass", "-d", "4")
    assert proc.returncode == 0, proc.stderr
    assert [r["name"] for r in t.results(wuid)] == ["prog_0"]
    log = proc.stderr
    assert "Starting" in log and "[debug] doing a pass" in log
    assert "[debug] [WU#%d prog] 0 results: unsent 0, in_progress 0, over 0 (success 0, " \
           "error 0, couldnt_send 0, no_reply 0, didnt_need 0)" % wuid in log
    assert re.search(r"\[debug\] \[WU#%d prog\] setting transition_time to \d+" % wuid, log)


# -- against what BOINC's own transitioner made

def test_same_rows_as_boincs_transitioner(t, admin_db):
    """Load refproj's dump; remove the results BOINC made for its unsent jobs,
    let ours make them again: same columns, same text (but the random number)."""
    name = t.wp.made.db_name
    admin_db.execute("DROP DATABASE `%s`" % name)
    admin_db.execute("CREATE DATABASE `%s` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
                     % name)
    load_dump(admin_db, name, os.path.join(SHARED, "fixtures", "boinc-made-project",
                                           "refproj.sql"))
    db = dbmod.connect(t.wp.cfg)
    boinc = db.query("SELECT * FROM result WHERE server_state = 2 ORDER BY workunitid")
    assert len(boinc) == 16
    boinc_wus = {w["id"]: w for w in db.query("SELECT * FROM workunit")}
    db.execute("DELETE FROM result WHERE server_state = 2")
    db.execute("UPDATE workunit SET transition_time = 1 WHERE id IN (%s)"
               % ",".join(str(r["workunitid"]) for r in boinc))
    assert t.run()[0] == 0
    ours = db.query("SELECT * FROM result WHERE server_state = 2 ORDER BY workunitid")
    assert len(ours) == 16
    random_name = re.compile(rb"_r\d+_0<")
    for b, o in zip(boinc, ours):
        for col in ("id", "create_time", "random", "mod_time"):
            b.pop(col), o.pop(col)
        b["xml_doc_in"] = random_name.sub(b"_rN_0<", b["xml_doc_in"])
        o["xml_doc_in"] = random_name.sub(b"_rN_0<", o["xml_doc_in"])
        assert o == b
    for r in ours:
        wu = db.query_one("SELECT * FROM workunit WHERE id = %s", (r["workunitid"],))
        theirs = boinc_wus[r["workunitid"]]
        for col in ("transition_time", "mod_time"):
            wu.pop(col), theirs.pop(col)
        assert wu == theirs                       # nothing else about the WU changed
    db.close()


def test_options(capsys):
    for argv, code in ((["-version"], 0), (["--bogus"], 1), (["--wu_id"], 1)):
        with pytest.raises(SystemExit) as exc:
            tmod.Transitioner().main(argv)
        assert exc.value.code == code, argv
    assert capsys.readouterr().out == "transitioner %s\n" % tmod.__version__

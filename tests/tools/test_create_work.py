"""bin/create_work against a real MariaDB: BOINC's rows, byte for byte, and
nothing half-made when a job is bad."""

import hashlib
import os
import re
import time

from jobs_helpers import dump_rows, wproj  # noqa: F401 (fixture)

from sched import states

# Columns create_work sets (the other columns of the dump changed as jobs ran).
CREATED_COLUMNS = ("name", "xml_doc", "batch", "rsc_fpops_est", "rsc_fpops_bound",
                   "rsc_memory_bound", "rsc_disk_bound", "delay_bound", "hr_class", "opaque",
                   "min_quorum", "target_nresults", "max_error_results",
                   "max_total_results", "max_success_results", "result_template_file",
                   "priority", "rsc_bandwidth_bound", "fileset_id", "app_version_id",
                   "transitioner_flags", "size_class", "keywords", "app_version_num")
NEW_JOB_STATE = ("need_validate", "canonical_resultid", "canonical_credit", "error_mask",
                 "file_delete_state", "assimilate_state")

# A template without job parameters, so that options and defaults show.
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


def _md5_size(xml_doc):
    md5 = re.search(r"<md5_cksum>(\w+)</md5_cksum>", xml_doc).group(1)
    size = int(re.search(r"<nbytes>(\d+)</nbytes>", xml_doc).group(1))
    return md5, size


def _stage_like_dump(wproj, row):
    """Stage refproj's input of ``row``: same name and size, md5 via its cache file."""
    name = row["xml_doc"].split("<name>")[1].split("</name>")[0]
    md5, size = _md5_size(row["xml_doc"])
    wproj.put_staged(name, b"x" * size, md5=md5)
    return name


def _doc(wu):
    return wu["xml_doc"].decode()


def _stage(wproj, name, data=None):
    data = data if data is not None else ("contents of %s\n" % name).encode()
    wproj.put_staged(name, data)
    return name


def _plain(wproj):
    with open(wproj.path("templates", "plain_in"), "w") as f:
        f.write(PLAIN_IN)
    return "templates/plain_in"


def _error_line(res):
    assert res.returncode == 1, (res.stdout, res.stderr)
    lines = res.stderr.splitlines()
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith("create_work: ")
    return lines[0]


# ---------------------------------------------------------------- golden

def test_golden_single_job_matches_boincs_row(wproj):
    ref = dump_rows("workunit")[0]
    name = _stage_like_dump(wproj, ref)
    before = int(time.time())
    res = wproj.run("create_work", "--appname", "worker", "--wu_name", "refjob_1", name)
    after = int(time.time())
    assert res.returncode == 0, res.stderr
    assert res.stdout == "" and res.stderr == ""    # --wu_name given: no name line
    (wu,) = wproj.wus()
    assert _doc(wu) == ref["xml_doc"]
    for column in CREATED_COLUMNS:
        value = _doc(wu) if column == "xml_doc" else wu[column]
        assert value == ref[column], column
    assert wu["appid"] == wproj.app_id
    for column in NEW_JOB_STATE:
        assert wu[column] == 0, column
    assert before <= wu["create_time"] <= after
    assert wu["transition_time"] == wu["create_time"]


def test_golden_stdin_batch_matches_all_twenty_rows(wproj):
    refs = dump_rows("workunit")
    lines = "".join("--wu_name %s %s\n" % (ref["name"], _stage_like_dump(wproj, ref))
                    for ref in refs)
    res = wproj.run("create_work", "--appname", "worker", "--stdin", stdin=lines)
    assert res.returncode == 0, res.stderr
    assert res.stdout == "" and res.stderr == ""    # no progress bar off a terminal
    wus = wproj.wus()
    assert [w["name"] for w in wus] == [r["name"] for r in refs]
    for wu, ref in zip(wus, refs):
        assert _doc(wu) == ref["xml_doc"], ref["name"]
        for column in CREATED_COLUMNS[2:]:
            assert wu[column] == ref[column], (ref["name"], column)
        assert wu["transition_time"] == wu["create_time"]


# ---------------------------------------------------------------- options

def test_default_name_is_printed(wproj):
    name = _stage(wproj, "in_a")
    res = wproj.run("create_work", "-appname", "worker", name)
    assert res.returncode == 0, res.stderr
    (wu,) = wproj.wus()
    assert re.fullmatch(r"worker_\d+_\d+\.\d{6}", wu["name"])
    assert res.stdout == "workunit name: %s\n" % wu["name"]


def test_defaults_when_template_and_options_say_nothing(wproj):
    tmpl = _plain(wproj)
    res = wproj.run("create_work", "--appname", "worker", "--wu_template", tmpl,
                    "--wu_name", "j", _stage(wproj, "in_a"))
    assert res.returncode == 0, res.stderr
    (wu,) = wproj.wus()
    assert (wu["rsc_fpops_est"], wu["rsc_fpops_bound"], wu["rsc_memory_bound"],
            wu["rsc_disk_bound"]) == (3600e9, 86400e9, 5e8, 1e9)
    assert wu["delay_bound"] == 7 * 86400
    assert (wu["min_quorum"], wu["target_nresults"], wu["max_error_results"],
            wu["max_total_results"], wu["max_success_results"]) == (1, 1, 1, 1, 1)
    assert (wu["batch"], wu["priority"], wu["size_class"], wu["keywords"]) == (0, 0, -1, "")
    assert wu["result_template_file"] == "templates/worker_out"


def test_options_fill_columns(wproj):
    tmpl = _plain(wproj)
    res = wproj.run(
        "create_work", "--appname", "worker", "--wu_template", tmpl, "--wu_name", "j",
        "--batch", 7, "--priority", 3, "--credit", 2.5, "--rsc_fpops_est", 1e12,
        "--rsc_fpops_bound", 1e14, "--rsc_memory_bound", 2e9, "--rsc_disk_bound", 3e9,
        "--delay_bound", 3600, "--min_quorum", 2, "--target_nresults", 3,
        "--max_error_results", 4, "--max_total_results", 6, "--max_success_results", 5,
        "--hr_class", 2, "--size_class", 1, "--app_version_num", 101,
        "--keywords", "12 34", "-result_template", "templates/worker_out",
        _stage(wproj, "in_a"))
    assert res.returncode == 0, res.stderr
    (wu,) = wproj.wus()
    expected = dict(batch=7, priority=3, canonical_credit=2.5, rsc_fpops_est=1e12,
                    rsc_fpops_bound=1e14, rsc_memory_bound=2e9, rsc_disk_bound=3e9,
                    delay_bound=3600, min_quorum=2, target_nresults=3, max_error_results=4,
                    max_total_results=6, max_success_results=5, hr_class=2, size_class=1,
                    app_version_num=101, keywords="12 34")
    assert {k: wu[k] for k in expected} == expected


def test_template_values_win_over_options(wproj):
    res = wproj.run("create_work", "--appname", "worker", "--wu_name", "j",
                    "--rsc_fpops_est", 5e9, "--delay_bound", 100, "--batch", 4,
                    _stage(wproj, "in_a"))
    assert res.returncode == 0, res.stderr
    (wu,) = wproj.wus()
    assert wu["rsc_fpops_est"] == 1e10 and wu["delay_bound"] == 86400
    assert wu["batch"] == 4                      # not in the template


def test_target_nresults_raises_max_counts(wproj):
    res = wproj.run("create_work", "--appname", "worker", "--wu_template", _plain(wproj),
                    "--wu_name", "j", "--target_nresults", 3, _stage(wproj, "in_a"))
    assert res.returncode == 0, res.stderr
    (wu,) = wproj.wus()
    assert (wu["max_success_results"], wu["max_total_results"], wu["max_error_results"]) \
        == (3, 3, 1)


def test_command_line_and_sub_appname(wproj):
    res = wproj.run("create_work", "--appname", "worker", "--wu_name", "j",
                    "--command_line", "-n 5 --fast", "--sub_appname", "fast & big",
                    _stage(wproj, "in_a"))
    assert res.returncode == 0, res.stderr
    doc = _doc(wproj.wus()[0])
    assert "<workunit>\n<command_line>\n-n 5 --fast\n</command_line>\n<file_ref>" in doc
    assert doc.endswith("</file_ref>\n   <sub_appname>fast &amp; big</sub_appname>\n"
                        "</workunit>")


def test_template_command_line_conflicts_with_option(wproj):
    with open(wproj.path("templates", "cmd_in"), "w") as f:
        f.write(PLAIN_IN.replace("</workunit>",
                                 "<command_line>-t 30</command_line></workunit>"))
    args = ("--appname", "worker", "--wu_template", "templates/cmd_in",
            _stage(wproj, "in_a"))
    res = wproj.run("create_work", "--wu_name", "a", *args)
    assert res.returncode == 0, res.stderr
    assert _doc(wproj.wus()[0]).endswith(
        "<command_line>\n\n</command_line>\n<file_ref>\n    <file_name>in_a</file_name>\n"
        "    <open_name>in</open_name>\n</file_ref>\n<command_line>\n-t 30\n"
        "</command_line>\n</workunit>")
    res = wproj.run("create_work", "--wu_name", "b", "--command_line", "-x", *args)
    assert "Can't specify command line -t 30; already specified as -x" in _error_line(res)
    assert len(wproj.wus()) == 1


def test_targeted_and_broadcast_jobs(wproj):
    cases = [("--target_host", 5, states.ASSIGN_HOST, 5, 0, states.TRANSITION_NO_NEW_RESULTS),
             ("--target_user", 6, states.ASSIGN_USER, 6, 0, states.TRANSITION_NO_NEW_RESULTS),
             ("--target_team", 7, states.ASSIGN_TEAM, 7, 0, states.TRANSITION_NO_NEW_RESULTS),
             ("--broadcast", None, states.ASSIGN_NONE, 0, 1, states.TRANSITION_NONE),
             ("--broadcast_user", 8, states.ASSIGN_USER, 8, 1, states.TRANSITION_NONE),
             ("--broadcast_team", 9, states.ASSIGN_TEAM, 9, 1, states.TRANSITION_NONE)]
    for i, (option, value, ttype, tid, multi, flags) in enumerate(cases):
        args = [option] + ([value] if value is not None else [])
        res = wproj.run("create_work", "--appname", "worker", "--wu_name", "j%d" % i,
                        *args, _stage(wproj, "in_%d" % i))
        assert res.returncode == 0, res.stderr
        wu = wproj.wus("name = %s", ("j%d" % i,))[0]
        assert wu["transitioner_flags"] == flags
        assert wu["transition_time"] == states.INT_MAX
        asg = wproj.db.query("SELECT * FROM assignment WHERE workunitid = %s", (wu["id"],))
        assert len(asg) == 1
        assert (asg[0]["target_type"], asg[0]["target_id"], asg[0]["multi"],
                asg[0]["resultid"]) == (ttype, tid, multi, 0)


def test_assignment_needs_nonzero_id(wproj):
    res = wproj.run("create_work", "--appname", "worker", "--target_user", 0,
                    _stage(wproj, "in_a"))
    assert "nonzero database ID" in _error_line(res)
    assert wproj.wus() == []


def test_remote_file(wproj):
    md5 = hashlib.md5(b"remote").hexdigest()
    res = wproj.run("create_work", "--appname", "worker", "--wu_name", "j",
                    "--remote_file", "http://data.example.org/big?x=1&y=2", 123456, md5)
    assert res.returncode == 0, res.stderr
    assert _doc(wproj.wus()[0]).startswith(
        "<file_info>\n    <name>jf_%s</name>\n"
        "    <url>http://data.example.org/big?x=1&amp;y=2</url>\n"
        "    <md5_cksum>%s</md5_cksum>\n    <nbytes>123456</nbytes>\n</file_info>\n"
        "<workunit>\n<command_line>\n\n</command_line>\n<file_ref>\n"
        "    <file_name>jf_%s</file_name>\n" % (md5, md5, md5))


def test_wu_id_fills_an_existing_row(wproj):
    res = wproj.run("create_work", "--appname", "worker", "--wu_name", "placeholder",
                    _stage(wproj, "in_a"))
    assert res.returncode == 0, res.stderr
    (old,) = wproj.wus()
    res = wproj.run("create_work", "--appname", "worker", "--wu_id", old["id"],
                    "--wu_name", "filled", "--priority", 9, _stage(wproj, "in_b"))
    assert res.returncode == 0, res.stderr
    (wu,) = wproj.wus()
    assert (wu["id"], wu["name"], wu["priority"]) == (old["id"], "filled", 9)
    assert "<name>in_b</name>" in _doc(wu)
    res = wproj.run("create_work", "--appname", "worker", "--wu_id", old["id"] + 100,
                    "--wu_name", "x", _stage(wproj, "in_b"))
    assert "no workunit with id" in _error_line(res)


def test_input_copied_from_top_of_download_dir(wproj):
    top = os.path.join(wproj.cfg.download_dir, "loose_in")
    with open(top, "wb") as f:
        f.write(b"loose\n")
    res = wproj.run("create_work", "--appname", "worker", "--wu_name", "j", "loose_in")
    assert res.returncode == 0, res.stderr
    staged = wproj.hier("loose_in")
    assert res.stdout == "copy %s to %s\n" % (top, staged)
    with open(staged, "rb") as f:
        assert f.read() == b"loose\n"
    with open(staged + ".md5") as f:       # <cache_md5_info> is on in make_project
        assert f.read() == "%s 6\n" % hashlib.md5(b"loose\n").hexdigest()
    assert "<md5_cksum>%s</md5_cksum>" % hashlib.md5(b"loose\n").hexdigest() \
        in _doc(wproj.wus()[0])


def test_stale_md5_cache_is_replaced(wproj):
    path = wproj.put_staged("in_a", b"new contents\n")
    with open(path + ".md5", "w") as f:
        f.write("%s 3\n" % ("0" * 32))
    os.utime(path + ".md5", (1000, 1000))          # older than the file
    res = wproj.run("create_work", "--appname", "worker", "--wu_name", "j", "in_a")
    assert res.returncode == 0, res.stderr
    md5 = hashlib.md5(b"new contents\n").hexdigest()
    assert "<md5_cksum>%s</md5_cksum>\n    <nbytes>13</nbytes>" % md5 in _doc(wproj.wus()[0])
    with open(path + ".md5") as f:
        assert f.read() == "%s 13\n" % md5


def test_constant_file_from_template(wproj):
    with open(wproj.path("templates", "const_in"), "w") as f:
        f.write(PLAIN_IN.replace(
            "<workunit>", "<file_info><physical_name>shared.dat</physical_name><sticky/>"
            "</file_info><workunit>").replace(
            "</workunit>", "<file_ref><open_name>shared</open_name></file_ref></workunit>"))
    args = ("--appname", "worker", "--wu_template", "templates/const_in",
            _stage(wproj, "in_a"))
    wproj.put_staged("shared.dat", b"12345")            # no .md5: refused
    res = wproj.run("create_work", "--wu_name", "a", *args)
    assert "missing MD5 info file for shared.dat" in _error_line(res)
    wproj.put_staged("shared.dat", b"12345", md5=hashlib.md5(b"12345").hexdigest())
    res = wproj.run("create_work", "--wu_name", "b", *args)
    assert res.returncode == 0, res.stderr
    doc = _doc(wproj.wus()[0])
    hashdir = os.path.basename(os.path.dirname(wproj.hier("shared.dat")))
    assert doc.startswith("<file_info>\n    <name>in_a</name>\n")
    assert ("</file_info>\n<file_info>\n<sticky/>\n    <name>shared.dat</name>\n"
            "    <url>http://127.0.0.1:8081/refproj/download/%s/shared.dat</url>\n"
            % hashdir) in doc
    assert ("<file_ref>\n    <file_name>shared.dat</file_name>\n    <open_name>shared"
            "</open_name>\n</file_ref>\n</workunit>") in doc


# ---------------------------------------------------------------- refusals

def test_validation_errors_are_boincs(wproj):
    tmpl = _plain(wproj)
    cases = [(["--max_error_results", 2], "max_error_results > max_total_results; "
                                          "can't create job"),
             (["--max_success_results", 3], "max_success_results > max_total_results; "
                                            "can't create job"),
             (["--rsc_fpops_est", 0], "no rsc_fpops_est given; can't create job"),
             (["--rsc_disk_bound", 0], "no rsc_disk_bound given; can't create job"),
             (["--max_error_results", 0], "no max_error_results given; can't create job")]
    for args, message in cases:
        res = wproj.run("create_work", "--appname", "worker", "--wu_template", tmpl,
                        *args, _stage(wproj, "in_a"))
        assert _error_line(res) == "create_work: " + message
    assert wproj.wus() == []


def test_bad_argument(wproj):
    res = wproj.run("create_work", "--appname", "worker", "--bogus", "in_a")
    assert _error_line(res) == "create_work: bad argument '--bogus'"


def test_unknown_app(wproj):
    res = wproj.run("create_work", "--appname", "nosuch", _stage(wproj, "in_a"))
    assert "app not found" in _error_line(res)


def test_missing_input_template(wproj):
    res = wproj.run("create_work", "--appname", "worker", "--wu_template",
                    "templates/none_in", _stage(wproj, "in_a"))
    assert _error_line(res) == \
        "create_work: input template file templates/none_in doesn't exist"


def test_missing_input_file_creates_nothing(wproj):
    res = wproj.run("create_work", "--appname", "worker", "--wu_name", "j", "absent_in")
    assert "input file absent_in is not staged" in _error_line(res)
    assert wproj.wus() == []


def test_malformed_template_creates_nothing(wproj):
    with open(wproj.path("templates", "bad_in"), "w") as f:
        f.write(PLAIN_IN.replace("</workunit>", "</workunt>"))
    res = wproj.run("create_work", "--appname", "worker", "--wu_template",
                    "templates/bad_in", _stage(wproj, "in_a"))
    assert "not well-formed XML" in _error_line(res)
    assert wproj.wus() == []


def test_wrong_number_of_input_files(wproj):
    res = wproj.run("create_work", "--appname", "worker", "--wu_name", "j")
    assert "Too few var input files given; need at least 1" in _error_line(res)
    res = wproj.run("create_work", "--appname", "worker", "--wu_name", "j",
                    _stage(wproj, "in_a"), _stage(wproj, "in_b"))
    assert "2 input files given, but template has 1" in _error_line(res)
    assert wproj.wus() == []


def test_duplicate_name_is_refused(wproj):
    args = ("--appname", "worker", "--wu_name", "same", _stage(wproj, "in_a"))
    assert wproj.run("create_work", *args).returncode == 0
    (before,) = wproj.wus()
    res = wproj.run("create_work", "--priority", 5, *args)
    assert _error_line(res) == "create_work: a workunit named 'same' already exists"
    assert wproj.wus() == [before]


def test_missing_result_template_leaves_no_orphan_file(wproj):
    top = os.path.join(wproj.cfg.download_dir, "loose_in")
    with open(top, "wb") as f:
        f.write(b"loose\n")
    res = wproj.run("create_work", "--appname", "worker", "--result_template",
                    "templates/none_out", "loose_in")
    assert "result template file" in _error_line(res)
    assert wproj.wus() == []
    assert not os.path.exists(wproj.hier("loose_in"))        # the copy was taken back
    assert not os.path.exists(wproj.hier("loose_in") + ".md5")
    assert os.path.exists(top)


# ---------------------------------------------------------------- --stdin

def test_stdin_hundreds_of_jobs(wproj):
    lines = []
    for i in range(300):
        name = _stage(wproj, "in_%03d" % i)
        if i % 3 == 0:
            lines.append("--wu_name named_%d %s --priority %d" % (i, name, i))
        else:
            lines.append("%s --command_line '-k %d'" % (name, i))
    res = wproj.run("create_work", "--appname", "worker", "--wu_name", "base",
                    "--command_line", "-g", "--batch", 12, "--stdin",
                    stdin="\n".join(lines) + "\n")
    assert res.returncode == 0, res.stderr
    assert res.stdout == "" and res.stderr == ""
    wus = {w["name"]: w for w in wproj.wus()}
    assert len(wus) == 300
    assert wus["named_3"]["priority"] == 3
    assert "<command_line>\n-g\n</command_line>" in _doc(wus["named_3"])
    assert "<command_line>\n-g -k 1\n</command_line>" in _doc(wus["base_1"])
    assert "<name>in_299</name>" in _doc(wus["base_299"])
    assert all(w["batch"] == 12 for w in wus.values())
    assert all(w["transition_time"] == w["create_time"] for w in wus.values())


def test_stdin_bad_line_creates_nothing(wproj):
    top_names = []
    lines = []
    for i in range(50):
        top = os.path.join(wproj.cfg.download_dir, "top_%d" % i)
        with open(top, "wb") as f:
            f.write(b"%d\n" % i)
        top_names.append("top_%d" % i)
        lines.append("top_%d" % i)
    lines[40] = "absent_file"
    res = wproj.run("create_work", "--appname", "worker", "--stdin",
                    stdin="\n".join(lines) + "\n")
    assert res.returncode == 1
    assert res.stderr.splitlines()[-1].startswith("create_work: line 41: input file "
                                                  "absent_file is not staged")
    assert wproj.wus() == []
    for name in top_names:                      # copies of lines 1-40 taken back
        assert not os.path.exists(wproj.hier(name))


def test_stdin_continue_on_error(wproj):
    lines = [_stage(wproj, "in_%d" % i) for i in range(20)]
    lines[5] = "absent_file"
    lines[9] = "--bogus in_9"
    lines[12] = "--wu_name dup in_12"
    lines[13] = "--wu_name dup in_13"
    res = wproj.run("create_work", "--appname", "worker", "--wu_name", "b", "--stdin",
                    "--continue_on_error", stdin="\n".join(lines) + "\n")
    assert res.returncode == 0, res.stderr
    err = res.stderr.splitlines()
    assert err[-1] == "create_work: 17 jobs created, 3 skipped"
    assert any(line.startswith("create_work: line 6: input file absent_file")
               for line in err)
    assert "create_work: line 10: bad stdin argument '--bogus'" in err
    assert any(line.startswith("create_work: line 14: workunit name 'dup' given twice")
               for line in err)
    names = {w["name"] for w in wproj.wus()}
    assert len(names) == 17 and "dup" in names and "b_5" not in names and "b_19" in names


def test_stdin_duplicate_name_in_db_creates_nothing(wproj):
    assert wproj.run("create_work", "--appname", "worker", "--wu_name", "taken",
                     _stage(wproj, "in_x")).returncode == 0
    lines = ["--wu_name fresh_%d %s" % (i, _stage(wproj, "in_%d" % i)) for i in range(5)]
    lines.append("--wu_name taken in_0")
    res = wproj.run("create_work", "--appname", "worker", "--stdin",
                    stdin="\n".join(lines) + "\n")
    assert _error_line(res) == "create_work: line 6: a workunit named 'taken' already exists"
    assert [w["name"] for w in wproj.wus()] == ["taken"]


def test_stdin_per_line_templates_and_targets(wproj):
    tmpl = _plain(wproj)
    lines = ["--wu_name a %s --wu_template %s" % (_stage(wproj, "in_a"), tmpl),
             "--wu_name b %s --target_user 4" % _stage(wproj, "in_b"),
             "--wu_name c %s --result_template templates/worker_in" % _stage(wproj, "in_c")]
    res = wproj.run("create_work", "--appname", "worker", "--stdin", "--verbose",
                    stdin="\n".join(lines) + "\n")
    assert res.returncode == 0, res.stderr
    wus = {w["name"]: w for w in wproj.wus()}
    assert wus["a"]["rsc_fpops_est"] == 3600e9 and wus["c"]["rsc_fpops_est"] == 1e10
    assert wus["c"]["result_template_file"] == "templates/worker_in"
    assert wus["b"]["transitioner_flags"] == states.TRANSITION_NO_NEW_RESULTS
    asg = wproj.db.query("SELECT * FROM assignment")
    assert [(a["workunitid"], a["target_type"], a["target_id"]) for a in asg] == \
        [(wus["b"]["id"], states.ASSIGN_USER, 4)]
    assert "created workunit; name b, ID %d" % wus["b"]["id"] in res.stderr


def test_config_dir_from_elsewhere_and_verbose(wproj, tmp_path):
    name = _stage(wproj, "in_a")
    res = wproj.run("create_work", "--config_dir", wproj.dir, "--appname", "worker",
                    "--verbose", "-d", 3, name, cwd=str(tmp_path))
    assert res.returncode == 0, res.stderr
    (wu,) = wproj.wus()
    assert res.stderr == "created workunit; name %s, ID %d\n" % (wu["name"], wu["id"])
    assert res.stdout == "workunit name: %s\n" % wu["name"]
    assert wu["rsc_fpops_est"] == 1e10           # templates/worker_in found in the project


def test_stdin_refuses_bad_bytes_and_numbers(wproj):
    import subprocess
    from testenv import ROOT
    name = _stage(wproj, "in_a")
    env = dict(os.environ)
    env.pop("BOINC_PROJECT_DIR", None)
    res = subprocess.run([os.path.join(ROOT, "bin", "create_work"), "--appname", "worker",
                          "--stdin"], cwd=wproj.dir, env=env, capture_output=True,
                         input=b"in_a --wu_name ok\r\nin_a --wu_name caf\xe9\n")
    assert res.returncode == 1
    assert res.stderr.decode() == "create_work: line 2: not UTF-8 text\n"
    res = wproj.run("create_work", "--appname", "worker", "--rsc_fpops_est", "inf", name)
    assert _error_line(res) == "create_work: --rsc_fpops_est needs a number, not 'inf'"
    assert wproj.wus() == []

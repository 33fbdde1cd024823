"""samples/wrapper/wrapper.py on its own, in a slot directory laid out as the
BOINC client lays it out: link files for the logical names, the physical
files in ../../projects/HOST/, init_data.xml naming the app version's files."""

import os
import subprocess
import time
import zipfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SAMPLE = os.path.join(ROOT, "samples", "wrapper")
WRAPPER = os.path.join(SAMPLE, "wrapper.py")
HOST = "127.0.0.1_8780_demo"

SUMMARIZE = b"""#!/bin/sh
# summarize LABEL FILE: the label, the environment's GREETING, the first line of FILE
echo "$1 $GREETING $(head -n 1 "$2")"
echo "summarize ran" >&2
"""


class Slot:
    """DIR/slots/0 and DIR/projects/HOST, as the client makes them."""

    def __init__(self, base):
        self.base = str(base)
        self.project = os.path.join(self.base, "projects", HOST)
        self.dir = os.path.join(self.base, "slots", "0")
        os.makedirs(self.project)
        os.makedirs(self.dir)
        self.app_files = []

    def physical(self, name):
        return os.path.join(self.project, name)

    def add(self, physical, data=None, logical=None, executable=False, app_file=False):
        """A file in the project dir (data None: an output not yet written) and,
        with ``logical``, its link file in the slot."""
        if data is not None:
            with open(self.physical(physical), "wb") as f:
                f.write(data)
            if executable:
                os.chmod(self.physical(physical), 0o755)
        if logical:
            with open(os.path.join(self.dir, logical), "w") as f:
                f.write("<soft_link>../../projects/%s/%s</soft_link>\n" % (HOST, physical))
        if app_file:
            self.app_files.append(physical)

    def write_init_data(self):
        with open(os.path.join(self.dir, "init_data.xml"), "w") as f:
            f.write("<app_init_data>\n<project_dir>%s</project_dir>\n%s<slot>0</slot>\n"
                    "</app_init_data>\n" % (self.project, "".join(
                        "<app_file>%s</app_file>\n" % n for n in self.app_files)))

    def run(self, *args, init_data=True):
        if init_data:
            self.write_init_data()
        with open(os.path.join(self.dir, "stderr.txt"), "ab") as err:
            return subprocess.run([WRAPPER] + list(args), cwd=self.dir, stdout=subprocess.PIPE,
                                  stderr=err, timeout=60).returncode

    def read(self, *parts, physical=False):
        path = self.physical(*parts) if physical else os.path.join(self.dir, *parts)
        with open(path) as f:
            return f.read()

    def finished(self):
        path = os.path.join(self.dir, "boinc_finish_called")
        return self.read("boinc_finish_called").split("\n")[0] if os.path.exists(path) else None


def two_task_job(checkpointed=False):
    return ("""<job_desc>
    <task>
        <application>wordfreq</application>
        <command_line>--top 2</command_line>
        <stdin_filename>in</stdin_filename>
        <stdout_filename>counts</stdout_filename>
    </task>
    <task>
        <application>summarize</application>
        <command_line>"top word:" boinc_resolve(counts)</command_line>
        <setenv>GREETING=hello-$NTHREADS</setenv>
        <stdout_filename>out</stdout_filename>
        <stderr_filename>err</stderr_filename>%s
    </task>
</job_desc>
""" % ("\n<checkpoint_filename>ck</checkpoint_filename>" if checkpointed else "")).encode()


@pytest.fixture
def slot(tmp_path):
    """An app version (wrapper, wordfreq, summarize, job.xml) and a job's files."""
    s = Slot(tmp_path)
    with open(os.path.join(SAMPLE, "wordfreq.sh"), "rb") as f:
        s.add("wordfreq_1.0.sh", f.read(), logical="wordfreq", executable=True, app_file=True)
    s.add("summarize_1.0.sh", SUMMARIZE, logical="summarize", executable=True, app_file=True)
    s.add("job_1.0.xml", two_task_job(), logical="job.xml", app_file=True)
    s.add("job_in_0", b"b a b c b a\n", logical="in")
    s.add("job_counts_0", None, logical="counts")
    s.add("job_out_0", None, logical="out")
    s.add("job_err_0", None, logical="err")
    return s


def test_two_tasks_through_link_files(slot):
    assert slot.run("--nthreads", "3") == 0
    assert slot.finished() == "0"
    # task 1: stdin and stdout were the physical files the links name
    assert slot.read("job_counts_0", physical=True) == "3 b\n2 a\n"
    # task 2: quoted argument, boinc_resolve() path, macro in setenv, stderr file
    assert slot.read("job_out_0", physical=True) == "top word: hello-3 3 b\n"
    assert slot.read("job_err_0", physical=True) == "summarize ran\n"
    assert slot.read("wrapper_checkpoint.txt").split()[0] == "2"
    log = slot.read("stderr.txt")
    assert "running ../../projects/%s/wordfreq_1.0.sh (--top 2)" % HOST in log
    # no stray output in the slot: every file went where its link points
    assert not os.path.exists(os.path.join(slot.dir, "job_out_0"))


def test_restart_goes_on_with_the_next_task(slot):
    # a checkpoint saying task 1 is done: only task 2 runs
    with open(os.path.join(slot.dir, "wrapper_checkpoint.txt"), "w") as f:
        f.write("1 0.0 0.0\n")
    with open(slot.physical("job_counts_0"), "w") as f:
        f.write("7 z\n")
    assert slot.run() == 0
    assert slot.read("job_out_0", physical=True) == "top word: hello-1 7 z\n"
    assert "wordfreq_1.0.sh" not in slot.read("stderr.txt")


def test_stdout_restarts_or_resumes(slot):
    # a task without its own checkpoint starts over: its stdout is rewritten
    with open(slot.physical("job_out_0"), "w") as f:
        f.write("half-written by a killed run\n")
    assert slot.run() == 0
    assert slot.read("job_out_0", physical=True) == "top word: hello-1 3 b\n"


def test_stdout_appended_for_a_task_with_checkpoint(slot):
    slot.add("job_1.0.xml", two_task_job(checkpointed=True))
    with open(slot.physical("job_out_0"), "w") as f:
        f.write("before\n")
    assert slot.run() == 0
    assert slot.read("job_out_0", physical=True) == "before\ntop word: hello-1 3 b\n"


def test_failing_task_fails_the_job(slot):
    slot.add("wordfreq_1.0.sh", b"#!/bin/sh\necho broken >&2\nexit 3\n", executable=True)
    assert slot.run() == 195
    assert slot.finished() == "195"
    assert "wordfreq app exit status: 0x3" in slot.read("stderr.txt")
    assert "broken" in slot.read("stderr.txt")          # the program's stderr is ours
    assert not os.path.exists(slot.physical("job_out_0"))   # task 2 never ran


def test_program_outside_the_app_version_is_refused(slot):
    slot.app_files.remove("summarize_1.0.sh")
    assert slot.run() == 1
    assert "task executable summarize is not in app version" in slot.read("stderr.txt")
    assert not os.path.exists(slot.physical("job_counts_0"))   # nothing ran


def test_program_that_is_not_a_link_is_refused(slot):
    os.unlink(os.path.join(slot.dir, "summarize"))
    with open(os.path.join(slot.dir, "summarize"), "wb") as f:
        f.write(SUMMARIZE)
    assert slot.run() == 1
    assert "task executable summarize is not a link" in slot.read("stderr.txt")


def test_bad_job_file_and_bad_option(slot):
    slot.add("job_1.0.xml", b"<job_desc><task><command_line>x</command_line></task></job_desc>")
    assert slot.run() == 206
    assert "can't parse job file job.xml: a <task> without <application>" \
        in slot.read("stderr.txt")
    assert slot.run("--frobnicate") == 206
    assert "unrecognized option --frobnicate" in slot.read("stderr.txt")


def test_time_limit_ends_a_task_as_done(slot):
    slot.add("sleeper.sh", b"#!/bin/sh\necho started\nexec sleep 600\n", logical="sleeper",
             executable=True, app_file=True)
    slot.add("job_1.0.xml", b"""<job_desc><task><application>sleeper</application>
        <stdout_filename>out</stdout_filename><time_limit>1</time_limit></task></job_desc>""")
    assert slot.run() == 0
    assert slot.read("job_out_0", physical=True) == "started\n"
    assert "task sleeper reached time limit 1" in slot.read("stderr.txt")


def test_zip_input_and_output_and_project_dir_macro(slot):
    with zipfile.ZipFile(slot.physical("job_in_0.zip"), "w") as z:
        z.writestr("data.txt", "x y x\n")
    slot.add("job_in_0.zip", logical="in.zip")
    slot.add("job_out_0.zip", None, logical="out.zip")
    slot.add("job_1.0.xml", b"""<job_desc>
        <unzip_input><zipfilename>in.zip</zipfilename></unzip_input>
        <task><application>$PROJECT_DIR/wordfreq_1.0.sh</application>
            <stdin_filename>data.txt</stdin_filename>
            <stdout_filename>result.txt</stdout_filename></task>
        <zip_output><zipfilename>out.zip</zipfilename><filename>^result</filename></zip_output>
        </job_desc>""")
    assert slot.run() == 0
    assert not os.path.exists(os.path.join(slot.dir, "in.zip"))   # unzipped, then removed
    with zipfile.ZipFile(slot.physical("job_out_0.zip")) as z:
        assert z.namelist() == ["result.txt"]
        assert z.read("result.txt") == b"2 x\n1 y\n"


def test_the_sample_job_file(slot):
    # the demo's own job.xml runs as it is
    with open(os.path.join(SAMPLE, "job.xml"), "rb") as f:
        slot.add("job_1.0.xml", f.read())
    slot.add("job_in_0", b"Alpha beta alpha, BETA! gamma alpha to be\n")
    assert slot.run() == 0
    assert slot.read("job_out_0", physical=True) == "3 alpha\n2 beta\n1 gamma\n"


def test_programs_die_with_the_wrapper(slot):
    # the client kills a job's main program (SIGKILL): its task goes too
    slot.add("sleeper.sh", b"#!/bin/sh\necho $$ > sleeper.pid\nexec sleep 600\n",
             logical="sleeper", executable=True, app_file=True)
    slot.add("job_1.0.xml", b"<job_desc><task><application>sleeper</application></task>"
             b"</job_desc>")
    slot.write_init_data()
    proc = subprocess.Popen([WRAPPER], cwd=slot.dir, stderr=subprocess.DEVNULL)
    pid_file = os.path.join(slot.dir, "sleeper.pid")
    try:
        for _ in range(600):
            if os.path.exists(pid_file) and slot.read("sleeper.pid").strip():
                break
            time.sleep(0.1)
        child = int(slot.read("sleeper.pid"))
        assert os.path.exists("/proc/%d" % child)
    finally:
        proc.kill()
        proc.wait()
    for _ in range(600):
        if not _alive(child):
            break
        time.sleep(0.1)
    assert not _alive(child)


def _alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False

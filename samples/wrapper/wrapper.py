#!/usr/bin/env python3
"""A BOINC wrapper in Python: run existing programs as a BOINC app.

The main program of an app version (``<main_program/>`` in version.xml).
The BOINC client starts it in a slot directory; it reads the job
description ``job.xml`` (a logical name, like every file here) in the
format of BOINC's C++ wrapper and runs its tasks one after the other:

    <job_desc>
        <task>
            <application>worker</application>     logical name of the program
            <command_line>--n 5 boinc_resolve(in)</command_line>
            <stdin_filename>in</stdin_filename>    logical names, optional
            <stdout_filename>out</stdout_filename>
            <stderr_filename>err</stderr_filename>
            <setenv>NAME=VALUE</setenv>            repeatable
            <exec_dir>DIR</exec_dir>
            <time_limit>SECONDS</time_limit>       then the task counts as done
            <daemon/>                              runs beside the tasks
            <append_cmdline_args/>                 wrapper args after --passthrough_child
            <checkpoint_filename>F</checkpoint_filename>   the program resumes itself
        </task>
        <unzip_input><zipfilename>in.zip</zipfilename></unzip_input>
        <zip_output><zipfilename>out.zip</zipfilename><filename>REGEX</filename></zip_output>
    </job_desc>

Macros in command lines, setenv values and exec_dir: ``$PROJECT_DIR``,
``$NTHREADS`` (``--nthreads``, else 1), ``$GPU_DEVICE_NUM``, ``$PWD``;
``boinc_resolve(NAME)`` becomes the path of logical file NAME.  Element
names, options, exit codes and file names (``wrapper_checkpoint.txt``,
``boinc_finish_called``) are those of BOINC's wrapper; the code is ours.

How BOINC's client sees it: the logical files in the slot are one-line link
files ``<soft_link>../../projects/HOST/PHYSICAL</soft_link>`` which this
program resolves itself.  Success is exit status 0 *and* the file
``boinc_finish_called`` holding ``0``; a failing task makes the job fail
with status 195 (EXIT_CHILD_FAILED).  After each finished task the count
goes to ``wrapper_checkpoint.txt``, so a restarted job goes on with the next
task.

Differences from the C++ wrapper: no BOINC API (no shared memory with the
client), so no suspend/resume, CPU time or fraction-done reports and no
trickles -- fine for jobs of minutes, not days.  Programs get the wrapper's
environment plus their ``<setenv>`` values.  A task without
``<checkpoint_filename>`` starts again from scratch when restarted, so its
stdout file is rewritten rather than appended to.  Programs die with the
wrapper (Linux: parent-death signal), so an aborted job leaves nothing
running.

Python 3.5 or later, standard library only: a volunteer's Linux host has it.
"""

import os
import re
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
import zipfile

JOB_FILENAME = "job.xml"
CHECKPOINT_FILENAME = "wrapper_checkpoint.txt"
FINISH_FILENAME = "boinc_finish_called"
INIT_DATA_FILENAME = "init_data.xml"
INITIAL_FILE_LIST = "initial_file_list"

# BOINC's exit codes (lib/error_numbers.h).
EXIT_CHILD_FAILED = 195
EXIT_INIT_FAILURE = 206

POLL_PERIOD = 0.5
USAGE = ("options: --nthreads N, --device N, --use_tstp, "
         "--passthrough_child ARGS... (for tasks with <append_cmdline_args/>)")


def say(text):
    """A line in stderr.txt, which the client sends back as the result's stderr_out."""
    sys.stderr.write("%s wrapper: %s\n" % (time.strftime("%H:%M:%S"), text))
    sys.stderr.flush()


def finish(status, message=None):
    """As boinc_finish(): write the finished file, then exit with ``status``."""
    with open(FINISH_FILENAME, "w") as f:
        f.write("%d\n" % status)
        if message:
            f.write(message + "\n")
    sys.exit(status)


def fail(message, status=EXIT_INIT_FAILURE):
    say(message)
    finish(status, message)


# ------------------------------------------------------------------ files

_SOFT_LINK = re.compile(r"<soft_link>(.*?)</soft_link>")


def resolve(name):
    """The path of logical file ``name``: where its link file points, else ``name``."""
    try:
        with open(name, "rb") as f:
            head = f.read(4096)
    except OSError:
        return name
    m = _SOFT_LINK.match(head.decode("utf-8", "replace").strip())
    return m.group(1).strip() if m else name


def read_init_data():
    """What we use of the client's init_data.xml: project dir, app files, GPU."""
    info = {"project_dir": "", "app_files": [], "gpu_device_num": -1}
    try:
        root = ET.parse(INIT_DATA_FILENAME).getroot()
    except (OSError, ET.ParseError):
        return info
    info["project_dir"] = (root.findtext("project_dir") or "").strip()
    info["app_files"] = [(e.text or "").strip() for e in root.findall("app_file")]
    try:
        info["gpu_device_num"] = int((root.findtext("gpu_device_num") or "-1").strip())
    except ValueError:
        pass
    return info


# ------------------------------------------------------------------ job.xml

def _flag(elem):
    """BOINC's parse_bool: ``<x/>``, ``<x>1</x>``; ``<x>0</x>`` is off."""
    text = (elem.text or "").strip()
    return text != "0" if text else True


def _number(elem, kind):
    try:
        return kind((elem.text or "").strip())
    except ValueError:
        raise ValueError("<%s> must be a number, not %r" % (elem.tag, elem.text))


class Task:
    TEXT = ("application", "exec_dir", "stdin_filename", "stdout_filename",
            "stderr_filename", "command_line", "checkpoint_filename",
            "fraction_done_filename")
    FLAGS = ("daemon", "append_cmdline_args", "multi_process", "forward_slashes")

    def __init__(self, elem):
        for tag in self.TEXT:
            setattr(self, tag, "")
        for tag in self.FLAGS:
            setattr(self, tag, False)
        self.setenv = []
        self.weight = 1.0
        self.time_limit = 0.0
        self.proc = None
        for child in elem:
            tag = child.tag
            if tag in self.TEXT:
                setattr(self, tag, (child.text or "").strip())
            elif tag in self.FLAGS:
                setattr(self, tag, _flag(child))
            elif tag == "setenv":
                self.setenv.append((child.text or "").strip())
            elif tag in ("weight", "time_limit"):
                setattr(self, tag, _number(child, float))
            elif tag == "priority":
                _number(child, int)          # the client already runs us at low priority
            else:
                say("unexpected tag in job.xml task: <%s>" % tag)
        if not self.application:
            raise ValueError("a <task> without <application>")


class Job:
    def __init__(self, path):
        root = ET.parse(path).getroot()
        if root.tag != "job_desc":
            raise ValueError("the root element is <%s>, not <job_desc>" % root.tag)
        self.tasks, self.daemons = [], []
        self.unzip_files, self.zip_file, self.zip_patterns = [], "", []
        for child in root:
            if child.tag == "task":
                task = Task(child)
                (self.daemons if task.daemon else self.tasks).append(task)
            elif child.tag == "unzip_input":
                self.unzip_files += [(e.text or "").strip() for e in child.findall("zipfilename")]
            elif child.tag == "zip_output":
                self.zip_file = (child.findtext("zipfilename") or "").strip()
                self.zip_patterns = [re.compile((e.text or "").strip())
                                     for e in child.findall("filename")]
            elif child.tag == "enable_graphics_support":
                pass
            else:
                say("unexpected tag in job.xml: <%s>" % child.tag)


# ------------------------------------------------------------------ running

def split_command_line(text):
    """BOINC's parse_command_line: words split at white space; a word that
    starts with ' or " runs to the next such quote (no escapes)."""
    words, i, n = [], 0, len(text)
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        if text[i] in "'\"":
            end = text.find(text[i], i + 1)
            end = n if end < 0 else end
            words.append(text[i + 1:end])
            i = end + 1
        else:
            start = i
            while i < n and not text[i].isspace():
                i += 1
            words.append(text[start:i])
    return words


class Wrapper:
    def __init__(self, argv):
        self.nthreads = 1
        self.device = -1
        self.child_args = []
        i = 0
        while i < len(argv):
            arg = argv[i]
            if arg in ("--nthreads", "--device") and i + 1 < len(argv):
                try:
                    value = int(float(argv[i + 1]))
                except ValueError:
                    fail("%s %s: not a number; %s" % (arg, argv[i + 1], USAGE))
                if arg == "--nthreads":
                    self.nthreads = value
                else:
                    self.device = value
                i += 2
            elif arg == "--use_tstp":
                i += 1               # we never suspend programs (no BOINC API)
            elif arg == "--passthrough_child":
                self.child_args = argv[i + 1:]
                break
            else:
                fail("unrecognized option %s; %s" % (arg, USAGE))
        self.aid = read_init_data()
        if self.aid["gpu_device_num"] >= 0:
            self.device = self.aid["gpu_device_num"]

    def substitute(self, text):
        text = text.replace("$PROJECT_DIR", self.aid["project_dir"] or ".")
        text = text.replace("$NTHREADS", str(self.nthreads))
        text = text.replace("$PWD", os.getcwd())
        if self.device >= 0:
            text = text.replace("$GPU_DEVICE_NUM", str(self.device))
        return text

    def resolve_in_command(self, text):
        out = ""
        while True:
            start = text.find("boinc_resolve(")
            if start < 0:
                return out + text
            end = text.find(")", start)
            if end < 0:
                fail("missing ')' after 'boinc_resolve(' in a command line", 1)
            out += text[:start] + resolve(text[start + len("boinc_resolve("):end])
            text = text[end + 1:]

    def program_path(self, task):
        if "$PROJECT_DIR" in task.application:
            return task.application.replace("$PROJECT_DIR", self.aid["project_dir"] or ".")
        return resolve(task.application)

    def check_program(self, task):
        """Run only programs of the (signed) app version: the task's logical
        name must be a link to one of the app version's files."""
        files = self.aid["app_files"]
        if not files or "$PROJECT_DIR" in task.application:
            return
        target = resolve(task.application)
        if target == task.application:
            fail("task executable %s is not a link" % task.application, 1)
        if os.path.basename(target) not in files:
            fail("task executable %s is not in app version" % task.application, 1)

    def start(self, task):
        path = self.program_path(task)
        if not os.path.isfile(path):
            fail("application %s missing" % path, 1)
        command_line = self.substitute(task.command_line)
        if task.append_cmdline_args and self.child_args:
            command_line += " " + " ".join(self.child_args)
        command_line = self.resolve_in_command(command_line)
        env = dict(os.environ)
        for item in task.setenv:
            name, sep, value = self.substitute(item).partition("=")
            if sep:
                env[name] = value
        exec_dir = self.substitute(task.exec_dir) or None
        files = []
        try:
            stdin = stdout = stderr = None
            if task.stdin_filename:
                stdin = open(resolve(task.stdin_filename), "rb")
                files.append(stdin)
            if task.stdout_filename:
                stdout = open(resolve(task.stdout_filename),
                              "ab" if task.checkpoint_filename else "wb")
                files.append(stdout)
            if task.stderr_filename:
                stderr = open(resolve(task.stderr_filename), "ab")
                files.append(stderr)
        except OSError as exc:
            for f in files:
                f.close()
            fail("can't open %s: %s" % (exc.filename, exc.strerror), 1)
        say("running %s (%s)" % (path, command_line))
        try:
            task.proc = subprocess.Popen([path] + split_command_line(command_line),
                                         stdin=stdin, stdout=stdout, stderr=stderr,
                                         cwd=exec_dir, env=env, preexec_fn=_die_with_parent)
        except OSError as exc:
            fail("can't run %s: %s" % (path, exc.strerror), 1)
        finally:
            for f in files:
                f.close()
        task.started = time.time()
        say("created child process %d" % task.proc.pid)

    def wait(self, task):
        """Wait for a task; its exit status (0 when its time limit ended it)."""
        while True:
            status = task.proc.poll()
            if status is not None:
                say("%s exited; CPU time %.3f" % (task.application, _children_cpu()))
                return status
            if task.time_limit and time.time() - task.started > task.time_limit:
                say("task %s reached time limit %.0f" % (task.application, task.time_limit))
                kill(task)
                return 0
            time.sleep(POLL_PERIOD)

    def run(self):
        try:
            job = Job(resolve(JOB_FILENAME))
        except (OSError, ET.ParseError, ValueError, re.error) as exc:
            fail("can't parse job file %s: %s" % (JOB_FILENAME, exc))
        done = read_checkpoint()
        if done is None:
            # the first start of this job (not a restart)
            unzip_inputs(job.unzip_files)
            done = 0
            write_checkpoint(0)
            if job.zip_file:
                with open(INITIAL_FILE_LIST, "w") as f:
                    f.write("".join(name + "\n" for name in sorted(os.listdir("."))))
        if done > len(job.tasks):
            fail("Checkpoint file: ntasks_completed too large: %d > %d"
                 % (done, len(job.tasks)), 1)
        for task in job.tasks + job.daemons:
            self.check_program(task)
        self.daemons = job.daemons
        for task in job.daemons:
            self.start(task)
        for i, task in enumerate(job.tasks):
            if i < done:
                continue
            self.start(task)
            status = self.wait(task)
            if status:
                self.stop_daemons()
                how = ("killed by signal %d" % -status if status < 0
                       else "app exit status: 0x%x" % status)
                fail("%s %s" % (task.application, how), EXIT_CHILD_FAILED)
            write_checkpoint(i + 1)
        self.stop_daemons()
        zip_outputs(job.zip_file, job.zip_patterns)
        say("all tasks done")
        finish(0)

    def stop_daemons(self):
        for task in getattr(self, "daemons", []):
            kill(task)


def kill(task):
    if task.proc is not None and task.proc.poll() is None:
        task.proc.kill()
        task.proc.wait()


def _die_with_parent():
    """In the child: get SIGKILL when the wrapper dies (Linux prctl), so a
    job the client kills leaves no program behind."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)   # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _children_cpu():
    usage = os.times()
    return usage.children_user + usage.children_system


def read_checkpoint():
    """Tasks completed before a restart; None on the first start."""
    try:
        with open(CHECKPOINT_FILENAME) as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def write_checkpoint(ntasks_completed):
    tmp = CHECKPOINT_FILENAME + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d %f %f\n" % (ntasks_completed, _children_cpu(), 0.0))
    os.replace(tmp, CHECKPOINT_FILENAME)


def unzip_inputs(names):
    for name in names:
        if not os.path.exists(name):
            continue
        try:
            with zipfile.ZipFile(resolve(name)) as z:
                z.extractall(".")
        except (OSError, zipfile.BadZipFile) as exc:
            fail("can't unzip %s: %s" % (name, exc), 1)
        os.unlink(name)


def zip_outputs(zip_name, patterns):
    if not zip_name:
        return
    path = resolve(zip_name)
    if os.path.exists(path):
        return
    try:
        with open(INITIAL_FILE_LIST) as f:
            initial = set(f.read().split("\n"))
    except OSError:
        initial = set()
    names = [n for n in sorted(os.listdir("."))
             if n not in initial and os.path.isfile(n) and any(p.search(n) for p in patterns)]
    with zipfile.ZipFile("temp.zip", "w", zipfile.ZIP_DEFLATED) as z:
        for name in names:
            z.write(name)
    os.replace("temp.zip", path)


def _on_signal(signum, frame):
    # the client (or a user) ends the job: our programs end with us
    sys.exit(128 + signum)


def main(argv):
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, _on_signal)
    say("starting (Python %d.%d)" % sys.version_info[:2])
    Wrapper(argv).run()


if __name__ == "__main__":
    main(sys.argv[1:])

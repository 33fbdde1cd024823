"""``create_work``: make jobs (workunits) from an input template.

``create_work --appname APP [options] infile1 infile2 ...`` makes one job;
with ``--stdin`` it makes one job per input line, each line holding per-job
options (``--wu_name``, ``--command_line``, ``--wu_template``,
``--result_template``, ``--remote_file URL NBYTES MD5``, ``--target_host``,
``--target_user``, ``--target_team``, ``--priority``) and file names, added
to those of the command line.  Unnamed jobs of a --stdin run are called
``<wu_name>_<line index from 0>``; every line is a job, a blank one too.
Options and messages are BOINC's (``tools/create_work.cpp``).

All or nothing: the jobs of one run are created in one transaction.  A bad
job (template, input file, parameters, name already taken) stops the run
with one line naming it, and nothing is created; input files copied into the
hierarchy by the run are removed again.  With ``--continue_on_error`` a bad
job is reported (``create_work: line N: ...``) and skipped, the others are
created, and a summary is printed; the exit status stays 0 as BOINC's.
"""

import math
import os
import sys

from .. import cli, config, db as dbmod, states
from ..errors import BoincError
from ..input_template import InputFile, InputTemplate
from ..progress import Progress
from ..work import Assignment, Job, WorkCreator, WorkError, Workunit, default_wu_name, find_app

USAGE = """usage: create_work [options] infile1 infile2 ...

Options:
   --appname name
   [ --app_version_num N ]
   [ --batch n ]
   [ --broadcast ]
   [ --broadcast_user ID ]
   [ --broadcast_team ID ]
   [ --command_line "X" ]
   [ --config_dir path ]
   [ --continue_on_error ]
   [ --credit X ]
   [ -d n ]
   [ --delay_bound x ]
   [ --hr_class n ]
   [ --keywords 'n1 n2 ...' ]
   [ --max_error_results n ]
   [ --max_success_results n ]
   [ --max_total_results n ]
   [ --min_quorum n ]
   [ --priority n ]
   [ --remote_file URL NBYTES MD5 ]
   [ --result_template filename ]  default: templates/appname_out
   [ --rsc_disk_bound x ]
   [ --rsc_fpops_est x ]
   [ --rsc_fpops_bound x ]
   [ --rsc_memory_bound x ]
   [ --size_class n ]
   [ --stdin ]
   [ --sub_appname 'foo bar' ]
   [ --target_host ID ]
   [ --target_nresults n ]
   [ --target_team ID ]
   [ --target_user ID ]
   [ --verbose ]
   [ --wu_id ID ]   ID of existing workunit record (used by boinc_submit)
   [ --wu_name name ]              default: generate a name based on app name
   [ --wu_template filename ]      default: templates/appname_in
"""

# Options that set a workunit column: name -> (column, kind)
WU_OPTIONS = {
    "batch": ("batch", int), "priority": ("priority", int),
    "credit": ("canonical_credit", float),
    "rsc_fpops_est": ("rsc_fpops_est", float), "rsc_fpops_bound": ("rsc_fpops_bound", float),
    "rsc_memory_bound": ("rsc_memory_bound", float),
    "rsc_disk_bound": ("rsc_disk_bound", float),
    "size_class": ("size_class", int), "app_version_num": ("app_version_num", int),
    "delay_bound": ("delay_bound", int), "hr_class": ("hr_class", int),
    "min_quorum": ("min_quorum", int), "target_nresults": ("target_nresults", int),
    "max_error_results": ("max_error_results", int),
    "max_total_results": ("max_total_results", int),
    "max_success_results": ("max_success_results", int),
    "wu_id": ("id", int), "keywords": ("keywords", str),
}
# Assignment options: name -> (target_type, multi, takes an ID)
ASSIGN_OPTIONS = {
    "target_host": (states.ASSIGN_HOST, False, True),
    "target_user": (states.ASSIGN_USER, False, True),
    "target_team": (states.ASSIGN_TEAM, False, True),
    "broadcast": (states.ASSIGN_NONE, True, False),
    "broadcast_user": (states.ASSIGN_USER, True, True),
    "broadcast_team": (states.ASSIGN_TEAM, True, True),
}
STRING_OPTIONS = ("appname", "wu_name", "wu_template", "result_template", "config_dir",
                  "command_line", "sub_appname")
FLAG_OPTIONS = ("stdin", "verbose", "continue_on_error", "help")
# What a --stdin line may say.
LINE_OPTIONS = ("command_line", "wu_name", "wu_template", "result_template",
                "remote_file", "target_host", "target_user", "target_team", "priority")


class UsageError(BoincError):
    pass


def _option_name(arg):
    if arg.startswith("--"):
        return arg[2:]
    if arg.startswith("-") and len(arg) > 1:
        return arg[1:]
    return None


def _number(kind, option, text):
    try:
        value = kind(text)
    except ValueError:
        value = None
    if value is None or not math.isfinite(value):
        raise UsageError("--%s needs %s, not '%s'"
                         % (option, "an integer" if kind is int else "a number", text))
    return value


class JobSpec:
    """Options of the command line, or of one --stdin line on top of them."""

    def __init__(self):
        self.values = {}          # string and flag options
        self.wu = {}              # workunit column -> value
        self.infiles = []         # InputFile, in the order given
        self.assign = None        # (type, multi, id)
        self.cmdline_parts = []

    def copy(self):
        other = JobSpec()
        other.values = dict(self.values)
        other.wu = dict(self.wu)
        other.infiles = list(self.infiles)
        other.assign = self.assign
        other.cmdline_parts = list(self.cmdline_parts)
        other.values.pop("wu_name", None)
        return other

    def parse(self, args, allowed=None, where="argument"):
        i = 0

        def value(option, n=1):
            nonlocal i
            if i + n >= len(args):
                raise UsageError("--%s needs %s" % (option, "a value" if n == 1
                                                     else "%d values" % n))
            vals = args[i + 1:i + 1 + n]
            i += n
            return vals[0] if n == 1 else vals

        while i < len(args):
            arg = args[i]
            name = _option_name(arg)
            if name is None:
                self.infiles.append(InputFile(name=arg))
            elif allowed is not None and name not in allowed:
                raise UsageError("bad %s '%s'" % (where, arg))
            elif name == "command_line":
                self.cmdline_parts.append(value(name))
            elif name == "remote_file":
                url, nbytes, md5 = value(name, 3)
                nbytes = _number(float, name, nbytes)
                if len(md5) != 32 or any(c not in "0123456789abcdef" for c in md5.lower()):
                    raise UsageError("--remote_file: '%s' is not an md5 (32 hex digits)" % md5)
                if nbytes < 0:
                    raise UsageError("--remote_file: bad size %s" % nbytes)
                self.infiles.append(InputFile(url=url, nbytes=nbytes, md5=md5.lower()))
            elif name in STRING_OPTIONS:
                self.values[name] = value(name)
            elif name in FLAG_OPTIONS:
                self.values[name] = True
            elif name == "d":
                self.values["d"] = _number(int, name, value(name))
            elif name in WU_OPTIONS:
                column, kind = WU_OPTIONS[name]
                text = value(name)
                self.wu[column] = text if kind is str else _number(kind, name, text)
            elif name in ASSIGN_OPTIONS:
                target_type, multi, takes_id = ASSIGN_OPTIONS[name]
                target_id = _number(int, name, value(name)) if takes_id else 0
                if takes_id and target_id == 0:
                    raise UsageError("you must specify a nonzero database ID for assigning "
                                     "jobs to users, teams, or hosts.")
                self.assign = (target_type, multi, target_id)
            else:
                raise UsageError("bad %s '%s'" % (where, arg))
            i += 1
        return self

    @property
    def command_line(self):
        return " ".join(self.cmdline_parts)


def split_line(line):
    """Split a --stdin line into words as BOINC's parse_command_line does.

    Whitespace separates words; a word starting with ' or " runs to the next
    same quote (no escapes) and loses the quotes; quotes inside a word stay.
    """
    if "'" not in line and '"' not in line:
        return line.split()
    words, i, n = [], 0, len(line)
    while i < n:
        c = line[i]
        if c.isspace():
            i += 1
        elif c in "'\"":
            end = line.find(c, i + 1)
            end = n if end < 0 else end
            words.append(line[i + 1:end])
            i = end + 1
        else:
            j = i
            while j < n and not line[j].isspace():
                j += 1
            words.append(line[i:j])
            i = j
    return words


class CreateWork:
    """One run of create_work."""

    def __init__(self, spec, out=sys.stdout, err=sys.stderr):
        self.spec = spec
        self.out, self.err = out, err
        self.templates = {}
        values = spec.values
        self.appname = values.get("appname", "")
        if values.get("config_dir"):
            d = values["config_dir"]
            self.cfg = config.parse_config(os.path.join(d, "config.xml"), d)
        else:
            self.cfg = config.load()
        self.db = dbmod.connect(self.cfg)
        self.app = find_app(self.db, self.appname)
        self.creator = WorkCreator(self.db, self.cfg, warn=self.warn, notify=self.say)
        self.progress = None

    def say(self, line):
        self.out.write(line + "\n")

    def warn(self, line):
        if self.progress is not None:
            self.progress.clear()
        self.err.write(line + "\n")

    def template(self, given):
        """The parsed input template at ``given`` (cwd first, then the project)."""
        tmpl = self.templates.get(given)
        if tmpl is not None:
            return tmpl
        path = given
        if not os.path.isabs(path) and not os.path.exists(path):
            in_project = self.cfg.project_path(path)
            if os.path.exists(in_project):
                path = in_project
        tmpl = self.templates.get(path)
        if tmpl is None:
            if not os.path.isfile(path):
                raise WorkError("input template file %s doesn't exist" % path)
            tmpl = InputTemplate.from_file(path, warn=self.warn)
            self.templates[path] = tmpl
        self.templates[given] = tmpl
        return tmpl

    def job(self, spec, name, label=""):
        app = self.appname
        wu = Workunit(**spec.wu)
        wu.appid = self.app["id"]
        wu.name = name
        assignment = None
        if spec.assign is not None:
            assignment = Assignment(target_type=spec.assign[0], multi=spec.assign[1],
                                    target_id=spec.assign[2])
        return Job(wu=wu,
                   template=self.template(spec.values.get("wu_template")
                                          or "templates/%s_in" % app),
                   infiles=spec.infiles,
                   result_template_file=(spec.values.get("result_template")
                                         or "templates/%s_out" % app),
                   command_line=spec.command_line,
                   sub_appname=self.spec.values.get("sub_appname", ""),
                   assignment=assignment, label=label)

    def run_one(self):
        spec = self.spec
        name = spec.values.get("wu_name") or default_wu_name(self.appname)
        job = self.job(spec, name)
        self.creator.create(job)
        if spec.values.get("verbose"):
            self.err.write("created workunit; name %s, ID %d\n" % (job.wu.name, job.wu.id))
        if not spec.values.get("wu_name"):
            self.say("workunit name: %s" % job.wu.name)
        return 0

    def stdin_jobs(self, lines, continue_on_error, skipped):
        base = self.spec.values.get("wu_name") or default_wu_name(self.appname)
        for index, line in enumerate(lines):
            label = "line %d" % (index + 1)
            try:
                if isinstance(line, bytes):
                    try:
                        line = line.decode("utf-8")
                    except UnicodeDecodeError:
                        raise UsageError("not UTF-8 text") from None
                spec = self.spec.copy().parse(split_line(line.rstrip("\r\n")), LINE_OPTIONS,
                                              "stdin argument")
                yield self.job(spec, spec.values.get("wu_name") or "%s_%d" % (base, index),
                               label)
            except BoincError as exc:
                exc = type(exc)("%s: %s" % (label, exc))
                if not continue_on_error:
                    raise exc from None
                skipped.append(exc)
                self.warn("create_work: %s" % exc)
                if self.progress is not None:
                    self.progress.advance()

    def run_stdin(self, lines):
        cont = bool(self.spec.values.get("continue_on_error"))
        skipped = []

        def on_error(job, exc):
            skipped.append(exc)
            self.warn("create_work: %s" % exc)

        with Progress(None, "create_work", stream=self.err) as self.progress:
            report = self.creator.create_many(self.stdin_jobs(lines, cont, skipped),
                                              continue_on_error=cont, on_error=on_error,
                                              progress=self.progress)
        self.progress = None
        if self.spec.values.get("verbose"):
            for job in report.jobs:
                self.err.write("created workunit; name %s, ID %d\n" % (job.wu.name, job.wu.id))
        if skipped or self.spec.values.get("verbose"):
            self.err.write("create_work: %d jobs created, %d skipped\n"
                           % (report.created, len(skipped)))
        return 0


def main(argv, stdin=None):
    spec = JobSpec().parse(argv)
    if spec.values.get("help"):
        sys.stdout.write(USAGE)
        return 0
    if not spec.values.get("appname"):
        sys.stderr.write(USAGE)
        return 1
    run = CreateWork(spec)
    try:
        if spec.values.get("stdin"):
            return run.run_stdin(stdin if stdin is not None else sys.stdin.buffer)
        return run.run_one()
    finally:
        run.db.close()


def run():
    cli.run(main)

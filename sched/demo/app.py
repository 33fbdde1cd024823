"""The demo's app: ``samples/wrapper`` (a wrapped word counter) in a project,
added the way an operator adds any app, with the project's own commands.

* :func:`install`: ``<app>`` in project.xml + ``bin/xadd``; the app version
  files under ``apps/wordfreq/1.0/PLATFORM/`` + ``bin/update_versions``
  (which signs them); the job templates; a validator and an assimilator for
  the app among config.xml's ``<daemons>``.
* :func:`submit`: a batch of jobs, each counting the words of a slice of
  the sample's own text: ``bin/stage_file`` + ``bin/create_work --stdin``.
"""

import os
import shutil
import subprocess

from lxml import etree

from .. import config, install as installmod
from ..errors import BoincError
from ..xmlutil import parse_file

APP = "wordfreq"
APP_LONG_NAME = "Word frequencies (a wrapped program)"
VERSION = "1.0"
SAMPLE_DIR = os.path.join(installmod.SOURCE_ROOT, "samples", "wrapper")
# version.xml's physical names <- the sample's files
FILES = {
    "wordfreq_wrapper_1.0.py": "wrapper.py",
    "wordfreq_1.0.sh": "wordfreq.sh",
    "wordfreq_job_1.0.xml": "job.xml",
}
# The scripts run on any Linux host with python3: one version per platform.
PLATFORMS = ("x86_64-pc-linux-gnu", "i686-pc-linux-gnu", "aarch64-unknown-linux-gnu",
             "arm-unknown-linux-gnueabihf")
DAEMONS = ("sample_bitwise_validator -d 3 --app %s" % APP,
           "sample_assimilator -d 3 --app %s" % APP)
RESULTS_DIR = "sample_results"


def run_tool(project_dir, *argv, stdin=None):
    """Run one of the project's bin/ programs in the project; its output, or
    a BoincError with its last lines."""
    prog = os.path.join(project_dir, "bin", argv[0])
    res = subprocess.run([prog] + list(argv[1:]), cwd=project_dir, input=stdin,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         universal_newlines=True)
    if res.returncode != 0:
        lines = [x for x in res.stdout.strip().splitlines() if x.strip()]
        raise BoincError("bin/%s failed (exit %d): %s" % (
            argv[0], res.returncode, " | ".join(lines[-3:]) or "no output"))
    return res.stdout


def version_xml_names():
    root = parse_file(os.path.join(SAMPLE_DIR, "version.xml"))
    return [(f.findtext("physical_name") or "").strip() for f in root.iter("file")]


def _add_app_to_project_xml(project_dir):
    path = os.path.join(project_dir, "project.xml")
    root = parse_file(path)
    if any((a.findtext("name") or "").strip() == APP for a in root.iter("app")):
        return
    app = etree.SubElement(root, "app")
    etree.SubElement(app, "name").text = APP
    etree.SubElement(app, "user_friendly_name").text = APP_LONG_NAME
    config.write_xml(root, path)


def _add_daemons(project_dir):
    path = os.path.join(project_dir, "config.xml")
    root = parse_file(path)
    daemons = root.find("daemons")
    if daemons is None:
        daemons = etree.SubElement(root, "daemons")
    have = {(d.findtext("cmd") or "").strip() for d in daemons.iter("daemon")}
    for cmd in DAEMONS:
        if cmd not in have:
            etree.SubElement(etree.SubElement(daemons, "daemon"), "cmd").text = cmd
    config.write_xml(root, path)


def install(project_dir):
    """Add the sample app to the project (see the module docstring)."""
    names = version_xml_names()
    if sorted(names) != sorted(FILES):
        raise BoincError("%s/version.xml names %s; expected %s" % (
            SAMPLE_DIR, ", ".join(names), ", ".join(sorted(FILES))))
    _add_app_to_project_xml(project_dir)
    run_tool(project_dir, "xadd")
    for platform in PLATFORMS:
        vdir = os.path.join(project_dir, "apps", APP, VERSION, platform)
        os.makedirs(vdir, exist_ok=True)
        shutil.copyfile(os.path.join(SAMPLE_DIR, "version.xml"),
                        os.path.join(vdir, "version.xml"))
        for physical, source in FILES.items():
            dest = os.path.join(vdir, physical)
            shutil.copyfile(os.path.join(SAMPLE_DIR, source), dest)
            os.chmod(dest, 0o755 if source.endswith((".py", ".sh")) else 0o644)
    run_tool(project_dir, "update_versions", "--noconfirm")
    for name in ("wordfreq_in", "wordfreq_out"):
        shutil.copyfile(os.path.join(SAMPLE_DIR, "templates", name),
                        os.path.join(project_dir, "templates", name))
    _add_daemons(project_dir)


# ---------------------------------------------------------------- jobs

def corpus_lines():
    """The text the jobs count words in: the sample app's own documentation
    and programs (fixed for a checkout, unlike the docs around it)."""
    lines = []
    for name in ("README.md", "wrapper.py", "wordfreq.sh"):
        with open(os.path.join(SAMPLE_DIR, name), encoding="utf-8", errors="replace") as f:
            lines += [x for x in f.read().splitlines() if x.strip()]
    return lines


def wu_name(batch, i):
    return "%s_b%d_%d" % (APP, batch, i)


def input_text(i, njobs, lines=None):
    """Job ``i``'s input of ``njobs``: every njobs-th line of the corpus from line i."""
    lines = lines or corpus_lines()
    return "\n".join(lines[i % len(lines)::njobs]) + "\n"


def submit(project_dir, batch, njobs):
    """Stage ``njobs`` inputs and create their jobs in batch number ``batch``."""
    lines = corpus_lines()
    src = os.path.join(project_dir, "demo_inputs", "b%d" % batch)
    shutil.rmtree(src, ignore_errors=True)      # left by an interrupted run
    os.makedirs(src)
    names = []
    for i in range(njobs):
        name = "%s.txt" % wu_name(batch, i)
        with open(os.path.join(src, name), "w", encoding="utf-8") as f:
            f.write(input_text(i, njobs, lines))
        names.append(name)
    run_tool(project_dir, "stage_file", src)
    run_tool(project_dir, "create_work", "--appname", APP, "--batch", str(batch), "--stdin",
             stdin="".join("--wu_name %s %s\n" % (wu_name(batch, i), names[i])
                           for i in range(njobs)))
    shutil.rmtree(src, ignore_errors=True)

"""Rows and files for the back-end daemon tests (assimilators, file deleters, db_purge).

Rows go in with SQL (``insert`` fills the NOT NULL columns a test doesn't
name); files go into the project's real download/ and upload/ hierarchies.
Programs run as the project runs them: its installed ``bin/`` copies, in
``tmp_HOST``.
"""

import os
import subprocess
import time

from jobcache_helpers import insert
from sched import db as dbmod
from sched import paths
from sched import states as S


def connect(project):
    return dbmod.connect(project.config)


def add_app(db, name="worker"):
    return insert(db, "app", name=name, user_friendly_name=name, create_time=int(time.time()))


def wu_doc(names, no_delete=()):
    """A workunit xml_doc with these input files (``no_delete`` ones marked so)."""
    infos = "".join(
        "<file_info>\n    <name>%s</name>\n    <url>http://x/download/%s</url>\n%s"
        "    <md5_cksum>0</md5_cksum>\n    <nbytes>1</nbytes>\n</file_info>\n"
        % (n, n, "    <no_delete/>\n" if n in no_delete else "") for n in names)
    refs = "".join("    <file_ref>\n        <file_name>%s</file_name>\n"
                   "        <open_name>in%d</open_name>\n    </file_ref>\n" % (n, i)
                   for i, n in enumerate(names))
    return infos + "<workunit>\n" + refs + "</workunit>\n"


def result_doc(names, open_names=None, no_delete=()):
    """A result xml_doc_in with these output files, as create_result writes it."""
    open_names = open_names or ["out%d" % i for i in range(len(names))]
    infos = "".join(
        "<file_info>\n    <name>%s</name>\n    <generated_locally/>\n    <upload_when_present/>\n"
        "    <max_nbytes>100000</max_nbytes>\n    <url>http://x/upload</url>\n%s</file_info>\n"
        % (n, "    <no_delete/>\n" if n in no_delete else "") for n in names)
    refs = "".join("    <file_ref>\n        <file_name>%s</file_name>\n"
                   "        <open_name>%s</open_name>\n    </file_ref>\n" % (n, o)
                   for n, o in zip(names, open_names))
    return infos + "<result>\n    <name>r</name>\n" + refs + "</result>\n"


def add_wu(db, appid, name, inputs=(), **cols):
    now = int(time.time())
    values = dict(create_time=now, appid=appid, name=name, xml_doc=wu_doc(inputs),
                  rsc_fpops_est=3.6e12, rsc_fpops_bound=8.64e13, rsc_memory_bound=5e8,
                  rsc_disk_bound=1e9, delay_bound=86400, min_quorum=1, target_nresults=1,
                  max_error_results=3, max_total_results=5, max_success_results=3,
                  result_template_file="templates/worker_out", transition_time=S.INT_MAX,
                  size_class=-1, keywords="")
    values.update(cols)
    return insert(db, "workunit", **values)


def add_result(db, wuid, appid, name, outputs=(), **cols):
    now = int(time.time())
    values = dict(create_time=now, workunitid=wuid, appid=appid, name=name,
                  server_state=S.RESULT_SERVER_STATE_OVER, outcome=S.RESULT_OUTCOME_SUCCESS,
                  xml_doc_in=result_doc(outputs), xml_doc_out="", stderr_out="",
                  size_class=-1)
    values.update(cols)
    return insert(db, "result", **values)


def put(root, fanout, name, data=b"data\n"):
    """Write ``name`` into the hierarchy under ``root``; return its path."""
    path = paths.dir_hier_path(name, root, fanout, create=True)
    with open(path, "wb") as f:
        f.write(data)
    return path


def upload_path(project, name, data=None):
    cfg = project.config
    if data is None:
        return paths.dir_hier_path(name, cfg.upload_dir, cfg.uldl_dir_fanout)
    return put(cfg.upload_dir, cfg.uldl_dir_fanout, name, data)


def download_path(project, name, data=None):
    cfg = project.config
    if data is None:
        return paths.dir_hier_path(name, cfg.download_dir, cfg.uldl_dir_fanout)
    return put(cfg.download_dir, cfg.uldl_dir_fanout, name, data)


def tmp_dir(project):
    d = project.config.dir("tmp")
    os.makedirs(d, exist_ok=True)
    return d


def program(project, prog, *args, timeout=120, **kwargs):
    """Run the project's ``bin/PROG`` in ``tmp_HOST`` as bin/start would."""
    env = dict(os.environ)
    env.pop("BOINC_PROJECT_DIR", None)
    return subprocess.run([os.path.join(project.dir, "bin", prog)] + list(args),
                          cwd=tmp_dir(project), env=env, capture_output=True, text=True,
                          timeout=timeout, **kwargs)


def spawn(project, prog, *args, **kwargs):
    env = dict(os.environ)
    env.pop("BOINC_PROJECT_DIR", None)
    return subprocess.Popen([os.path.join(project.dir, "bin", prog)] + list(args),
                            cwd=tmp_dir(project), env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, **kwargs)


def write_script(project, name, body):
    """An executable ``bin/NAME`` of the project."""
    path = os.path.join(project.dir, "bin", name)
    with open(path, "w") as f:
        f.write(body)
    os.chmod(path, 0o755)
    return path

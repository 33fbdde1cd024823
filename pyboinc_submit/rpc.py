"""BOINC's remote job submission RPCs, spoken from Python's standard library.

:class:`Server` is one project and one submitter (URL and authenticator);
each method is one RPC (``submit_rpc_handler.php``, ``job_file.php``) or one
download (``get_output2.php``).  Replies are parsed afresh for every call:
nothing of one reply is ever seen in another (BOINC #6092 was a client that
kept an earlier reply's elements in a shared default dict).
"""

import hashlib
import json
import os
import uuid
import xml.etree.ElementTree as ET
from urllib.error import HTTPError, URLError
from urllib.parse import urlencode
from urllib.request import Request, urlopen

SUBMIT = "submit_rpc_handler.php"
JOB_FILE = "job_file.php"
GET_OUTPUT = "get_output2.php"
JOB_FILE_PREFIX = "jf_"

# query_batch numbers, as Python numbers
_INT = {"id", "create_time", "njobs", "nerror_jobs", "state", "canonical_instance_id",
        "batch_id", "exit_status", "size"}
_FLOAT = {"expire_time", "est_completion_time", "fraction_done", "completion_time",
          "credit_estimate", "credit_canonical", "total_cpu_time", "cpu_time", "seconds"}


class RemoteError(Exception):
    """The server refused the request (its ``<error>``), or could not be reached."""

    def __init__(self, msg, num=-1, op=None):
        super().__init__("%s%s (error %d)" % ("%s: " % op if op else "", msg, num))
        self.msg, self.num, self.op = msg, num, op


def esc(value):
    return (str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))


def tag(name, value):
    return "<%s>%s</%s>\n" % (name, esc(value), name)


def job_file_name(data):
    """The content-addressed physical name of input file contents."""
    return JOB_FILE_PREFIX + hashlib.md5(data).hexdigest()


def _value(elem):
    text = (elem.text or "").strip()
    try:
        if elem.tag in _INT:
            return int(float(text)) if text else 0
        if elem.tag in _FLOAT:
            return float(text) if text else 0.0
    except ValueError:
        pass
    return text


def to_dict(elem, lists=("job", "batch", "instance", "outfile", "file", "error")):
    """An element's children as a new dict; tags in ``lists`` always give lists."""
    out = {}
    for child in elem:
        value = to_dict(child, lists) if len(child) else _value(child)
        if child.tag in lists:
            out.setdefault(child.tag, []).append(value)
        else:
            out[child.tag] = value
    return out


class Server:
    """One project's submission RPCs for one submitter."""

    def __init__(self, url, authenticator, timeout=60.0):
        self.url = url if url.endswith("/") else url + "/"
        self.authenticator = authenticator
        self.timeout = timeout

    # -- transport
    def _open(self, request):
        try:
            return urlopen(request, timeout=self.timeout)
        except HTTPError as exc:
            body = exc.read().decode("utf-8", "replace").strip()
            raise RemoteError(body or "HTTP %d" % exc.code, -exc.code) from None
        except (URLError, OSError) as exc:
            raise RemoteError("can't reach %s: %s" % (self.url, getattr(exc, "reason", exc)),
                              -113) from None

    def post(self, op, body, handler=SUBMIT, files=None):
        """POST ``<op>`` (authenticator + ``body``); return the reply's root element."""
        xml = "<%s>\n%s%s</%s>\n" % (op, tag("authenticator", self.authenticator), body, op)
        if files is None:
            data = urlencode({"request": xml}).encode()
            request = Request(self.url + handler, data)
        else:
            data, ctype = multipart({"request": xml}, files)
            request = Request(self.url + handler, data, {"Content-Type": ctype})
        with self._open(request) as reply:
            text = reply.read()
        try:
            root = ET.fromstring(text)
        except ET.ParseError:
            raise RemoteError("reply is not XML: %r" % text[:200], op=op) from None
        error = root if root.tag == "error" else root.find("error")
        if error is not None:
            num = (error.findtext("error_num") or "-1").strip()
            raise RemoteError((error.findtext("error_msg") or "").strip(),
                              int(num) if num.lstrip("-").isdigit() else -1, op)
        return root

    def download(self, **params):
        """(file name, bytes, content type) of a get_output2.php download."""
        query = urlencode(dict(params, auth=self.authenticator))
        with self._open(Request(self.url + GET_OUTPUT + "?" + query)) as reply:
            data = reply.read()
            ctype = reply.headers.get("Content-Type", "")
            disp = reply.headers.get("Content-Disposition", "")
        name = ""
        if "filename=" in disp:
            name = disp.split("filename=", 1)[1].strip().strip('"')
        return name, data, ctype

    # -- batches
    def ping(self):
        self.post("ping", "")
        return True

    def create_batch(self, app, name="", expire_time=0):
        root = self.post("create_batch", tag("app_name", app) + tag("batch_name", name) +
                         tag("expire_time", expire_time))
        return int(root.findtext("batch_id"))

    def batch_xml(self, app, jobs, batch_id=None, batch_name=None, priority=None,
                  job_params=None, app_version_num=None):
        """The ``<batch>`` of submit_batch/estimate_batch; ``jobs`` are dicts with
        name, command_line, rsc_fpops_est, priority and files (physical names)."""
        out = "<batch>\n" + tag("app_name", app)
        if batch_id:
            out += tag("batch_id", batch_id)
        elif batch_name:
            out += tag("batch_name", batch_name)
        if app_version_num:
            out += tag("app_version_num", app_version_num)
        if priority is not None:
            out += tag("priority", int(priority))
        if job_params:
            out += "<job_params>\n%s</job_params>\n" % "".join(
                tag(k, v) for k, v in job_params.items() if v is not None)
        for job in jobs:
            out += "<job>\n"
            for key in ("name", "command_line", "rsc_fpops_est", "priority"):
                if job.get(key) is not None:
                    out += tag(key, job[key])
            for name in job.get("files", ()):
                out += "<input_file>\n<mode>local_staged</mode>\n%s</input_file>\n" % tag(
                    "source", name)
            out += "</job>\n"
        return out + "</batch>\n"

    def submit_batch(self, app, jobs, **kw):
        root = self.post("submit_batch", self.batch_xml(app, jobs, **kw))
        return int(root.findtext("batch_id"))

    def estimate_batch(self, app, jobs, **kw):
        return float(self.post("estimate_batch", self.batch_xml(app, jobs, **kw))
                     .findtext("seconds"))

    def query_batches(self, get_cpu_time=False):
        root = self.post("query_batches", tag("get_cpu_time", int(bool(get_cpu_time))))
        return to_dict(root).get("batch", [])

    def query_batch(self, batch_id, get_cpu_time=False, get_job_details=False):
        root = self.post("query_batch", tag("batch_id", batch_id) +
                         tag("get_cpu_time", int(bool(get_cpu_time))) +
                         tag("get_job_details", int(bool(get_job_details))))
        batch = to_dict(root)
        batch.setdefault("job", [])
        return batch

    def query_job(self, job_id):
        return to_dict(self.post("query_job", tag("job_id", job_id))).get("instance", [])

    def abort_batch(self, batch_id):
        self.post("abort_batch", tag("batch_id", batch_id))

    def retire_batch(self, batch_id):
        self.post("retire_batch", tag("batch_id", batch_id))

    def abort_jobs(self, names):
        self.post("abort_jobs", "".join(tag("job_name", n) for n in names))

    def get_templates(self, app):
        root = self.post("get_templates", tag("app_name", app)).find("templates")
        return [ET.tostring(child, encoding="unicode") for child in root]

    # -- input files
    def query_files(self, names, batch_id=0, delete_time=0):
        """Indices (into ``names``) of the files the server does not have."""
        root = self.post("query_files", tag("batch_id", batch_id) +
                         tag("delete_time", delete_time) +
                         "".join(tag("phys_name", n) for n in names), JOB_FILE)
        return [int(f.text) for f in root.iter("file")]

    def upload_files(self, files, batch_id=0, delete_time=0):
        """Upload ``{physical name: bytes}`` (all of them, in one request)."""
        names = list(files)
        self.post("upload_files", tag("batch_id", batch_id) + tag("delete_time", delete_time) +
                  "".join(tag("phys_name", n) for n in names), JOB_FILE,
                  files=[("file_%d" % i, n, files[n]) for i, n in enumerate(names)])


def multipart(fields, files):
    """(body, Content-Type) of a multipart/form-data POST: fields first, then
    files given as (form name, file name, bytes)."""
    boundary = "pyboinc-%s" % uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        parts.append(('--%s\r\nContent-Disposition: form-data; name="%s"\r\n\r\n'
                      % (boundary, name)).encode() + value.encode("utf-8") + b"\r\n")
    for name, filename, data in files:
        parts.append(('--%s\r\nContent-Disposition: form-data; name="%s"; filename=%s\r\n'
                      'Content-Type: application/octet-stream\r\n\r\n'
                      % (boundary, name, json.dumps(os.path.basename(filename)))).encode()
                     + data + b"\r\n")
    parts.append(("--%s--\r\n" % boundary).encode())
    return b"".join(parts), "multipart/form-data; boundary=%s" % boundary

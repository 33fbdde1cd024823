"""Results from a workunit's output template (BOINC's create_result).

The output template (``templates/APP_out``; its path relative to the
project dir is ``workunit.result_template_file``) becomes a result's
``xml_doc_in``:

1. ``<OUTFILE_X/>`` -> ``<result name>_r<random>_X`` (one random number per
   result, so that nobody can guess a wingman's file names) and
   ``<UPLOAD_URL/>`` -> ``<upload_url>``, repeated until none are left;
2. unless ``<dont_generate_upload_certificates/>``, an ``<xml_signature>``
   (upload_private over ``<name>N</name><max_nbytes>M</max_nbytes>``) at the
   end of every ``<file_info>``, which the upload handler checks;
3. the ``<output_template>`` wrapper dropped, surrounding white space
   stripped; the result may not exceed 65535 bytes.

This is text surgery, not XML processing, because the bytes the client and
the upload handler see must be those BOINC's own server would store.
"""

import os
import random
import re
import time

from .errors import BoincError
from . import states

OUTFILE_MACRO = "<OUTFILE_"
UPLOAD_URL_MACRO = "<UPLOAD_URL/>"
MAX_XML_DOC = 65535             # a blob column, as BOINC's BLOB_SIZE - 1
# Macros that keep producing macros: give up.  (A 64 KiB template holds
# fewer than 6000 macros.)
_MAX_EXPANSION = 2 * 65536
_MAX_SUBSTITUTIONS = 10000

_rng = random.SystemRandom()    # file names must be hard to guess


class TemplateError(BoincError):
    """An output template BOINC would reject (or could not expand)."""


def lrand48():
    """A random number in lrand48's range, 0 <= n < 2**31."""
    return _rng.getrandbits(31)


# -- the template text

def substitute(template, base_filename, upload_url):
    """Expand ``<OUTFILE_X/>`` and ``<UPLOAD_URL/>`` until none are left."""
    s = template
    for _ in range(_MAX_SUBSTITUTIONS):
        p = s.find(OUTFILE_MACRO)
        if p >= 0:
            q = p + len(OUTFILE_MACRO)
            end = s.find("/>", q)
            # the macro must end at the first '>' after its name
            if end < 0 or s.find(">", q) != end + 1:
                raise TemplateError("unterminated %s...> macro" % OUTFILE_MACRO)
            s = s[:p] + base_filename + s[q:end] + s[end + 2:]
        else:
            p = s.find(UPLOAD_URL_MACRO)
            if p < 0:
                return s
            s = s[:p] + upload_url + s[p + len(UPLOAD_URL_MACRO):]
        if len(s) > _MAX_EXPANSION:
            break
    raise TemplateError("macros expand without end (does <upload_url> contain a macro?)")


_SPACE = " \t\n\v\f\r"          # C's isspace() in the "C" locale
_FLOAT = re.compile(r"[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)")
_HEXFLOAT = re.compile(r"[+-]?0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)"
                       r"(?:[pP][+-]?\d+)?")
_NONFINITE = re.compile(r"[+-]?(?:inf|nan)", re.IGNORECASE)
_CHARREF = re.compile(r"&#(\d+);")
_ENTITIES = (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&apos;", "'"),
             ("&#xD;", "\r"), ("&#xd;", "\r"), ("&#xA;", "\n"), ("&#xa;", "\n"))


def _strtod(text):
    """What C's strtod() makes of the start of ``text``; None if not finite."""
    s = text.lstrip(_SPACE)
    m = _HEXFLOAT.match(s)
    if m:
        return float.fromhex(m.group())
    m = _FLOAT.match(s)
    if m:
        value = float(m.group())
        return None if value in (float("inf"), float("-inf")) else value
    if _NONFINITE.match(s):
        return None
    return 0.0                  # nothing numeric: strtod gives 0


def _xml_unescape(text):
    """BOINC's xml_unescape: the five entities, CR/LF refs, &#N; below 256."""
    if "&" not in text:
        return text
    out, i = [], 0
    while i < len(text):
        c = text[i]
        if c != "&":
            out.append(c)
            i += 1
            continue
        for entity, char in _ENTITIES + (("&amp;", "&"),):
            if text.startswith(entity, i):
                out.append(char)
                i += len(entity)
                break
        else:
            m = _CHARREF.match(text, i)
            if m and int(m.group(1)) < 256:
                out.append(chr(int(m.group(1))))
                i = m.end()
            else:
                out.append(c)
                i += 1
    return "".join(out)


def _element_text(body, tag):
    """Text after the first ``<tag>`` up to the next ``<`` (BOINC's parse_str)."""
    p = body.find("<%s>" % tag)
    if p < 0:
        return None
    p = body.find(">", p) + 1
    q = body.find("<", p)
    if q < 0:
        return None
    return _xml_unescape(body[p:q].strip(_SPACE))


def signed_text(name, max_nbytes):
    """The exact string an upload certificate signs."""
    return "<name>%s</name><max_nbytes>%.0f</max_nbytes>" % (name, max_nbytes)


def add_signatures(xml, key):
    """Insert an ``<xml_signature>`` before the end of every ``<file_info>``.

    Only ``<file_info>`` followed by a newline counts, as in BOINC.
    """
    from . import crypt
    start = "<file_info>\n"
    pos = 0
    while True:
        q1 = xml.find(start, pos)
        if q1 < 0:
            return xml
        q2 = xml.find("</file_info>", q1)
        if q2 < 0:
            raise TemplateError("<file_info> without </file_info>")
        q1 += len(start)
        body = xml[q1:q2]
        name = _element_text(body, "name")
        if name is None:
            raise TemplateError("a <file_info> has no <name>: can't sign it")
        p = body.find("<max_nbytes>")
        max_nbytes = None if p < 0 else _strtod(body[p + len("<max_nbytes>"):])
        if max_nbytes is None:
            raise TemplateError("<file_info> %s has no <max_nbytes>: can't sign it" % name)
        signature = crypt.sign_string(signed_text(name, max_nbytes), key)
        xml = "%s<xml_signature>\n%s</xml_signature>\n%s" % (xml[:q2], signature, xml[q2:])
        pos = q1


def process_result_template(template, base_filename, upload_url, key=None, sign=False):
    """The ``xml_doc_in`` for one result: macros, signatures, unwrapped, stripped."""
    xml = substitute(template, base_filename, upload_url)
    if sign:
        xml = add_signatures(xml, key)
    p = xml.find("<output_template>")
    if p >= 0:
        xml = xml[p + len("<output_template>"):]
        q = xml.find("</output_template>")
        if q >= 0:
            xml = xml[:q]
    return xml.strip(_SPACE)


# -- reading templates

_cache = {}


def read_template(path):
    """The text of an output template; re-read whenever the file changes."""
    try:
        st = os.stat(path)
        stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        hit = _cache.get(path)
        if hit and hit[0] == stamp:
            return hit[1]
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise TemplateError("can't read result template file '%s': %s"
                            % (path, exc.strerror)) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise TemplateError("result template file '%s' is not UTF-8 text (byte %d)"
                            % (path, exc.start)) from None
    _cache[path] = (stamp, text)
    return text


# -- result rows

# Columns set when a result is created; every other column keeps its default
# (mod_time = now) or is 0 / '' as BOINC's initialize_result leaves it.
RESULT_COLUMNS = (
    "create_time", "workunitid", "server_state", "outcome", "client_state",
    "hostid", "userid", "report_deadline", "sent_time", "received_time", "name",
    "cpu_time", "xml_doc_in", "xml_doc_out", "stderr_out", "batch",
    "file_delete_state", "validate_state", "claimed_credit", "granted_credit",
    "opaque", "random", "app_version_num", "appid", "exit_status", "teamid",
    "priority", "elapsed_time", "flops_estimate", "app_version_id",
    "runtime_outlier", "size_class", "peak_working_set_size", "peak_swap_size",
    "peak_disk_usage",
)
_INSERT = "INSERT INTO result (%s) VALUES (%s)" % (
    ", ".join(RESULT_COLUMNS), ", ".join(["%s"] * len(RESULT_COLUMNS)))


class ResultMaker:
    """Makes result rows for workunits, as BOINC's create_result does.

    ``cfg`` gives ``upload_url``, ``dont_generate_upload_certificates`` and
    the project dir; ``key`` is the upload_private key (sched.crypt).
    """

    def __init__(self, cfg, key):
        self.cfg = cfg
        self.key = key
        self.sign = not cfg.dont_generate_upload_certificates

    def template_path(self, wu):
        return self.cfg.project_path(wu["result_template_file"])

    def xml_doc_in(self, template, result_name):
        base = "%s_r%d_" % (result_name, lrand48())
        xml = process_result_template(template, base, self.cfg.upload_url, self.key,
                                      self.sign)
        n = len(xml.encode("utf-8"))
        if n > MAX_XML_DOC:
            raise TemplateError("result XML doc is too long: %d bytes, max is %d"
                                % (n, MAX_XML_DOC))
        return xml

    def row(self, wu, suffix, priority_increase=0, now=None, template=None):
        """A tuple of RESULT_COLUMNS values for result ``WUNAME_suffix``.

        ``wu`` is a mapping with id, name, appid, priority, batch, size_class
        and result_template_file.
        """
        if template is None:
            template = read_template(self.template_path(wu))
        name = "%s_%s" % (wu["name"], suffix)
        size_class = wu["size_class"]
        server_state = (states.RESULT_SERVER_STATE_UNSENT if size_class < 0
                        else states.RESULT_SERVER_STATE_INACTIVE)
        random_value = lrand48()
        xml = self.xml_doc_in(template, name)
        return (
            int(time.time()) if now is None else now, wu["id"], server_state,
            states.RESULT_OUTCOME_INIT, 0,
            0, 0, 0, 0, 0, name,
            0.0, xml, "", "", wu["batch"],
            states.FILE_DELETE_INIT, states.VALIDATE_STATE_INIT, 0.0, 0.0,
            0.0, random_value, 0, wu["appid"], 0, 0,
            wu["priority"] + priority_increase, 0.0, 0.0, 0,
            0, size_class, 0.0, 0.0,
            0.0,
        )


def insert_results(db, rows):
    """Insert result rows (tuples of RESULT_COLUMNS) in multi-row INSERTs."""
    if rows:
        db.executemany(_INSERT, rows)

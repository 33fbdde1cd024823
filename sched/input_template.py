"""Input templates: turn ``templates/APP_in`` into a workunit's ``xml_doc``.

Mirrors BOINC's ``process_input_template``, byte for byte where it matters:

* each template ``<file_info>`` becomes ``<file_info>\\n``, its unrecognised
  children copied (``<sticky/>\\n``...), then ``<name>``, ``<url>``,
  [``<gzipped_url>``, ``<gzipped_nbytes>``], ``<md5_cksum>``, ``<nbytes>``
  indented by four spaces, then ``</file_info>\\n``.  A ``<file_info>``
  without ``<physical_name>`` takes the next job input file; one with
  ``<physical_name>`` names a fixed staged file; one with ``<nbytes>`` > 0,
  ``<md5_cksum>`` and ``<url>``s is a remote file (URL = prefix + file name);
  a ``--remote_file`` input becomes ``jf_<md5>`` at its own URL;
* ``<workunit>\\n`` then, always, ``<command_line>\\nCLI\\n</command_line>\\n``
  (even when CLI is empty), then the template's children in order: the k-th
  ``<file_ref>`` gets the k-th file's ``<file_name>``; numeric job
  parameters (``rsc_*``, ``delay_bound``, quorum and ``max_*`` counts,
  ``batch``, ``size_class``) are consumed into DB columns (template values
  win) and not copied; anything else is copied; ``additional_xml`` (e.g.
  ``--sub_appname``) before ``</workunit>``, with no newline after it.

The template is parsed once (:class:`InputTemplate`) and expanded per job.

Differences from BOINC, on purpose: templates must be well-formed XML
(several top-level elements are fine); copied elements are re-serialised by
lxml, so entity spelling may differ and an empty element ``<x></x>`` comes
out as ``<x/>``; attributes of a copied element are dropped as BOINC drops
them; text we insert (command lines, open names, URLs) is XML-escaped, where
BOINC inserts it raw and could produce XML no client can read; a bad number
in the template is an error instead of being copied as text; a second
``<workunit>`` or a ``<file_info>`` after ``<workunit>`` is an error.
"""

import re
from dataclasses import dataclass, field

from lxml import etree

from .errors import BoincError
from .xmlutil import XMLError, escape, parse_bytes, strtol

# xml_doc is a BLOB: 65535 bytes, and BOINC keeps one for the terminating NUL.
MAX_XML_DOC = 65535
_WS = " \t\n\v\f\r"      # what BOINC's strip_whitespace strips

# <workunit> children consumed into workunit columns (value kind).
FLOAT_PARAMS = ("rsc_fpops_est", "rsc_fpops_bound", "rsc_memory_bound",
                "rsc_bandwidth_bound", "rsc_disk_bound")
INT_PARAMS = ("batch", "delay_bound", "min_quorum", "target_nresults",
              "max_error_results", "max_total_results", "max_success_results",
              "size_class")

_XML_DECL = re.compile(rb"^\s*<\?xml[^>]*\?>")


class TemplateError(BoincError):
    """The input template is malformed or doesn't fit the job's input files."""


@dataclass
class InputFile:
    """One input file argument of a job: a staged file, or a remote one."""
    name: str = ""           # name in the download hierarchy
    url: str = ""            # set for --remote_file
    nbytes: float = 0.0
    md5: str = ""

    @property
    def is_remote(self):
        return bool(self.url)


@dataclass
class _FileInfo:
    copied: str = ""                 # other children, each followed by "\n"
    physical_name: str = ""
    urls: list = field(default_factory=list)
    md5: str = ""
    nbytes: float = -1.0
    gzipped_nbytes: float = 0.0
    gzip: bool = False

    @property
    def is_template_remote(self):
        return not self.physical_name and self.nbytes > 0


@dataclass
class _FileRef:
    parts: list = field(default_factory=list)   # rendered lines after <file_name>
    auto_open_name: bool = False                 # copy_file without open_name


def _strip(text):
    return (text or "").strip(_WS)


def _copy_element(elem):
    """An element as BOINC's copy_element writes it: tag, trimmed inner XML, end tag."""
    inner = escape(elem.text) if elem.text else ""
    inner += "".join(etree.tostring(child, encoding="unicode", with_tail=True)
                     for child in elem)
    inner = inner.strip(_WS)
    if not inner and elem.text is None and len(elem) == 0:
        return "<%s/>" % elem.tag
    return "<%s>%s</%s>" % (elem.tag, inner, elem.tag)


class InputTemplate:
    """A parsed input template, ready to expand for any number of jobs."""

    def __init__(self, text, source="input template", warn=None):
        self.source = source
        self.file_infos = []
        self.items = []          # ("raw", text) | ("ref", _FileRef) | ("cmd", text)
        self.params = {}         # consumed job parameters, in BOINC's kinds
        self.command_line = None  # the template's own <command_line>, if any
        self._warn = warn
        self._parse(text)
        self.n_var = sum(1 for fi in self.file_infos if not fi.physical_name)

    @classmethod
    def from_file(cls, path, source=None, warn=None):
        try:
            with open(path, "rb") as f:
                text = f.read()
        except OSError as exc:
            raise TemplateError("can't open input template %s: %s"
                                % (path, exc.strerror)) from None
        return cls(text, source or path, warn)

    # -- parsing

    def _error(self, message):
        return TemplateError("%s: %s" % (self.source, message))

    def _parse(self, text):
        if isinstance(text, str):
            text = text.encode("utf-8")
        body = _XML_DECL.sub(b"", text, count=1)
        try:
            root = parse_bytes(b"<template-root>" + body + b"</template-root>")
        except XMLError as exc:
            raise self._error("not well-formed XML (%s)" % exc) from None
        elements = []
        for child in root:
            if not isinstance(child.tag, str):
                continue
            if child.tag == "input_template":
                elements.extend(c for c in child if isinstance(c.tag, str))
            else:
                elements.append(child)
        found_workunit = False
        for elem in elements:
            if elem.tag == "file_info":
                if found_workunit:
                    raise self._error("<file_info> after <workunit>; put every "
                                      "<file_info> first")
                self.file_infos.append(self._parse_file_info(elem))
            elif elem.tag == "workunit":
                if found_workunit:
                    raise self._error("more than one <workunit>")
                found_workunit = True
                self._parse_workunit(elem)
        if not found_workunit:
            raise self._error("bad WU template - no <workunit>")

    def _number(self, elem, kind):
        text = _strip(elem.text)
        if len(elem):
            raise self._error("<%s> must hold a number" % elem.tag)
        try:
            if kind is float:
                return float(text) if text else 0.0
            return strtol(text)
        except ValueError:
            raise self._error("bad value %r for <%s>" % (text, elem.tag)) from None

    def _flag(self, elem):
        text = _strip(elem.text)
        if not text:
            return True
        try:
            return strtol(text) != 0
        except ValueError:
            raise self._error("bad value %r for <%s>" % (text, elem.tag)) from None

    def _parse_file_info(self, elem):
        fi = _FileInfo()
        copied = []
        for child in elem:
            if not isinstance(child.tag, str):
                continue
            tag = child.tag
            if tag == "gzip":
                fi.gzip = self._flag(child)
            elif tag == "physical_name":
                fi.physical_name = _strip(child.text)
            elif tag == "url":
                fi.urls.append(_strip(child.text))
            elif tag == "number":
                pass
            elif tag == "md5_cksum":
                fi.md5 = _strip(child.text)
            elif tag == "nbytes":
                fi.nbytes = self._number(child, float)
            elif tag == "gzipped_nbytes":
                fi.gzipped_nbytes = self._number(child, float)
            else:
                copied.append(_copy_element(child) + "\n")
        fi.copied = "".join(copied)
        if fi.is_template_remote:
            if not fi.md5 or not fi.urls or not fi.urls[-1]:
                raise self._error("All file properties must be defined if at least one "
                                  "is defined (url, md5_cksum, nbytes)")
            if fi.gzip and not fi.gzipped_nbytes:
                raise self._error("Must specify gzipped_nbytes")
        return fi

    def _parse_workunit(self, elem):
        n_refs = 0
        for child in elem:
            if not isinstance(child.tag, str):
                continue
            tag = child.tag
            if tag == "file_ref":
                if n_refs >= len(self.file_infos):
                    raise self._error("too many <file_ref>s")
                self.items.append(("ref", self._parse_file_ref(child)))
                n_refs += 1
            elif tag == "command_line":
                if self.command_line is not None:
                    raise self._error("more than one <command_line> in <workunit>")
                self.command_line = _strip(child.text)
                self.items.append(("cmd", self.command_line))
            elif tag in FLOAT_PARAMS:
                self.params[tag] = self._number(child, float)
            elif tag in INT_PARAMS:
                self.params[tag] = self._number(child, int)
            else:
                self.items.append(("raw", _copy_element(child) + "\n"))
        if n_refs != len(self.file_infos):
            raise self._error("#file refs != #file infos (%d <file_ref>, %d <file_info>)"
                              % (n_refs, len(self.file_infos)))

    def _parse_file_ref(self, elem):
        ref = _FileRef()
        open_name = copy_file = False
        for child in elem:
            if not isinstance(child.tag, str):
                continue
            tag = child.tag
            if tag == "open_name":
                ref.parts.append("    <open_name>%s</open_name>\n" % escape(_strip(child.text)))
                open_name = True
            elif tag == "file_number":
                pass
            elif tag == "copy_file":
                if self._flag(child):
                    ref.parts.append("    <copy_file/>\n")
                    copy_file = True
            elif tag == "file_name":
                if self._warn:
                    self._warn("%s: <file_name> ignored in <file_ref> element." % self.source)
            else:
                ref.parts.append(_copy_element(child) + "\n")
        if not open_name and not copy_file:
            raise self._error("No open name found and copy_file not specified")
        ref.auto_open_name = not open_name
        return ref

    # -- per job

    def apply_params(self, wu):
        """Give ``wu`` (any object with BOINC's column attributes) the template's
        job parameters, then raise max_success/max_total to target_nresults."""
        for name, value in self.params.items():
            setattr(wu, name, value)
        if wu.target_nresults > wu.max_success_results:
            wu.max_success_results = wu.target_nresults
        if wu.target_nresults > wu.max_total_results:
            wu.max_total_results = wu.target_nresults

    def expand(self, infiles, files, command_line="", additional_xml=""):
        """The xml_doc for one job.

        ``infiles``: the job's :class:`InputFile` list.  ``files``: an object
        answering ``info(name)``, ``constant_info(name)``, ``gzipped_nbytes(name)``
        and ``url(name)`` (see :class:`sched.stage.InputFiles`).
        """
        command_line = command_line or ""
        if command_line and self.command_line is not None:
            raise self._error("Can't specify command line %s; already specified as %s"
                              % (self.command_line, command_line))
        out = []
        names = []
        n_var = 0
        for fi in self.file_infos:
            if fi.physical_name:
                name = fi.physical_name
                md5, nbytes = files.constant_info(name)
                body = ("    <name>%s</name>\n    <url>%s</url>\n"
                        "    <md5_cksum>%s</md5_cksum>\n    <nbytes>%.0f</nbytes>\n"
                        % (name, escape(files.url(name)), md5, nbytes))
            else:
                if n_var >= len(infiles):
                    raise self._error("Too few var input files given; need at least %d"
                                      % (n_var + 1))
                infile = infiles[n_var]
                n_var += 1
                if fi.is_template_remote:
                    name = infile.name
                    urls = "".join(
                        "    <url>%s</url>\n" % escape(u + name)
                        + ("    <gzipped_url>%s.gz</gzipped_url>\n" % escape(u + name)
                           if fi.gzip else "")
                        for u in fi.urls)
                    body = ("    <name>%s</name>\n%s    <md5_cksum>%s</md5_cksum>\n"
                            "    <nbytes>%.0f</nbytes>\n"
                            % (name, urls, escape(fi.md5), fi.nbytes))
                    if fi.gzip:
                        body += "    <gzipped_nbytes>%.0f</gzipped_nbytes>\n" % fi.gzipped_nbytes
                elif infile.is_remote:
                    name = "jf_" + infile.md5
                    body = ("    <name>%s</name>\n    <url>%s</url>\n"
                            "    <md5_cksum>%s</md5_cksum>\n    <nbytes>%.0f</nbytes>\n"
                            % (name, escape(infile.url), infile.md5, infile.nbytes))
                else:
                    name = infile.name
                    md5, nbytes = files.info(name)
                    url = escape(files.url(name))
                    gz = ""
                    if fi.gzip:
                        gz = ("    <gzipped_url>%s.gz</gzipped_url>\n"
                              "    <gzipped_nbytes>%.0f</gzipped_nbytes>\n"
                              % (url, files.gzipped_nbytes(name)))
                    body = ("    <name>%s</name>\n    <url>%s</url>\n%s"
                            "    <md5_cksum>%s</md5_cksum>\n    <nbytes>%.0f</nbytes>\n"
                            % (name, url, gz, md5, nbytes))
            names.append(name)
            out.append("<file_info>\n")
            out.append(fi.copied)
            out.append(body)
            out.append("</file_info>\n")
        if n_var != len(infiles):
            raise self._error("%d input files given, but template has %d"
                              % (len(infiles), n_var))

        out.append("<workunit>\n<command_line>\n%s\n</command_line>\n" % escape(command_line))
        k = 0
        for kind, value in self.items:
            if kind == "ref":
                name = names[k]
                k += 1
                out.append("<file_ref>\n    <file_name>%s</file_name>\n" % name)
                out.extend(value.parts)
                if value.auto_open_name:
                    out.append("    <open_name>%s</open_name>\n" % name)
                out.append("</file_ref>\n")
            elif kind == "cmd":
                out.append("<command_line>\n%s\n</command_line>\n" % escape(value))
            else:
                out.append(value)
        if additional_xml:
            out.append(additional_xml + "\n")
        out.append("</workunit>")
        doc = "".join(out)
        if len(doc) > MAX_XML_DOC // 4:
            size = len(doc.encode("utf-8"))
            if size > MAX_XML_DOC:
                raise self._error("WU XML field is too long (%d bytes; max is %d)"
                                  % (size, MAX_XML_DOC))
        return doc


def boinc_xml_escape(text):
    """BOINC's xml_escape (used for <sub_appname>): ``<`` ``&`` escaped, bytes
    above 127 and TAB/LF/CR as ``&#N;``, other control bytes dropped, ``]]>``
    as ``]]&gt;``."""
    out = []
    data = text.encode("utf-8")
    i = 0
    while i < len(data):
        b = data[i]
        if b == 0x3C:
            out.append("&lt;")
        elif b == 0x26:
            out.append("&amp;")
        elif b > 127:
            out.append("&#%d;" % b)
        elif b < 32:
            if b in (9, 10, 13):
                out.append("&#%d;" % b)
        elif b == 0x5D and data[i:i + 3] == b"]]>":
            out.append("]]&gt;")
            i += 2
        else:
            out.append(chr(b))
        i += 1
    return "".join(out)


def sub_appname_xml(sub_appname):
    """The additional XML create_work puts in for ``--sub_appname``."""
    if not sub_appname:
        return ""
    return "   <sub_appname>%s</sub_appname>" % boinc_xml_escape(sub_appname)

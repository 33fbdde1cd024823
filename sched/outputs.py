"""Where a result's output files are: its ``xml_doc_in`` mapped into upload/.

A result's ``xml_doc_in`` (its output template, expanded by create_result)
holds a ``<file_info>`` per output file and, inside ``<result>``, a
``<file_ref>`` per file naming it (``<file_name>``) and the name the app
opens (``<open_name>``).  BOINC's validators and assimilators locate the
outputs from the ``<file_ref>`` elements; a ``<file_ref>`` may also say
``<optional/>`` (the file may be missing) and ``<no_validate/>`` (the
bitwise validator leaves it out).  The file deleter removes every
``<file_info><name>``: :func:`upload_paths`.
"""

from . import paths
from .errors import BoincError
from .xmlutil import XMLError, parse_bool, parse_bytes


class OutputFilesError(BoincError):
    """A result's ``xml_doc_in`` can't be read (BOINC's ERR_XML_PARSE)."""


class OutputFile:
    """One output file; unpacks as the pair ``(path, open_name)``.

    ``path`` is in the upload hierarchy, ``open_name`` the logical name the
    app opens, ``name`` the physical file name; ``optional`` and
    ``no_validate`` are the ``<file_ref>`` flags.
    """

    __slots__ = ("path", "open_name", "name", "optional", "no_validate")

    def __init__(self, path, open_name, name, optional=False, no_validate=False):
        self.path, self.open_name, self.name = path, open_name, name
        self.optional, self.no_validate = optional, no_validate

    def __iter__(self):
        return iter((self.path, self.open_name))

    def __eq__(self, other):
        if isinstance(other, OutputFile):
            return all(getattr(self, a) == getattr(other, a) for a in self.__slots__)
        return NotImplemented

    def __repr__(self):
        return "OutputFile(%r, %r, %r)" % (self.path, self.open_name, self.name)


def _doc_of(result):
    """``xml_doc_in`` of a result given as a mapping, an object or the text."""
    if isinstance(result, (str, bytes)):
        return result
    if isinstance(result, dict):
        return result.get("xml_doc_in")
    return getattr(result, "xml_doc_in", None)


def _label(result):
    if isinstance(result, dict):
        return "result %s" % (result.get("name") or result.get("id"))
    if hasattr(result, "name"):
        return "result %s" % result.name
    return "xml_doc_in"


def parse_doc(doc):
    """The element tree of an ``xml_doc_in`` (a fragment: several top elements)."""
    if isinstance(doc, bytes):
        doc = doc.decode("utf-8", "replace")
    wrapped = "<xml_doc>%s</xml_doc>" % (doc or "")
    try:
        return parse_bytes(wrapped)
    except XMLError:
        # BOINC's own scanner is forgiving; so is lxml's recovering parser
        return parse_bytes(wrapped, recover=True)


def _text(elem, tag):
    child = elem.find(tag)
    return (child.text or "").strip() if child is not None else ""


def output_files(cfg, result):
    """The output files of ``result`` (a row mapping, an object or the doc text).

    Returns a list of :class:`OutputFile`, in the order of the ``<file_ref>``
    elements; empty if there are none.  Raises :class:`OutputFilesError`
    when the document can't be parsed or a ``<file_ref>`` lacks its
    ``<file_name>`` or ``<open_name>`` (BOINC refuses such a result too).
    """
    doc = _doc_of(result)
    try:
        root = parse_doc(doc)
    except XMLError as exc:
        raise OutputFilesError("%s: xml_doc_in is not XML: %s" % (_label(result), exc)) from None
    files = []
    for ref in root.iter("file_ref"):
        name, open_name = _text(ref, "file_name"), _text(ref, "open_name")
        if not name or not open_name:
            raise OutputFilesError("%s: a <file_ref> in xml_doc_in lacks <file_name> or "
                                   "<open_name>" % _label(result))
        if "/" in name or name in (".", ".."):
            raise OutputFilesError("%s: bad output file name %r in xml_doc_in"
                                   % (_label(result), name))
        flags = {}
        for flag in ("optional", "no_validate"):
            elem = ref.find(flag)
            flags[flag] = parse_bool(elem) if elem is not None else False
        path = paths.dir_hier_path(name, cfg.upload_dir, cfg.uldl_dir_fanout)
        files.append(OutputFile(path, open_name, name, **flags))
    return files


def upload_paths(cfg, result):
    """Paths of every ``<file_info><name>`` of ``xml_doc_in`` in upload/ (what
    the file deleter removes)."""
    doc = _doc_of(result)
    try:
        root = parse_doc(doc)
    except XMLError as exc:
        raise OutputFilesError("%s: xml_doc_in is not XML: %s" % (_label(result), exc)) from None
    found = []
    for info in root.iter("file_info"):
        name = _text(info, "name")
        if not name or "/" in name or name in (".", ".."):
            continue
        found.append(paths.dir_hier_path(name, cfg.upload_dir, cfg.uldl_dir_fanout))
    return found

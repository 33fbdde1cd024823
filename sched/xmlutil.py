"""Hardened XML parsing on lxml, and BOINC's rules for reading values.

Every XML we read goes through :func:`parse_bytes` / :func:`parse_file`:
no entity expansion, no DTD loading, no network access, no huge trees.
"""

# lxml is imported on first use: a CGI request that never parses XML with it
# (the scheduler, with a cached config) doesn't pay for the import.

_PARSER_OPTIONS = dict(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    dtd_validation=False,
    huge_tree=False,
    remove_comments=True,
    remove_pis=True,
)


class XMLError(ValueError):
    """The document is not well-formed (or not what we expected)."""


def _parser(recover=False):
    from lxml import etree
    return etree.XMLParser(recover=recover, **_PARSER_OPTIONS)


def parse_bytes(data, recover=False):
    """Parse ``data`` (bytes or str) and return the root element."""
    from lxml import etree
    if isinstance(data, str):
        data = data.encode("utf-8")
    try:
        root = etree.fromstring(data, _parser(recover))
    except etree.XMLSyntaxError as exc:
        raise XMLError(str(exc)) from None
    if root is None:
        raise XMLError("empty document")
    return root


def parse_file(path, recover=False):
    """Parse the file at ``path`` and return the root element."""
    with open(path, "rb") as f:
        return parse_bytes(f.read(), recover)


def strtol(text, default=0):
    """An integer as C's ``strtol(s, NULL, 0)`` reads it: 0x hex, 0 octal."""
    s = (text or "").strip()
    if not s:
        return default
    sign = 1
    if s[0] in "+-":
        sign = -1 if s[0] == "-" else 1
        s = s[1:]
    if s[:2].lower() == "0x":
        return sign * int(s[2:], 16)
    if len(s) > 1 and s[0] == "0":
        return sign * int(s[1:], 8)
    return sign * int(s, 10)


def parse_bool(elem):
    """``<x/>`` and ``<x>1</x>`` are true; ``<x>0</x>`` is false (BOINC's rule)."""
    text = (elem.text or "").strip()
    if not text:
        return True
    try:
        return strtol(text) != 0
    except ValueError:
        return text.lower() in ("true", "yes", "on")


def text_of(elem, tag, default=None):
    """Stripped text of the first child ``tag`` of ``elem``, or ``default``."""
    child = elem.find(tag)
    if child is None:
        return default
    return (child.text or "").strip()


def escape(text):
    """Escape text for inclusion in XML element content."""
    return (str(text).replace("&", "&amp;").replace("<", "&lt;")
            .replace(">", "&gt;"))

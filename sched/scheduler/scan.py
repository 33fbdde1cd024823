"""A lenient, safe scanner for the XML-ish documents clients send.

BOINC's own parser is a tag scanner, not a validating XML parser: it skips
unknown tags, tolerates text it doesn't expect and copies some blocks
(``<stderr_out>``, preferences, ``<msg_from_host>``) verbatim.  We do the
same here with plain string search.  Nothing is ever expanded: no DTDs, no
entities beyond the five predefined escapes, so no XML bomb can grow.
"""

import re

# The next thing at the top level: a leaf element in one match (the common
# case), else an element's start tag, else a comment or another <!, <?, </.
_NEXT = re.compile(r"<(?:([A-Za-z_][\w.:-]*)>([^<]*)</\1>"
                   r"|([A-Za-z_][\w.:-]*)((?:\s[^<>]*?)?)(/?)>"
                   r"|(!--)|[?!/])")
_LEAF = re.compile(r"<([A-Za-z_][\w.:-]*)>([^<]*)</\1>")
_NUMBER = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")
_INTEGER = re.compile(r"[+-]?[0-9]+")
_ESCAPES = (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&apos;", "'"),
            ("&amp;", "&"))
_CDATA = re.compile(r"<!\[CDATA\[(.*?)\]\]>", re.S)


class ScanError(ValueError):
    """The document has no usable structure (BOINC: 'no start tag' ...)."""


def children(text, start=0, end=None):
    """Yield ``(tag, inner, attrs)`` for each element at the top of ``text``.

    ``inner`` is the raw text between the start and end tags (None for
    ``<tag/>``).  An element whose end tag is missing ends the scan, as the
    remainder can't be trusted.  Comments, processing instructions and
    stray text between elements are skipped.
    """
    end = len(text) if end is None else end
    pos = start
    search = _NEXT.search
    while True:
        m = search(text, pos, end)
        if m is None:
            return
        leaf, inner, tag, attrs, selfclosing, comment = m.groups()
        if leaf is not None:                # <tag>text</tag>, most of any request
            yield leaf, inner, ""
            pos = m.end()
        elif tag is not None:
            if selfclosing:
                yield tag, None, attrs
                pos = m.end()
                continue
            close = _find_close(text, tag, m.end(), end)
            if close < 0:
                raise ScanError("no end tag for <%s>" % tag)
            yield tag, text[m.end():close], attrs
            pos = close + len(tag) + 3
        else:                               # <!-- -->, <? ?>, <!...>, a stray </x>
            close = text.find("-->" if comment else ">", m.end(), end)
            pos = end if close < 0 else close + (3 if comment else 1)


def items(inner):
    """``(tag, inner)`` of each element at the top of ``inner``, as children()
    finds them; found in one pass when they are all leaves (the usual case)."""
    if not inner:
        return ()
    found = _LEAF.findall(inner)
    if inner.count("<") == 2 * len(found):      # nothing else: no nesting, comments, ...
        return found
    return [(tag, value) for tag, value, _ in children(inner)]


def _find_close(text, tag, pos, end):
    """Index of the ``</tag>`` matching an open tag ending at ``pos``."""
    open_tag, close_tag = "<" + tag, "</" + tag + ">"
    depth = 1
    while True:
        close = text.find(close_tag, pos, end)
        if close < 0:
            return -1
        # count nested opens of the same tag before this close (rare)
        nested = pos
        while True:
            o = text.find(open_tag, nested, close)
            if o < 0:
                break
            after = text[o + len(open_tag):o + len(open_tag) + 1]
            if after in (">", " ", "\t", "\n", "\r"):
                depth += 1
            elif after == "/":
                pass
            nested = o + len(open_tag)
        depth -= 1
        if depth == 0:
            return close
        pos = close + len(close_tag)


def element(text, tag):
    """Raw inner text of the first ``<tag>`` at the top of ``text`` (or None)."""
    for name, inner, _ in children(text):
        if name == tag:
            return inner if inner is not None else ""
    return None


def unescape(s):
    """XML text to a string: CDATA kept literally, the five escapes undone."""
    if "<![CDATA[" in s:
        parts, pos = [], 0
        for m in _CDATA.finditer(s):
            parts.append(unescape(s[pos:m.start()]))
            parts.append(m.group(1))
            pos = m.end()
        parts.append(unescape(s[pos:]))
        return "".join(parts)
    if "&" in s:
        for esc, ch in _ESCAPES:
            s = s.replace(esc, ch)
    return s


def as_str(inner):
    return "" if inner is None else unescape(inner).strip()


def as_float(inner, default=0.0):
    """A number as C's atof reads it; non-finite values become the default."""
    s = as_str(inner)
    if not s:
        return default
    try:
        # float() reads what atof reads, and more: '1_0', non-ASCII digits, 'nan'
        if "_" in s or not s.isascii() or s[-1] in "nNyY":
            raise ValueError
        value = float(s)
    except ValueError:
        m = _NUMBER.match(s)
        if not m:
            return default
        value = float(m.group(0))
    return value if value - value == 0.0 else default      # not inf, not nan


def as_int(inner, default=0):
    s = as_str(inner)
    if s.isdigit() and s.isascii():
        return int(s)
    m = _INTEGER.match(s)
    return int(m.group(0)) if m else default


def as_bool(inner):
    """``<x/>`` true; ``<x>0</x>`` false; ``<x>1</x>`` true."""
    if inner is None:
        return True
    s = inner.strip()
    return not s or as_int(s, 1) != 0

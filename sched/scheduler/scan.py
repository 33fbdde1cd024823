"""A lenient, safe scanner for the XML-ish documents clients send.

BOINC's own parser is a tag scanner, not a validating XML parser: it skips
unknown tags, tolerates text it doesn't expect and copies some blocks
(``<stderr_out>``, preferences, ``<msg_from_host>``) verbatim.  We do the
same here with plain string search.  Nothing is ever expanded: no DTDs, no
entities beyond the five predefined escapes, so no XML bomb can grow.

Two ways to find the elements, with the same results: by default only
``str`` methods (importing ``re``, and ``enum`` behind it, would cost a CGI
scheduler more than scanning its request does); after :func:`use_regex`,
compiled regular expressions, faster per document, for the FastCGI
scheduler.

What is an element: ``<name>`` (``name`` as ``[A-Za-z_][\\w.:-]*``) with
optional attributes after whitespace, ``<name/>`` or ``<name attrs/>``, up
to its matching ``</name>``; ``<!-- ... -->``, ``<?...>``, ``<!...>`` and
a stray ``</...>`` are skipped, and so is a ``<`` that starts none of these.
"""

_NAME_START = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_")
_SKIP = frozenset("?!/")
_ESCAPES = (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&apos;", "'"),
            ("&amp;", "&"))
_names = {}                 # tag names seen, and whether they are names


class ScanError(ValueError):
    """The document has no usable structure (BOINC: 'no start tag' ...)."""


def _is_name(s):
    """``[A-Za-z_][\\w.:-]*``, the whole of ``s`` (remembered per name)."""
    known = _names.get(s)
    if known is None:
        if not s or s[0] not in _NAME_START:
            known = False
        elif s.isascii():
            known = s.replace(".", "_").replace(":", "_").replace("-", "_").isidentifier()
        else:
            known = all(c.isalnum() or c in "_.:-" for c in s[1:])
        if len(_names) < 4096:      # a hostile request can't make it grow without end
            _names[s] = known
    return known


_patterns = None             # (next element, leaf) once use_regex() was called


def use_regex():
    """Scan with compiled regular expressions from now on, for a process that
    scans many documents (the FastCGI scheduler): they find the same elements
    faster, but importing re would cost a CGI process more than its scan."""
    global _patterns
    import re
    # The next thing at the top level: a leaf element in one match (the
    # common case), else a start tag, else a comment or another <!, <?, </.
    _patterns = (re.compile(r"<(?:([A-Za-z_][\w.:-]*)>([^<]*)</\1>"
                            r"|([A-Za-z_][\w.:-]*)((?:\s[^<>]*?)?)(/?)>"
                            r"|(!--)|[?!/])").search,
                 re.compile(r"<([A-Za-z_][\w.:-]*)>([^<]*)</\1>").findall)


def children(text, start=0, end=None):
    """Yield ``(tag, inner, attrs)`` for each element at the top of ``text``.

    ``inner`` is the raw text between the start and end tags (None for
    ``<tag/>``).  An element whose end tag is missing ends the scan, as the
    remainder can't be trusted.  Comments, processing instructions and
    stray text between elements are skipped.
    """
    if _patterns is not None:
        return _children_re(text, start, len(text) if end is None else end)
    return _children(text, start, len(text) if end is None else end)


def _children_re(text, start, end):
    search = _patterns[0]
    pos = start
    while True:
        m = search(text, pos, end)
        if m is None:
            return
        leaf, inner, tag, attrs, empty, comment = m.groups()
        if leaf is not None:                # <tag>text</tag>, most of any request
            yield leaf, inner, ""
            pos = m.end()
        elif tag is not None:
            if empty:
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


def _children(text, start, end):
    find, startswith, names = text.find, text.startswith, _names
    pos = start
    while True:
        lt = find("<", pos, end)
        gt = find(">", lt + 2, end)
        if lt < 0 or gt < 0:
            # no '<', or none with a '>' after it: only a skipped construct could follow
            return
        after = find("<", lt + 1, end)      # the next '<': inside the tag, or after it
        if 0 <= after < gt:                 # not a tag (or a comment holding '<')
            if text[lt + 1] in _SKIP:
                pos = _skip(text, lt, end)
            else:
                pos = after
            continue
        head = text[lt + 1:gt]
        known = names.get(head)
        if known is None:
            known = _is_name(head)
        if known:                           # <tag>: a leaf, <tag>text</tag>, most of a request?
            if after >= 0 and startswith("</" + head + ">", after, end):
                yield head, text[gt + 1:after], ""
                pos = after + len(head) + 3
                continue
            tag, attrs, empty = head, "", False
        elif head[0] not in _NAME_START:
            pos = _skip(text, lt, end) if head[0] in _SKIP else lt + 1
            continue
        else:
            empty = head[-1] == "/"
            body = head[:-1] if empty else head
            tag = body.split(None, 1)[0] if body else ""
            attrs = body[len(tag):]
            if not _is_name(tag):
                pos = lt + 1
                continue
        if empty:
            yield tag, None, attrs
            pos = gt + 1
            continue
        close = _find_close(text, tag, gt + 1, end)
        if close < 0:
            raise ScanError("no end tag for <%s>" % tag)
        yield tag, text[gt + 1:close], attrs
        pos = close + len(tag) + 3


def _skip(text, lt, end):
    """Where scanning goes on after ``<!-- -->``, ``<?...>``, ``<!...>`` or ``</...>``."""
    if text.startswith("!--", lt + 1, end):
        close = text.find("-->", lt + 4, end)
        return end if close < 0 else close + 3
    close = text.find(">", lt + 2, end)
    return end if close < 0 else close + 1


def items(inner):
    """``(tag, inner)`` of each element at the top of ``inner``, as children()
    finds them; found in one pass when they are all leaves (the usual case)."""
    if not inner:
        return ()
    if _patterns is not None:
        found = _patterns[1](inner)
        if inner.count("<") == 2 * len(found):      # nothing else: no nesting, comments, ...
            return found
        return [(tag, value) for tag, value, _ in children(inner)]
    parts = inner.split("<")
    if len(parts) % 2:
        # all leaves: "tag>text" and "/tag>..." pieces alternate
        found = [piece.partition(">") for piece in parts[1::2]]
        if all(gt and close[:1] == "/" and close.startswith(tag + ">", 1)
               and (_names.get(tag) or _is_name(tag))
               for (tag, gt, _), close in zip(found, parts[2::2])):
            return [(tag, text) for tag, _, text in found]
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


def _unescape_entities(s):
    if "&" in s:
        for esc, ch in _ESCAPES:
            s = s.replace(esc, ch)
    return s


def unescape(s):
    """XML text to a string: CDATA kept literally, the five escapes undone."""
    if "<![CDATA[" not in s:
        return _unescape_entities(s)
    parts, pos = [], 0
    while True:
        start = s.find("<![CDATA[", pos)
        stop = s.find("]]>", start + 9) if start >= 0 else -1
        if stop < 0:
            break
        parts.append(_unescape_entities(s[pos:start]))
        parts.append(s[start + 9:stop])
        pos = stop + 3
    parts.append(_unescape_entities(s[pos:]))
    return "".join(parts)


def as_str(inner):
    if inner is None:
        return ""
    if "&" in inner or "<" in inner:
        inner = unescape(inner)
    return inner.strip()


def _digits(s, i):
    """Index after the ASCII digits of ``s`` from ``i``."""
    n = len(s)
    while i < n and "0" <= s[i] <= "9":
        i += 1
    return i


def _number_prefix(s):
    """The decimal number at the start of ``s`` as C's atof finds it, or ''."""
    i = 1 if s[:1] in ("+", "-") else 0
    digits = _digits(s, i)
    j = digits
    if s[j:j + 1] == ".":
        j = _digits(s, j + 1)
    if digits == i and j <= i + 1:          # neither "1", "1." nor ".5"
        return ""
    if s[j:j + 1] in ("e", "E"):
        k = j + 1 + (1 if s[j + 1:j + 2] in ("+", "-") else 0)
        exponent = _digits(s, k)
        if exponent > k:
            j = exponent
    return s[:j]


def as_float(inner, default=0.0):
    """A number as C's atof reads it; non-finite values become the default."""
    s = as_str(inner)
    if not s:
        return default
    if s.isascii() and s[-1].isdigit() and "_" not in s:
        try:
            value = float(s)        # the usual case: a plain number
        except ValueError:
            pass
        else:
            return value if value - value == 0.0 else default     # not 1e999
    try:
        # float() reads what atof reads, and more: '1_0', non-ASCII digits, 'nan'
        if "_" in s or not s.isascii() or s[-1] in "nNyY":
            raise ValueError
        value = float(s)
    except ValueError:
        prefix = _number_prefix(s)
        if not prefix:
            return default
        value = float(prefix)
    return value if value - value == 0.0 else default      # not inf, not nan


def as_int(inner, default=0):
    s = as_str(inner)
    if s.isdigit() and s.isascii():
        return int(s)
    sign = 1 if s[:1] in ("+", "-") else 0
    stop = _digits(s, sign)
    return int(s[:stop]) if stop > sign else default


def as_bool(inner):
    """``<x/>`` true; ``<x>0</x>`` false; ``<x>1</x>`` true."""
    if inner is None:
        return True
    s = inner.strip()
    return not s or as_int(s, 1) != 0

"""Minimal HTML for the ops pages: escaping, the page frame, tables, forms.

No template engine and no external assets: one stylesheet inlined in every
page, charts inlined as SVG.  Text is escaped unless it is :class:`Raw`
(markup we built ourselves).
"""

import html as _html
import time
from urllib.parse import urlencode

CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#222;background:#fafafa}
header{background:#234;color:#fff;padding:.5em 1em;display:flex;gap:1.5em;align-items:center}
header a{color:#fff;text-decoration:none}header a.here{border-bottom:2px solid #fc6}
header .who{margin-left:auto;opacity:.8}
main{padding:1em 1.5em;max-width:1400px}
h1{font-size:1.4em;margin:.2em 0 .6em}h2{font-size:1.15em;margin:1.4em 0 .4em}
table{border-collapse:collapse;margin:.3em 0 1em;background:#fff}
th,td{border:1px solid #ccd;padding:.25em .5em;text-align:left;vertical-align:top}
th{background:#eef}td.num{text-align:right;font-variant-numeric:tabular-nums}
.running{background:#cfc}.notrunning{background:#fcc}.disabled{background:#eee}
.unknown{background:#ffd}.error{color:#a00;font-weight:bold}
.box{border:1px solid #ccd;background:#fff;padding:.5em 1em;margin:.5em 0}
.note{background:#efe;border-color:#9c9}.problem{background:#fee;border-color:#c99}
pre{background:#f4f4f4;border:1px solid #ddd;padding:.5em;overflow:auto;max-height:30em}
form.inline{display:inline;margin:0}input[type=number]{width:6em}
.charts,.row{display:flex;flex-wrap:wrap;gap:1em 2.5em;align-items:flex-start}
.charts figure{margin:0}
figcaption{font-size:.9em;color:#555}
"""

NAV = (("", "Status"), ("apps", "Applications"), ("db", "Browse"),
       ("batches", "Batches"), ("cancel", "Cancel jobs"), ("metrics", "Metrics"))


class Raw(str):
    """Markup that must not be escaped again."""


def esc(value):
    if isinstance(value, Raw):
        return value
    if value is None:
        return ""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return _html.escape(str(value), quote=True)


def tag(element, content="", **attrs):
    """``<element attrs>content</element>``; attribute names may end in '_' (class_)."""
    parts = [element]
    for key, value in attrs.items():
        if value is None or value is False:
            continue
        key = key.rstrip("_").replace("_", "-")
        parts.append(key if value is True else '%s="%s"' % (key, esc(value)))
    return Raw("<%s>%s</%s>" % (" ".join(parts), esc(content), element))


def join(items, sep=""):
    return Raw(sep.join(esc(i) for i in items))


def link(href, text):
    return tag("a", text, href=href)


def when(t):
    """A Unix time as local date and time ('' for 0, never)."""
    if not t:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t))


def ago(seconds):
    seconds = int(seconds)
    if seconds < 120:
        return "%d s" % seconds
    if seconds < 7200:
        return "%d min" % (seconds // 60)
    if seconds < 2 * 86400:
        return "%.1f h" % (seconds / 3600.0)
    return "%.1f days" % (seconds / 86400.0)


def table(headers, rows, numeric=(), id_=None):
    """A table; cells are escaped unless Raw.  ``numeric``: column indexes
    right-aligned.  A row that is a dict ``{"class": c, "cells": [...]}``
    gets a class."""
    out = ["<table%s><tr>" % (' id="%s"' % esc(id_) if id_ else "")]
    out += ["<th>%s</th>" % esc(h) for h in headers]
    out.append("</tr>")
    for row in rows:
        cls = ""
        if isinstance(row, dict):
            cls = ' class="%s"' % esc(row["class"])
            row = row["cells"]
        out.append("<tr%s>" % cls)
        for i, cell in enumerate(row):
            out.append('<td class="num">%s</td>' % esc(cell) if i in numeric
                       else "<td>%s</td>" % esc(cell))
        out.append("</tr>")
    out.append("</table>")
    return Raw("".join(out))


def fields(pairs):
    """A two-column table of (name, value) pairs."""
    return table(("field", "value"), [(k, v) for k, v in pairs])


def form(req, action, content, button, id_=None, confirm=None, cls=None):
    """A POST form to page ``action`` carrying the CSRF token."""
    onsubmit = None
    if confirm:
        # A plain confirm(); the text is ours, escaped as an attribute.
        onsubmit = "return confirm(%s)" % _js_string(confirm)
    return Raw('<form method="post" action="%s"%s%s%s>%s%s%s</form>' % (
        esc(req.url(action)), ' id="%s"' % esc(id_) if id_ else "",
        ' class="%s"' % esc(cls) if cls else "",
        ' onsubmit="%s"' % esc(onsubmit) if onsubmit else "",
        hidden("csrf_token", req.csrf_token()), esc(content),
        tag("button", button, type="submit") if button else ""))


def _js_string(text):
    return '"%s"' % text.replace("\\", "\\\\").replace('"', '\\"')


def hidden(name, value):
    return tag_void("input", type="hidden", name=name, value=value)


def tag_void(element, **attrs):
    parts = [element]
    for key, value in attrs.items():
        if value is None or value is False:
            continue
        key = key.rstrip("_").replace("_", "-")
        parts.append(key if value is True else '%s="%s"' % (key, esc(value)))
    return Raw("<%s>" % " ".join(parts))


def text_input(name, value="", size=None, form_id=None, type_="text", **attrs):
    return tag_void("input", type=type_, name=name, value=value, size=size, form=form_id,
                    **attrs)


def checkbox(name, checked, form_id=None, **attrs):
    return tag_void("input", type="checkbox", name=name, value="1", checked=bool(checked),
                    form=form_id, **attrs)


def select(name, options, selected=None, form_id=None):
    """``options``: (value, label) pairs."""
    opts = "".join('<option value="%s"%s>%s</option>' % (
        esc(v), " selected" if str(v) == str(selected) else "", esc(label))
        for v, label in options)
    return Raw('<select name="%s"%s>%s</select>' % (
        esc(name), ' form="%s"' % esc(form_id) if form_id else "", opts))


def box(content, kind="note"):
    return tag("div", content, class_="box " + kind)


def page(req, title, body, here=None):
    """The whole document: header with navigation, notes, then ``body``."""
    nav = []
    for target, label in NAV:
        nav.append(tag("a", label, href=req.url(target),
                       class_="here" if here == target else None))
    notes = Raw("".join(esc(box(n, "note")) for n in req.notes) +
                "".join(esc(box(p, "problem")) for p in req.problems))
    name = req.project_name()
    return Raw(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width\">"
        "<title>%s - %s ops</title><style>%s</style></head><body>"
        "<header><strong>%s ops</strong>%s<span class=\"who\">operator: %s</span></header>"
        "<main><h1>%s</h1>%s%s</main></body></html>\n" % (
            esc(title), esc(name), CSS, esc(name), join(nav), esc(req.user), esc(title),
            notes, esc(body)))


def query(base, **params):
    """``base?k=v...`` without empty values."""
    items = [(k, v) for k, v in params.items() if v not in (None, "")]
    return base + ("?" + urlencode(items) if items else "")

"""Small SVG charts drawn in Python: time series and horizontal bars.

The SVG is inlined into the page (no files, no scripts, no fonts to load).
Each chart carries ``role="img"`` and a ``<title>`` naming what it shows,
and every series and bar its value as a tooltip.
"""

import math
import time

from .html import Raw, esc

COLORS = ("#2a6fb0", "#d0542a", "#3a9a4a", "#8a4ab0", "#b09a2a", "#555555")
FONT = 'font-family="sans-serif" font-size="11"'


def nice_scale(value):
    """(top, steps): the smallest top of 1, 2, 2.5, 5 x 10^k that is >= value
    (at least 1), and how many grid steps divide it into round numbers."""
    if value <= 1:
        return 1, 4 if value and value < 1 else 1
    exp = 10 ** math.floor(math.log10(value))
    for m, steps in ((1, 5), (2, 4), (2.5, 5), (5, 5), (10, 5)):
        if m * exp >= value:
            top = m * exp
            break
    if top <= 5 and top == int(top):      # small counts: a line per whole number
        steps = int(top)
    return top, steps


def _fmt(v):
    if v >= 1e6:
        return "%gM" % (v / 1e6)
    if v >= 1e4:
        return "%gk" % (v / 1e3)
    return ("%g" % v) if v == int(v) else "%.2g" % v


def _time_step(span):
    for hours in (1, 2, 3, 6, 12, 24, 48, 96, 168):
        if span / (hours * 3600) <= 8:
            return hours * 3600
    return 336 * 3600


def time_series(title, series, t0, t1, width=560, height=220, y_label=""):
    """Lines over time.  ``series``: (label, [(unix_time, value), ...]) pairs."""
    left, right, top, bottom = 48, 12, 28, 34
    pw, ph = width - left - right, height - top - bottom
    ymax, steps = nice_scale(max([v for _, pts in series for _, v in pts] + [0]))
    span = max(1, t1 - t0)

    def x(t):
        return left + (t - t0) * pw / span

    def y(v):
        return top + ph - v * ph / ymax

    out = ['<svg xmlns="http://www.w3.org/2000/svg" role="img" width="%d" height="%d" '
           'viewBox="0 0 %d %d" %s><title>%s</title>' % (width, height, width, height, FONT,
                                                        esc(title)),
           '<rect x="0" y="0" width="%d" height="%d" fill="#fff"/>' % (width, height)]
    for i in range(steps + 1):
        v = ymax * i / steps
        out.append('<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#ddd"/>'
                   % (left, left + pw, y(v), y(v)))
        out.append('<text x="%d" y="%.1f" text-anchor="end">%s</text>'
                   % (left - 4, y(v) + 4, _fmt(v)))
    step = _time_step(span)
    tick = (t0 // step + 1) * step
    while tick < t1:
        label = time.strftime("%d %H:%M" if step < 86400 else "%b %d", time.localtime(tick))
        out.append('<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="#eee"/>'
                   % (x(tick), x(tick), top, top + ph))
        out.append('<text x="%.1f" y="%d" text-anchor="middle">%s</text>'
                   % (x(tick), top + ph + 14, label))
        tick += step
    out.append('<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#999"/>'
               % (left, top, pw, ph))
    lx = left
    for i, (label, points) in enumerate(series):
        color = COLORS[i % len(COLORS)]
        if points:
            coords = " ".join("%.1f,%.1f" % (x(t), y(v)) for t, v in points)
            last = points[-1][1]
            out.append('<polyline fill="none" stroke="%s" stroke-width="1.8" points="%s">'
                       '<title>%s (latest %s)</title></polyline>'
                       % (color, coords, esc(label), _fmt(last)))
        out.append('<rect x="%d" y="8" width="10" height="10" fill="%s"/>' % (lx, color))
        out.append('<text x="%d" y="17">%s</text>' % (lx + 14, esc(label)))
        lx += 24 + 7 * len(label)
    if y_label:
        out.append('<text x="%d" y="%d" text-anchor="end" fill="#555">%s</text>'
                   % (width - right, height - 4, esc(y_label)))
    out.append("</svg>")
    return Raw("".join(out))


def bars(title, items, width=560, unit="", bar_height=18):
    """Horizontal bars.  ``items``: (label, value, tooltip text or None)."""
    left, right, top = 150, 70, 24
    height = top + max(1, len(items)) * (bar_height + 6) + 8
    vmax = max([v for _, v, _ in items] + [0]) or 1
    pw = width - left - right
    out = ['<svg xmlns="http://www.w3.org/2000/svg" role="img" width="%d" height="%d" '
           'viewBox="0 0 %d %d" %s><title>%s</title>' % (width, height, width, height, FONT,
                                                        esc(title)),
           '<rect x="0" y="0" width="%d" height="%d" fill="#fff"/>' % (width, height),
           '<text x="4" y="14" font-weight="bold">%s</text>' % esc(title)]
    if not items:
        out.append('<text x="%d" y="%d" fill="#777">no data</text>' % (left, top + 14))
    for i, (label, value, tip) in enumerate(items):
        y = top + i * (bar_height + 6)
        w = value * pw / vmax
        text = ("%.3g" % value) + unit
        out.append('<text x="%d" y="%d" text-anchor="end">%s</text>'
                   % (left - 6, y + bar_height - 5, esc(label[:24])))
        out.append('<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"><title>%s</title>'
                   '</rect>' % (left, y, max(w, 0.5), bar_height, COLORS[i % len(COLORS)],
                                esc(tip or "%s: %s" % (label, text))))
        out.append('<text x="%.1f" y="%d">%s</text>' % (left + w + 4, y + bar_height - 5,
                                                         esc(text)))
    out.append("</svg>")
    return Raw("".join(out))

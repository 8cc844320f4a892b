"""Draws docs/precision.svg from the per-epoch errors that
recorder/examples/precision.rs writes: the largest absolute error per
epoch (J, log scale) against the sampling rate (Hz, log scale), one line
per method. Plain SVG, no plotting library. Errors below 0.1 µJ are drawn
at 0.1 µJ (the counter's resolution is 1 µJ).

    python3 bench/precision_svg.py errors.csv docs/precision.svg
"""

import csv
import math
import sys
from collections import defaultdict

FLOOR_J = 1e-7
W, H = 640, 400
LEFT, RIGHT, TOP, BOTTOM = 80, 230, 30, 60
COLOURS = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a"]


def main(src, dst):
    worst = defaultdict(dict)
    for row in csv.DictReader(open(src)):
        rate, m = float(row["rate_hz"]), row["method"]
        e = max(abs(float(row["err_j"])), FLOOR_J)
        worst[m][rate] = max(worst[m].get(rate, 0.0), e)
    rates = sorted({r for m in worst.values() for r in m})
    lo_e = math.floor(math.log10(FLOOR_J))
    hi_e = math.ceil(math.log10(max(e for m in worst.values() for e in m.values())))
    x0, x1 = math.log10(rates[0]), math.log10(rates[-1])
    pw, ph = W - LEFT - RIGHT, H - TOP - BOTTOM

    def x(r):
        return LEFT + (math.log10(r) - x0) / (x1 - x0) * pw

    def y(e):
        return TOP + (hi_e - math.log10(e)) / (hi_e - lo_e) * ph

    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
           'font-family="sans-serif" font-size="12">' % (W, H),
           '<rect width="100%" height="100%" fill="white"/>']
    for k in range(lo_e, hi_e + 1):
        yy = y(10.0 ** k)
        out.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>' % (LEFT, yy, LEFT + pw, yy))
        out.append('<text x="%d" y="%.1f" text-anchor="end">1e%d</text>' % (LEFT - 6, yy + 4, k))
    for r in rates:
        xx = x(r)
        out.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#ddd"/>' % (xx, TOP, xx, TOP + ph))
        out.append('<text x="%.1f" y="%d" text-anchor="middle">%g</text>' % (xx, TOP + ph + 18, r))
    out.append('<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="black"/>' % (LEFT, TOP, pw, ph))
    out.append('<text x="%d" y="%d" text-anchor="middle">sampling rate (Hz)</text>' % (LEFT + pw / 2, H - 20))
    out.append('<text transform="translate(20,%d) rotate(-90)" text-anchor="middle">'
               'largest error per epoch (J)</text>' % (TOP + ph / 2))
    yy = y(1e-6)
    out.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#999" stroke-dasharray="4,3"/>'
               % (LEFT, yy, LEFT + pw, yy))
    out.append('<text x="%d" y="%.1f" fill="#666">1 µJ</text>' % (LEFT + 4, yy - 4))
    for i, (m, pts) in enumerate(sorted(worst.items())):
        c = COLOURS[i % len(COLOURS)]
        path = " ".join("%.1f,%.1f" % (x(r), y(pts[r])) for r in rates if r in pts)
        out.append('<polyline points="%s" fill="none" stroke="%s" stroke-width="2"/>' % (path, c))
        for r in rates:
            if r in pts:
                out.append('<circle cx="%.1f" cy="%.1f" r="3.5" fill="%s"/>' % (x(r), y(pts[r]), c))
        ly = TOP + 16 + 22 * i
        out.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2"/>'
                   % (LEFT + pw + 12, ly - 4, LEFT + pw + 32, ly - 4, c))
        out.append('<text x="%d" y="%d">%s</text>' % (LEFT + pw + 38, ly, m))
    out.append('<text x="%d" y="%d" fill="#666">errors below 0.1 µJ drawn at 0.1 µJ</text>'
               % (LEFT + pw + 12, TOP + 16 + 22 * len(worst) + 10))
    out.append("</svg>")
    with open(dst, "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])

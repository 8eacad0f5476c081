"""Line charts in the terminal, drawn with braille characters: each character is a 2 x 4 grid
of dots (U+2800 + one bit per dot), so a 60 x 8 chart has 120 x 32 points."""

from __future__ import annotations

import math

# the bit of each dot in a braille character, by (column, row from the top)
DOTS = ((0x01, 0x02, 0x04, 0x40), (0x08, 0x10, 0x20, 0x80))


def _fmt(v: float) -> str:
    if v != 0 and (abs(v) >= 1e5 or abs(v) < 1e-2):
        return f"{v:.2e}"
    return f"{v:,.3g}" if abs(v) < 1000 else f"{v:,.0f}"


def chart(xs: list[float], ys: list[float], width: int = 60, height: int = 8,
          title: str = "", x_label: str = "") -> list[str]:
    """The points (xs, ys) joined by lines, with the y range on the left and the x range below.
    Non-finite points are left out. One point, or a constant series, is one line of text that
    says so. Returns the chart's lines."""
    pts = [(x, y) for x, y in zip(xs, ys) if x is not None and y is not None
           and math.isfinite(x) and math.isfinite(y)]
    if not pts:
        return [f"{title}: nothing to draw"]
    x0, x1 = min(p[0] for p in pts), max(p[0] for p in pts)
    y0, y1 = min(p[1] for p in pts), max(p[1] for p in pts)
    at = f" ({x_label})" if x_label else ""
    if len(pts) == 1:  # no line to draw: say the one value
        return [f"{title}: one point, {_fmt(y0)} at {_fmt(x0)}{at}"]
    if y0 == y1:  # a flat line between equal axis ends says nothing a number would not
        return [f"{title}: constant, {_fmt(y0)} at all {len(pts)} points, from {_fmt(x0)} to "
                f"{_fmt(x1)}{at}"]
    W, H = 2 * width, 4 * height  # dots
    col = lambda x: 0 if x1 == x0 else round((x - x0) / (x1 - x0) * (W - 1))  # noqa: E731
    row = lambda y: H // 2 if y1 == y0 else round((y1 - y) / (y1 - y0) * (H - 1))  # noqa: E731
    grid = [[0] * width for _ in range(height)]

    def dot(c: int, r: int) -> None:
        grid[r // 4][c // 2] |= DOTS[c % 2][r % 4]

    prev = None
    for x, y in pts:
        here = (col(x), row(y))
        if prev is None:
            dot(*here)
        else:  # a straight line from the previous point
            n = max(abs(here[0] - prev[0]), abs(here[1] - prev[1]), 1)
            for i in range(n + 1):
                dot(round(prev[0] + (here[0] - prev[0]) * i / n),
                    round(prev[1] + (here[1] - prev[1]) * i / n))
        prev = here
    labels = [_fmt(y1)] + [""] * (height - 2) + [_fmt(y0)] if height > 1 else [_fmt(y1)]
    pad = max(len(s) for s in labels)
    lines = [title] if title else []
    for label, cells in zip(labels, grid):
        lines.append(f"{label:>{pad}} ┤" + "".join(chr(0x2800 + b) for b in cells))
    left, right = _fmt(x0), _fmt(x1)
    axis = f"{left}{x_label:^{max(width - len(left) - len(right), 0)}}{right}"
    lines.append(" " * pad + " └" + "─" * width)
    lines.append(" " * (pad + 2) + axis)
    return lines

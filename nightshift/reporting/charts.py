"""Inline SVG charts for the HTML report: no scripts, no fonts or files from the network, so the page reads the
same offline, in a mail client's browser and in a headless screenshot.

Two shapes cover every section: horizontal bars (one value per label) and a trend (a line per series over dates).
"""

from __future__ import annotations

from html import escape

from nightshift.reporting.model import Chart, Number

WIDTH = 560
BAR_HEIGHT = 18
BAR_GAP = 6
LABEL_WIDTH = 190
VALUE_WIDTH = 80
TREND_HEIGHT = 180
TREND_MARGIN = 36
PALETTE = ("#2b6cb0", "#dd6b20", "#38a169", "#805ad5", "#d53f8c")


def _figure(value: Number) -> str:
    return f"{value:,.2f}" if isinstance(value, float) and not value.is_integer() else f"{int(value):,}"


def bars(chart: Chart) -> str:
    (name, values), *_ = chart.series.items()
    top = max([*values, 1])
    span = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    height = len(values) * (BAR_HEIGHT + BAR_GAP) + BAR_GAP
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" role="img" '
             f'aria-label="{escape(chart.title)}">']  # fmt: skip
    for i, (label, value) in enumerate(zip(chart.labels, values, strict=True)):
        y = BAR_GAP + i * (BAR_HEIGHT + BAR_GAP)
        length = max(1, round(span * value / top)) if value else 0
        parts.append(
            f'<text x="{LABEL_WIDTH - 6}" y="{y + 13}" text-anchor="end" class="lbl">{escape(str(label)[:30])}</text>'
            f'<rect x="{LABEL_WIDTH}" y="{y}" width="{length}" height="{BAR_HEIGHT}" fill="{PALETTE[0]}">'
            f"<title>{escape(str(label))}: {_figure(value)} {escape(name)}</title></rect>"
            f'<text x="{LABEL_WIDTH + length + 4}" y="{y + 13}" class="val">{_figure(value)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def trend(chart: Chart) -> str:
    points = len(chart.labels)
    top = max([1, *(v for values in chart.series.values() for v in values)])
    inner_w, inner_h = WIDTH - 2 * TREND_MARGIN, TREND_HEIGHT - 2 * TREND_MARGIN

    def x(i: int) -> float:
        return TREND_MARGIN + (inner_w * i / (points - 1) if points > 1 else inner_w / 2)

    def y(value: Number) -> float:
        return TREND_MARGIN + inner_h * (1 - value / top)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{TREND_HEIGHT}" role="img" '
        f'aria-label="{escape(chart.title)}">',
        f'<line x1="{TREND_MARGIN}" y1="{y(0)}" x2="{WIDTH - TREND_MARGIN}" y2="{y(0)}" class="axis"/>',
        f'<text x="{TREND_MARGIN - 4}" y="{y(top) + 4}" text-anchor="end" class="val">{_figure(top)}</text>',
        f'<text x="{TREND_MARGIN}" y="{TREND_HEIGHT - 8}" class="lbl">{escape(chart.labels[0])}</text>',
        f'<text x="{WIDTH - TREND_MARGIN}" y="{TREND_HEIGHT - 8}" text-anchor="end" class="lbl">'
        f"{escape(chart.labels[-1])}</text>",
    ]
    for n, (name, values) in enumerate(chart.series.items()):
        color = PALETTE[n % len(PALETTE)]
        path = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values))
        parts.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"/>')
        parts += [
            f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="3" fill="{color}">'
            f"<title>{escape(chart.labels[i])} {escape(name)}: {_figure(v)}</title></circle>"
            for i, v in enumerate(values)
        ]
        parts.append(f'<text x="{WIDTH - TREND_MARGIN + 4}" y="{16 + 14 * n}" class="lbl" fill="{color}" '
                     f'text-anchor="end">{escape(name)}</text>')  # fmt: skip
    parts.append("</svg>")
    return "".join(parts)


def render_chart(chart: Chart) -> str:
    if not chart.labels:
        return ""
    return bars(chart) if chart.kind == "bars" else trend(chart)

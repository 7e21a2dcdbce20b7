"""Bar charts as server-rendered SVG geometry (no script, no style element: CSP-clean).

The template draws rectangles and text from these numbers; colours are SVG
presentation attributes and classes of static/css/billing.css.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 16, 40


@dataclass
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    value: Decimal
    series: int  # 0, 1 ... (a class per series in billing.css)


@dataclass
class Tick:
    y: float
    label: str


@dataclass
class Chart:
    title: str
    width: int
    height: int
    bars: list[Bar]
    ticks: list[Tick]
    labels: list[tuple[float, str]]
    legend: list[str]
    baseline: float


def _nice_max(value: Decimal) -> Decimal:
    if value <= 0:
        return Decimal(100)
    magnitude = Decimal(10) ** (len(str(int(value))) - 1)
    for step in (1, 2, 2.5, 5, 10):
        top = magnitude * Decimal(str(step))
        if top >= value:
            return top
    return magnitude * 10


def bar_chart(
    title: str, groups: list[tuple[str, list[Decimal]]], legend: list[str]
) -> Chart:
    """Grouped bars: one group per label, one bar per series in each group."""
    series = max((len(values) for _, values in groups), default=1) or 1
    top = _nice_max(
        max((v for _, values in groups for v in values), default=Decimal(0))
    )
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(groups), 1)
    bar_w = max(slot * 0.8 / series, 2)
    bars, labels = [], []
    for index, (label, values) in enumerate(groups):
        x0 = LEFT + index * slot + slot * 0.1
        labels.append((LEFT + index * slot + slot / 2, label))
        for s, value in enumerate(values):
            h = float(max(value, 0) / top) * plot_h
            bars.append(
                Bar(
                    round(x0 + s * bar_w, 1),
                    round(TOP + plot_h - h, 1),
                    round(bar_w - 1, 1),
                    round(h, 1),
                    label,
                    value,
                    s,
                )
            )
    ticks = [
        Tick(round(TOP + plot_h - plot_h * i / 4, 1), f"{top * i / 4:,.0f}")
        for i in range(5)
    ]
    return Chart(title, WIDTH, HEIGHT, bars, ticks, labels, legend, TOP + plot_h)

"""The curves of bench/scale.py as one SVG: a panel per figure, clinics across.

No plotting library: a few polylines, markers, axes and a legend per panel.
"""

from __future__ import annotations

import math
from html import escape
from pathlib import Path

W, H = 420, 260  # one panel
PAD_L, PAD_R, PAD_T, PAD_B = 58, 14, 30, 64
COLOURS = ["#1f6feb", "#d1242f", "#1a7f37", "#8250df", "#bf8700", "#57606a"]

# (title, unit, log scale, [(label, getter, dashed)])
Series = tuple[str, object, bool]


def _get(step: dict, path: str) -> float | None:
    value: object = step
    for key in path.split("."):
        if not isinstance(value, dict) or value.get(key) is None:
            return None
        value = value[key]
    return float(value) if isinstance(value, (int, float)) else None


PANELS: list[tuple[str, str, bool, list[tuple[str, str, bool]]]] = [
    (
        "Provision one clinic",
        "s",
        True,
        [
            ("cached dump (p50)", "provision.p50_s", False),
            ("cached dump, CPU (bench + PostgreSQL)", "provision.cpu_p50_s", True),
            ("new admin account incl. password hash", "provision.new_admin_s", False),
            ("migration path", "migration_path_s", False),
            ("django-tenants clone_schema", "function_clone_s", False),
            ("budget 1 s", "budget.provision_s", True),
        ],
    ),
    (
        "migrate_schemas, all clinics",
        "s",
        True,
        [
            ("nothing to apply (skipping)", "migrate.nothing_s", False),
            ("nothing to apply, no skip (estimated)", "migrate.no_skip_est_s", False),
            ("one trivial migration", "migrate.trivial_s", False),
            ("pg_dump of the template", "migrate.template_dump_s", False),
            ("budget 60 s", "budget.migrate_nothing_s", True),
            ("budget 600 s", "budget.migrate_trivial_s", True),
        ],
    ),
    (
        "Beat fan-out of one task",
        "s",
        False,
        [
            ("all sent", "fanout.fanout_s", False),
            ("all done by the worker", "fanout.all_done_s", False),
            ("budget 60 s", "budget.fanout_s", True),
        ],
    ),
    (
        "Request p50 on one clinic",
        "ms",
        False,
        [
            ("staff page /patients/", "http.page.p50", False),
            ("same, 10-clinic database", "http.page.ref_p50", True),
            ("API /api/v1/patients/", "http.api.p50", False),
            ("same, 10-clinic database", "http.api.ref_p50", True),
        ],
    ),
    (
        "PostgreSQL connections of the web server",
        "",
        False,
        [
            ("max while serving every clinic", "pg.max_during", False),
            ("held after", "pg.held_after", False),
            ("configured bound", "pg.bound", True),
        ],
    ),
    (
        "Web server memory",
        "MB",
        False,
        [
            ("PSS, all processes", "memory.pss_mb", False),
            ("RSS, all processes", "memory.rss_mb", True),
        ],
    ),
]


def _ticks(lo: float, hi: float, log: bool) -> list[float]:
    if log:
        return [
            10.0**e
            for e in range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1)
        ]
    span = hi - lo or 1.0
    step = 10 ** math.floor(math.log10(span / 4))
    for mult in (1, 2, 5, 10):
        if span / (step * mult) <= 6:
            step *= mult
            break
    first = math.floor(lo / step) * step
    return [
        first + i * step
        for i in range(int((hi - first) / step) + 2)
        if first + i * step <= hi * 1.0001
    ]


def _panel(
    x0: int, y0: int, title: str, unit: str, log: bool, series, steps: list[dict]
) -> str:
    xs = [s["clinics"] for s in steps]
    lines = [
        (label, [(s["clinics"], _get(s, path)) for s in steps], dashed)
        for label, path, dashed in series
    ]
    values = [
        v for _, pts, _ in lines for _, v in pts if v is not None and (v > 0 or not log)
    ]
    out = [
        f'<text x="{x0 + W / 2}" y="{y0 + 18}" text-anchor="middle" font-weight="bold">'
        f"{escape(title)}{f' ({unit})' if unit else ''}</text>"
    ]
    if not values:
        return "\n".join(out)
    lo, hi = (min(values), max(values))
    lo = min(lo, 0.0) if not log else lo / 1.5
    hi = hi * (1.5 if log else 1.1) or 1.0
    xmax = max(max(xs), 100)
    pw, ph = W - PAD_L - PAD_R, H - PAD_T - PAD_B

    def px(x: float) -> float:
        return x0 + PAD_L + pw * x / xmax

    def py(v: float) -> float:
        if log:
            f = (math.log10(v) - math.log10(lo)) / (math.log10(hi) - math.log10(lo))
        else:
            f = (v - lo) / (hi - lo)
        return y0 + PAD_T + ph * (1 - f)

    out.append(
        f'<rect x="{x0 + PAD_L}" y="{y0 + PAD_T}" width="{pw}" height="{ph}" '
        'fill="none" stroke="#d0d7de"/>'
    )
    for t in _ticks(lo if log else lo, hi, log):
        if lo <= t <= hi:
            out.append(
                f'<line x1="{x0 + PAD_L}" x2="{x0 + PAD_L + pw}" y1="{py(t):.1f}" '
                f'y2="{py(t):.1f}" stroke="#eaeef2"/>'
            )
            out.append(
                f'<text x="{x0 + PAD_L - 4}" y="{py(t) + 4:.1f}" text-anchor="end">'
                f"{t:g}</text>"
            )
    for t in range(0, xmax + 1, 200 if xmax > 400 else 100):
        out.append(
            f'<text x="{px(t):.1f}" y="{y0 + PAD_T + ph + 14}" text-anchor="middle">'
            f"{t}</text>"
        )
    out.append(
        f'<text x="{x0 + PAD_L + pw / 2}" y="{y0 + PAD_T + ph + 27}" '
        'text-anchor="middle" fill="#57606a">clinics</text>'
    )
    for i, (label, pts, dashed) in enumerate(lines):
        colour = COLOURS[i % len(COLOURS)]
        good = [(x, v) for x, v in pts if v is not None and (v > 0 or not log)]
        if good:
            dash = ' stroke-dasharray="5,4"' if dashed else ""
            path = " ".join(f"{px(x):.1f},{py(v):.1f}" for x, v in good)
            out.append(
                f'<polyline points="{path}" fill="none" stroke="{colour}" '
                f'stroke-width="1.8"{dash}/>'
            )
            if not dashed:
                out += [
                    f'<circle cx="{px(x):.1f}" cy="{py(v):.1f}" r="2.6" '
                    f'fill="{colour}"/>'
                    for x, v in good
                ]
        ly = y0 + PAD_T + ph + 40 + 11 * (i // 2)
        lx = x0 + PAD_L + (i % 2) * (pw / 2)
        out.append(
            f'<rect x="{lx}" y="{ly - 7}" width="10" height="3" fill="{colour}"/>'
            f'<text x="{lx + 14}" y="{ly}" font-size="9">{escape(label)}</text>'
        )
    return "\n".join(out)


def write_svg(path: Path, steps: list[dict], subtitle: str) -> None:
    cols = 3
    rows = math.ceil(len(PANELS) / cols)
    width, height = cols * W, rows * H + 40
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'font-family="sans-serif" font-size="10">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        '<text x="12" y="22" font-size="14" font-weight="bold">Many clinics: what'
        " grows with the number of clinics</text>",
        f'<text x="12" y="36" fill="#57606a">{escape(subtitle)}</text>',
    ]
    for i, (title, unit, log, series) in enumerate(PANELS):
        x0, y0 = (i % cols) * W, 40 + (i // cols) * H
        parts.append(_panel(x0, y0, title, unit, log, series, steps))
    parts.append("</svg>")
    path.write_text("\n".join(parts))

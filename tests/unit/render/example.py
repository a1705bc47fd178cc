"""A realistic trend chart (12 weeks, 5 rules, one hidden week, an overall line).

Regenerate the docs image with:
    .venv/bin/python -m tests.unit.render.example docs/images/trend-chart-example.png
"""

from __future__ import annotations

import sys
from pathlib import Path

from trustbot.render.chart import TrendChart, TrendSeries, render_trend_chart_png

PERIODS = (*(f"2025-W{week}" for week in range(44, 53)), "2026-W01", "2026-W02", "2026-W03")
LABELS = (
    "#1 Small good ideas",
    "#2 Trust comes from within",
    "#3 Courage to break new ground",
    "#4 Far, fast, with little",
    "#5 Energy from having fun",
)
# Week i asks rule i % 5. Rule #1's second week (2025-W49) had too few answers, so its figure is
# hidden and #1's line breaks there.
ASKED = {0: 68.0, 1: 61.5, 2: 57.0, 3: 72.5, 4: 77.0, 5: None, 6: 64.0, 7: 62.5, 8: 74.0}
ASKED |= {9: 79.5, 10: 73.5, 11: 66.0}
HIDDEN_WEEK = 5


def example_chart() -> TrendChart:
    """The chart drawn in docs/images/trend-chart-example.png."""
    series = []
    for rule, label in enumerate(LABELS):
        weeks = range(rule, len(PERIODS), len(LABELS))
        series.append(
            TrendSeries(
                label=label,
                points=tuple(ASKED[week] if week in weeks else None for week in range(12)),
                hidden=tuple(week == HIDDEN_WEEK and week in weeks for week in range(12)),
            )
        )
    # The overall index: the mean of each rule's latest visible figure so far.
    latest: dict[int, float] = {}
    overall: list[float | None] = []
    for week, value in sorted(ASKED.items()):
        if value is not None:
            latest[week % len(LABELS)] = value
        overall.append(round(sum(latest.values()) / len(latest), 1))
    return TrendChart(
        title="Trust index per rule, last 12 weeks",
        periods=PERIODS,
        series=tuple(series),
        note="Gaps: fewer than 5 answers",
        overall=tuple(overall),
    )


if __name__ == "__main__":
    Path(sys.argv[1]).write_bytes(render_trend_chart_png(example_chart()))

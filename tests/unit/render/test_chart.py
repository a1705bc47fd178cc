"""The trend chart as a PNG (trustbot/render/chart.py)."""

from __future__ import annotations

import hashlib
import io
import math
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.text import Text
from PIL import Image

from tests.unit.render.example import example_chart
from trustbot.render.chart import (
    LABEL_LIMIT,
    TrendChart,
    TrendSeries,
    build_trend_figure,
    render_trend_chart_png,
)

ROOT = Path(__file__).resolve().parents[3]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PERIODS = tuple(f"2026-W{week:02d}" for week in range(30, 42))


def decode(data: bytes) -> Image.Image:
    assert data.startswith(PNG_SIGNATURE)
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def line(figure: Figure, gid: str) -> Line2D:
    (found,) = [artist for artist in figure.axes[0].get_lines() if artist.get_gid() == gid]
    return found


def data_of(artist: Line2D) -> tuple[list[float], list[float]]:
    xs: Any = artist.get_xdata()
    ys: Any = artist.get_ydata()
    return [float(x) for x in xs], [float(y) for y in ys]


def texts(figure: Figure) -> list[str]:
    return [text.get_text() for text in figure.findobj(Text)]


def legend_labels(figure: Figure) -> list[str]:
    if not figure.legends:
        return []
    (legend,) = figure.legends
    return [text.get_text() for text in legend.get_texts()]


def one_series(*points: float | None, hidden: tuple[bool, ...] = ()) -> TrendChart:
    periods = PERIODS[: len(points)]
    return TrendChart("Trust", periods, (TrendSeries("#1 Small good ideas", points, hidden),))


def test_the_example_is_a_png_of_the_asked_size_and_well_under_a_megabyte() -> None:
    data = render_trend_chart_png(example_chart())

    assert decode(data).size == (1200, 675)
    assert len(data) < 250_000


@pytest.mark.parametrize(("width", "height"), [(1024, 576), (1024, 1024), (360, 203), (1000, 563)])
def test_other_sizes_come_out_exactly(width: int, height: int) -> None:
    data = render_trend_chart_png(example_chart(), width_px=width, height_px=height)

    assert decode(data).size == (width, height)


@pytest.mark.parametrize(("width", "height"), [(0, 675), (1200, 50), (5000, 675)])
def test_unreasonable_sizes_are_refused(width: int, height: int) -> None:
    with pytest.raises(ValueError, match="px"):
        render_trend_chart_png(example_chart(), width_px=width, height_px=height)


def test_the_same_input_gives_the_same_bytes_without_metadata() -> None:
    first = render_trend_chart_png(example_chart())
    second = render_trend_chart_png(example_chart())

    assert first == second
    assert b"Software" not in first
    assert b"matplotlib" not in first.lower()
    assert decode(first).info == {"dpi": pytest.approx((240, 240), abs=0.1)}


def test_threads_render_side_by_side_and_agree() -> None:
    expected = render_trend_chart_png(example_chart())

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: render_trend_chart_png(example_chart()), range(8)))

    assert all(result == expected for result in results)


def test_a_fresh_process_draws_the_same_bytes_without_pyplot_or_a_display() -> None:
    script = (
        "import hashlib, sys\n"
        "from tests.unit.render.example import example_chart\n"
        "from trustbot.render.chart import render_trend_chart_png\n"
        "digest = hashlib.sha256(render_trend_chart_png(example_chart())).hexdigest()\n"
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot was imported'\n"
        "assert not {'tkinter', 'PyQt5', 'PyQt6', 'PySide6', 'gi'} & set(sys.modules)\n"
        "print(digest)\n"
    )
    environment = {
        name: value
        for name, value in os.environ.items()
        if name not in ("DISPLAY", "WAYLAND_DISPLAY", "MPLBACKEND")
    }
    # An interactive backend asked for by the environment must not be picked up.
    environment["MPLBACKEND"] = "TkAgg"

    done = subprocess.run(  # noqa: S603 - our own interpreter, a fixed script
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    expected = hashlib.sha256(render_trend_chart_png(example_chart())).hexdigest()
    assert done.stdout.strip() == expected


def test_a_hidden_point_breaks_the_line_and_is_marked() -> None:
    chart = one_series(
        60.0, None, 70.0, None, None, 75.0, hidden=(False,) * 3 + (True,) + (False,) * 2
    )

    figure = build_trend_figure(chart)

    xs, ys = data_of(line(figure, "series-0"))
    assert xs == [0, 2, 3, 5]  # the week it was not asked is skipped, so 0 and 2 are joined
    assert ys[:2] == [60.0, 70.0]
    assert ys[3] == 75.0
    assert math.isnan(ys[2])  # the hidden week breaks the line
    hollow = [
        artist
        for artist in figure.axes[0].get_lines()
        if artist.get_gid() is None and artist.get_markerfacecolor() == "white"
    ]
    assert [data_of(artist)[0] for artist in hollow] == [[3.0]]
    assert len(figure.axes[0].patches) == 1  # the grey band over the hidden week


def test_the_note_keys_the_grey_band_when_something_is_hidden() -> None:
    chart = TrendChart(
        "Trust",
        PERIODS[:3],
        (TrendSeries("#1 Ideas", (60.0, None, 70.0), (False, True, False)),),
        note="Gaps: fewer than 5 answers",
    )

    figure = build_trend_figure(chart)

    assert legend_labels(figure) == ["#1 Ideas", "Gaps: fewer than 5 answers"]


def test_the_note_is_shown_when_nothing_is_hidden() -> None:
    chart = TrendChart("Trust", PERIODS[:2], (TrendSeries("#1 Ideas", (60.0, 61.0)),), note="N")

    figure = build_trend_figure(chart)

    assert legend_labels(figure) == ["#1 Ideas", "N"]
    assert len(figure.axes[0].patches) == 0


def test_without_a_note_a_hidden_week_has_no_empty_key() -> None:
    figure = build_trend_figure(one_series(60.0, None, hidden=(False, True)))

    assert legend_labels(figure) == ["#1 Small good ideas"]
    assert len(figure.axes[0].patches) == 1


def test_weeks_not_asked_are_joined_without_nan() -> None:
    figure = build_trend_figure(one_series(60.0, None, None, None, None, 72.0))

    assert data_of(line(figure, "series-0")) == ([0.0, 5.0], [60.0, 72.0])


def test_the_overall_line_is_drawn_thicker_and_keyed() -> None:
    chart = example_chart()

    figure = build_trend_figure(chart, overall_label="Samlet")

    overall = line(figure, "overall")
    xs, ys = data_of(overall)
    assert xs == list(range(12))
    assert ys == [point for point in chart.overall or ()]
    assert overall.get_linewidth() > line(figure, "series-0").get_linewidth()
    assert "Samlet" in legend_labels(figure)


def test_without_an_overall_there_is_no_overall_line() -> None:
    figure = build_trend_figure(one_series(60.0, 61.0))

    assert [artist.get_gid() for artist in figure.axes[0].get_lines()] == ["series-0"]


def test_a_missing_overall_figure_is_a_gap() -> None:
    chart = TrendChart("T", PERIODS[:3], (), overall=(60.0, None, 62.0))

    _, ys = data_of(line(build_trend_figure(chart), "overall"))

    assert ys[0] == 60.0
    assert math.isnan(ys[1])
    assert ys[2] == 62.0


def test_an_empty_chart_says_so() -> None:
    chart = TrendChart(
        "Trust index per rule, last 12 weeks",
        PERIODS,
        tuple(TrendSeries(f"#{n} Rule", (None,) * 12) for n in range(1, 6)),
        overall=(None,) * 12,
    )

    figure = build_trend_figure(chart, empty_text="Ingen tal endnu")
    data = render_trend_chart_png(chart, empty_text="Ingen tal endnu")

    assert "Ingen tal endnu" in texts(figure)
    assert legend_labels(figure) == []
    assert figure.axes[0].get_ylim() == (0, 100)
    assert decode(data).size == (1200, 675)


def test_a_chart_with_no_rules_at_all_is_empty_too() -> None:
    chart = TrendChart("Trust", ("2026-W37",), ())

    assert "No figures yet" in texts(build_trend_figure(chart))
    assert decode(render_trend_chart_png(chart)).size == (1200, 675)


def test_a_single_period() -> None:
    chart = TrendChart("Trust", ("2026-W37",), (TrendSeries("#1 Ideas", (71.0,)),), overall=(71.0,))

    figure = build_trend_figure(chart)

    assert data_of(line(figure, "series-0")) == ([0.0], [71.0])
    assert [tick.get_text() for tick in figure.axes[0].get_xticklabels()] == ["W37\n2026"]
    assert decode(render_trend_chart_png(chart)).size == (1200, 675)


def test_twenty_rules_each_get_a_distinct_look_and_a_key() -> None:
    series = tuple(
        TrendSeries(
            f"#{n} Rule number {n} with a rather long name",
            tuple(40.0 + n * 2 if (week + n) % 5 == 0 else None for week in range(12)),
        )
        for n in range(1, 21)
    )
    chart = TrendChart("Trust", PERIODS, series, overall=(60.0,) * 12)

    figure = build_trend_figure(chart)
    data = render_trend_chart_png(chart)

    looks = {
        (str(found.get_color()), str(found.get_linestyle()), str(found.get_marker()))
        for found in (line(figure, f"series-{n}") for n in range(20))
    }
    assert len(looks) == 20
    labels = legend_labels(figure)
    assert len(labels) == 21
    assert all(label.startswith(f"#{n} ") for n, label in enumerate(labels[:20], start=1))
    (legend,) = figure.legends
    assert legend.get_window_extent().width <= figure.bbox.width  # shortened until it fits
    assert decode(data).size == (1200, 675)
    assert len(data) < 1_000_000


def test_danish_labels_survive() -> None:
    chart = TrendChart(
        "Tillidsindeks pr. regel, seneste 12 uger",
        PERIODS[:2],
        (
            TrendSeries("#1 Små gode idéer", (70.0, None)),
            TrendSeries("#5 Vi udnytter den energi, det giver at have det sjovt", (None, 72.5)),
        ),
        note="Huller: færre end 5 svar",
    )

    figure = build_trend_figure(chart)
    data = render_trend_chart_png(chart)

    assert legend_labels(figure) == [
        "#1 Små gode idéer",
        "#5 Vi udnytter den energi…",
        "Huller: færre end 5 svar",
    ]
    assert "Tillidsindeks pr. regel, seneste 12 uger" in texts(figure)
    assert decode(data).size == (1200, 675)


def test_long_labels_are_cut_to_the_limit() -> None:
    chart = TrendChart("T", ("2026-W01",), (TrendSeries("x" * 40 + " y", (50.0,)),))

    (label,) = legend_labels(build_trend_figure(chart))

    assert len(label) == LABEL_LIMIT
    assert label.endswith("…")


def test_a_long_title_wraps_inside_the_image() -> None:
    title = "Tillidsindeks pr. regel i hele virksomheden, de seneste tolv uger, uden småteams"

    figure = build_trend_figure(TrendChart(title, ("2026-W01",), ()))

    (shown,) = [text for text in figure.texts if text.get_text().startswith("Tillids")]
    assert "\n" in shown.get_text()
    assert shown.get_window_extent().x1 <= figure.bbox.width


def test_week_labels_show_the_year_first_and_where_it_changes() -> None:
    chart = TrendChart("T", ("2025-W51", "2025-W52", "2026-W01", "2026-W02", "Q3"), ())

    ticks = [tick.get_text() for tick in build_trend_figure(chart).axes[0].get_xticklabels()]

    assert ticks == ["W51\n2025", "W52\n ", "W01\n2026", "W02\n ", "Q3"]


def test_the_axes_are_fixed_from_zero_to_a_hundred() -> None:
    axes = build_trend_figure(one_series(60.0)).axes[0]

    assert axes.get_ylim() == (0, 100)
    assert list(axes.get_yticks()) == [0, 25, 50, 75, 100]
    gridlines = [found for found in axes.get_ygridlines() if found.get_visible()]
    assert len(gridlines) == 5


def test_pixels_are_drawn_in_the_rules_colours() -> None:
    image = decode(render_trend_chart_png(example_chart())).convert("RGB")

    colours = {colour for _, colour in image.getcolors(image.width * image.height) or []}

    assert (0x00, 0x72, 0xB2) in colours  # rule #1's blue
    assert (0xE6, 0x9F, 0x00) in colours  # rule #2's orange


@pytest.mark.parametrize(
    ("chart", "message"),
    [
        (lambda: TrendChart("T", (), ()), "at least one period"),
        (lambda: TrendChart("T", ("a", "b"), (TrendSeries("s", (1.0,)),)), "1 points, 2 periods"),
        (
            lambda: TrendChart("T", ("a",), (TrendSeries("s", (1.0,), (True, False)),)),
            "hidden flags",
        ),
        (lambda: TrendChart("T", ("a",), (TrendSeries("s", (1.0,), (True,)),)), "must be None"),
        (lambda: TrendChart("T", ("a",), (TrendSeries("s", (101.0,)),)), "0-100"),
        (lambda: TrendChart("T", ("a",), (TrendSeries("s", (math.nan,)),)), "0-100"),
        (lambda: TrendChart("T", ("a",), (), overall=(1.0, 2.0)), "overall"),
        (lambda: TrendChart("T", ("a",), (), overall=(-1.0,)), "0-100"),
    ],
)
def test_inconsistent_charts_are_refused(chart: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        chart()

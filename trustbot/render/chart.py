"""The trend chart: trust index per rule over the last weeks, as a PNG.

Pure and platform-neutral: the caller hands over figures (already hidden where a group was too
small) and localised texts, and gets PNG bytes for Slack or Teams. Drawn with matplotlib's
object-oriented API on the Agg canvas; pyplot is never imported, so there is no global figure
state, no interactive backend and no display. Rendering is CPU-bound (about 0.1 s for five
rules): call it from async code through `asyncio.to_thread`. matplotlib promises no thread safety,
so one chart is drawn at a time per process (a lock), whichever thread asks.

Design for a manager's five-second look at Slack's inline preview (about 360 px wide): the figure
is laid out 5 inches wide whatever its pixel size, so one point is about one pixel in that preview
and the font sizes below are the preview's pixel sizes.
"""

from __future__ import annotations

import io
import math
import re
import textwrap
import threading
from dataclasses import dataclass

from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

LABEL_LIMIT = 28
MIN_SIDE_PX, MAX_SIDE_PX = 100, 4096

# Okabe & Ito's colour-blind-safe palette without its yellow (too pale on white) and black (the
# overall line is the neutral one). Past six rules, colours repeat with another line style, and
# every rule also has its own marker shape.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9")
MARKERS = ("o", "s", "^", "D", "v")
LINE_STYLES = ("-", (0, (4, 1.5)), (0, (1, 1.2)), (0, (4, 1.5, 1, 1.5)))
OVERALL_COLOUR = "#B3B3B3"
HIDDEN_COLOUR = "#E4E4E4"
TEXT_COLOUR = "#222222"
MUTED_COLOUR = "#555555"
GRID_COLOUR = "#D0D0D0"

TITLE_SIZE, TICK_SIZE, LEGEND_SIZE = 12, 9, 9
FONT = "DejaVu Sans"  # bundled with matplotlib, so every host draws the same glyphs (æøå too)
DESIGN_WIDTH_IN = 5.0

_ISO_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
_MATPLOTLIB = threading.Lock()


@dataclass(frozen=True, slots=True)
class TrendSeries:
    """One rule's trust index (0-100) per period, oldest first; None where there is no figure.

    `hidden`, when given, has one flag per period: True where the point is None because the group
    was too small (drawn as a visible gap), False where the rule was simply not asked.
    """

    label: str
    points: tuple[float | None, ...]
    hidden: tuple[bool, ...] = ()

    def is_hidden(self, index: int) -> bool:
        """Whether the point at `index` was hidden for too few answers."""
        return bool(self.hidden) and self.hidden[index]


@dataclass(frozen=True, slots=True)
class TrendChart:
    """What the trend chart shows; every text is already localised by the caller."""

    title: str
    periods: tuple[str, ...]
    series: tuple[TrendSeries, ...]
    note: str = ""
    overall: tuple[float | None, ...] | None = None

    def __post_init__(self) -> None:
        if not self.periods:
            raise ValueError("a trend chart needs at least one period")
        count = len(self.periods)
        for series in self.series:
            if len(series.points) != count:
                raise ValueError(f"{series.label!r}: {len(series.points)} points, {count} periods")
            if series.hidden and len(series.hidden) != count:
                raise ValueError(f"{series.label!r}: {len(series.hidden)} hidden flags")
            for point, hidden in zip(series.points, series.hidden or (False,) * count, strict=True):
                if hidden and point is not None:
                    raise ValueError(f"{series.label!r}: a hidden point must be None")
                _check_index(point)
        if self.overall is not None:
            if len(self.overall) != count:
                raise ValueError(f"overall: {len(self.overall)} points, {count} periods")
            for point in self.overall:
                _check_index(point)


def _check_index(point: float | None) -> None:
    if point is not None and not 0 <= point <= 100:  # also rejects NaN
        raise ValueError(f"a trust index is 0-100, not {point!r}")


def render_trend_chart_png(
    chart: TrendChart,
    *,
    width_px: int = 1200,
    height_px: int = 675,
    empty_text: str = "No figures yet",
    overall_label: str = "Overall",
) -> bytes:
    """The chart as PNG bytes (matplotlib, Agg backend; no global pyplot state).

    The same input gives the same bytes: the PNG carries no software or date metadata.
    """
    for side in (width_px, height_px):
        if not MIN_SIDE_PX <= side <= MAX_SIDE_PX:
            raise ValueError(f"image sides are {MIN_SIDE_PX}-{MAX_SIDE_PX} px, not {side}")
    buffer = io.BytesIO()
    with _MATPLOTLIB:
        figure = build_trend_figure(
            chart,
            width_px=width_px,
            height_px=height_px,
            empty_text=empty_text,
            overall_label=overall_label,
        )
        # print_png rather than savefig: no savefig.* rcParams (bbox, dpi, facecolor) creep in.
        # backend_agg has no type stubs, hence the ignore.
        canvas = FigureCanvasAgg(figure)
        canvas.print_png(buffer, metadata={"Software": None})  # type: ignore[no-untyped-call]
    return buffer.getvalue()


def build_trend_figure(
    chart: TrendChart,
    *,
    width_px: int = 1200,
    height_px: int = 675,
    empty_text: str = "No figures yet",
    overall_label: str = "Overall",
) -> Figure:
    """The chart as a matplotlib Figure, `width_px` x `height_px` when printed at its own dpi.

    A rule's line joins its own points across weeks it was not asked and breaks (NaN in the
    line's data, gid "series-<n>") at a week hidden for too few answers; that week gets a grey
    band and a hollow marker on the x axis in the rule's colour and shape. The overall line has
    gid "overall". Meant for inspection (tests); render_trend_chart_png is the locked entry point.
    """
    dpi = width_px / DESIGN_WIDTH_IN
    figure = Figure(
        figsize=(DESIGN_WIDTH_IN, height_px / dpi), dpi=dpi, facecolor="white", layout="constrained"
    )
    FigureCanvasAgg(figure)  # attached to the figure: text is measured with Agg, not pyplot's pick
    axes = figure.add_subplot()
    _style_axes(axes, chart.periods)
    _title(figure, chart.title)

    keys: list[tuple[Artist, str]] = []
    hidden_somewhere = False
    for number, series in enumerate(chart.series):
        colour = PALETTE[number % len(PALETTE)]
        marker = MARKERS[number % len(MARKERS)]
        xs, ys = [], []
        for index, point in enumerate(series.points):
            if point is not None:
                xs.append(index)
                ys.append(point)
            elif series.is_hidden(index):
                xs.append(index)
                ys.append(math.nan)
                _mark_hidden(axes, index, colour, marker)
                hidden_somewhere = True
        (line,) = axes.plot(
            xs,
            ys,
            color=colour,
            linewidth=2,
            linestyle=LINE_STYLES[(number // len(PALETTE)) % len(LINE_STYLES)],
            marker=marker,
            markersize=6,
            markeredgecolor="white",
            markeredgewidth=0.6,
            zorder=3,
        )
        line.set_gid(f"series-{number}")
        keys.append((line, series.label))

    overall_points = chart.overall or ()
    if any(point is not None for point in overall_points):
        (overall,) = axes.plot(
            range(len(chart.periods)),
            [math.nan if point is None else point for point in overall_points],
            color=OVERALL_COLOUR,
            linewidth=4.5,
            marker="o",  # as wide as the line: invisible on it, a dot where a point stands alone
            markersize=4.5,
            markeredgewidth=0,
            solid_capstyle="round",
            solid_joinstyle="round",
            zorder=2,
        )
        overall.set_gid("overall")
        key = Line2D([], [], color=OVERALL_COLOUR, linewidth=4.5, solid_capstyle="round")
        keys.append((key, overall_label))
    elif not any(point is not None for series in chart.series for point in series.points):
        axes.text(
            0.5,
            0.5,
            empty_text,
            transform=axes.transAxes,
            ha="center",
            va="center",
            fontsize=TITLE_SIZE,
            fontfamily=FONT,
            color=MUTED_COLOUR,
            bbox={"facecolor": "white", "edgecolor": "none", "pad": 4},
        )
        keys = []  # a key to lines that are not there would only puzzle

    if hidden_somewhere and chart.note:
        # The note (e.g. "Gaps: fewer than 5 answers") is the grey band's key.
        keys.append((Patch(facecolor=HIDDEN_COLOUR, edgecolor="none"), chart.note))
    elif chart.note:
        keys.append((Patch(visible=False), chart.note))
    if keys:
        _legend(figure, keys)
    return figure


def _style_axes(axes: Axes, periods: tuple[str, ...]) -> None:
    axes.set_xlim(-0.5, len(periods) - 0.5)
    axes.set_ylim(0, 100)
    axes.set_yticks([0, 25, 50, 75, 100])
    axes.set_xticks(range(len(periods)), _week_labels(periods))
    axes.tick_params(labelsize=TICK_SIZE, labelcolor=TEXT_COLOUR, length=0, pad=3)
    axes.tick_params(axis="x", pad=5)
    for label in [*axes.get_xticklabels(), *axes.get_yticklabels()]:
        label.set_fontfamily(FONT)
    axes.grid(axis="y", color=GRID_COLOUR, linewidth=0.6)
    axes.set_axisbelow(True)
    for side in ("top", "right", "left"):
        axes.spines[side].set_visible(False)
    axes.spines["bottom"].set_color(MUTED_COLOUR)
    axes.spines["bottom"].set_linewidth(0.8)


def _title(figure: Figure, title: str) -> None:
    """The title, left-aligned; wrapped onto a second line (then cut short) when too wide."""
    text = figure.suptitle(
        title,
        x=0.015,
        ha="left",
        fontsize=TITLE_SIZE,
        fontweight="bold",
        fontfamily=FONT,
        color=TEXT_COLOUR,
    )
    room = figure.bbox.width * 0.97
    width = len(title)
    while text.get_window_extent().width > room and width > 10:
        width -= 2
        lines = textwrap.wrap(title, width) or [""]
        if len(lines) > 2:
            lines = [lines[0], _shorten(" ".join(lines[1:]), width)]
        text.set_text("\n".join(lines))


def _week_labels(periods: tuple[str, ...]) -> list[str]:
    """ "W37" per ISO week, with the year under the first week and where the year changes."""
    labels, shown_year = [], ""
    for period in periods:
        match = _ISO_WEEK.match(period)
        if match is None:
            labels.append(period)
            continue
        year, week = match.groups()
        # Every label has two lines, so that the weeks line up whether or not a year is under them.
        labels.append(f"W{week}\n{year if year != shown_year else ' '}")
        shown_year = year
    return labels


def _mark_hidden(axes: Axes, index: int, colour: str, marker: str) -> None:
    axes.axvspan(index - 0.4, index + 0.4, facecolor=HIDDEN_COLOUR, edgecolor="none", zorder=0)
    axes.plot(
        [index],
        [0],
        linestyle="none",
        marker=marker,
        markersize=6,
        markerfacecolor="white",
        markeredgecolor=colour,
        markeredgewidth=1.3,
        clip_on=False,
        zorder=4,
    )


def _legend(figure: Figure, keys: list[tuple[Artist, str]]) -> None:
    """Below the plot, where it costs height rather than the width the weeks need.

    Labels are cut to LABEL_LIMIT characters, and shorter while the key is wider than the image.
    """
    columns = 2 if len(keys) <= 8 else 3 if len(keys) <= 15 else 4
    size = LEGEND_SIZE if columns <= 2 else LEGEND_SIZE - 1
    room = figure.bbox.width * 0.98
    limits = (LABEL_LIMIT, 24, 20, 16, 12, 8)
    for limit in limits:
        legend = figure.legend(
            [handle for handle, _ in keys],
            [_shorten(label, limit) for _, label in keys],
            loc="outside lower center",
            ncols=columns,
            frameon=False,
            handlelength=1.8,
            handletextpad=0.5,
            columnspacing=1.0,
            labelspacing=0.3,
            borderaxespad=0.2,
            prop={"family": FONT, "size": size},
            labelcolor=TEXT_COLOUR,
        )
        if limit == limits[-1] or legend.get_window_extent().width <= room:
            return
        legend.remove()


def _shorten(label: str, limit: int) -> str:
    label = " ".join(label.split())
    return label if len(label) <= limit else label[: limit - 1].rstrip(" ,.;:-–—(") + "…"

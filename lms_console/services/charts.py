"""matplotlib Figure builders for the reports (no pyplot, no Qt: the GUI puts them on a canvas,
the CLI saves them).

``build_figure(result, colors)`` draws a :class:`~lms_console.services.reports.ReportResult`:
a title, axis labels with units, counts on bars, the Okabe-Ito colour-blind-safe palette, and
the colours of the caller's theme (views pass ``theme.chart_palette()``; :func:`palette` gives
the same colours without Qt). Bars and points that stand for users carry ``lms_drill`` (a
DrillRequest, or a list of them per point of a line) so a click can show the users behind them.
An empty result draws its reason instead of empty axes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC
from typing import Any

from matplotlib import rc_context
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter, date2num
from matplotlib.figure import Figure
from matplotlib.layout_engine import LayoutEngine
from matplotlib.ticker import MaxNLocator, PercentFormatter

from lms_console.services.reports import DrillRequest, ReportResult

OKABE_ITO = {"blue": "#0072B2", "orange": "#E69F00", "bluish_green": "#009E73", "vermillion": "#D55E00",
             "reddish_purple": "#CC79A7", "sky_blue": "#56B4E9", "yellow": "#F0E442", "black": "#000000"}
_THEMES = {
    "light": {"background": "#ffffff", "text": "#1f2328", "grid": "#e6eaef", "axes": "#8c959f", "muted": "#59636e",
              "neutral": "#c3c9d1",
              "sequence": ["blue", "orange", "bluish_green", "vermillion", "reddish_purple", "sky_blue", "yellow", "black"]},
    "dark": {"background": "#23282f", "text": "#dde3ea", "grid": "#343b45", "axes": "#66707c", "muted": "#9ba6b2",
             "neutral": "#5c6670",
             "sequence": ["sky_blue", "orange", "bluish_green", "yellow", "vermillion", "reddish_purple", "blue"]},
}
MAX_BARS = 20  # groups drawn as bars; the table has all of them
MAX_LINES = 8  # one colour each in the palette
MAX_BOXES = 20
MAX_PANELS = 9
BOX_KEY = "Grade (% of the item's maximum); box: middle half,\nline: median, ◆: mean, whiskers: lowest–highest"


def palette(theme: str = "light") -> dict:
    """Chart colours of a theme, shaped like ``views.theme.chart_palette()`` (for the CLI and tests)."""
    t = _THEMES["dark" if theme == "dark" else "light"]
    seq = [OKABE_ITO[k] for k in t["sequence"]] + (["#BBBBBB"] if theme == "dark" else [])
    return {"theme": "dark" if theme == "dark" else "light", "background": t["background"], "text": t["text"],
            "grid": t["grid"], "axes": t["axes"], "muted": t["muted"], "neutral": t["neutral"],
            "accent": seq[0], "good": OKABE_ITO["bluish_green"], "bad": OKABE_ITO["vermillion"],
            "warning": OKABE_ITO["orange"], "sequence": seq,
            "rc": {"figure.facecolor": t["background"], "axes.facecolor": t["background"],
                   "savefig.facecolor": t["background"], "axes.edgecolor": t["axes"], "axes.labelcolor": t["text"],
                   "axes.titlecolor": t["text"], "text.color": t["text"], "xtick.color": t["text"],
                   "ytick.color": t["text"], "grid.color": t["grid"], "legend.facecolor": t["background"],
                   "legend.edgecolor": t["grid"], "legend.labelcolor": t["text"]}}


def _colors(colors: Mapping | None) -> dict:
    base = palette((colors or {}).get("theme", "light"))
    base.update({k: v for k, v in (colors or {}).items() if v is not None})
    return base


def status_colors(c: Mapping) -> dict[str, str]:
    """Completed / in progress / not started / overdue: distinguishable without colour vision too
    (the legend and the labels name them; "not started" is the neutral grey)."""
    return {"completed": c["good"], "in_progress": OKABE_ITO["sky_blue"], "not_started": c["neutral"],
            "overdue": c["bad"], "suspended": OKABE_ITO["orange"], "active": c["sequence"][0]}


def text_on(colour: str) -> str:
    """Black or white, whichever reads better on ``colour``."""
    r, g, b = (int(colour.lstrip("#")[i:i + 2], 16) / 255 for i in (0, 2, 4))
    lum = 0.2126 * r ** 2.2 + 0.7152 * g ** 2.2 + 0.0722 * b ** 2.2
    return "#000000" if lum > 0.2 else "#ffffff"


class ChartLayout(LayoutEngine):
    """Constrained-layout results at a fraction of the cost per redraw.

    Matplotlib's constrained layout measures every text on every draw (~40 % of a redraw). Here
    the decorations around each axes (tick labels, axis labels, titles, legends, notes) are
    measured once, in inches; a redraw at another size only places the axes in the grid
    (columns and rows share what is left by their width/height ratios). They are measured
    again when the figure grew or shrank by a third since, as tick labels may then change.
    """

    _adjust_compatible = False
    _colorbar_gridspec = False
    PAD = 0.1  # inches around the figure and between grid cells
    REMEASURE = 0.35

    def __init__(self) -> None:
        super().__init__()
        self._deco: dict | None = None
        self._size: tuple[float, float] | None = None

    def set(self, **kwargs) -> None:
        self._params.update(kwargs)

    def invalidate(self) -> None:
        self._deco = None

    def execute(self, fig: Figure) -> None:
        w, h = fig.get_size_inches()
        if self._deco is None or self._size is None or any(
                abs(a - b) / b > self.REMEASURE for a, b in zip((w, h), self._size)):
            self._place(fig, {})  # a first guess, so the measurement sees sensible tick labels
            self._deco = self._measure(fig)
            self._size = (w, h)
        self._place(fig, self._deco)

    @staticmethod
    def _measure(fig: Figure) -> dict:
        renderer = fig._get_renderer()
        inch = fig.dpi
        deco = {}
        for ax in fig.axes:
            if not ax.get_visible():
                continue
            pos = ax.get_window_extent(renderer)
            tb = ax.get_tightbbox(renderer)
            deco[ax] = tuple(max(0.0, v / inch) for v in (pos.x0 - tb.x0, tb.x1 - pos.x1, pos.y0 - tb.y0,
                                                            tb.y1 - pos.y1))
        for name in ("_suptitle", "_supxlabel"):
            text = getattr(fig, name, None)
            deco[name] = text.get_window_extent(renderer).height / inch if text is not None and text.get_text() else 0
        return deco

    def _place(self, fig: Figure, deco: dict) -> None:
        w, h = fig.get_size_inches()
        pad = self.PAD
        axes = [ax for ax in fig.axes if ax.get_visible() and ax.get_subplotspec() is not None]
        if not axes:
            return
        gs = axes[0].get_subplotspec().get_gridspec()
        nrows, ncols = gs.get_geometry()
        left, right = [0.0] * ncols, [0.0] * ncols
        below, above = [0.0] * nrows, [0.0] * nrows
        default = (0.8, 0.3, 0.6, 0.3)
        for ax in axes:
            spec = ax.get_subplotspec()
            dl, dr, db, dt = deco.get(ax, default)
            left[spec.colspan.start] = max(left[spec.colspan.start], dl)
            right[spec.colspan.stop - 1] = max(right[spec.colspan.stop - 1], dr)
            above[spec.rowspan.start] = max(above[spec.rowspan.start], dt)
            below[spec.rowspan.stop - 1] = max(below[spec.rowspan.stop - 1], db)
        top = pad + deco.get("_suptitle", 0.3) + pad if fig._suptitle is not None else pad
        bottom = pad + deco.get("_supxlabel", 0.2) + pad if fig._supxlabel is not None else pad
        wr = gs.get_width_ratios() or [1] * ncols
        hr = gs.get_height_ratios() or [1] * nrows
        free_w = max(0.5, w - 2 * pad - sum(left) - sum(right) - (ncols - 1) * pad)
        free_h = max(0.5, h - top - bottom - sum(above) - sum(below) - (nrows - 1) * pad)
        xs, x = [], pad
        for j in range(ncols):
            x += left[j]
            width = free_w * wr[j] / sum(wr)
            xs.append((x, width))
            x += width + right[j] + pad
        ys, y = [], h - top
        for i in range(nrows):
            y -= above[i]
            height = free_h * hr[i] / sum(hr)
            ys.append((y - height, height))
            y -= height + below[i] + pad
        for ax in axes:
            spec = ax.get_subplotspec()
            x0 = xs[spec.colspan.start][0]
            x1 = xs[spec.colspan.stop - 1][0] + xs[spec.colspan.stop - 1][1]
            y1 = ys[spec.rowspan.start][0] + ys[spec.rowspan.start][1]
            y0 = ys[spec.rowspan.stop - 1][0]
            ax.set_position([x0 / w, y0 / h, (x1 - x0) / w, (y1 - y0) / h])
        if getattr(fig, "_suptitle", None) is not None:
            fig._suptitle.set_y(1 - pad / h)
        if getattr(fig, "_supxlabel", None) is not None:
            fig._supxlabel.set_y(pad / h)


def build_figure(result: ReportResult, colors: Mapping | None = None, *, size: tuple[float, float] = (10, 6),
                 dpi: float = 100, heading: bool = True) -> Figure:
    """The chart of ``result``; ``heading=False`` leaves out the title and the footer (summary and
    as-of time) when the window shows them next to the chart already."""
    c = _colors(colors)
    rc = dict(c.get("rc", {}))
    rc.pop("axes.prop_cycle", None)  # the builders pick colours themselves
    rc.update({"font.size": 9, "axes.titlesize": 10, "axes.labelsize": 9, "axes.titleweight": "bold",
               "axes.spines.top": False, "axes.spines.right": False, "axes.grid": False,
               "legend.frameon": False, "figure.titlesize": 13, "figure.titleweight": "bold"})
    with rc_context(rc):
        fig = Figure(figsize=size, dpi=dpi, layout=ChartLayout(), facecolor=c["background"])
        if result.is_empty or not result.tables:
            _empty(fig, result, c)
        else:
            {"completion": _completion, "completion_over_time": _over_time, "engagement": _engagement,
             "assessment": _assessment, "compliance": _compliance, "enrolments": _enrolments}[result.kind](fig, result, c)
        if heading:
            fig.suptitle(result.title, x=0.01, ha="left", va="top", color=c["text"])
            foot = " · ".join(p for p in (result.subtitle, _as_of(result)) if p)
            fig.supxlabel(foot, x=0.01, ha="left", va="bottom", fontsize=8, color=c["muted"])
    return fig


def _as_of(result: ReportResult) -> str:
    import time

    if not result.as_of:
        return ""
    text = f"data as of {time.strftime('%Y-%m-%d %H:%M', time.gmtime(result.as_of))} UTC"
    if result.from_snapshot and result.snapshot_created:
        text += f" (snapshot of {time.strftime('%Y-%m-%d', time.gmtime(result.snapshot_created))})"
    return text


def _empty(fig: Figure, result: ReportResult, c) -> None:
    ax = fig.add_subplot()
    ax.set_axis_off()
    import textwrap

    ax.text(0.5, 0.5, "\n".join(textwrap.wrap(result.empty_reason or "Nothing to show.", 70)), ha="center",
            va="center", fontsize=11, color=c["muted"], transform=ax.transAxes)


def _style(ax, c, grid_axis: str = "x") -> None:
    ax.set_facecolor(c["background"])
    for side in ("left", "bottom"):
        ax.spines[side].set_color(c["axes"])
    ax.tick_params(colors=c["text"], which="both")
    ax.grid(True, axis=grid_axis, color=c["grid"], linewidth=0.8)
    ax.set_axisbelow(True)


def _short(label: Any, n: int = 34) -> str:
    """A label that fits: a long "Parent / Child" keeps its last part (what tells siblings apart)."""
    s = str(label)
    if len(s) > n and " / " in s:
        s = "… / " + s.rsplit(" / ", 1)[1]
    return s if len(s) <= n else s[: n - 1] + "…"


def pct_text(value) -> str:
    """A percentage rounded as the tables show it: always one decimal, so 0.2 % never reads as 0 % and labels
    read down a column alike ("25.0 %" beside "30.6 %"); "n/a" when there is none (nothing tracked)."""
    if value is None or value != value:
        return "n/a"
    return f"{float(value):.1f}"


def _counts_axis(ax, axis: str = "y", **locator) -> None:
    """Whole-number ticks for counts; a series of zeros gets a 0–1 axis (not −0.05…0.05 or 0.000…0.054)."""
    getattr(ax, f"{axis}axis").set_major_locator(MaxNLocator(integer=True, **locator))
    data = ax.dataLim.intervaly if axis == "y" else ax.dataLim.intervalx
    if max(abs(float(data[0])), abs(float(data[1]))) == 0:
        getattr(ax, f"set_{axis}lim")(0, 1)


def _legend_top(ax, ncol: int) -> None:
    ax.legend(loc="lower left", bbox_to_anchor=(0, 1.01), ncol=ncol, fontsize=8, handlelength=1.2,
              borderaxespad=0)


def _more_note(ax, shown: int, total: int, what: str, c) -> None:
    """"15 of 40 courses drawn; the table has all", under the plot's x-axis label at its right end: in
    the bottom margin, where no legend goes (beside a legend above the plot it was covered by it when
    the plot was narrow). The layout measures it with the axes, so the margin makes room for it."""
    if total <= shown:
        return
    note = f"{shown} of {total} {what} drawn; the table has all"
    # x: the plot's right edge; y: the bottom of the x-axis label (below the tick labels when there is none).
    ax.annotate(note, xy=(1.0, 0.0), xycoords=("axes fraction", ax.xaxis.label), xytext=(0, -2),
                textcoords="offset points", ha="right", va="top", fontsize=7.5, color=c["muted"],
                annotation_clip=False)


# -- completion rates -----------------------------------------------------------------------------

def _completion(fig: Figure, r: ReportResult, c) -> None:
    t = r.main
    group = r.chart.get("group", t.columns[1])
    top = t.nlargest(MAX_BARS, "Learners").sort_values(["Completion %", group], ascending=[True, False])
    ax = fig.add_subplot()
    _style(ax, c)
    sc = status_colors(c)
    y = list(range(len(top)))
    left = [0.0] * len(top)
    # Shares of the learners whose completion is tracked ("Not tracked": courses without criteria).
    untracked = top["Not tracked"] if "Not tracked" in top.columns else [0] * len(top)
    measured = [int(n) - int(u) for n, u in zip(top["Learners"], untracked)]
    # Counts of the completed segment in the bar, the rate and total at its end; every segment's
    # count is in its tooltip and the table (fewer texts keep a redraw fast).
    for status, col in (("completed", "Completed"), ("in_progress", "In progress"), ("not_started", "Not started")):
        share = [100.0 * v / n if n else 0 for v, n in zip(top[col], measured)]
        bars = ax.barh(y, share, left=left, color=sc[status], label=col, height=0.72, edgecolor=c["background"],
                       linewidth=0.6, picker=True)
        for bar, key, label, v, n in zip(bars, top["_key"], top[group], top[col], measured):
            bar.lms_drill = DrillRequest(key, status, label=str(label))
            bar.lms_tip = f"{label}: {v:,} of {n:,} learners {col.lower()} ({100.0 * v / n if n else 0:.1f} %)"
            if status == "completed" and bar.get_width() >= 6:
                ax.text(bar.get_width() / 2, bar.get_y() + bar.get_height() / 2, f"{v:,}", ha="center",
                        va="center", fontsize=7.5, color=text_on(sc[status]))
        left = [a + b for a, b in zip(left, share)]
    in_period = "Completed in period" in top.columns
    for yi, (_, row), n, u in zip(y, top.iterrows(), measured, untracked):
        if not n:
            text = f"completion not tracked · {row['Learners']:,} learners"
        else:
            text = f"{pct_text(row['Completion %'])} % of {n:,}"
            text += f" ({int(u):,} not tracked)" if u else ""
            text += f", {row['Completed in period']:,} in the period" if in_period else ""
        ax.text(101.5, yi, text, va="center", fontsize=8, color=c["muted"] if not n else c["text"])
    ax.set_yticks(y, [_short(v) for v in top[group]])
    ax.set_xlim(0, 140 if in_period else 125)
    ax.spines["bottom"].set_bounds(0, 100)
    ax.set_xticks(range(0, 101, 20))
    ax.xaxis.set_major_formatter(PercentFormatter(100, decimals=0))
    ax.set_xlabel("Share of learners (%); the number in a bar: learners who completed")
    ax.set_ylabel(group)
    ax.set_ylim(-0.6, len(top) - 0.4)
    _legend_top(ax, 3)
    _more_note(ax, len(top), len(t), f"{group.lower()}s (largest)", c)


# -- completion over time -------------------------------------------------------------------------

def _ts(values) -> list:
    from datetime import datetime

    return [date2num(datetime.fromtimestamp(int(v), tz=UTC)) for v in values]


def _date_axis(ax) -> None:
    loc = AutoDateLocator(minticks=3, maxticks=8)
    ax.xaxis.set_major_locator(loc)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(loc))


def _over_time(fig: Figure, r: ReportResult, c) -> None:
    t = r.tables["over_time"]
    group = r.chart.get("group", t.columns[1])
    order = [k for k in r.chart.get("order", list(dict.fromkeys(t["_key"])))][:MAX_LINES]
    ax = fig.add_subplot()
    _style(ax, c, "y")
    unit = r.chart.get("unit", "month")
    ends = []
    for i, key in enumerate(order):
        part = t[t["_key"] == key]
        if part.empty:
            continue
        # The value is the total by the end of the period (or by the as-of time, in the current one).
        x = _ts(part["_end"].clip(upper=(r.reference or 2**62) - 1) + 1)
        colour = c["sequence"][i % len(c["sequence"])]
        label = str(part[group].iloc[0])
        line, = ax.plot(x, part["Cumulative completions"], drawstyle="steps-post", color=colour, linewidth=2,
                        marker="o", markersize=3.5, label=_short(label, 28), picker=5)
        line.lms_drill = [DrillRequest(key, "completed_by", None, int(e), f"{label}, by {p}")
                          for e, p in zip(part["_end"], part["Period"])]
        ends.append((float(part["Cumulative completions"].iloc[-1]), x[-1], colour))
    ax.set_ylim(0, max([v for v, _x, _c in ends] + [1]) * 1.08)
    _end_labels(ax, ends)
    first = r.chart.get("first_sync")
    if first:
        ax.axvline(_ts([first])[0], color=c["muted"], linestyle=":", linewidth=1)
        ax.text(_ts([first])[0], 0.98, " first sync", transform=ax.get_xaxis_transform(), fontsize=7.5,
                color=c["muted"], va="top")
    _date_axis(ax)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("Completions, cumulative (learners)")
    ax.set_xlabel(f"Date (UTC), per {unit}")
    ax.legend(loc="upper left", fontsize=8, ncol=1 if len(order) <= 4 else 2)
    _more_note(ax, len(order), len(r.chart.get("order", order)), f"{group.lower()}s", c)


# -- engagement -----------------------------------------------------------------------------------

def _end_labels(ax, ends: list[tuple[float, float, str]]) -> None:
    """Each line's last value beside it, nudged apart so close values do not overlap."""
    lo, hi = ax.get_ylim()
    gap = (hi - lo) * 0.045
    placed: list[float] = []
    for value, x, colour in sorted(ends, reverse=True):
        y = value if not placed else min(value, placed[-1] - gap)
        placed.append(y)
        ax.annotate(f"{value:,.0f}", (x, y), xytext=(5, 0), textcoords="offset points", va="center", fontsize=8,
                    color=colour, annotation_clip=False)


def _engagement(fig: Figure, r: ReportResult, c) -> None:
    weekly, dist = r.tables["weekly"], r.tables["last_access"]
    top, bottom = fig.subplots(2, 1, height_ratios=[3, 2])
    _style(top, c, "y")
    x = _ts(weekly["_start"])
    bars = top.bar(x, weekly["Active users"], width=6, align="edge", color=c["sequence"][0], picker=True)
    for bar, s, e, week in zip(bars, weekly["_start"], weekly["_end"], weekly["Week of"]):
        bar.lms_drill = DrillRequest("all", "active", int(s), int(e), f"Week of {week}")
    if len(weekly) <= 30:
        top.bar_label(bars, [f"{v:,}" if v else "" for v in weekly["Active users"]], fontsize=7, padding=2,
                      color=c["text"])
    start = r.chart.get("history_start")
    if start:
        top.axvspan(x[0], _ts([start])[0], color=c["grid"], alpha=0.5, linewidth=0, zorder=0)
        top.text(x[0], 0.97, " before the access history began (undercounted)", transform=top.get_xaxis_transform(),
                 fontsize=7.5, color=c["muted"], va="top")
    _date_axis(top)
    top.set_ylabel("Active users")
    top.set_title("Active users per week (week starting Monday, UTC)", loc="left")
    top.margins(y=0.15)
    _counts_axis(top)
    _style(bottom, c, "x")
    y = list(range(len(dist)))[::-1]
    colours = [c["neutral"]] + [c["sequence"][0]] * 2 + [OKABE_ITO["orange"]] * 2 + [c["bad"]] * 2
    hbars = bottom.barh(y, dist["Users"], color=colours[: len(dist)], height=0.7, picker=True)
    for bar, key, label in zip(hbars, dist["_key"], dist["Last access"]):
        bar.lms_drill = DrillRequest(key, "last_access", label=str(label))
    bottom.bar_label(hbars, [f"{u:,} ({pct_text(p)} %)" if u else "0" for u, p in zip(dist["Users"], dist["% of users"])],
                     fontsize=7.5, padding=3, color=c["text"])
    bottom.set_yticks(y, list(dist["Last access"]))
    bottom.xaxis.set_major_locator(MaxNLocator(integer=True))
    bottom.set_xlabel("Users")
    bottom.margins(x=0.18)
    inactive, total, days = r.chart.get("inactive"), r.chart.get("total"), r.chart.get("inactive_days")
    title = "Last access"
    if inactive is not None and total:
        title += f" — inactive for over {days} days: {inactive:,} of {total:,} users"
    bottom.set_title(title, loc="left")


# -- assessment -----------------------------------------------------------------------------------

def _assessment(fig: Figure, r: ReportResult, c) -> None:
    summary = r.tables["summary"]
    graded = summary[summary["Graded"] > 0]
    if r.chart.get("style") == "histogram":
        _histograms(fig, r, graded, c)
        return
    items = graded.head(MAX_BOXES)
    ax = fig.add_subplot()
    _style(ax, c)
    stats = [{"med": row["Median %"], "q1": row["Q1 %"], "q3": row["Q3 %"], "whislo": row["Lowest %"],
              "whishi": row["Highest %"], "mean": row["Mean %"], "fliers": [],
              "label": _short(f"{row['Course']} · {row['Grade item']} (n = {row['Graded']:,})", 44)}
             for _, row in items.iterrows()][::-1]
    colour = c["sequence"][0]
    art = ax.bxp(stats, orientation="horizontal", showmeans=True, patch_artist=True, widths=0.6,
                 boxprops={"facecolor": colour + "55", "edgecolor": colour},
                 medianprops={"color": c["text"], "linewidth": 1.6}, whiskerprops={"color": c["axes"]},
                 capprops={"color": c["axes"]},
                 meanprops={"marker": "D", "markerfacecolor": c["warning"], "markeredgecolor": c["warning"],
                            "markersize": 4})
    for box, (_, row) in zip(art["boxes"], list(items.iterrows())[::-1]):
        box.set_picker(True)
        box.lms_drill = DrillRequest(row["_key"], "graded", label=f"{row['Course']} · {row['Grade item']}")
    # Extra credit can go far past 100 %: the axis stops a little after the boxes, and a whisker
    # running off the edge is labelled with its end instead.
    right = max(105.0, float(items["Q3 %"].max() or 100) + 10)
    ax.set_xlim(0, right)
    for i, (_, row) in enumerate(list(items.iterrows())[::-1], start=1):
        if row["Highest %"] > right:
            ax.text(right, i + 0.3, f"max {row['Highest %']:.0f} % →", ha="right", va="bottom", fontsize=7,
                    color=c["muted"])
    ax.xaxis.set_major_formatter(PercentFormatter(100, decimals=0))
    # Two short lines at the plot's right edge: centred under a plot narrowed by long item names, one long
    # line ran off the figure at the pane's usual sizes.
    ax.set_xlabel(BOX_KEY, loc="right")
    _more_note(ax, len(items), len(graded), "grade items", c)


def _histograms(fig: Figure, r: ReportResult, graded, c) -> None:
    hist = r.tables["histogram"]
    items = graded.head(MAX_PANELS)
    n = max(1, len(items))
    cols = 1 if n == 1 else 2 if n <= 4 else 3
    rows = math.ceil(n / cols)
    axes = fig.subplots(rows, cols, squeeze=False, sharex=True)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    for ax, (_, item) in zip(axes.flat, items.iterrows()):
        _style(ax, c, "y")
        h = hist[hist["_key"] == item["_key"]]
        bars = ax.bar(h["_lo"], h["Learners"], width=9.2, align="edge", color=c["sequence"][0], picker=True)
        for bar, lo, hi in zip(bars, h["_lo"], h["_hi"]):
            bar.lms_drill = DrillRequest(item["_key"], "bin", int(lo), int(hi), f"{item['Grade item']} {lo}–{hi} %")
        ax.bar_label(bars, [f"{v:,}" if v else "" for v in h["Learners"]], fontsize=7, padding=1, color=c["text"])
        ax.set_title(_short(f"{item['Course']} · {item['Grade item']}", 40), loc="left", fontsize=9)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlim(0, 100)
        ax.margins(y=0.2)
        ax.xaxis.set_major_formatter(PercentFormatter(100, decimals=0))
    for ax in axes[-1]:
        ax.set_xlabel("Grade (%)")
    for ax in axes[:, 0]:
        ax.set_ylabel("Learners")
    _more_note(axes.flat[n - 1], len(items), len(graded), "grade items", c)


# -- compliance -----------------------------------------------------------------------------------

def _compliance(fig: Figure, r: ReportResult, c) -> None:
    t = r.tables["totals"].head(MAX_BARS).iloc[::-1]
    ax = fig.add_subplot()
    _style(ax, c)
    sc = status_colors(c)
    y = list(range(len(t)))
    left = [0] * len(t)
    total = max(int(t["People"].max() or 1), 1)
    for status, col in (("completed", "Completed"), ("in_progress", "In progress"), ("not_started", "Not started"),
                        ("overdue", "Overdue")):
        bars = ax.barh(y, t[col], left=left, color=sc[status], label=col, height=0.66, edgecolor=c["background"],
                       linewidth=0.6, picker=True)
        for bar, key, course, v in zip(bars, t["_key"], t["Course"], t[col]):
            bar.lms_drill = DrillRequest(key, status, label=str(course))
            if v and bar.get_width() >= total * 0.06:
                ax.text(bar.get_x() + bar.get_width() / 2, bar.get_y() + bar.get_height() / 2, f"{v:,}",
                        ha="center", va="center", fontsize=7.5, color=text_on(sc[status]))
        left = [a + int(b) for a, b in zip(left, t[col])]
    for yi, (_, row) in zip(y, t.iterrows()):
        ax.text(row["People"] + total * 0.01, yi, f"{pct_text(row['Compliance %'])} % compliant", va="center", fontsize=8,
                color=c["text"])
    ax.set_yticks(y, [f"{_short(co, 26)}\ndue {d}" if d != "No deadline" else _short(co, 26)
                      for co, d in zip(t["Course"], t["Due"])])
    ax.set_xlim(0, total * 1.22)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("People")
    ax.set_ylim(-0.6, len(t) - 0.4)
    _legend_top(ax, 4)


# -- enrolments -----------------------------------------------------------------------------------

def _enrolments(fig: Figure, r: ReportResult, c) -> None:
    cur, trend = r.tables["current"], r.tables["trend"]
    group = r.chart.get("group", cur.columns[1])
    left_ax, right_ax = fig.subplots(1, 2, width_ratios=[2, 3])
    _style(left_ax, c)
    top = cur.head(15).iloc[::-1]
    sc = status_colors(c)
    y = list(range(len(top)))
    a = left_ax.barh(y, top["Active"], color=sc["active"], label="Active", height=0.7, picker=True)
    s = left_ax.barh(y, top["Suspended"], left=top["Active"], color=sc["suspended"], label="Suspended", height=0.7,
                     picker=True)
    for bars, status in ((a, "active"), (s, "suspended")):
        for bar, key, label in zip(bars, top["_key"], top[group]):
            bar.lms_drill = DrillRequest(key, status, label=str(label))
    left_ax.bar_label(s, [f"{t:,}" for t in top["Total"]], fontsize=7.5, padding=3, color=c["text"])
    left_ax.set_yticks(y, [_short(v, 24) for v in top[group]])
    left_ax.set_xlabel("Enrolments now")
    left_ax.margins(x=0.15)
    left_ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=4))
    left_ax.set_title(f"Current enrolments per {group.lower()}", loc="left", pad=20)
    _legend_top(left_ax, 2)
    _more_note(left_ax, len(top), len(cur), f"{group.lower()}s", c)
    _style(right_ax, c, "y")
    keys = list(cur["_key"].head(MAX_LINES - 2))
    for i, key in enumerate(keys):
        part = trend[trend["_key"] == key]
        colour = c["sequence"][i % len(c["sequence"])]
        line, = right_ax.plot(_ts(part["_start"]), part["New enrolments"], color=colour, marker="o", markersize=3.5,
                              linewidth=1.8, label=_short(part[group].iloc[0], 24), picker=5)
        line.lms_drill = [DrillRequest(key, "enrolled_between", int(st), int(e), f"{part[group].iloc[0]}, {m}")
                          for st, e, m in zip(part["_start"], part["_end"], part["Month"])]
    _date_axis(right_ax)
    right_ax.set_ylim(bottom=0)
    _counts_axis(right_ax)
    right_ax.set_ylabel("New enrolments per month")
    right_ax.set_xlabel("Month (UTC)")
    right_ax.set_title("New enrolments per month", loc="left", pad=20)
    right_ax.legend(loc="upper left", fontsize=7.5)

"""Charts of the reports after QA: the box plot's axis label fits, completion labels keep one decimal, and
the engagement title says what "inactive" counts."""

from __future__ import annotations

import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.text import Text

from lms_console.services import charts
from lms_console.services.reports import ReportParams, ReportResult
from lms_console.services.reports_export import PNG_DPI

NOW = 1_800_000_000


def _result(kind: str, tables: dict, chart: dict) -> ReportResult:
    return ReportResult(kind, kind.title(), ReportParams(), tables, NOW, NOW, "a summary", chart=chart)


def _texts(fig) -> list[str]:
    return [t.get_text() for t in fig.findobj(Text) if t.get_text() and t.get_visible()]


def _boxes(items: int, name: str) -> ReportResult:
    summary = pd.DataFrame([{"_key": f"item:{i}", "Course": f"{name} {i}", "Grade item": f"Final assignment {i}",
                             "Type": "assign", "Graded": 236, "No grade": 2, "Mean %": 61.0, "Median %": 60.0,
                             "Q1 %": 45.0, "Q3 %": 75.0, "Lowest %": 10.0, "Highest %": 98.0} for i in range(items)])
    return _result("assessment", {"summary": summary, "histogram": pd.DataFrame()}, {"style": "box"})


# The pane's chart at 1400x860 and 1024x700 and its narrowest (400 px wide), then the export and print sizes.
SIZES = [((7.48, 4.0), 100, False), ((4.82, 2.62), 100, False), ((4.0, 2.6), 100, False),
         ((11, 6.5), PNG_DPI, True), ((10, 5.6), 150, True)]


@pytest.mark.parametrize("size, dpi, heading", SIZES)
@pytest.mark.parametrize("name", ["C", "Introduction to workplace safety"])
def test_the_box_plot_axis_label_fits_in_the_figure(size, dpi, heading, name):
    """QA: the x-axis label ran off the right edge ("…◆: mean, whiskers: lowest") at the pane's sizes."""
    fig = charts.build_figure(_boxes(25, name), charts.palette(), size=size, dpi=dpi, heading=heading)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    label = fig.axes[0].xaxis.label
    assert "whiskers: lowest–highest" in label.get_text()
    box = label.get_window_extent(renderer)
    assert box.x0 >= 0 and box.x1 <= fig.bbox.x1 and box.y0 >= 0, (box, fig.bbox)
    note = next(t for t in fig.findobj(Text) if "grade items drawn" in t.get_text())
    assert fig.bbox.contains(*note.get_window_extent(renderer).p0)  # the note under it still shows


def test_completion_labels_keep_one_decimal():
    """QA: "25 % of 236" beside "30.6 % of 255"."""
    t = pd.DataFrame({"_key": ["course:1", "course:2"], "Course": ["C1", "C2"], "Learners": [236, 255],
                      "Completed": [59, 78], "In progress": [100, 100], "Not started": [77, 77],
                      "Completion %": [25.0, 30.6]})
    got = _texts(charts.build_figure(_result("completion", {"rates": t}, {"group": "Course"}), charts.palette()))
    assert "25.0 % of 236" in got and "30.6 % of 255" in got, got


def test_the_engagement_title_says_over_the_inactive_days():
    weekly = pd.DataFrame([("all", "w0", NOW, NOW + 7 * 86400 - 1, 3, 50.0)],
                          columns=["_key", "Week of", "_start", "_end", "Active users", "% of users"])
    dist = pd.DataFrame([("bucket:never", "Never", 1, 16.7), ("bucket:30", "8–30 days ago", 3, 50.0),
                         ("bucket:90", "31–90 days ago", 2, 33.3)], columns=["_key", "Last access", "Users", "% of users"])
    fig = charts.build_figure(_result("engagement", {"weekly": weekly, "last_access": dist},
                                      {"inactive": 3, "total": 6, "inactive_days": 30}), charts.palette())
    assert fig.axes[1].get_title(loc="left") == "Last access — inactive for over 30 days: 3 of 6 users"

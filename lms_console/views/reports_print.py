"""A report as a printable document: title, as-of time, the chart, the main table and the notes.

Printing goes through Qt (QPrinter + QPrintDialog, shown window-modal: PySide6 has no zero-argument
``QPrintDialog.open()``); the same document prints to a PDF file with ``QPrinter.setOutputFileName``.
"""

from __future__ import annotations

import html
import io
import time

from PySide6.QtCore import QUrl
from PySide6.QtGui import QImage, QTextDocument

from lms_console.models.reports_model import format_cell

MAX_ROWS = 500


def report_document(result, palette: dict) -> QTextDocument:
    from lms_console.services.charts import build_figure
    from lms_console.services.reports_export import visible

    doc = QTextDocument()
    fig = build_figure(result, palette, size=(10, 5.6), dpi=150)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=150, facecolor=fig.get_facecolor())
    image = QImage.fromData(buf.getvalue(), "PNG")
    doc.addResource(QTextDocument.ResourceType.ImageResource, QUrl("report://chart"), image)
    as_of = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(result.as_of)) if result.as_of else "never synced"
    parts = [f"<h2>{html.escape(result.title)}</h2>",
             (f"<p>{html.escape(result.subtitle)}<br>Data as of {as_of}; printed "
             f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}</p>"),
             '<p><img src="report://chart" width="640"></p>']
    main = result.main
    if main is not None and not result.is_empty:
        shown = visible(main)
        head = "".join(f"<th align='left'>{html.escape(str(c))}</th>" for c in shown.columns)
        rows = []
        for row in shown.head(MAX_ROWS).itertuples(index=False, name=None):
            rows.append("<tr>" + "".join(f"<td>{html.escape(format_cell(v, str(c)))}</td>"
                                         for v, c in zip(row, shown.columns)) + "</tr>")
        more = f"<p>… and {len(shown) - MAX_ROWS:,} more rows (export the data for all).</p>" if len(shown) > MAX_ROWS else ""
        parts.append(f"<table border='1' cellspacing='0' cellpadding='3'><tr>{head}</tr>{''.join(rows)}</table>{more}")
    if result.notes:
        parts.append("<h3>Notes</h3><ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in result.notes) + "</ul>")
    doc.setHtml("".join(parts))
    return doc

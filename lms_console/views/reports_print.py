"""A report as a printable document: title, as-of time, the chart, the main table and the notes;
and the reports pane's export and print actions (:class:`ReportExportMixin`).

Printing goes through Qt (QPrinter + QPrintDialog, shown window-modal: PySide6 has no zero-argument
``QPrintDialog.open()``); the same document prints to a PDF file with ``QPrinter.setOutputFileName``.
"""

from __future__ import annotations

import html
import io
import time

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QImage, QTextDocument
from PySide6.QtWidgets import QFileDialog

from lms_console.models.reports_model import format_cell
from lms_console.views import theme

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


class ReportExportMixin:
    """Export and print of the reports pane (``self.result``, ``self.banner``, ``self.model``)."""

    def ask_export(self, fmt: str) -> None:
        if self.result is None:
            return
        filters = {"png": "PNG image (*.png)", "svg": "SVG drawing (*.svg)", "pdf": "PDF document (*.pdf)",
                   "csv": "CSV, comma-separated (*.csv)", "xlsx": "Excel workbook (*.xlsx)"}
        name = f"{self.result.kind}-{time.strftime('%Y%m%d-%H%M')}.{fmt}"
        dialog = QFileDialog(self, "Export report", name, filters[fmt])
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setDefaultSuffix(fmt)
        dialog.fileSelected.connect(lambda path, f=fmt: self.export(path, f))
        self._file_dialog = dialog
        dialog.open()

    def export(self, path: str, fmt: str) -> None:
        """Write the chart (png/svg/pdf, drawn here on the GUI thread) or the data (csv/xlsx, off it)."""
        result = self.result
        if result is None:
            return
        if fmt in ("csv", "xlsx"):
            table = self.current_table()
            self.model.export_data(result, path, fmt, table[0] if table else None)
            return
        from lms_console.services.charts import build_figure
        from lms_console.services.reports_export import export_figure

        try:
            export_figure(build_figure(result, theme.chart_palette(), size=(11, 6.5)), path, fmt)
        except OSError as exc:
            self.banner.show_message("warning", f"The file could not be written: {exc.strerror or exc} ({path})")
            return
        self.banner.show_notice(f"Saved {path}.")

    def ask_print(self) -> None:
        try:
            from PySide6.QtPrintSupport import QPrintDialog, QPrinter
        except ImportError:  # a Qt build without printing: a PDF is the next best thing
            self.banner.show_message("info", "Printing is not available in this installation; save the report as "
                                             "PDF and print that instead.")
            self.ask_export("pdf")
            return

        printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        if self.result is not None:
            printer.setDocName(self.result.title)  # the print job's name, and the PDF's title
        dialog = QPrintDialog(printer, self)
        # QPrintDialog.open() wants (receiver, member) in PySide6 and exec() would nest an event loop:
        # show it window-modal and print when it is accepted.
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.accepted.connect(lambda p=printer: self.print_to(p))
        if self._print_dialog is not None:
            self._print_dialog[0].deleteLater()  # the one before (its printer goes with this tuple)
        self._print_dialog = (dialog, printer)
        dialog.show()

    def print_to(self, printer) -> None:
        """The chart, the main table (first 500 rows) and the notes, on ``printer`` (any QPagedPaintDevice)."""
        result = self.result
        if result is None:
            return
        doc = report_document(result, theme.chart_palette("light"))
        doc.print_(printer)

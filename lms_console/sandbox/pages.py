"""Non-JSON answers: the web server's HTML error pages and Moodle's XML format.

A real site sits behind nginx, which answers some failures itself with small
HTML pages (414 for a too-long URL, 413 for a too-large body, 502 when PHP is
down, 429 from a rate limiter).  The client must cope with those, so the
sandbox produces the same kind of page.
"""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

REASONS = {
    403: "Forbidden", 404: "Not Found", 413: "Request Entity Too Large", 414: "Request-URI Too Large",
    429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Temporarily Unavailable",
}


def nginx_page(status: int) -> bytes:
    """The HTML body nginx sends for ``status``."""
    title = f"{status} {REASONS.get(status, 'Error')}"
    return (f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n"
            f"<hr><center>nginx/1.22.1</center>\r\n</body>\r\n</html>\r\n").encode()


def moodle_error_page(message: str) -> bytes:
    """A minimal version of Moodle's HTML error page (used by pluginfile.php)."""
    return (f"<!DOCTYPE html>\n<html><head><title>Error</title></head><body>"
            f"<div class=\"box errorbox alert alert-danger\"><p class=\"errormessage\">{escape(message)}</p>"
            f"</div></body></html>\n").encode()


def _xml_value(value, out: list[str]) -> None:
    if isinstance(value, dict):
        out.append("<SINGLE>\n")
        for key, item in value.items():
            out.append(f"<KEY name={quoteattr(str(key))}>")
            _xml_value(item, out)
            out.append("</KEY>\n")
        out.append("</SINGLE>\n")
    elif isinstance(value, list):
        out.append("<MULTIPLE>\n")
        for item in value:
            _xml_value(item, out)
        out.append("</MULTIPLE>\n")
    elif value is None:
        out.append('<VALUE null="null"/>')
    elif value is True or value is False:
        out.append(f"<VALUE>{1 if value else 0}</VALUE>\n")
    else:
        out.append(f"<VALUE>{escape(str(value))}</VALUE>\n")


def xml_response(value) -> bytes:
    out = ['<?xml version="1.0" encoding="UTF-8" ?>\n<RESPONSE>\n']
    if value is not None:
        _xml_value(value, out)
    out.append("</RESPONSE>\n")
    return "".join(out).encode()


def xml_error(error: dict) -> bytes:
    parts = [f'<?xml version="1.0" encoding="UTF-8" ?>\n<EXCEPTION class={quoteattr(error["exception"])}>\n']
    if "errorcode" in error:
        parts.append(f"<ERRORCODE>{escape(str(error['errorcode']))}</ERRORCODE>\n")
    parts.append(f"<MESSAGE>{escape(error['message'])}</MESSAGE>\n")
    if "debuginfo" in error:
        parts.append(f"<DEBUGINFO>{escape(error['debuginfo'])}</DEBUGINFO>\n")
    parts.append("</EXCEPTION>\n")
    return "".join(parts).encode()

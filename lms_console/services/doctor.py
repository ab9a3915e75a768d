"""The connection doctor: what a token can do on a site, and how to fix what it cannot.

Reads ``core_webservice_get_site_info`` (the functions of the token's service,
admin flag, upload flags and limit) and maps it onto the console's features
(:data:`~lms_console.services.lms.base.FEATURES`).  The result is a plain data
report that the CLI prints and the GUI shows feature by feature.
"""

from __future__ import annotations

from dataclasses import dataclass

from lms_console.services.lms.base import (
    PLUGIN_OF_FUNCTION,
    Capabilities,
    FeatureStatus,
    SiteInfo,
    capabilities_from,
)
from lms_console.services.lms.errors import LmsError
from lms_console.services.progress import NEVER_CANCELLED, CancelToken
from lms_console.services.units import human_size

SERVICE_SETTING = ("Site administration > Server > Web services > External services > "
                   "(the console's service) > Functions > Add functions")


@dataclass(frozen=True, slots=True)
class DoctorReport:
    site: SiteInfo | None
    capabilities: Capabilities | None
    error: LmsError | None = None
    insecure: bool = False

    @property
    def healthy(self) -> bool:
        return self.error is None and self.capabilities is not None and self.capabilities.healthy


def fix_for(status: FeatureStatus) -> list[str]:
    """Plain-language steps that make a feature work."""
    steps: list[str] = []
    plugin_fns = [f for f in status.missing if f in PLUGIN_OF_FUNCTION]
    core_fns = [f for f in status.missing if f not in PLUGIN_OF_FUNCTION]
    if plugin_fns:
        plugins = sorted({PLUGIN_OF_FUNCTION[f] for f in plugin_fns})
        steps.append(f"Install the plugin {', '.join(plugins)} (MoodleSync/sync-plugin) on the site, then add "
                     f"{', '.join(plugin_fns)} to the service ({SERVICE_SETTING}).")
    if core_fns:
        steps.append(f"Add {', '.join(core_fns)} to the service ({SERVICE_SETTING}).")
    steps.extend(status.problems)
    return steps


def diagnose(client, *, insecure: bool = False, cancel: CancelToken = NEVER_CANCELLED) -> DoctorReport:
    """Connect and build the report; expected failures end up in ``report.error``."""
    try:
        site = client.site_info(cancel=cancel)
    except LmsError as exc:
        return DoctorReport(site=None, capabilities=None, error=exc, insecure=insecure)
    return DoctorReport(site=site, capabilities=capabilities_from(site), insecure=insecure)


def _size(n: int) -> str:
    if n < 0:
        return "no limit (site administrator)"
    if n == 0:
        return "site default"
    return human_size(n)


def render(report: DoctorReport, url: str) -> list[str]:
    """The report as terminal lines (no colours; the CLI adds them if it wants)."""
    lines = [f"Site URL:        {url}"]
    if report.insecure:
        lines.append("WARNING:         plain HTTP to a non-local host: the token travels unencrypted")
    if report.error is not None:
        err = report.error
        lines += [f"Connection:      FAILED - {err}", f"What to do:      {err.hint}"]
        return lines
    site, caps = report.site, report.capabilities
    assert site is not None and caps is not None
    lines += [
        f"Site:            {site.sitename}",
        f"Release:         {site.release} (version {site.version})",
        f"Signed in as:    {site.fullname} ({site.username}, id {site.userid})",
        f"Site admin:      {'yes' if site.is_site_admin else 'NO - some features will fail for lack of permissions'}",
        f"Uploads:         {'allowed' if site.upload_allowed else 'NOT allowed by the service'}; "
        f"limit per file {_size(site.max_upload_bytes)}",
        f"Downloads:       {'allowed' if site.download_allowed else 'NOT allowed by the service'}",
        f"Functions:       {len(site.functions)} in the token's service",
        "",
        "Features:",
    ]
    for st in caps.statuses:
        mark = "ok " if st.available else "NO "
        lines.append(f"  [{mark}] {st.feature.title}")
        if st.missing:
            lines.append(f"          missing: {', '.join(st.missing)}")
        for step in fix_for(st):
            lines.append(f"          fix: {step}")
        if st.available and st.missing_optional:
            lines.append(f"          (optional, not in the service: {', '.join(st.missing_optional)})")
    lines += ["", "Healthy" if report.healthy else "NOT healthy: see the features marked NO above"]
    return lines

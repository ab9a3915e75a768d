"""``lms-console doctor``: what the profile's token can do on its site, and how to fix the rest."""

from __future__ import annotations

import argparse
import json

from lms_console.commands import (
    add_profile_option,
    profile_and_token,
    profile_store,
    record_use,
)
from lms_console.services.connection import open_client
from lms_console.services.doctor import diagnose, fix_for, render


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_profile_option(parser)
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def run(args: argparse.Namespace) -> int:
    store = profile_store()
    profile, token = profile_and_token(args.profile, store=store)
    client = open_client(profile, token)
    try:
        report = diagnose(client, insecure=profile.security_warning is not None)
    finally:
        client.transport.close()
    if args.json:
        print(json.dumps(_as_json(report, profile.url), indent=2))
    else:
        if profile.security_warning:
            print(f"WARNING: {profile.security_warning}")
        print("\n".join(render(report, profile.url)))
    if not report.healthy:
        return 1
    record_use(store, profile)
    return 0


def _as_json(report, url: str) -> dict:
    out: dict = {"url": url, "healthy": report.healthy}
    if report.error is not None:
        err = report.error
        out["error"] = {"type": type(err).__name__, "code": err.code, "message": err.message, "hint": err.hint}
        return out
    site = report.site
    out["site"] = {"name": site.sitename, "release": site.release, "version": site.version,
                   "user": site.username, "userid": site.userid, "site_admin": site.is_site_admin,
                   "upload_allowed": site.upload_allowed, "download_allowed": site.download_allowed,
                   "max_upload_bytes": site.max_upload_bytes, "functions": len(site.functions)}
    out["features"] = [{"key": st.feature.key, "title": st.feature.title, "available": st.available,
                        "missing": list(st.missing), "missing_optional": list(st.missing_optional),
                        "fix": fix_for(st)} for st in report.capabilities.statuses]
    return out

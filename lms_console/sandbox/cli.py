"""Command line of the sandbox: ``lms-console sandbox`` and ``python -m lms_console.sandbox``.

``add_arguments(parser)`` declares the options, ``run(args)`` serves until
Ctrl+C or SIGTERM.  With ``--ready-line`` (what ``python -m`` uses) it first
prints exactly one machine-readable line ``SANDBOX_READY {json}`` carrying the
URL, the tokens and the control secret, which :class:`SandboxProcess` reads.
The admin token is a local demo token, so printing it is fine.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import sys
import threading

READY_PREFIX = "SANDBOX_READY "


def _number(kind, *, low: float, high: float | None = None, what: str):
    """An argparse ``type`` accepting ``kind`` values in [low, high]; anything else is a usage error."""
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {'a whole number' if kind is int else 'a number'}")
        if math.isnan(value) or value < low or (high is not None and value > high):  # NaN included
            raise argparse.ArgumentTypeError(f"{text} is out of range: {what}")
        return value

    return parse


_COUNT = _number(int, low=1, what="give a count of at least 1")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--users", type=_COUNT, default=2000, help="number of seeded users (default 2000)")
    parser.add_argument("--courses", type=_COUNT, default=40, help="number of seeded courses (default 40)")
    parser.add_argument("--enrolments-per-user", type=_number(float, low=0, what="give 0 or more"), default=5.0,
                        help="average enrolments per user")
    parser.add_argument("--seed", type=int, default=1, help="random seed of the generated site")
    parser.add_argument("--port", type=_number(int, low=0, high=65535, what="a port is 0 to 65535"), default=0,
                        help="port on 127.0.0.1 (0 = any free port)")
    parser.add_argument("--path", default=None, help="SQLite file to use/keep (default: a temporary one)")
    parser.add_argument("--latency-ms", type=_number(float, low=0, what="give 0 or more"), default=0.0,
                        help="added latency per request")
    parser.add_argument("--jitter-ms", type=_number(float, low=0, what="give 0 or more"), default=0.0,
                        help="random +- jitter on the latency")
    parser.add_argument("--error-rate", type=_number(float, low=0, high=1, what="a share from 0 to 1"), default=0.0,
                        help="share of requests answered 502 (0 to 1)")
    parser.add_argument("--max-input-vars", type=_COUNT, default=1000, help="PHP max_input_vars (default 1000)")
    parser.add_argument("--response-cache", action="store_true",
                        help="cache answers of read functions until a write (benchmarks: a latency-bound site)")
    parser.add_argument("--debug", action="store_true", help="Moodle developer debugging (adds debuginfo)")
    parser.add_argument("--no-sync-service", action="store_true", help="leave out the local_sync_service plugin")
    parser.add_argument("--control-secret", default=None, help="secret for POST /_sandbox/control")
    parser.add_argument("--ready-line", action="store_true", help="print one SANDBOX_READY {json} line when ready")


def _settings(args):
    from .settings import FaultSettings, SandboxSettings

    faults = FaultSettings(latency_ms=args.latency_ms, jitter_ms=args.jitter_ms, error_rate=args.error_rate,
                           seed=args.seed)
    return SandboxSettings(debug=args.debug, max_input_vars=args.max_input_vars, response_cache=args.response_cache,
                           enable_sync_service=not args.no_sync_service,
                           control_secret=args.control_secret or os.environ.get("LMS_SANDBOX_CONTROL_SECRET"),
                           faults=faults)


def run(args) -> int:
    from .server import SandboxServer

    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()

    previous = signal.signal(signal.SIGTERM, on_signal)
    server = SandboxServer(path=args.path, users=args.users, courses=args.courses, seed=args.seed, port=args.port,
                           settings=_settings(args), enrolments_per_user=args.enrolments_per_user)
    try:
        server.start()
        if args.ready_line:
            print(READY_PREFIX + json.dumps({
                "url": server.url, "admin_token": server.admin_token, "limited_token": server.limited_token,
                "expired_token": server.expired_token, "control_secret": server.control_secret,
                "pid": os.getpid()}), flush=True)
        else:
            print(f"Sandbox LMS serving at {server.url}")
            print(f"admin token:   {server.admin_token}")
            print(f"limited token: {server.limited_token}")
            print("Press Ctrl+C to stop.", flush=True)
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        signal.signal(signal.SIGTERM, previous)
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lms_console.sandbox",
                                     description="Local Moodle-compatible LMS for demos, tests and benchmarks.")
    add_arguments(parser)
    args = parser.parse_args(argv)
    return run(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""``lms-console``: the desktop window, or headless subcommands over the same services.

With no subcommand the GUI opens (``--demo`` on the local sandbox). Each
subcommand lives in its own module, imported only when it is the one run, so
``lms-console profile list`` does not load Qt, pandas or the sandbox; a
module that is missing gives one clear line instead of a traceback.

To add a command: write a module with ``add_arguments(parser)`` and
``run(args) -> int`` (see :mod:`lms_console.commands`) and list it in
:data:`COMMANDS`.

Exit codes: 0 ok, 1 failure, 2 usage error (bad arguments or values, including a profile name
that does not exist or, for ``profile add``, is already taken, and ``profile update`` given no option).
Expected problems (:class:`~lms_console.services.lms.errors.LmsError`, which
includes profile and credential errors) print as one line plus a hint.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
from types import SimpleNamespace
from typing import TYPE_CHECKING, NamedTuple, Sequence

from lms_console import __version__
from lms_console.services.credentials import TOKEN_ENV, InvalidToken, resolve_token
from lms_console.services.lms.errors import Cancelled, LmsError

if TYPE_CHECKING:
    import argparse

# The profile store is imported where a command runs: `lms-console` with no command opens
# the window, which loads it after its first paint.

__all__ = ["COMMANDS", "Command", "EXIT_FAILURE", "EXIT_OK", "EXIT_USAGE", "build_parser", "main",
           "resolve_token"]

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2
PROG = "lms-console"
GUI_MODULE = "lms_console.app"


class Command(NamedTuple):
    """A subcommand: its name, help line and the module providing ``add_arguments``/``run``."""

    name: str
    module: str
    help: str


COMMANDS: tuple[Command, ...] = (
    Command("profile", "lms_console.commands.profile_cmd",
            "add, change, list, show and remove connection profiles"),
    Command("doctor", "lms_console.commands.doctor_cmd",
            "check a profile's site, token, functions and permissions"),
    Command("sync", "lms_console.commands.sync_cmd", "pull a site into the local cache"),
    Command("sandbox", "lms_console.sandbox.cli", "run the local Moodle-compatible sandbox site"),
    Command("apply", "lms_console.commands.apply_cmd", "preview and apply a change set"),
    Command("journal", "lms_console.commands.journal_cmd", "show the journal of applied changes"),
    Command("report", "lms_console.commands.report_cmd", "build and export a report"),
)


class _Unavailable(Exception):
    """The selected command's module is not there (not written yet, or not installed)."""


# What the parser gives for no arguments at all (the window on the last profile): such a start
# builds no parser and does not import argparse (~8 ms before the first paint). A test keeps
# this equal to ``build_parser().parse_args([])``.
NO_ARGUMENTS = {"command": None, "demo": False, "self_test": False, "verbose": 0}
_WINDOW_FLAGS = frozenset({"--demo", "--self-test", "-v", "-vv", "-vvv", "--verbose"})


def _selected(argv: Sequence[str]) -> str | None:
    """The subcommand named in ``argv``: the first word that is not an option (global options take no value)."""
    for word in argv:
        if word == "--":
            return None
        if not word.startswith("-"):
            return word
    return None


def _load(command: Command):
    try:
        module = importlib.import_module(command.module)
    except ModuleNotFoundError as exc:
        # Only "this command's module (or its package) is missing" is a clear message;
        # a missing dependency inside it is a bug or a broken install and keeps its traceback.
        if exc.name and (command.module == exc.name or command.module.startswith(exc.name + ".")):
            raise _Unavailable(
                f"the '{command.name}' command is not available in this installation "
                f"(module {command.module} is missing)") from None
        raise
    if not (callable(getattr(module, "add_arguments", None)) and callable(getattr(module, "run", None))):
        raise _Unavailable(
            f"the '{command.name}' command is broken: {command.module} must define add_arguments(parser) and run(args)")
    return module


def build_parser(selected: str | None = None, *, with_commands: bool = True) -> argparse.ArgumentParser:
    """The argument parser; only the ``selected`` command's module is imported to add its arguments."""
    import argparse

    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Desktop workbench for LMS (Moodle) administrators. "
                    "Without a command, opens the desktop window.",
        epilog=f"Headless use: set {TOKEN_ENV} to the web-service token when no OS keychain is available. "
               f"'{PROG} COMMAND --help' describes each command.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--demo", action="store_true",
                        help="open the desktop window on the built-in demo site (no real LMS needed)")
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="more log output on stderr (-vv for debug); tokens are never logged")
    parser.add_argument("--self-test", action="store_true",
                        help="check this installation offscreen (sandbox, sync, every pane, a chart, a throwaway "
                             "keychain entry); exit 0, or 1 naming the failed step")
    if not with_commands:
        parser.set_defaults(command=None)
        return parser
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    for command in COMMANDS:
        p = sub.add_parser(command.name, help=command.help, description=command.help)
        if command.name == selected:
            module = _load(command)
            module.add_arguments(p)
            p.set_defaults(_run=module.run)
    return parser


def _configure_logging(verbosity: int) -> None:
    level = logging.WARNING if verbosity <= 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    logging.basicConfig(level=level, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")


def _print_error(message: str, hint: str = "") -> None:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    if hint:
        print(f"  {hint}", file=sys.stderr)


def _run_gui(args: argparse.Namespace) -> int:
    try:
        app = importlib.import_module(GUI_MODULE)
    except ModuleNotFoundError as exc:
        if exc.name in (GUI_MODULE, "lms_console"):
            _print_error("the desktop window is not available in this installation yet "
                         f"({GUI_MODULE} is missing).", f"Use a command instead; see '{PROG} --help'.")
            return EXIT_USAGE
        _print_error(f"cannot open the desktop window: the Python module {exc.name!r} is not installed.",
                     "Install the console with its dependencies (./dev demo, or pip install lms-console).")
        return EXIT_FAILURE
    return int(app.main(args) or 0)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:
        _configure_logging(0)
        return _run_gui(SimpleNamespace(**NO_ARGUMENTS))
    selected = _selected(argv)
    # Opening the window is the common start: with no arguments no parser is built (above); with only
    # global flags the command parsers are not built (~7 ms before the first paint). Anything else gets
    # the whole parser, so help and usage errors still list the commands.
    with_commands = not all(a in _WINDOW_FLAGS for a in argv)
    try:
        parser = build_parser(selected, with_commands=with_commands)
    except _Unavailable as exc:
        _print_error(f"{exc}.", f"See '{PROG} --help' for the commands.")
        return EXIT_USAGE
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or argparse's own usage message (code 2)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    _configure_logging(args.verbose)

    if args.self_test:  # by name, like the GUI: it imports the whole app
        return int(importlib.import_module("lms_console.selftest").run(args))
    if args.command is None:
        return _run_gui(args)

    # Light, and imported here so --version stays instant.
    from lms_console.commands import UsageError
    from lms_console.services.cache.errors import CacheError
    from lms_console.services.profiles import DuplicateProfile, InvalidProfileValue, ProfileNotFound

    try:
        return int(args._run(args) or 0)
    except Cancelled:
        return EXIT_FAILURE
    except (UsageError, InvalidProfileValue, ProfileNotFound, DuplicateProfile, InvalidToken) as exc:
        message = exc.message if isinstance(exc, LmsError) else str(exc)
        _print_error(message, getattr(exc, "hint", ""))
        return EXIT_USAGE
    except LmsError as exc:
        _print_error(str(exc), exc.hint)
        return EXIT_FAILURE
    except CacheError as exc:
        _print_error(str(exc), exc.hint)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        print(file=sys.stderr)
        _print_error("interrupted.")
        return 130
    except BrokenPipeError:  # `lms-console profile list | head`: stop quietly, as other tools do
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_FAILURE


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())

"""Registry of the web-service functions the sandbox implements.

Each function module decorates its handlers with :func:`ws`; the REST endpoint
looks functions up here, validates the request against the declared
parameters (before calling the handler, as Moodle's server does) and runs
write functions inside one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .validation import Single

CORE_VERSION = "2026020500"
PLUGIN_VERSION = "2024061800"


@dataclass(frozen=True)
class WsFunction:
    name: str
    handler: Callable
    params: Single
    write: bool
    plugin: bool
    transaction: bool

    @property
    def version(self) -> str:
        return PLUGIN_VERSION if self.plugin else CORE_VERSION


FUNCTIONS: dict[str, WsFunction] = {}


def ws(name: str, *, write: bool = False, plugin: bool = False, transaction: bool | None = None, **params):
    """Register ``handler(ctx, **validated_params)`` as web-service function ``name``.

    ``transaction`` (default: ``write``) wraps the whole call in one database
    transaction, so an exception anywhere undoes every row it wrote.
    """

    def decorate(handler: Callable) -> Callable:
        FUNCTIONS[name] = WsFunction(name, handler, Single(params), write, plugin,
                                     write if transaction is None else transaction)
        return handler

    return decorate


def load_all() -> dict[str, WsFunction]:
    """Import every function module (registration happens at import time)."""
    from .functions import (  # noqa: F401  (imported for their side effect)
        cohorts,
        completion,
        contents,
        courseformat,
        courses,
        enrol,
        files,
        grades,
        groups,
        site,
        sync_service,
        users,
    )

    return FUNCTIONS


def core_function_names() -> list[str]:
    return [name for name, fn in load_all().items() if not fn.plugin]


def plugin_function_names() -> list[str]:
    return [name for name, fn in load_all().items() if fn.plugin]

"""Command-line values coerced without building a pydantic model per parameter.

typer 0.29 coerces every parameter's value — the user's and the default — through a pydantic ``TypeAdapter``,
built at the parameter's first use: a scan imported pydantic and built about 40 adapters before it started,
0.15–0.2 s of every ``auditor`` command (a quarter of the demo scan's start-up). For the kinds of parameter
auditor declares (``str``, ``Path``, ``int``, enums, lists of those) the answer is known without pydantic:
typer's adapters for them wrap typer's own helpers (``coerce_cli_path``, ``coerce_cli_choice``) or return the
value as given. :class:`Direct` calls the same helpers and returns the same value. Anything it is not sure of —
a wrong choice, a missing file, a number out of range, bytes, a kind of parameter not listed here — goes to
typer's own adapter, built then, so every accepted value and every error message is typer's
(``tests/test_cli_params.py`` compares the two on every parameter of every command).
"""

from __future__ import annotations

import re
from enum import Enum
from pathlib import Path
from typing import Any, get_args, get_origin

_MISS = object()
_INT_RE = re.compile(r"[+-]?[0-9]+\Z")  # what both int() and pydantic accept unchanged (no spaces, no "_")


class Direct:
    """A typer ``RuntimeParam`` that answers the common cases itself and hands the rest to typer's."""

    def __init__(self, descriptor: Any) -> None:
        self.descriptor = descriptor
        self._typer: Any = None
        annotation = descriptor.annotation
        self.many = get_origin(annotation) is list
        leaf = get_args(annotation)[0] if self.many else annotation
        info = descriptor.parameter_info
        self.leaf: Any = None
        if descriptor.file_annotation is not None or info.parser is not None or get_origin(leaf) is not None:
            return  # files, custom parsers, nested types: typer's
        if leaf is str:
            self.leaf = _str
        elif isinstance(leaf, type) and issubclass(leaf, Path) and info.path_type is None:
            self.leaf = lambda value, param, ctx: _path(value, leaf, info, param, ctx)
        elif isinstance(leaf, type) and issubclass(leaf, Enum):
            choices = list(leaf)
            self.leaf = lambda value, param, ctx: _choice(value, choices, info.case_sensitive, ctx)
        elif leaf is int and not info.clamp:
            self.leaf = lambda value, param, ctx: _int(value, info.min, info.max)

    def typer_param(self) -> Any:
        if self._typer is None:
            from typer._coercion import build_runtime_param

            self._typer = build_runtime_param(self.descriptor)
        return self._typer

    def coerce(self, value: Any, param: Any, ctx: Any) -> Any:
        many = param.multiple or param.nargs == -1
        if value is None:  # typer's RuntimeParam.coerce, without an adapter
            return () if many else None
        out = _MISS
        if self.leaf is not None and many == self.many:
            try:
                if not many:
                    out = self.leaf(value, param, ctx)
                elif isinstance(value, (list, tuple)):
                    items = [self.leaf(v, param, ctx) for v in value]
                    out = _MISS if _MISS in items else items
            except Exception:  # noqa: BLE001 - typer's adapter says what is wrong, in typer's words
                out = _MISS
        if out is _MISS:
            return self.typer_param().coerce(value, param=param, ctx=ctx)
        return out


def _str(value: Any, param: Any, ctx: Any) -> Any:
    return value if isinstance(value, str) else _MISS


def _path(value: Any, path_type: type, info: Any, param: Any, ctx: Any) -> Any:
    from typer._param_types import coerce_cli_path

    if isinstance(value, str) and value:
        value = path_type(value)
    if not isinstance(value, path_type):
        return _MISS
    return coerce_cli_path(value, info, path_type=path_type, param=param, ctx=ctx)


def _choice(value: Any, choices: list[Enum], case_sensitive: bool, ctx: Any) -> Any:
    from typer._param_types import coerce_cli_choice

    if not isinstance(value, (str, Enum)):
        return _MISS
    return coerce_cli_choice(value, choices=choices, case_sensitive=case_sensitive, ctx=ctx)


def _int(value: Any, low: float | None, high: float | None) -> Any:
    if isinstance(value, str) and _INT_RE.match(value):
        value = int(value)
    if type(value) is not int:
        return _MISS
    if (low is not None and value < low) or (high is not None and value > high):
        return _MISS
    return value


def install() -> None:
    """Give typer's parameters :class:`Direct` (idempotent)."""
    from typer import core

    if getattr(core._TyperParameter.get_runtime_param, "_auditor", False):
        return

    def get_runtime_param(self: Any) -> Any:
        if self._runtime_param is None:
            self._runtime_param = Direct(self.type_descriptor)
        return self._runtime_param

    get_runtime_param._auditor = True  # type: ignore[attr-defined]
    core._TyperParameter.get_runtime_param = get_runtime_param  # type: ignore[method-assign]

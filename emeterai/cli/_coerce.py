"""Command-line values converted without pydantic when they are plain (a str, a path, a number).

Typer (0.2x) converts every parameter through a pydantic ``TypeAdapter``: importing pydantic
and building the adapters was a fifth of a cold ``emeterai verify``. :func:`install` puts a
fast path in front of Typer's: a value it can convert exactly as the adapter would (a str
stays itself; a path goes through Typer's own ``coerce_cli_path``, its checks included; a
plain decimal within the option's range becomes its int or float) is converted here, and
anything else, any failure included, goes to Typer's own conversion, so every error message
is Typer's. These are private names of Typer's (pinned below 1.0 in pyproject.toml);
``tests/cli/test_coerce.py`` is the contract test.

Upstream, Typer could keep such a fast path for the builtin types before reaching for pydantic.
"""

from __future__ import annotations

import re
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from typer import _coercion, _param_types
from typer import core as typer_core

ORIGINAL_BUILD = _coercion.build_runtime_param
_INT = re.compile(r"0|[1-9][0-9]{0,17}")
_FLOAT = re.compile(r"(?:0|[1-9][0-9]{0,14})(?:\.[0-9]{1,15})?")
_MISS = object()


def _plain(annotation: Any) -> Any:
    """The type a plain annotation converts to (``X | None`` is X), else None."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _plain(args[0]) if len(args) == 1 else None
    if annotation in (str, int, float, bool) or (
        isinstance(annotation, type) and issubclass(annotation, Path)
    ):
        return annotation
    return None


@dataclass(frozen=True)
class FastRuntimeParam(_coercion.RuntimeParam):
    """Typer's runtime parameter with a pydantic-free path for plain values."""

    descriptor: Any = None
    kind: Any = None
    item: Any = None  # a list's item type, or None for a single value

    def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
        if self.item is not None:
            if isinstance(value, list | tuple):
                done = [self._one(self.item, v, param, ctx) for v in value]
                if _MISS not in done:
                    return done
        else:
            done = self._one(self.kind, value, param, ctx)
            if done is not _MISS:
                return done
        return _real(self.descriptor)._coerce_value(value, param=param, ctx=ctx)

    def _one(self, kind: Any, value: Any, param: Any, ctx: Any) -> Any:
        info = self.parameter_info
        if kind is bool and type(value) is bool:
            return value
        if kind in (int, float) and type(value) in (int, float) and not info.clamp:
            if kind is int and type(value) is float:
                return _MISS
            number = kind(value)  # a default: pydantic makes an int default of a float a float
            if (info.min is not None and number < info.min) or (
                info.max is not None and number > info.max
            ):
                return _MISS
            return number
        if kind is not bool and isinstance(value, Path) and type(value) is not str:
            value = str(value)
        if type(value) is not str or kind is bool:
            return _MISS
        if kind is str:
            return value
        if kind in (int, float):
            if info.clamp or not (_INT if kind is int else _FLOAT).fullmatch(value):
                return _MISS
            number = kind(value)
            if (info.min is not None and number < info.min) or (
                info.max is not None and number > info.max
            ):
                return _MISS
            return number
        if not value or info.parser is not None:
            return _MISS
        path_type = info.path_type or kind
        if not (isinstance(path_type, type) and issubclass(path_type, Path)):
            return _MISS
        try:
            return _param_types.coerce_cli_path(
                path_type(value), info, path_type=path_type, param=param, ctx=ctx
            )
        except Exception:  # Typer's own conversion says what is wrong, in its words
            return _MISS


_REAL: dict[int, Any] = {}


def _real(descriptor: Any) -> Any:
    """Typer's own runtime parameter for ``descriptor``, built on first need."""
    key = id(descriptor)
    if key not in _REAL:
        _REAL[key] = (descriptor, ORIGINAL_BUILD(descriptor))
    return _REAL[key][1]


def build_runtime_param(descriptor: Any) -> Any:
    """Typer's ``build_runtime_param``, with the fast path for plain annotations."""
    info = descriptor.parameter_info
    if (
        descriptor.file_annotation is not None
        or info.parser is not None
        or getattr(info, "click_type", None) is not None
    ):
        return ORIGINAL_BUILD(descriptor)
    annotation = descriptor.annotation
    item = None
    if typing.get_origin(annotation) is list:
        (arg,) = typing.get_args(annotation) or (None,)
        item = _plain(arg)
        if item is None:
            return ORIGINAL_BUILD(descriptor)
        kind = list
    else:
        kind = _plain(annotation)
        if kind is None:
            return ORIGINAL_BUILD(descriptor)
    return FastRuntimeParam(
        parameter_info=info, annotation=annotation, descriptor=descriptor, kind=kind, item=item
    )


def install() -> None:
    """Put the fast path in front of Typer's conversion (idempotent)."""
    typer_core.build_runtime_param = build_runtime_param

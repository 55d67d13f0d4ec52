"""pyHanko's ``pyhanko.sign`` package, importable without running its ``__init__`` at once.

``pyhanko/sign/__init__.py`` imports every signer, and with them the timestamp clients and
aiohttp: about 300 ms of a cold ``emeterai verify``, which needs none of them (it needs
``pyhanko.sign.validation``, ``fields`` and ``general``, submodules of the package). Python
imports a package before any of its submodules, so :func:`install` puts a finder first on
``sys.meta_path`` that gives ``pyhanko.sign`` its real spec with a loader that runs the real
``__init__`` only when a name of the package itself is first asked for
(``from pyhanko.sign import PdfSigner``, ``pyhanko.sign.sign_pdf``); a submodule asked for by
name is imported alone. Every name is then the one the real package has: ``tests/test_lazy.py``
is the contract test. Installing costs nothing and imports nothing.

qrcode's ``qrcode.image.styles.moduledrawers`` is deferred the same way (see ``DEFERRED``).

Upstream, pyHanko could import its signers lazily in ``pyhanko/sign/__init__.py`` (a module
``__getattr__``, PEP 562).
"""

from __future__ import annotations

import sys
import threading
from types import ModuleType
from typing import Any

# qrcode's drawers package imports its PIL drawers "for backwards compatibility" (PIL is ~25 ms
# of a cold verify, which draws QR codes as PDF rectangles and never with PIL).
DEFERRED = frozenset({"pyhanko.sign", "qrcode.image.styles.moduledrawers"})
_lock = threading.RLock()


class _DeferredInit:
    """The real loader of a package, its ``exec_module`` put off until a name is asked for."""

    def __init__(self, loader: Any) -> None:
        self.loader = loader

    def create_module(self, spec: Any) -> ModuleType | None:
        return self.loader.create_module(spec)  # type: ignore[no-any-return]

    def exec_module(self, module: ModuleType) -> None:
        name = module.__name__
        loader = self.loader
        state = {"loaded": False}

        def load_rest(attr: str) -> Any:
            """A submodule of that name, imported alone; else the package's own ``__init__``,
            run once, on the first other name asked of it."""
            if not state["loaded"] and not attr.startswith("__"):
                import importlib
                import importlib.util

                try:
                    found = importlib.util.find_spec(f"{name}.{attr}")
                except (ImportError, ValueError):
                    found = None
                if found is not None:
                    return importlib.import_module(f"{name}.{attr}")
            with _lock:
                if not state["loaded"]:
                    state["loaded"] = True
                    del module.__dict__["__getattr__"]
                    module.__spec__.loader = loader  # type: ignore[union-attr]
                    module.__loader__ = loader
                    loader.exec_module(module)
            try:
                return module.__dict__[attr]
            except KeyError:
                raise AttributeError(f"module {name!r} has no attribute {attr!r}") from None

        module.__getattr__ = load_rest  # type: ignore[method-assign]


class _Finder:
    """Finds the deferred packages with the finders after it, and defers their ``__init__``."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname not in DEFERRED:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                if spec.loader is not None and spec.submodule_search_locations is not None:
                    spec.loader = _DeferredInit(spec.loader)  # type: ignore[assignment]
                return spec
        return None


_FINDER = _Finder()


def install() -> None:
    """Defer the ``__init__`` of the packages in ``DEFERRED`` for this process (those not
    imported yet)."""
    with _lock:
        if _FINDER not in sys.meta_path:
            sys.meta_path.insert(0, _FINDER)


def is_deferred(module: ModuleType) -> bool:
    """Has this package's ``__init__`` still not run?"""
    hook = module.__dict__.get("__getattr__")
    return getattr(hook, "__name__", "") == "load_rest"

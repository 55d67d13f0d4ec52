"""pyHanko's ``pyhanko.sign`` package, importable without running its ``__init__`` at once;
stamping without aiohttp.

``pyhanko/sign/__init__.py`` imports every signer, and with them the timestamp clients and
aiohttp: about 300 ms of a cold ``emeterai verify``, which needs none of them (it needs
``pyhanko.sign.validation``, ``fields`` and ``general``, submodules of the package). Python
imports a package before any of its submodules, so :func:`install` puts a finder first on
``sys.meta_path`` that gives ``pyhanko.sign`` its real spec with a loader that runs the real
``__init__`` only when a name of the package itself is first asked for
(``from pyhanko.sign import PdfSigner``, ``pyhanko.sign.sign_pdf``); a submodule asked for by
name is imported alone. Every name is then the one the real package has: ``tests/test_lazy.py``
is the contract test. Installing costs nothing and imports nothing.

qrcode's ``qrcode.image.styles.moduledrawers`` is deferred the same way (see ``DEFERRED``), and
so is ``PIL.Image``, a module rather than a package: reportlab's ``lib.utils`` imports it at its
top but uses it only to draw raster images, which the stamp picture has none of; its first
attribute asked for runs it (pypdf's page module asks for one, so stamping loads it anyway).

Stamping needs the signers but not aiohttp (about 250 ms of a cold ``emeterai stamp``, two
thirds of it loading the system's CA bundle twice for SSL contexts it never uses offline). Two
imports on the signers' way pull it in. ``pyhanko/sign/timestamps/__init__.py`` imports the HTTP
client beside ``TimeStamper``: the package is deferred, and the names in ``NAMES`` come from the
submodules that define them, without its ``__init__``; any other name (``HTTPTimeStamper``,
asked for when ``--tsa`` is given) runs it. ``pyhanko.sign.validation.ades`` imports
``AIOHttpFetcherBackend`` at its top for one call, made only when revocation data is to be
fetched: while that module runs (and only then) the name is served by a stand-in
(``STAND_INS``) that imports the real class on its first call and returns its instance.
``tests/test_lazy.py`` checks that pyHanko still uses the name only so.

Upstream, pyHanko could import its signers lazily in ``pyhanko/sign/__init__.py`` (a module
``__getattr__``, PEP 562), ``HTTPTimeStamper`` likewise in ``pyhanko/sign/timestamps``, and
``ades`` could import its fetcher backend inside the function that makes it, as
``pyhanko_certvalidator.fetchers`` already does for its default backend.
"""

from __future__ import annotations

import sys
import threading
from types import ModuleType
from typing import Any

# qrcode's drawers package imports its PIL drawers "for backwards compatibility" and reportlab
# imports PIL.Image (PIL is ~25 ms of a cold verify, which draws QR codes as PDF rectangles,
# never with PIL).
DEFERRED = frozenset(
    {"pyhanko.sign", "pyhanko.sign.timestamps", "qrcode.image.styles.moduledrawers", "PIL.Image"}
)
# Names of a deferred package taken from the submodule that defines them, without its __init__.
NAMES = {
    "pyhanko.sign.timestamps": {
        "TimeStamper": "api",
        "TimestampRequestError": "common_utils",
        "DummyTimeStamper": "dummy_client",
    },
}
# module -> (package it imports names from, the names): those names, while the module runs,
# are callables that import the package on their first call and call the real name.
STAND_INS = {
    "pyhanko.sign.validation.ades": (
        "pyhanko_certvalidator.fetchers.aiohttp_fetchers",
        ("AIOHttpFetcherBackend",),
    ),
}
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
        spec = module.__spec__
        package = spec is not None and spec.submodule_search_locations is not None

        def load_rest(attr: str) -> Any:
            """A submodule of that name, imported alone; a name of ``NAMES``, from its
            submodule; else the package's own ``__init__``, run once, on the first other name
            asked of it."""
            if not state["loaded"] and not attr.startswith("__") and package:
                import importlib
                import importlib.util

                defined_in = NAMES.get(name, {}).get(attr)
                if defined_in is not None:
                    value = getattr(importlib.import_module(f"{name}.{defined_in}"), attr)
                    module.__dict__[attr] = value
                    return value
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


class _WithStandIns:
    """The real loader of a module, run with ``STAND_INS`` names for the imports it makes."""

    def __init__(self, loader: Any, package: str, names: tuple[str, ...]) -> None:
        self.loader = loader
        self.package = package
        self.names = names

    def create_module(self, spec: Any) -> ModuleType | None:
        return self.loader.create_module(spec)  # type: ignore[no-any-return]

    def exec_module(self, module: ModuleType) -> None:
        if self.package in sys.modules:  # already imported: nothing to spare
            self.loader.exec_module(module)
            return
        stand_in = ModuleType(self.package)
        for attr in self.names:
            setattr(stand_in, attr, _first_call_imports(self.package, attr))
        sys.modules[self.package] = stand_in
        try:
            self.loader.exec_module(module)
        finally:
            if sys.modules.get(self.package) is stand_in:
                del sys.modules[self.package]


def _first_call_imports(package: str, attr: str) -> Any:
    def call(*args: Any, **kwargs: Any) -> Any:
        import importlib

        return getattr(importlib.import_module(package), attr)(*args, **kwargs)

    call.__name__ = call.__qualname__ = attr
    call.__doc__ = f"{package}.{attr}, imported on the first call (emeterai._lazy)."
    return call


class _Finder:
    """Finds the deferred packages (and the modules with stand-ins) with the finders after it,
    and wraps their loaders."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname not in DEFERRED and fullname not in STAND_INS:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is None:
                continue
            if spec.loader is not None and fullname in STAND_INS:
                package, names = STAND_INS[fullname]
                spec.loader = _WithStandIns(spec.loader, package, names)  # type: ignore[assignment]
            elif spec.loader is not None:
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

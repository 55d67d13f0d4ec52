"""emeterai: local, offline Indonesian e-meterai stamps on PDFs, and their verification.

The public API (README, "Use from Python") is importable from here; each name is loaded on
first use, so that importing the package (and ``emeterai --help``) stays fast. Modules whose
names start with ``_`` are internal and may change without notice.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from emeterai import _lazy

__version__ = "0.1.0"
_lazy.install()  # verifying never needs pyHanko's signers: ~300 ms of a cold start

_PUBLIC = {
    "StampOptions": "emeterai.stamp",
    "StampResult": "emeterai.stamp",
    "StampFailure": "emeterai.stamp",
    "stamp_file": "emeterai.stamp",
    "Verifier": "emeterai.verify",
    "VerifyResult": "emeterai.verify",
    "Problem": "emeterai.verify",
    "Code": "emeterai.verify",
    "Wallet": "emeterai.wallet",
    "TrustStore": "emeterai.trust",
    "Issuer": "emeterai.issuer",
    "open_ledger": "emeterai.ledger",
    "seal": "emeterai.seal",
    "SealResult": "emeterai.seal",
    "EmeteraiError": "emeterai.errors",
}
__all__ = [
    "Code",
    "EmeteraiError",
    "Issuer",
    "Problem",
    "SealResult",
    "StampFailure",
    "StampOptions",
    "StampResult",
    "TrustStore",
    "Verifier",
    "VerifyResult",
    "Wallet",
    "__version__",
    "open_ledger",
    "seal",
    "stamp_file",
]

if TYPE_CHECKING:
    from emeterai.errors import EmeteraiError
    from emeterai.issuer import Issuer
    from emeterai.ledger import open_ledger
    from emeterai.seal import SealResult, seal
    from emeterai.stamp import StampFailure, StampOptions, StampResult, stamp_file
    from emeterai.trust import TrustStore
    from emeterai.verify import Code, Problem, Verifier, VerifyResult
    from emeterai.wallet import Wallet


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'emeterai' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value

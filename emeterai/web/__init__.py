"""``emeterai serve``: the library in a browser (local mode) and over HTTP (service mode).

The web app is a skin like the command line: it parses a request, calls the library and
answers; every rule (what may be stamped, what a verdict is) lives in the library. Local mode
serves one person on 127.0.0.1 (wallet, stamping, checking); service mode serves only
verification, for portals, as stateless instances that may share one PostgreSQL ledger.
"""

from __future__ import annotations

from emeterai.web.config import Mode, ServeConfig

__all__ = ["Mode", "ServeConfig"]

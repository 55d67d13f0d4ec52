"""What emeterai keeps in its folder (``EMETERAI_HOME``), laid out once for the command line,
the web app and the demo: the wallet, the trusted issuers and timestamp authorities, the
browser's stamped files and its default ledger."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from emeterai.trust import TrustStore
    from emeterai.wallet import Wallet

__all__ = ["default_ledger", "stamped_folder", "trust_store", "wallet"]


def wallet(home: Path) -> Wallet:
    from emeterai.wallet import Wallet

    return Wallet(home / "wallet" / "wallet.db")


def trust_store(home: Path, tsa: bool = False) -> TrustStore:
    """The trusted issuers, or with ``tsa`` the trusted timestamp authorities."""
    from emeterai.trust import TrustStore

    folder = home / "trust"
    return TrustStore(folder / "tsa", tsa=True) if tsa else TrustStore(folder)


def stamped_folder(home: Path) -> Path:
    """Where ``emeterai serve`` keeps every file it stamped."""
    return home / "stamped"


def default_ledger(home: Path) -> Path:
    """The SQLite ledger the browser's checking page records in when none was given."""
    return home / "ledger" / "ledger.db"

"""Shared fixtures for the emeterai test suite.

Fixtures: ``passphrase``, ``home`` (isolated $EMETERAI_HOME), ``runner`` (Typer CliRunner),
``issuer`` (a trusted specimen issuer), ``verifier`` (trusting it), ``stamp_files`` and
``wallet_with_stamps`` (factories), ``kit`` (a home with 30 stamps shared by a module),
``postgres_server`` and ``ledger_location`` (each ledger test on SQLite and PostgreSQL).
Helpers live in ``tests/support``: ``from tests.support.common import PASSPHRASE, require_tool``
(``require_tool`` and ``corpus_dir`` skip locally when something is missing, but fail under CI).
"""

from __future__ import annotations

import itertools
import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

# English unless a test asks for another language: the tests read English messages whatever the
# machine's locale. Tests of Indonesian output pass --lang, or remove this from a child's env.
os.environ["EMETERAI_LANG"] = "en"

from emeterai.issuer import Issuer  # noqa: E402
from emeterai.trust import TrustStore  # noqa: E402
from emeterai.wallet import Wallet  # noqa: E402

# The helpers are the package tests.support, imported from the project root (pytest's
# `pythonpath` setting in pyproject.toml puts it on sys.path).
from tests.support.common import PASSPHRASE, STAMP_PASSPHRASE, _missing  # noqa: E402
from tests.support.pgserver import fresh_database  # noqa: E402
from tests.support.stamping import Kit  # noqa: E402


@pytest.fixture(autouse=True)
def _english_again() -> Iterator[None]:
    """A test that speaks another language (``--lang id`` through CliRunner changes it for the
    whole process) hands the next test English again."""
    yield
    from emeterai.cli import _framework

    _framework.speak("en")


@pytest.fixture
def indonesian() -> Iterator[None]:
    """Indonesian for the test (the library's messages and the CLI's); English again after it."""
    from emeterai.cli import _framework

    _framework.speak("id")
    yield


@pytest.fixture
def passphrase() -> str:
    """The one secret every fixture uses (issuer key, stamp files, wallet)."""
    return PASSPHRASE


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty, isolated EMETERAI_HOME, with EMETERAI_PASSPHRASE set."""
    path = tmp_path / "home"
    path.mkdir()
    monkeypatch.setenv("EMETERAI_HOME", str(path))
    monkeypatch.setenv("EMETERAI_PASSPHRASE", PASSPHRASE)
    return path


@pytest.fixture
def stamp_secret(monkeypatch: pytest.MonkeyPatch) -> str:
    """EMETERAI_STAMP_PASSPHRASE set, for CLI tests that run 'issuer issue'."""
    monkeypatch.setenv("EMETERAI_STAMP_PASSPHRASE", STAMP_PASSPHRASE)
    return STAMP_PASSPHRASE


@pytest.fixture
def runner() -> Iterator[CliRunner]:
    """A CliRunner (separate .stdout / .stderr).

    The CLI reconfigures the root logger on every invocation; restore it afterwards so that
    in-process CLI tests do not silence logging (and caplog) for the tests that follow.
    """
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        yield CliRunner()
    finally:
        root.handlers = handlers
        root.setLevel(level)


@pytest.fixture
def issuer(home: Path) -> Issuer:
    """A specimen issuer in $EMETERAI_HOME/issuer, its root trusted in $EMETERAI_HOME/trust."""
    created = Issuer.create(home / "issuer", PASSPHRASE, name="Test Issuer", specimen=True)
    TrustStore(home / "trust").add(created.root_pem(), "test issuer root")
    return created


@pytest.fixture
def verifier(home: Path, issuer: Issuer) -> Any:
    """A Verifier that trusts the ``issuer`` fixture's root (as ``verify`` with its trust store)."""
    from emeterai.verify import Verifier

    return Verifier(TrustStore(home / "trust").certificates())


@pytest.fixture
def stamp_files(issuer: Issuer, tmp_path: Path) -> Callable[..., list[Path]]:
    """Factory: ``stamp_files(n, issuer=None, **issue_kwargs)`` -> n new .p12 files.

    Stamps come from the ``issuer`` fixture unless another Issuer is given; each call writes
    into a fresh folder under tmp_path. ``issue_kwargs`` go to :meth:`Issuer.issue`
    (value, valid_days, stamp_passphrase).
    """
    default_issuer = issuer
    counter = itertools.count(1)

    def make(n: int, issuer: Issuer | None = None, **issue_kwargs: Any) -> list[Path]:
        source = issuer if issuer is not None else default_issuer
        folder = tmp_path / f"stamps-{next(counter)}"
        folder.mkdir()
        paths = []
        for stamp in source.issue(n, PASSPHRASE, **issue_kwargs):
            path = folder / f"{stamp.serial}.p12"
            path.write_bytes(stamp.p12)
            paths.append(path)
        return paths

    return make


@pytest.fixture
def wallet_with_stamps(
    home: Path, issuer: Issuer, stamp_files: Callable[..., list[Path]]
) -> Callable[..., Wallet]:
    """Factory: ``wallet_with_stamps(n, **issue_kwargs)`` -> the Wallet in $EMETERAI_HOME,
    with n freshly issued, trusted stamps imported (repeated calls add more)."""

    def make(n: int, **issue_kwargs: Any) -> Wallet:
        wallet = Wallet(home / "wallet" / "wallet.db")
        files = [(str(p), p.read_bytes()) for p in stamp_files(n, **issue_kwargs)]
        outcomes = wallet.import_stamps(
            files, PASSPHRASE, TrustStore(home / "trust").certificates()
        )
        assert [o.status for o in outcomes] == ["imported"] * n, outcomes
        return wallet

    return make


@pytest.fixture(scope="module")
def kit(tmp_path_factory: pytest.TempPathFactory) -> Kit:
    """A specimen "Test Issuer" (as the conftest ``issuer``) with 30 stamps, shared by the module."""
    base = tmp_path_factory.mktemp("stampkit")
    home = base / "home"
    issuer = Issuer.create(home / "issuer", PASSPHRASE, name="Test Issuer", specimen=True)
    TrustStore(home / "trust").add(issuer.root_pem(), "test issuer root")
    wallet = Wallet(home / "wallet" / "wallet.db")
    stamps = issuer.issue(30, PASSPHRASE)
    outcomes = wallet.import_stamps(
        [(s.serial, s.p12) for s in stamps], PASSPHRASE, TrustStore(home / "trust").certificates()
    )
    assert [o.status for o in outcomes] == ["imported"] * len(stamps)
    root_pem = base / "issuer-root.pem"
    root_pem.write_bytes(issuer.root_pem())
    return Kit(home, base / "work", issuer, root_pem, CliRunner())


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """URL of a real PostgreSQL server: $EMETERAI_TEST_POSTGRES, else one started for this run."""
    url = os.environ.get("EMETERAI_TEST_POSTGRES")
    if url:
        yield url
        return
    from tests.support.pgserver import pg_bin, start_server

    if pg_bin() is None:
        _missing("PostgreSQL server is not installed (apt-get install postgresql)")
    server = start_server()
    try:
        yield server.url
    finally:
        server.destroy()


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger_location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh ledger location for each backend: the same tests run on SQLite and PostgreSQL."""
    if request.param == "sqlite":
        return str(tmp_path / "ledger.db")
    return fresh_database(request.getfixturevalue("postgres_server"))


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """An independent timestamp authority's PKI (OpenSSL's ``ts``): a test CA and its TSA."""
    from tests.support.openssl_tsa import make_tsa_ca

    return make_tsa_ca(tmp_path_factory.mktemp("tsa-pki"))


@pytest.fixture(scope="session")
def tsa(pki: Any) -> Iterator[str]:
    """The URL of ``openssl ts -reply`` behind a loopback HTTP handler, for the whole run."""
    from tests.support.openssl_tsa import running_openssl_tsa

    with running_openssl_tsa(pki) as (url, _answered):
        yield url

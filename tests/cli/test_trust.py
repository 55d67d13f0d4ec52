"""`emeterai trust` on the command line (README); adding and listing a root is also part of
the end-to-end test in test_issuer.py."""

from __future__ import annotations

from emeterai.trust import TrustStore
from tests.support.cli import _assert_clean_failure, _run


def test_trust_add_of_a_non_ca_names_the_file(runner, home, tmp_path):
    bad = tmp_path / "not-a-root.pem"
    bad.write_text("hello")
    line = _assert_clean_failure(_run(runner, "trust", "add", bad))
    assert f"{bad}: not a PEM or DER certificate" in line
    assert TrustStore(home / "trust").roots() == []

"""PAdES signing details: /Contents sized up front, whatever the issuer's name."""

from __future__ import annotations

import re

import pytest
from conftest import PASSPHRASE

from emeterai.issuer import Issuer
from emeterai.sign import reserved_hex_digits
from emeterai.stamp import StampOptions, stamp_file
from emeterai.trust import TrustStore
from emeterai.verify import Verifier
from emeterai.wallet import Wallet


@pytest.mark.parametrize(
    "name", ["X", "Badan Penerbit Meterai Elektronik Republik Indonesia 56"]
)
def test_reserved_contents_fit_the_signature_with_room_to_spare(home, tmp_path, name):
    issuer = Issuer.create(home / "issuer", PASSPHRASE, name=name, specimen=True)
    TrustStore(home / "trust").add(issuer.root_pem(), "root")
    wallet = Wallet(home / "wallet.db")
    (stamp,) = issuer.issue(1, PASSPHRASE)
    wallet.import_stamps([("s.p12", stamp.p12)], PASSPHRASE, [issuer.root])
    src = tmp_path / "letter.pdf"
    src.write_bytes(_letter())
    out = tmp_path / "out.pdf"
    stamp_file(src, out, wallet, wallet.unlock(PASSPHRASE), StampOptions())
    data = out.read_bytes()
    contents = list(re.finditer(rb"/Contents\s*<([0-9a-fA-F]+)>", data))[-1].group(1)
    used = len(contents.rstrip(b"0"))
    key = wallet.stamp_key(stamp.serial, wallet.unlock(PASSPHRASE))
    assert len(contents) == reserved_hex_digits(key, timestamp=False)
    assert used < len(contents) - 200, (used, len(contents))
    assert Verifier([issuer.root]).verify(data, "out.pdf").valid


def _letter() -> bytes:
    from pathlib import Path

    return (Path(__file__).resolve().parent.parent / "samples" / "lamaran.pdf").read_bytes()


def test_an_issuer_name_too_long_for_x509_is_a_clear_error(home):
    from emeterai.errors import IssuerError

    with pytest.raises(IssuerError, match="1 to 56 characters"):
        Issuer.create(home / "issuer", PASSPHRASE, name="N" * 57)
    assert not (home / "issuer" / "root.key").exists()

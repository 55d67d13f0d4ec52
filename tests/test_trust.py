"""The verifier's trust store of issuer roots."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from emeterai._x509util import fingerprint
from emeterai.errors import TrustError
from emeterai.issuer import Issuer
from emeterai.trust import TrustStore
from tests.support.common import PASSPHRASE


@pytest.fixture
def store(tmp_path) -> TrustStore:
    return TrustStore(tmp_path / "trust")


@pytest.fixture
def roots(tmp_path) -> list[Issuer]:
    return [
        Issuer.create(tmp_path / "real", PASSPHRASE, name="Real Issuer"),
        Issuer.create(tmp_path / "demo", PASSPHRASE, name="Demo Issuer", specimen=True),
    ]


def test_empty_store_lists_nothing(store):
    assert store.roots() == []
    assert store.certificates() == []


def test_add_then_list(store, roots):
    real, demo = roots
    root, new = store.add(real.root_pem(), "real.pem")
    assert new is True
    assert root.fingerprint == real.info.fingerprint == fingerprint(real.root)
    assert (root.name, root.specimen) == ("Real Issuer", False)
    store.add(demo.root.public_bytes(serialization.Encoding.DER), "demo.der")  # DER works too
    listed = {r.fingerprint: r for r in store.roots()}
    assert set(listed) == {real.info.fingerprint, demo.info.fingerprint}
    assert listed[demo.info.fingerprint].specimen is True
    assert listed[real.info.fingerprint].not_after == real.root.not_valid_after_utc
    assert {c.subject for c in store.certificates()} == {real.root.subject, demo.root.subject}


def test_adding_the_same_root_twice_is_a_no_op(store, roots):
    real, _ = roots
    store.add(real.root_pem(), "real.pem")
    files_before = sorted(p.name for p in store.directory.iterdir())
    root, new = store.add(real.root_pem(), "real-again.pem")
    assert new is False
    assert root.fingerprint == real.info.fingerprint
    assert sorted(p.name for p in store.directory.iterdir()) == files_before
    assert len(store.roots()) == 1


def test_remove_by_fingerprint_prefix(store, roots):
    real, demo = roots
    store.add(real.root_pem(), "real.pem")
    store.add(demo.root_pem(), "demo.pem")
    removed = store.remove(real.info.fingerprint[:12].upper())
    assert removed.fingerprint == real.info.fingerprint
    assert [r.fingerprint for r in store.roots()] == [demo.info.fingerprint]


def test_remove_by_colon_separated_fingerprint(store, roots):
    real, _ = roots
    store.add(real.root_pem(), "real.pem")
    fp = real.info.fingerprint
    store.remove(":".join(fp[i : i + 2] for i in range(0, len(fp), 2)))
    assert store.roots() == []


def test_remove_by_name(store, roots):
    real, demo = roots
    store.add(real.root_pem(), "real.pem")
    store.add(demo.root_pem(), "demo.pem")
    assert store.remove("Demo Issuer").fingerprint == demo.info.fingerprint
    assert [r.name for r in store.roots()] == ["Real Issuer"]


def test_remove_unknown_or_too_short_key_is_an_error(store, roots):
    real, _ = roots
    store.add(real.root_pem(), "real.pem")
    with pytest.raises(TrustError, match="no trusted root matches 'ffffffffffff'"):
        store.remove("ffffffffffff")
    with pytest.raises(TrustError, match="no trusted root matches"):
        store.remove(real.info.fingerprint[:4])  # fewer than 8 hex digits never match
    assert len(store.roots()) == 1


def test_a_stamp_certificate_is_not_a_root(store, roots):
    (stamp,) = roots[0].issue(1, PASSPHRASE)
    leaf = pkcs12.load_pkcs12(stamp.p12, PASSPHRASE.encode()).cert.certificate
    pem = leaf.public_bytes(serialization.Encoding.PEM)
    with pytest.raises(TrustError, match=r"^stamp-leaf\.pem: not a CA certificate"):
        store.add(pem, "stamp-leaf.pem")
    assert store.roots() == []


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"hello, I am not a certificate",
        b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    ],
)
def test_garbage_is_a_trust_error_naming_the_source(store, data):
    with pytest.raises(TrustError, match=r"^garbage\.pem: not a PEM or DER certificate"):
        store.add(data, "garbage.pem")
    assert store.roots() == []


def test_several_certificates_in_one_file_are_refused(store, roots):
    bundle = roots[0].root_pem() + roots[1].root_pem()
    with pytest.raises(TrustError, match=r"^bundle\.pem: expected one certificate, found 2"):
        store.add(bundle, "bundle.pem")
    assert store.roots() == []

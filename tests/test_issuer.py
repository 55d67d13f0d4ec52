"""The issuer CA (README): root, stamp certificates, PKCS#12 delivery, revocation."""

from __future__ import annotations

import datetime as dt
import sqlite3
import stat
import subprocess

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from emeterai import serial as serials
from emeterai._x509util import is_specimen, stamp_info
from emeterai.errors import IssuerError, PassphraseError, SerialError, UsageError
from emeterai.issuer import Issuer, check_stamp_passphrase
from tests.support.common import PASSPHRASE, require_tool


def _load(p12: bytes, secret: str = PASSPHRASE) -> pkcs12.PKCS12KeyAndCertificates:
    return pkcs12.load_pkcs12(p12, secret.encode())


@pytest.fixture
def one_stamp(issuer):
    (stamp,) = issuer.issue(1, PASSPHRASE, value=6000, valid_days=30)
    return stamp


# -- the root -----------------------------------------------------------------------------------


def test_init_refuses_to_overwrite_an_existing_issuer(issuer, home):
    root_before = (home / "issuer" / "root.pem").read_bytes()
    key_before = (home / "issuer" / "root.key").read_bytes()
    with pytest.raises(IssuerError, match="already exists"):
        Issuer.create(home / "issuer", PASSPHRASE, name="Impostor")
    assert (home / "issuer" / "root.pem").read_bytes() == root_before
    assert (home / "issuer" / "root.key").read_bytes() == key_before
    assert Issuer.open(home / "issuer").info.name == "Test Issuer"


def test_init_needs_a_passphrase(tmp_path):
    with pytest.raises(PassphraseError, match="non-empty passphrase"):
        Issuer.create(tmp_path / "issuer", "")
    assert not (tmp_path / "issuer" / "root.key").exists()


def test_open_without_init_says_what_to_do(tmp_path):
    with pytest.raises(IssuerError, match="emeterai issuer init"):
        Issuer.open(tmp_path / "nothing")


def test_root_is_a_ca_with_an_ec_p256_key(issuer):
    root = issuer.root
    basic = root.extensions.get_extension_for_class(x509.BasicConstraints)
    assert basic.critical and basic.value.ca is True
    usage = root.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.key_cert_sign and usage.crl_sign
    key = root.public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey)
    assert key.curve.name == "secp256r1"
    assert root.subject == root.issuer
    root.verify_directly_issued_by(root)  # self-signed
    assert issuer.info.name == "Test Issuer"
    assert root.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "Test Issuer"


def test_root_key_is_private_and_encrypted(issuer, home):
    path = home / "issuer" / "root.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    data = path.read_bytes()
    assert data.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    with pytest.raises(TypeError):  # password required
        serialization.load_pem_private_key(data, None)
    with pytest.raises(ValueError):
        serialization.load_pem_private_key(data, b"not the passphrase")
    key = serialization.load_pem_private_key(data, PASSPHRASE.encode())
    assert key.public_key() == issuer.root.public_key()


def test_issuer_prefix_is_used_for_every_serial(issuer):
    stamps = issuer.issue(5, PASSPHRASE)
    assert all(s.serial.startswith(issuer.info.prefix) for s in stamps)
    assert all(serials.is_valid(s.serial) for s in stamps)


# -- stamps ------------------------------------------------------------------------------------


def test_issued_stamp_opens_with_its_passphrase(one_stamp):
    bundle = _load(one_stamp.p12)
    assert bundle.key is not None and bundle.cert is not None
    assert bundle.key.public_key() == bundle.cert.certificate.public_key()
    assert isinstance(bundle.key, ec.EllipticCurvePrivateKey)
    assert bundle.key.curve.name == "secp256r1"
    with pytest.raises(ValueError):
        _load(one_stamp.p12, "wrong passphrase")


def test_stamp_passphrase_can_differ_from_the_issuer_passphrase(issuer):
    (stamp,) = issuer.issue(1, PASSPHRASE, stamp_passphrase="buyer secret")
    assert _load(stamp.p12, "buyer secret").cert is not None
    with pytest.raises(ValueError):
        _load(stamp.p12, PASSPHRASE)


def test_the_stamp_files_passphrase_may_not_be_the_issuer_keys(issuer):
    """Buyers get the stamp files' passphrase: the library refuses the issuer key's for it."""
    with pytest.raises(UsageError, match="must differ from the issuer key's: buyers get it"):
        issuer.issue(1, PASSPHRASE, stamp_passphrase=PASSPHRASE)
    assert issuer.issued_serials() == []
    with pytest.raises(UsageError, match="must differ from the issuer key's"):
        check_stamp_passphrase(PASSPHRASE, PASSPHRASE)
    check_stamp_passphrase("buyer secret", PASSPHRASE)


def test_issued_stamp_opens_with_openssl_pkcs12(one_stamp, tmp_path):
    openssl = require_tool("openssl")
    path = tmp_path / "stamp.p12"
    path.write_bytes(one_stamp.p12)
    ok = subprocess.run(
        [openssl, "pkcs12", "-in", str(path), "-passin", f"pass:{PASSPHRASE}", "-nodes"],
        capture_output=True,
        text=True,
    )
    assert ok.returncode == 0, ok.stderr
    assert "-----BEGIN PRIVATE KEY-----" in ok.stdout
    assert ok.stdout.count("-----BEGIN CERTIFICATE-----") == 2  # stamp + root
    assert one_stamp.serial in ok.stdout  # friendly name / subject
    wrong = subprocess.run(
        [openssl, "pkcs12", "-in", str(path), "-passin", "pass:wrong", "-nodes"],
        capture_output=True,
        text=True,
    )
    assert wrong.returncode != 0
    assert "PRIVATE KEY" not in wrong.stdout


def test_stamp_certificate_verifies_against_the_exported_root_with_openssl(
    issuer, one_stamp, tmp_path
):
    openssl = require_tool("openssl")
    root_pem = tmp_path / "root.pem"
    root_pem.write_bytes(issuer.root_pem())
    leaf = tmp_path / "leaf.pem"
    leaf.write_bytes(_load(one_stamp.p12).cert.certificate.public_bytes(serialization.Encoding.PEM))
    ok = subprocess.run(
        [openssl, "verify", "-CAfile", str(root_pem), str(leaf)], capture_output=True, text=True
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.strip() == f"{leaf}: OK"

    other = Issuer.create(tmp_path / "other", PASSPHRASE, name="Other Issuer")
    other_root = tmp_path / "other-root.pem"
    other_root.write_bytes(other.root_pem())
    bad = subprocess.run(
        [openssl, "verify", "-CAfile", str(other_root), str(leaf)], capture_output=True, text=True
    )
    assert bad.returncode != 0


def test_stamp_subject_carries_the_serial_in_serial_number_and_cn(one_stamp, issuer):
    cert = _load(one_stamp.p12).cert.certificate
    assert cert.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)[0].value == one_stamp.serial
    cn = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert one_stamp.serial in cn
    assert cert.issuer == issuer.root.subject


def test_stamp_key_usage_is_digital_signature_and_non_repudiation(one_stamp):
    cert = _load(one_stamp.p12).cert.certificate
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical
    assert usage.value.digital_signature and usage.value.content_commitment
    assert not usage.value.key_cert_sign and not usage.value.crl_sign
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False


def test_stamp_value_and_issuer_read_back_with_stamp_info(one_stamp):
    info = stamp_info(_load(one_stamp.p12).cert.certificate)
    assert info.serial == one_stamp.serial
    assert info.value == one_stamp.value == 6000
    assert info.issuer_name == "Test Issuer"
    assert info.specimen is True


def test_default_value_is_ten_thousand(issuer):
    (stamp,) = issuer.issue(1, PASSPHRASE)
    assert stamp_info(_load(stamp.p12).cert.certificate).value == 10000


@pytest.mark.parametrize("days", [1, 30, 365, 1000])
def test_validity_is_the_requested_number_of_days(issuer, days):
    (stamp,) = issuer.issue(1, PASSPHRASE, valid_days=days)
    cert = _load(stamp.p12).cert.certificate
    assert cert.not_valid_after_utc - cert.not_valid_before_utc == dt.timedelta(days=days)
    assert stamp.not_after == cert.not_valid_after_utc
    now = dt.datetime.now(dt.UTC)
    assert abs(cert.not_valid_before_utc - now) < dt.timedelta(minutes=2)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"count": 0}, "count"), ({"value": 0}, "value"), ({"valid_days": 0}, "validity in days")],
)
def test_issue_rejects_impossible_requests(issuer, kwargs, message):
    args = {"count": 1, **kwargs}
    with pytest.raises(IssuerError, match=message):
        issuer.issue(args.pop("count"), PASSPHRASE, **args)
    assert issuer.issued_serials() == []


def test_wrong_issuer_passphrase_is_a_passphrase_error(issuer):
    with pytest.raises(PassphraseError, match="wrong passphrase for the issuer key"):
        issuer.issue(1, "not the passphrase")
    with pytest.raises(PassphraseError, match="wrong passphrase for the issuer key"):
        issuer.crl("not the passphrase")
    assert issuer.issued_serials() == []


def test_specimen_flag_is_visible_on_root_and_stamps(issuer, one_stamp, tmp_path):
    assert issuer.info.specimen is True
    assert is_specimen(issuer.root)
    assert is_specimen(_load(one_stamp.p12).cert.certificate)

    real = Issuer.create(tmp_path / "real", PASSPHRASE, name="Real Issuer", specimen=False)
    (stamp,) = real.issue(1, PASSPHRASE)
    assert real.info.specimen is False
    assert not is_specimen(real.root)
    assert stamp_info(_load(stamp.p12).cert.certificate).specimen is False


# -- uniqueness ---------------------------------------------------------------------------------


def test_issued_serials_are_recorded_and_distinct(issuer):
    first = issuer.issue(60, PASSPHRASE)
    second = issuer.issue(40, PASSPHRASE)
    issued = [s.serial for s in first + second]
    assert len(set(issued)) == 100
    assert sorted(issuer.issued_serials()) == sorted(issued)
    certs = [_load(s.p12).cert.certificate for s in first[:10]]
    assert len({c.serial_number for c in certs}) == 10


def test_issuer_database_rejects_a_duplicate_serial(issuer, one_stamp, home):
    db = sqlite3.connect(home / "issuer" / "issuer.db")
    try:
        with pytest.raises(sqlite3.IntegrityError):
            db.execute(
                "INSERT INTO issued VALUES (?, ?, ?, ?, ?)",
                (one_stamp.serial, "1", 10000, "2099-01-01", "2024-01-01"),
            )
    finally:
        db.close()


def test_a_colliding_serial_is_never_issued_twice(issuer, monkeypatch):
    """If the generator repeats a serial, the issuer draws again instead of reusing it."""
    (first,) = issuer.issue(1, PASSPHRASE)
    real_generate = serials.generate
    draws = iter([first.serial, first.serial])

    def generate(prefix):
        return next(draws, None) or real_generate(prefix)

    monkeypatch.setattr(serials, "generate", generate)
    (second,) = issuer.issue(1, PASSPHRASE)
    assert second.serial != first.serial
    assert sorted(issuer.issued_serials()) == sorted([first.serial, second.serial])


# -- revocation ---------------------------------------------------------------------------------


def test_revoking_an_unknown_serial_is_an_error(issuer):
    stranger = serials.generate(issuer.info.prefix)
    with pytest.raises(SerialError, match="was not issued by this issuer"):
        issuer.revoke([stranger], PASSPHRASE)
    with pytest.raises(SerialError, match="characters, expected 22"):
        issuer.revoke(["NOT-A-SERIAL"], PASSPHRASE)


def test_revoking_needs_the_issuer_passphrase(issuer):
    (stamp,) = issuer.issue(1, PASSPHRASE)
    with pytest.raises(PassphraseError, match="wrong passphrase for the issuer key"):
        issuer.revoke([stamp.serial], "not the passphrase")
    assert list(x509.load_pem_x509_crl(issuer.crl(PASSPHRASE))) == []
    assert issuer.revoke([stamp.serial], PASSPHRASE) == [stamp.serial]
    assert len(list(x509.load_pem_x509_crl(issuer.crl(PASSPHRASE)))) == 1


def test_revocable_checks_serials_without_a_passphrase(issuer):
    (stamp,) = issuer.issue(1, PASSPHRASE)
    assert issuer.revocable([serials.grouped(stamp.serial).lower()]) == [stamp.serial]
    with pytest.raises(SerialError, match="was not issued by this issuer"):
        issuer.revocable([stamp.serial, serials.generate(issuer.info.prefix)])
    with pytest.raises(SerialError, match="characters, expected 22"):
        issuer.revocable(["NOT-A-SERIAL"])
    assert list(x509.load_pem_x509_crl(issuer.crl(PASSPHRASE))) == []


def test_crl_lists_revoked_stamps_and_is_signed_by_the_root(issuer):
    stamps = issuer.issue(3, PASSPHRASE)
    certs = {s.serial: _load(s.p12).cert.certificate for s in stamps}
    revoked = stamps[0].serial
    assert issuer.revoke([serials.grouped(revoked).lower()], PASSPHRASE) == [revoked]
    assert issuer.revoke([revoked], PASSPHRASE) == [revoked]  # idempotent

    pem = issuer.crl(PASSPHRASE)
    assert pem.startswith(b"-----BEGIN X509 CRL-----")
    crl = x509.load_pem_x509_crl(pem)
    assert crl.is_signature_valid(issuer.root.public_key())
    assert crl.issuer == issuer.root.subject
    listed = {entry.serial_number for entry in crl}
    assert listed == {certs[revoked].serial_number}
    assert (
        crl.get_revoked_certificate_by_serial_number(certs[stamps[1].serial].serial_number) is None
    )
    assert crl.next_update_utc > crl.last_update_utc


def test_crl_does_not_verify_with_another_issuers_key(issuer, tmp_path):
    other = Issuer.create(tmp_path / "other", PASSPHRASE, name="Other")
    crl = x509.load_pem_x509_crl(issuer.crl(PASSPHRASE))
    assert len(list(crl)) == 0
    assert not crl.is_signature_valid(other.root.public_key())


def test_openssl_accepts_the_crl(issuer, tmp_path):
    openssl = require_tool("openssl")
    (stamp,) = issuer.issue(1, PASSPHRASE)
    issuer.revoke([stamp.serial], PASSPHRASE)
    (tmp_path / "crl.pem").write_bytes(issuer.crl(PASSPHRASE))
    (tmp_path / "root.pem").write_bytes(issuer.root_pem())
    leaf = tmp_path / "leaf.pem"
    leaf.write_bytes(_load(stamp.p12).cert.certificate.public_bytes(serialization.Encoding.PEM))
    result = subprocess.run(
        [
            openssl,
            "verify",
            "-crl_check",
            "-CAfile",
            str(tmp_path / "root.pem"),
            "-CRLfile",
            str(tmp_path / "crl.pem"),
            str(leaf),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "revoked" in (result.stdout + result.stderr).lower()


def test_revoke_with_an_unknown_serial_revokes_nothing(issuer):
    (stamp,) = issuer.issue(1, PASSPHRASE)
    unknown = serials.generate(issuer.info.prefix)
    with pytest.raises(SerialError, match="was not issued by this issuer"):
        issuer.revoke([stamp.serial, unknown], PASSPHRASE)
    assert list(x509.load_pem_x509_crl(issuer.crl(PASSPHRASE))) == []

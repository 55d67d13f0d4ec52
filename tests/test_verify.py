"""Verification (README, Verifiers; docs/security.md), in the library.

Every attack document is built with real tools (see ``tests/support/attacks.py``): pypdf
incremental updates, pyHanko signatures with real stamp keys, reportlab pictures, a poppler
print-and-scan. Each test asserts the exact problem codes (and the words of the detail where
they matter), so that a verifier that flags everything, or nothing, fails.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import shutil
from dataclasses import dataclass
from pathlib import Path

import pypdf
import pytest

from emeterai import serial as serials
from emeterai.issuer import Issuer
from emeterai.stamp import StampOptions, stamp_file
from emeterai.trust import TrustStore
from emeterai.verify import (
    MODIFIED_AFTER_STAMP,
    NO_STAMP,
    REVOKED,
    SERIAL_MALFORMED,
    SERIAL_MISMATCH,
    SIGNATURE_INVALID,
    STAMP_EXPIRED,
    STAMP_NOT_SHOWN,
    UNREADABLE,
    UNTRUSTED_ISSUER,
    ConfigError,
    Verifier,
    VerifyResult,
)
from emeterai.wallet import Wallet
from tests.support import attacks
from tests.support.common import PASSPHRASE, PROJECT_ROOT, corpus_dir, require_tool

SAMPLE = PROJECT_ROOT / "samples" / "lamaran.pdf"
# Where the product puts the stamp on the sample (its "Meterai" placeholder), in points.
SAMPLE_STAMP_RECT = (412.51, 148.82, 483.37, 219.69)


@dataclass(frozen=True)
class Stamped:
    path: Path
    data: bytes
    original: bytes
    serial: str
    wallet: Wallet


def stamp(src: Path, out: Path, wallet: Wallet, **options) -> Stamped:
    result = stamp_file(src, out, wallet, wallet.unlock(PASSPHRASE), StampOptions(**options))
    return Stamped(out, out.read_bytes(), src.read_bytes(), result.serial, wallet)


def codes(result: VerifyResult) -> set[str]:
    return {p.code for p in result.problems}


def details(result: VerifyResult, code: str) -> list[str]:
    return [p.detail for p in result.problems if p.code == code]


def assert_only(result: VerifyResult, code: str) -> None:
    """Not valid, and ``code`` is the one and only kind of problem reported."""
    assert not result.valid
    assert codes(result) == {code}, [p.to_json() for p in result.problems]


@pytest.fixture
def wallet(wallet_with_stamps) -> Wallet:
    return wallet_with_stamps(4)


@pytest.fixture
def stamped(wallet: Wallet, tmp_path: Path) -> Stamped:
    """The bundled sample letter, stamped by the library."""
    src = tmp_path / "lamaran.pdf"
    shutil.copyfile(SAMPLE, src)
    return stamp(src, tmp_path / "lamaran.emeterai.pdf", wallet)


def other_serial(wallet: Wallet, but: str) -> str:
    return next(e.serial for e in wallet.entries() if e.state == "available" and e.serial != but)


# -- the genuine stamp --------------------------------------------------------------------------


def test_stamped_sample_is_valid_with_its_stamp_fields(stamped, verifier):
    result = verifier.verify(stamped.data, str(stamped.path))
    assert result.valid, [p.to_json() for p in result.problems]
    assert result.problems == ()
    (s,) = result.stamps
    assert s.serial == stamped.serial
    assert s.value == 10000
    assert s.issuer == "Test Issuer"
    assert s.specimen is True
    assert s.document_sha256 == hashlib.sha256(SAMPLE.read_bytes()).hexdigest()
    assert s.page == 1
    when = dt.datetime.fromisoformat(s.stamped_at)
    assert when.tzinfo is not None
    assert abs(dt.datetime.now(dt.UTC) - when) < dt.timedelta(minutes=10)


def test_metadata_only_update_after_the_stamp_stays_valid(stamped, verifier):
    updated = attacks.change_metadata(stamped.data, "Lamaran (final)")
    assert pypdf.PdfReader(io.BytesIO(updated)).metadata.title == "Lamaran (final)"
    result = verifier.verify(updated, "metadata.pdf")
    assert result.valid, [p.to_json() for p in result.problems]


def test_later_personal_signature_keeps_the_stamp_valid(stamped, verifier):
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    cosigned = attacks.cosign(stamped.data, "Budi Santoso")
    assert cosigned.startswith(stamped.data)
    sigs = PdfFileReader(io.BytesIO(cosigned)).embedded_signatures
    assert len(sigs) == 2
    later = validate_pdf_signature(sigs[1], ValidationContext(trust_roots=[]))
    assert later.intact and later.valid  # a genuine signature, merely self-made
    result = verifier.verify(cosigned, "cosigned.pdf")
    assert result.valid, [p.to_json() for p in result.problems]
    assert [s.serial for s in result.stamps] == [stamped.serial]


def test_document_with_two_stamps_lists_both_and_is_valid(stamped, verifier, tmp_path):
    second = stamp(stamped.path, tmp_path / "two.pdf", stamped.wallet, add_stamp=True)
    assert second.serial != stamped.serial
    assert second.data.startswith(stamped.data)
    result = verifier.verify(second.data, "two.pdf")
    assert result.valid, [p.to_json() for p in result.problems]
    assert [s.serial for s in result.stamps] == [stamped.serial, second.serial]
    assert all(s.value == 10000 and s.problems == () for s in result.stamps)
    # the top-level fields repeat the first stamp's
    top = result.to_json()
    assert top["serial"] == stamped.serial
    assert len(top["stamps"]) == 2
    # each stamp binds the document it was applied to
    assert result.stamps[0].document_sha256 == hashlib.sha256(stamped.original).hexdigest()
    assert result.stamps[1].document_sha256 == hashlib.sha256(stamped.data).hexdigest()


# -- one byte changed inside the signed range -----------------------------------------------------


def test_one_byte_changed_in_the_sample_page_content_is_signature_invalid(stamped, verifier):
    tampered = attacks.change_page_content_byte(stamped.data, stamped.original)
    assert len(tampered) == len(stamped.data) and tampered != stamped.data
    result = verifier.verify(tampered, "tampered.pdf")
    assert not result.valid
    assert SIGNATURE_INVALID in codes(result)
    assert "does not match the signed bytes" in " ".join(details(result, SIGNATURE_INVALID))
    assert codes(result) <= {SIGNATURE_INVALID, UNTRUSTED_ISSUER}


def test_one_digit_of_an_amount_changed_in_the_letter_is_signature_invalid(
    wallet, verifier, tmp_path
):
    letter = attacks.make_letter(tmp_path / "gaji.pdf")
    s = stamp(letter, tmp_path / "gaji.emeterai.pdf", wallet)
    # "Rp10.000.000" -> "Rp20.000.000" in the uncompressed page content, inside the signed range
    tampered = attacks.change_page_content_byte(s.data, s.original, needle=b"10.000.000")
    assert b"Rp20.000.000" in tampered and b"Rp10.000.000" not in tampered
    result = verifier.verify(tampered, "gaji.pdf")
    assert not result.valid
    assert SIGNATURE_INVALID in codes(result)
    assert codes(result) <= {SIGNATURE_INVALID, UNTRUSTED_ISSUER}


def test_one_byte_changed_in_the_stamp_signature_dictionary_is_signature_invalid(stamped, verifier):
    at = stamped.data.index(b"Rp10000", attacks.byte_ranges(stamped.data)[0][1])
    tampered = attacks.change_byte(stamped.data, at + 2)  # the /Reason: Rp10000 -> Rp20000
    result = verifier.verify(tampered, "reason.pdf")
    assert not result.valid
    assert SIGNATURE_INVALID in codes(result)
    assert codes(result) <= {SIGNATURE_INVALID, UNTRUSTED_ISSUER}


def test_tampered_stamp_of_a_trusted_issuer_is_not_called_untrusted(stamped, verifier):
    tampered = attacks.change_page_content_byte(stamped.data, stamped.original)
    assert_only(verifier.verify(tampered, "tampered.pdf"), SIGNATURE_INVALID)


# -- changes after the stamp (docs/security.md) ----------------------------------------------------------


def test_incremental_update_adding_page_text_is_modified_after_stamp(stamped, verifier):
    updated = attacks.append_page_text(stamped.data, "DISETUJUI Rp 99.000.000")
    assert updated.startswith(stamped.data)
    assert "DISETUJUI" in pypdf.PdfReader(io.BytesIO(updated)).pages[0].extract_text()
    result = verifier.verify(updated, "updated.pdf")
    assert_only(result, MODIFIED_AFTER_STAMP)
    assert result.stamps[0].serial == stamped.serial


def test_incremental_update_replacing_the_content_object_is_modified_after_stamp(stamped, verifier):
    before = pypdf.PdfReader(io.BytesIO(stamped.data)).pages[0].raw_get("/Contents").idnum
    updated = attacks.replace_content_object(
        stamped.data, b"BT /F1 12 Tf 72 700 Td (Surat ini dibatalkan) Tj ET"
    )
    page = pypdf.PdfReader(io.BytesIO(updated)).pages[0]
    assert page.raw_get("/Contents").idnum == before  # same object, new data
    assert "dibatalkan" in page.extract_text()
    assert_only(verifier.verify(updated, "replaced.pdf"), MODIFIED_AFTER_STAMP)


def test_hide_and_replace_shadow_attack_is_modified_after_stamp(wallet, verifier, tmp_path):
    # hide: an unused alternative content stream is planted before stamping
    planted, number = attacks.plant_shadow_content(SAMPLE.read_bytes())
    src = tmp_path / "planted.pdf"
    src.write_bytes(planted)
    s = stamp(src, tmp_path / "planted.emeterai.pdf", wallet)
    assert attacks.SHADOW_TEXT not in pypdf.PdfReader(io.BytesIO(s.data)).pages[0].extract_text()
    assert verifier.verify(s.data, "planted.emeterai.pdf").valid
    # replace: after stamping, the page's /Contents is pointed at the planted object
    swapped = attacks.swap_page_contents(s.data, number)
    assert swapped.startswith(s.data)
    assert attacks.SHADOW_TEXT in pypdf.PdfReader(io.BytesIO(swapped)).pages[0].extract_text()
    assert_only(verifier.verify(swapped, "swapped.pdf"), MODIFIED_AFTER_STAMP)


def test_annotation_added_over_the_page_after_the_stamp_is_modified_after_stamp(stamped, verifier):
    updated = attacks.add_annotation_over_page(stamped.data, "LUNAS")
    assert len(pypdf.PdfReader(io.BytesIO(updated)).pages[0]["/Annots"]) == 2
    assert_only(verifier.verify(updated, "annotated.pdf"), MODIFIED_AFTER_STAMP)


def test_stamp_appearance_swapped_after_the_stamp_is_modified_after_stamp(stamped, verifier):
    result = verifier.verify(attacks.swap_appearance(stamped.data), "swapped-ap.pdf")
    assert not result.valid
    assert MODIFIED_AFTER_STAMP in codes(result)
    # the blank appearance no longer shows the serial and QR code either
    assert codes(result) <= {MODIFIED_AFTER_STAMP, SERIAL_MISMATCH}


def test_content_change_after_a_later_signature_is_still_modified_after_stamp(stamped, verifier):
    cosigned = attacks.cosign(stamped.data)
    updated = attacks.append_page_text(cosigned)
    result = verifier.verify(updated, "cosigned-then-changed.pdf")
    assert not result.valid
    assert MODIFIED_AFTER_STAMP in codes(result)
    assert codes(result) == {MODIFIED_AFTER_STAMP}


# -- whose stamp ---------------------------------------------------------------------------------


def test_stamp_is_untrusted_without_its_issuer_root(stamped):
    result = Verifier([]).verify(stamped.data, "lamaran.pdf")
    assert_only(result, UNTRUSTED_ISSUER)
    assert "'Test Issuer'" in details(result, UNTRUSTED_ISSUER)[0]
    assert result.stamps[0].serial == stamped.serial  # still reported, for the verifier to see


def test_stamp_from_another_issuer_with_the_same_serial_is_untrusted(stamped, verifier, tmp_path):
    # a second CA with the same display name issues a certificate for the first stamp's serial
    forger = Issuer.create(tmp_path / "forger", PASSPHRASE, name="Test Issuer", specimen=True)
    key = attacks.stamp_key_from_issuer(forger, PASSPHRASE, stamped.serial)
    forged = attacks.stamp_with_key(SAMPLE.read_bytes(), key)
    result = verifier.verify(forged, "forged.pdf")
    assert_only(result, UNTRUSTED_ISSUER)
    (s,) = result.stamps
    assert (s.serial, s.issuer, s.value) == (stamped.serial, "Test Issuer", 10000)
    # the forger's own root would accept it: the only difference is whom the verifier trusts
    assert Verifier([forger.root]).verify(forged, "forged.pdf").valid


# -- pictures without a stamp signature ---------------------------------------------------------


def test_stamp_picture_pasted_onto_another_letter_is_no_stamp(stamped, verifier, tmp_path):
    other = attacks.make_letter(tmp_path / "other.pdf", ["Surat lamaran lain"], compress=True)
    digest = hashlib.sha256(stamped.original).hexdigest()
    pasted = attacks.paste_picture(other.read_bytes(), attacks.picture(stamped.serial, digest))
    text = pypdf.PdfReader(io.BytesIO(pasted)).pages[0].extract_text()
    assert stamped.serial in text and "METERAI ELEKTRONIK" in text  # it looks the part
    result = verifier.verify(pasted, "pasted.pdf")
    assert_only(result, NO_STAMP)
    assert result.stamps == ()


def test_printed_and_rescanned_stamped_letter_is_no_stamp(stamped, verifier, tmp_path):
    require_tool("pdftoppm")
    scanned = attacks.print_and_scan(stamped.path, tmp_path, dpi=150)
    # the scan carries the stamp picture: its QR code still reads the serial
    import zxingcpp
    from PIL import Image

    (png,) = sorted(tmp_path.glob("scan*.png"))
    with Image.open(png) as im:
        payloads = [b.text for b in zxingcpp.read_barcodes(im)]
    assert any(stamped.serial in p for p in payloads), payloads
    assert_only(verifier.verify(scanned, "scanned.pdf"), NO_STAMP)


def test_document_signed_only_by_a_person_is_no_stamp_and_says_so(verifier):
    cosigned = attacks.cosign(SAMPLE.read_bytes())
    result = verifier.verify(cosigned, "signed.pdf")
    assert_only(result, NO_STAMP)
    assert "1 other signature" in details(result, NO_STAMP)[0]


# -- serials ---------------------------------------------------------------------------------


def test_look_alike_picture_of_one_serial_signed_with_another_stamp_is_serial_mismatch(
    stamped, verifier
):
    serial_b = other_serial(stamped.wallet, but=stamped.serial)
    key_b = stamped.wallet.stamp_key(serial_b, stamped.wallet.unlock(PASSPHRASE))
    fake = attacks.stamp_with_key(
        SAMPLE.read_bytes(), key_b, picture_serial=stamped.serial, reason_serial=serial_b
    )
    result = verifier.verify(fake, "lookalike.pdf")
    assert_only(result, SERIAL_MISMATCH)
    found = " | ".join(details(result, SERIAL_MISMATCH))
    assert f"picture shows serial {stamped.serial}, the certificate {serial_b}" in found
    assert "QR code does not encode" in found
    assert result.stamps[0].serial == serial_b


def test_reason_naming_another_serial_is_serial_mismatch(stamped, verifier):
    serial_b = other_serial(stamped.wallet, but=stamped.serial)
    key_b = stamped.wallet.stamp_key(serial_b, stamped.wallet.unlock(PASSPHRASE))
    fake = attacks.stamp_with_key(SAMPLE.read_bytes(), key_b, reason_serial=stamped.serial)
    result = verifier.verify(fake, "reason.pdf")
    assert_only(result, SERIAL_MISMATCH)
    assert f"/Reason names serial {stamped.serial}" in details(result, SERIAL_MISMATCH)[0]


def test_picture_whose_qr_code_carries_another_documents_digest_is_serial_mismatch(
    stamped, verifier, tmp_path
):
    """The stamp holder reuses the picture made for one letter on another letter."""
    key = stamped.wallet.stamp_key(stamped.serial, stamped.wallet.unlock(PASSPHRASE))
    letter = attacks.make_letter(tmp_path / "lain.pdf", ["Surat lamaran lain"]).read_bytes()
    first_digest = hashlib.sha256(stamped.original).hexdigest()
    fake = attacks.stamp_with_key(letter, key, picture_sha256=first_digest)
    result = verifier.verify(fake, "lain.pdf")
    assert_only(result, SERIAL_MISMATCH)
    assert "QR code does not encode" in details(result, SERIAL_MISMATCH)[0]


def test_stamp_claiming_to_bind_another_document_is_not_valid(stamped, verifier, tmp_path):
    # the copied stamp key signs a second letter, but records (and draws in its QR code) the
    # digest of the first letter, which anyone can read from the first stamped file
    key = stamped.wallet.stamp_key(stamped.serial, stamped.wallet.unlock(PASSPHRASE))
    letter = attacks.make_letter(tmp_path / "lain.pdf", ["Surat lamaran lain"]).read_bytes()
    first_digest = hashlib.sha256(stamped.original).hexdigest()
    fake = attacks.stamp_with_key(letter, key, claimed_sha256=first_digest)
    result = verifier.verify(fake, "lain.pdf")
    assert not result.valid
    assert codes(result) & {SIGNATURE_INVALID, SERIAL_MISMATCH}, result.problems


def test_certificate_serial_with_a_wrong_check_character_is_serial_malformed(issuer, verifier):
    good = serials.generate(issuer.info.prefix)
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    key = attacks.stamp_key_from_issuer(issuer, PASSPHRASE, bad)
    result = verifier.verify(attacks.stamp_with_key(SAMPLE.read_bytes(), key), "malformed.pdf")
    assert_only(result, SERIAL_MALFORMED)
    assert "check character" in details(result, SERIAL_MALFORMED)[0]
    assert result.stamps[0].genuine is False  # never recorded in a ledger


# -- validity period and revocation -------------------------------------------------------------


@pytest.mark.parametrize(
    ("start_days", "end_days"),
    [(-10, -1), (2, 30)],
    ids=["expired-before-signing", "not-yet-valid-at-signing"],
)
def test_stamp_outside_its_validity_when_applied_is_stamp_expired(
    issuer, verifier, start_days, end_days
):
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    key = attacks.stamp_key_from_issuer(
        issuer,
        PASSPHRASE,
        serials.generate(issuer.info.prefix),
        not_before=now + dt.timedelta(days=start_days),
        not_after=now + dt.timedelta(days=end_days),
    )
    result = verifier.verify(attacks.stamp_with_key(SAMPLE.read_bytes(), key), "expired.pdf")
    assert_only(result, STAMP_EXPIRED)
    assert "outside the stamp's validity" in details(result, STAMP_EXPIRED)[0]


def test_same_issuer_key_with_a_current_validity_is_valid(issuer, verifier):
    """Control for the crafted stamps above: the crafting itself yields a valid stamp."""
    key = attacks.stamp_key_from_issuer(issuer, PASSPHRASE, serials.generate(issuer.info.prefix))
    result = verifier.verify(attacks.stamp_with_key(SAMPLE.read_bytes(), key), "ok.pdf")
    assert result.valid, [p.to_json() for p in result.problems]


def test_revoked_serial_is_reported_with_the_issuers_crl(stamped, issuer, home):
    roots = TrustStore(home / "trust").certificates()
    other = other_serial(stamped.wallet, but=stamped.serial)
    issuer.revoke([other], PASSPHRASE)
    crl_without = issuer.crl(PASSPHRASE)
    assert Verifier(roots, crl=crl_without).verify(stamped.data, "a.pdf").valid
    issuer.revoke([stamped.serial], PASSPHRASE)
    result = Verifier(roots, crl=issuer.crl(PASSPHRASE)).verify(stamped.data, "a.pdf")
    assert_only(result, REVOKED)
    assert details(result, REVOKED) == [f"serial {stamped.serial} is revoked by its issuer"]


def test_crl_from_an_untrusted_issuer_is_a_configuration_error(home, issuer, tmp_path):
    stranger = Issuer.create(tmp_path / "stranger", PASSPHRASE, name="Stranger")
    with pytest.raises(ConfigError, match="not signed by a trusted issuer root"):
        Verifier(TrustStore(home / "trust").certificates(), crl=stranger.crl(PASSPHRASE))


def test_crl_that_is_not_a_crl_is_a_configuration_error(home, issuer):
    with pytest.raises(ConfigError, match="not an X.509 CRL"):
        Verifier(TrustStore(home / "trust").certificates(), crl=issuer.root_pem())


# -- stamp not shown ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("attack", "detail", "also"),
    [
        (lambda d: attacks.set_widget_flags(d, 0b110), "hidden", set()),
        (lambda d: attacks.set_widget_flags(d, 0), "not printable", set()),
        (
            lambda d: attacks.move_widget(d, (700, 900, 771, 971)),
            "outside the visible page",
            set(),
        ),
        # without its picture the stamp no longer shows its serial either
        (attacks.drop_appearance, "no appearance", {SERIAL_MISMATCH}),
    ],
    ids=["hidden-flag", "print-flag-cleared", "moved-off-page", "appearance-removed"],
)
def test_stamp_hidden_by_a_later_update_is_stamp_not_shown(stamped, verifier, attack, detail, also):
    result = verifier.verify(attack(stamped.data), "hidden.pdf")
    assert not result.valid
    assert STAMP_NOT_SHOWN in codes(result)
    # pyHanko's difference analysis may (and does) also see the change itself
    assert codes(result) <= {STAMP_NOT_SHOWN, MODIFIED_AFTER_STAMP} | also
    assert detail in details(result, STAMP_NOT_SHOWN)[0]


@pytest.mark.parametrize(
    ("kwargs", "detail"),
    [
        ({"print_flag": False}, "not printable"),
        ({"tweak_widget": attacks.hidden_widget}, "hidden"),
        ({"rect": (700.0, 900.0, 771.0, 971.0)}, "outside the visible page"),
        ({"rect": (-40.0, 100.0, 31.0, 171.0)}, "outside the visible page"),
        ({"rect": (400.0, 150.0, 420.0, 170.0)}, "smaller than 10 mm"),
        ({"tweak_widget": attacks.widget_on_optional_layer}, "optional-content layer"),
    ],
    ids=["no-print", "hidden", "above-the-page", "half-off-the-left", "tiny", "optional-layer"],
)
def test_stamp_signed_with_a_widget_that_is_not_shown_is_stamp_not_shown(
    wallet, verifier, kwargs, detail
):
    serial = next(e.serial for e in wallet.entries())
    key = wallet.stamp_key(serial, wallet.unlock(PASSPHRASE))
    crafted = attacks.stamp_with_field(SAMPLE.read_bytes(), key, **kwargs)
    result = verifier.verify(crafted, "crafted.pdf")
    if kwargs.get("tweak_widget") is attacks.widget_on_optional_layer:
        # the layer's /OCProperties enter the catalog in the stamp's own revision
        assert {p.code for p in result.problems} == {STAMP_NOT_SHOWN, SIGNATURE_INVALID}
        assert any("/OCProperties in the catalog" in d for d in details(result, SIGNATURE_INVALID))
    else:
        assert_only(result, STAMP_NOT_SHOWN)  # the signed revision itself: no later change
    assert detail in details(result, STAMP_NOT_SHOWN)[0]


@pytest.mark.parametrize("inherited", [False, True], ids=["page-cropbox", "inherited-cropbox"])
def test_stamp_inside_the_media_box_but_outside_the_crop_box_is_stamp_not_shown(
    wallet, verifier, inherited
):
    # the top 300 pt of the A4 page stay visible; the sample's placeholder is cropped away
    cropped = attacks.with_crop_box(SAMPLE.read_bytes(), (0, 300, 595.2756, 841.8898), inherited)
    assert pypdf.PdfReader(io.BytesIO(cropped)).pages[0].cropbox.bottom == 300
    serial = next(e.serial for e in wallet.entries())
    key = wallet.stamp_key(serial, wallet.unlock(PASSPHRASE))
    hidden = attacks.stamp_with_field(cropped, key, rect=SAMPLE_STAMP_RECT)
    result = verifier.verify(hidden, "cropped.pdf")
    assert_only(result, STAMP_NOT_SHOWN)
    assert "outside the visible page" in details(result, STAMP_NOT_SHOWN)[0]
    shown = attacks.stamp_with_field(cropped, key, rect=(412.5, 400.0, 483.4, 470.9))
    assert verifier.verify(shown, "cropped-shown.pdf").valid


def test_stamp_signed_into_a_field_made_the_same_way_but_shown_is_valid(wallet, verifier):
    """Control for the crafted-widget stamps above."""
    serial = next(e.serial for e in wallet.entries())
    key = wallet.stamp_key(serial, wallet.unlock(PASSPHRASE))
    crafted = attacks.stamp_with_field(SAMPLE.read_bytes(), key, rect=SAMPLE_STAMP_RECT)
    result = verifier.verify(crafted, "crafted.pdf")
    assert result.valid, [p.to_json() for p in result.problems]


# -- unreadable documents -------------------------------------------------------------------------


def test_not_a_pdf_is_unreadable(verifier):
    result = verifier.verify(b"Dengan hormat,\nini bukan PDF.\n" * 20, "letter.txt")
    assert_only(result, UNREADABLE)
    assert "not a PDF" in details(result, UNREADABLE)[0]


def test_empty_file_is_unreadable(verifier):
    result = verifier.verify(b"", "empty.pdf")
    assert_only(result, UNREADABLE)
    assert "empty" in details(result, UNREADABLE)[0]


@pytest.mark.parametrize("fraction", [0.5, 0.9, 0.05])
def test_truncated_stamped_file_is_not_valid(stamped, verifier, fraction):
    cut = stamped.data[: int(len(stamped.data) * fraction)]
    result = verifier.verify(cut, "cut.pdf")
    assert not result.valid
    assert codes(result) and codes(result) <= {UNREADABLE, SIGNATURE_INVALID}


def test_stamped_file_cut_in_half_is_unreadable(stamped, verifier):
    result = verifier.verify(stamped.data[: len(stamped.data) // 2], "half.pdf")
    assert_only(result, UNREADABLE)


@pytest.fixture
def encrypted_stamped(wallet, tmp_path) -> Stamped:
    src = tmp_path / "secret.pdf"
    src.write_bytes(attacks.encrypt(SAMPLE.read_bytes(), "rahasia"))
    return stamp(src, tmp_path / "secret.emeterai.pdf", wallet, password="rahasia")


@pytest.mark.parametrize(("password", "says"), [(None, "needs a password"), ("salah", "wrong")])
def test_encrypted_stamped_file_without_its_password_is_unreadable(
    encrypted_stamped, verifier, password, says
):
    result = verifier.verify(encrypted_stamped.data, "secret.pdf", password)
    assert_only(result, UNREADABLE)
    assert says in details(result, UNREADABLE)[0]


def test_encrypted_stamped_file_with_its_password_is_valid(encrypted_stamped, verifier):
    result = verifier.verify(encrypted_stamped.data, "secret.pdf", "rahasia")
    assert result.valid, [p.to_json() for p in result.problems]
    assert result.stamps[0].serial == encrypted_stamped.serial


# -- coverage anomalies ------------------------------------------------------------------------


def test_signatures_of_the_pyhanko_coverage_anomalies_are_never_valid(verifier):
    folder = corpus_dir() / "pyhanko-test-pdfs" / "coverage-anomalies"
    files = sorted(folder.glob("*.pdf"))
    assert len(files) >= 5, files
    for path in files:
        result = verifier.verify(path.read_bytes(), path.name)
        assert not result.valid, path.name
        assert codes(result) and codes(result) <= {NO_STAMP, UNREADABLE, SIGNATURE_INVALID}, (
            path.name,
            [p.to_json() for p in result.problems],
        )


def test_the_coverage_check_rejects_each_signature_of_the_pyhanko_anomalies():
    """Those files are signed by a foreign key, so verify stops at no-stamp: here the coverage
    rule that verify applies to every stamp is run on their real signatures directly."""
    import io
    import logging

    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    from emeterai.verify import _coverage_problems

    folder = corpus_dir() / "pyhanko-test-pdfs" / "coverage-anomalies"
    checked = 0
    logging.disable(logging.CRITICAL)
    try:
        for path in sorted(folder.glob("*.pdf")):
            if path.name == "base.pdf":  # the unsigned-looking base: its /Contents is not CMS
                continue
            reader = PdfFileReader(io.BytesIO(path.read_bytes()), strict=False)
            for emb in reader.embedded_signatures:
                status = validate_pdf_signature(emb, ValidationContext(trust_roots=[]))
                assert _coverage_problems(status), (path.name, status.coverage)
                checked += 1
    finally:
        logging.disable(logging.NOTSET)
    assert checked >= 4


def _anomalies(r: list[int]) -> dict[str, list[int]]:
    """The byte ranges of pyHanko's coverage-anomalies corpus, applied to a stamped file."""
    return {
        "one-byterange": [0, r[1]],
        "signature-gap-too-big": [0, r[1], r[2] + 64, r[3] - 64],
        "tail-uncovered": [0, r[1], r[2], r[3] - 100],
        "weird-byterange": [0, 10, 20, 30],
    }


@pytest.mark.parametrize(
    "anomaly", ["one-byterange", "signature-gap-too-big", "tail-uncovered", "weird-byterange"]
)
def test_stamp_signed_over_an_anomalous_byte_range_is_signature_invalid(stamped, verifier, anomaly):
    # the stamp holder re-signs, with the genuine stamp key, exactly the bytes the odd
    # /ByteRange names: the CMS signature is correct, the coverage is not
    key = stamped.wallet.stamp_key(stamped.serial, stamped.wallet.unlock(PASSPHRASE))
    (r,) = attacks.byte_ranges(stamped.data)
    resigned = attacks.resign_byte_range(stamped.data, key, _anomalies(r)[anomaly])
    result = verifier.verify(resigned, f"{anomaly}.pdf")
    assert not result.valid
    assert SIGNATURE_INVALID in codes(result), [p.to_json() for p in result.problems]


# /ByteRange tricks whose lengths add up to the file size (pyHanko then says ENTIRE_FILE), each
# re-signed with the genuine stamp key over exactly the pieces named; the last column is what
# an attacker may then change unsigned.
RANGE_TRICKS = {
    # the second piece starts 64 bytes early, inside /Contents: the last 64 bytes go unsigned
    "overlap-into-contents": lambda a, b, c: (
        f"0 {a} {b - 64} {c}".encode(),
        [(0, a), (b - 64, c)],
    ),
    # the second piece is the first again: nothing after /Contents is signed
    "start-twice": lambda a, b, c: (f"0 {a} 0 {c}".encode(), [(0, a), (0, c)]),
    # fractions: int() drops a byte that the lengths still count
    "fractions": lambda a, b, c: (f"0 {a}.5 {b} {c - 1}.5".encode(), [(0, a), (b, c - 1)]),
    "whole-floats": lambda a, b, c: (f"0 {a}.0 {b} {c}.0".encode(), [(0, a), (b, c)]),
    # an offset past the end of the file: nothing after /Contents is read
    "past-the-end": lambda a, b, c: (f"0 {a} {10**20} {c}".encode(), [(0, a)]),
}


@pytest.mark.parametrize("trick", list(RANGE_TRICKS))
def test_a_byte_range_that_adds_up_but_leaves_bytes_unsigned_is_signature_invalid(
    stamped, verifier, trick
):
    key = stamped.wallet.stamp_key(stamped.serial, stamped.wallet.unlock(PASSPHRASE))
    resigned = attacks.resign_byte_range_text(stamped.data, key, RANGE_TRICKS[trick])
    result = verifier.verify(resigned, f"{trick}.pdf")
    assert not result.valid, [p.to_json() for p in result.problems]
    assert SIGNATURE_INVALID in codes(result), [p.to_json() for p in result.problems]
    assert not result.stamps[0].genuine


def test_the_honest_byte_range_rewritten_as_text_stays_valid(stamped, verifier):
    """Control for the tricks above: the rewriting and re-signing themselves are sound."""
    key = stamped.wallet.stamp_key(stamped.serial, stamped.wallet.unlock(PASSPHRASE))
    honest = attacks.resign_byte_range_text(
        stamped.data, key, lambda a, b, c: (f"0 {a} {b} {c}".encode(), [(0, a), (b, c)])
    )
    result = verifier.verify(honest, "honest.pdf")
    assert result.valid, [p.to_json() for p in result.problems]


def test_resigning_the_normal_byte_range_keeps_the_stamp_valid(stamped, verifier):
    """Control for the anomalies above: the re-signing itself is sound."""
    key = stamped.wallet.stamp_key(stamped.serial, stamped.wallet.unlock(PASSPHRASE))
    (r,) = attacks.byte_ranges(stamped.data)
    resigned = attacks.resign_byte_range(stamped.data, key, r)
    assert resigned != stamped.data  # a new ECDSA signature
    assert verifier.verify(resigned, "same.pdf").valid


def test_one_pass_digest_is_exactly_pyhankos_byte_range_digest(stamped, verifier):
    """verify hashes a stamp's /ByteRange once and hands pyHanko the digest it would compute."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.general import byte_range_digest

    from emeterai.verify import _collect_signatures, _digest_once

    cosigned = attacks.cosign(stamped.data)  # a second revision after the stamp
    reader = PdfFileReader(io.BytesIO(cosigned), strict=False)
    embedded, _ = _collect_signatures(reader)
    for emb in embedded:
        prefix = _digest_once(emb, cosigned)
        _, expected = byte_range_digest(
            io.BytesIO(cosigned), byte_range=emb.byte_range, md_algorithm="sha256"
        )
        assert emb.external_digests["sha256"] == expected
        if emb.field_name.startswith("eMeterai"):
            assert prefix == hashlib.sha256(stamped.original).hexdigest()
    assert verifier.verify(cosigned, "cosigned.pdf").valid

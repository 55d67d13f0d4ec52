"""PAdES signing details: /Contents sized up front, whatever the issuer's name."""

from __future__ import annotations

import re

import pytest

from emeterai._sign import reserved_hex_digits
from emeterai.issuer import Issuer
from emeterai.stamp import StampOptions, stamp_file
from emeterai.trust import TrustStore
from emeterai.verify import Verifier
from emeterai.wallet import Wallet
from tests.support.common import PASSPHRASE


@pytest.mark.parametrize("name", ["X", "Badan Penerbit Meterai Elektronik Republik Indonesia 56"])
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


def test_tsa_adds_an_rfc3161_timestamp_that_verify_reports_as_the_stamping_time(
    home, runner, wallet_with_stamps, tmp_path
):
    """--tsa gives PAdES B-T: the token's time, not the signer's clock, is stamped_at."""
    import datetime as dt
    import json

    from cryptography.hazmat.primitives.serialization import Encoding
    from pyhanko.pdf_utils.reader import PdfFileReader

    from emeterai.cli import app
    from tests.support.tsaserver import running_tsa, tsa_certificate, tsa_identity

    wallet_with_stamps(1)
    src = tmp_path / "letter.pdf"
    src.write_bytes(_letter())
    token_time = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)).replace(microsecond=0)
    identity = tsa_identity()
    tsa_pem = tmp_path / "tsa.pem"
    tsa_pem.write_bytes(tsa_certificate(identity).public_bytes(Encoding.PEM))
    with running_tsa(fixed_time=token_time, identity=identity) as (url, answered):
        result = runner.invoke(app, ["stamp", str(src), "--tsa", url, "--json"])
    assert result.exit_code == 0, result.stderr
    assert answered == [1]
    out = tmp_path / "letter.emeterai.pdf"
    with out.open("rb") as fh:
        emb = PdfFileReader(fh, strict=False).embedded_signatures[0]
        unsigned = emb.signer_info["unsigned_attrs"]
        assert [a["type"].native for a in unsigned] == ["signature_time_stamp_token"]

    result = runner.invoke(app, ["verify", str(out), "--json", "--tsa-trust", str(tsa_pem)])
    assert result.exit_code == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["valid"] is True
    assert dt.datetime.fromisoformat(report["stamped_at"]) == token_time
    assert report["stamps"][0]["signing_time_source"] == "timestamp"
    assert report["stamps"][0]["level"] == "B-T"
    # a TSA nobody trusts proves nothing: the claimed time stands, and the problem says why
    untrusted = json.loads(runner.invoke(app, ["verify", str(out), "--json"]).stdout)
    assert [p["code"] for p in untrusted["problems"]] == ["untrusted-timestamp"]
    assert untrusted["stamps"][0]["signing_time_source"] == "claimed"


def test_an_unreachable_tsa_is_a_clear_error_and_spends_nothing(
    home, runner, wallet_with_stamps, tmp_path
):
    from emeterai.cli import app

    wallet = wallet_with_stamps(1)
    src = tmp_path / "letter.pdf"
    src.write_bytes(_letter())
    result = runner.invoke(app, ["stamp", str(src), "--tsa", "http://127.0.0.1:1/tsa"])
    assert result.exit_code == 1
    assert "Traceback" not in result.stderr
    assert str(src) in result.stderr
    assert "timestamp" in result.stderr.lower()
    assert not (tmp_path / "letter.emeterai.pdf").exists()
    assert [e.state for e in wallet.entries()] == ["available"]


def test_the_page_hint_is_used_only_where_it_names_the_page_at_that_index():
    """sign() is told the stamp page's object; a hint naming another page is not trusted."""
    import io

    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.reader import PdfFileReader

    from emeterai._pyhanko import StampWriter

    data = _multipage(7)
    reader = PdfFileReader(io.BytesIO(data))
    refs = [reader.find_page_for_modification(i)[0].reference for i in range(7)]
    for index in (0, 3, 6):
        writer = StampWriter(io.BytesIO(data), strict=False)
        writer.page_hint = (index, refs[index].idnum, refs[index].generation)
        assert writer.find_page_for_modification(index)[0].reference == refs[index]
        # a hint for another page falls back to pyHanko's own walk
        wrong = refs[(index + 1) % 7]
        writer.page_hint = (index, wrong.idnum, wrong.generation)
        assert writer.find_page_for_modification(index)[0].reference == refs[index]
        assert isinstance(writer.find_page_for_modification(index)[0], generic.IndirectObject)


def _multipage(pages: int, per_node: int = 3) -> bytes:
    """A PDF whose page tree is nested: nodes of ``per_node`` pages under the root."""
    import io

    import pypdf
    from pypdf.generic import ArrayObject, DictionaryObject, NameObject, NumberObject

    writer = pypdf.PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(200, 200)
    root_pages = writer._root_object["/Pages"]  # noqa: SLF001
    kids = list(root_pages["/Kids"])
    nodes = ArrayObject()
    for i in range(0, len(kids), per_node):
        node = DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Pages"),
                NameObject("/Parent"): root_pages.indirect_reference,
            }
        )
        node_ref = writer._add_object(node)  # noqa: SLF001
        chunk = ArrayObject(kids[i : i + per_node])
        for kid in chunk:
            kid.get_object()[NameObject("/Parent")] = node_ref
        node[NameObject("/Kids")] = chunk
        node[NameObject("/Count")] = NumberObject(len(chunk))
        nodes.append(node_ref)
    root_pages[NameObject("/Kids")] = nodes
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def test_the_update_output_holds_only_the_update_and_refuses_to_change_the_document():
    import io

    from emeterai._sign import PrefixChanged, _UpdateOutput

    doc = b"%PDF-1.7\n" + bytes(range(256)) * 10
    out = _UpdateOutput(doc)
    for i in range(0, len(doc), 100):  # pyHanko copies the input chunk by chunk
        out.write(doc[i : i + 100])
    out.write(b"update: /ByteRange [] /Contents <0000>")
    out.seek(len(doc) + 19)
    out.write(b"[1 2 3]")
    assert bytes(out.tail) == b"update: /ByteRange [1 2 3]tents <0000>"
    out.seek(0)
    assert out.read() == doc + bytes(out.tail)
    out.seek(5)
    buf = bytearray(len(doc) + 4)
    assert (
        out.readinto(buf) == len(doc) + 4
        and bytes(buf) == (doc + bytes(out.tail))[5 : len(doc) + 9]
    )
    out.seek(3)
    with pytest.raises(PrefixChanged):
        out.write(b"X")
    out.seek(0, io.SEEK_END)
    assert out.tell() == len(doc) + len(out.tail)

"""``emeterai serve`` in local mode over real HTTP: stamping through the API holds every rule of
the command line, and the guard refuses what an attacking web page would send."""

from __future__ import annotations

import io
import json
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from emeterai.wallet import Wallet
from tests.support.common import PASSPHRASE, PROJECT_ROOT
from tests.support.pdfmakers import not_a_pdf, plain_pdf
from tests.support.stamping import Kit
from tests.support.webserver import Served, serving

LETTER = PROJECT_ROOT / "samples" / "lamaran.pdf"


@pytest.fixture(scope="module")
def local(kit: Kit, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    logs = tmp_path_factory.mktemp("serve-logs")
    with serving(
        "--max-upload", "2M", "--max-files", "5", "--lock-after", "0.1",
        env={"EMETERAI_HOME": str(kit.home)}, log=logs / "stderr.txt",
    ) as served:  # fmt: skip
        yield served


def _states(kit: Kit) -> dict[str, str]:
    wallet = Wallet(kit.home / "wallet" / "wallet.db")
    try:
        return {e.serial: str(e.state) for e in wallet.entries()}
    finally:
        wallet.close()


def _unlock(client: httpx.Client) -> None:
    answer = client.post("/api/v1/wallet/unlock", data={"passphrase": PASSPHRASE})
    assert answer.status_code == 200, answer.text


# -- the guard --------------------------------------------------------------------------------


def test_every_request_needs_the_token(local: Served) -> None:
    with local.client(token=False) as anonymous:
        for path in ("/", "/api/v1/health", "/api/v1/wallet", "/static/app.js", "/metrics"):
            answer = anonymous.get(path)
            assert answer.status_code == 401, path
            assert answer.json()["error"] == "token-required"
        wrong = anonymous.get("/api/v1/wallet", headers={"Authorization": "Bearer not-the-token"})
        assert wrong.status_code == 401
        assert anonymous.get("/?token=guess").status_code == 401


def test_the_printed_url_sets_a_strict_httponly_cookie_and_drops_the_token(local: Served) -> None:
    with local.client(token=False, follow_redirects=False) as browser:
        first = browser.get(local.url)
        assert first.status_code == 303
        assert first.headers["location"] == "/"
        cookie = first.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
        page = browser.get("/")  # the cookie now carries the token
        assert page.status_code == 200
        assert local.token not in page.text
        assert "emeterai" in page.text


def test_a_foreign_host_name_is_refused_against_dns_rebinding(local: Served) -> None:
    with local.client() as client:
        for host in ("evil.example", "evil.example:80", "127.0.0.1.evil.example"):
            answer = client.get("/api/v1/wallet", headers={"Host": host})
            assert answer.status_code == 421, host
            assert answer.json()["error"] == "host-not-allowed"
        assert client.get("/api/v1/wallet", headers={"Host": "localhost"}).status_code == 200


def test_a_cross_origin_post_is_refused_and_spends_nothing(kit: Kit, local: Served) -> None:
    before = _states(kit)
    with local.client() as client:
        for headers in (
            {"Origin": "http://evil.example"},
            {"Origin": "null"},
            {"Sec-Fetch-Site": "cross-site"},
        ):
            answer = client.post(
                "/api/v1/stamp",
                files={"file": ("lamaran.pdf", LETTER.read_bytes(), "application/pdf")},
                data={"passphrase": PASSPHRASE},
                headers=headers,
            )
            assert answer.status_code == 403, headers
            assert answer.json()["error"] == "cross-origin"
        same = client.post("/api/v1/wallet/lock", headers={"Origin": local.base})
        assert same.status_code == 200
    assert _states(kit) == before


def test_no_cors_no_preflight_and_the_security_headers(local: Served) -> None:
    with local.client() as client:
        preflight = client.options(
            "/api/v1/verify",
            headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"},
        )
        assert preflight.status_code == 405
        answer = client.get("/api/v1/health", headers={"Origin": "http://evil.example"})
        assert answer.status_code == 200
        for response in (preflight, answer):
            assert not any(k.lower().startswith("access-control-") for k in response.headers)
        assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
        assert answer.headers["x-content-type-options"] == "nosniff"


def test_an_oversized_body_is_refused_with_413(local: Served) -> None:
    big = b"%PDF-1.7\n" + b"0" * (3 * 1024 * 1024)
    with local.client() as client:
        declared = client.post("/api/v1/verify", content=big)
        assert declared.status_code == 413
        assert declared.json()["error"] == "too-large"

        def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
            for _ in range(48):
                yield b"0" * 65536

        streamed = client.post("/api/v1/verify", content=chunks())
        assert streamed.status_code == 413


def test_too_many_files_in_one_batch_is_refused_with_413(local: Served) -> None:
    files = [("files", (f"f{i}.pdf", LETTER.read_bytes(), "application/pdf")) for i in range(6)]
    with local.client() as client:
        answer = client.post("/api/v1/verify/batch", files=files)
    assert answer.status_code == 413


def test_a_zip_bomb_is_refused_before_anything_is_checked(local: Served) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("lamaran.pdf", LETTER.read_bytes())
        archive.writestr("bomb.pdf", b"%PDF-1.7\n" + b"\0" * (300 * 1024 * 1024))
    data = buffer.getvalue()
    assert len(data) < 2 * 1024 * 1024  # under the upload cap: only its expansion is a bomb
    with local.client() as client:
        answer = client.post("/api/v1/verify/batch", files={"files": ("apps.zip", data)})
    assert answer.status_code == 413, answer.text
    assert answer.json()["error"] == "archive-too-large"
    assert "bomb.pdf" in answer.json()["message"]


def test_client_file_names_are_labels_never_paths(kit: Kit, local: Served, tmp_path: Path) -> None:
    names = ["../../escaped.pdf", "..\\..\\escaped2.pdf", "/etc/passwd.pdf", "a/../../b.pdf"]
    with local.client() as client:
        files = [("files", (n, LETTER.read_bytes(), "application/pdf")) for n in names[:4]]
        answer = client.post("/api/v1/verify/batch", files=files)
        assert answer.status_code == 200
        labels = [json.loads(line)["file"] for line in answer.text.splitlines()]
        assert labels == ["escaped.pdf", "escaped2.pdf", "passwd.pdf", "b.pdf"]
        _unlock(client)
        stamped = client.post(
            "/api/v1/stamp",
            files={"file": ("../../../lamaran.pdf", LETTER.read_bytes(), "application/pdf")},
        )
        assert stamped.status_code == 200, stamped.text
    record = json.loads(stamped.headers["emeterai-stamp"])
    assert record["output"] == "lamaran.emeterai.pdf"
    assert 'filename="lamaran.emeterai.pdf"' in stamped.headers["content-disposition"]
    kept = list((kit.home / "stamped").iterdir())
    assert kept and all(p.name.endswith(".emeterai.pdf") and ".." not in p.name for p in kept)
    for root in (kit.home.parent, kit.home.parent.parent, Path("/etc")):
        assert not (root / "escaped.pdf").exists() and not (root / "lamaran.emeterai.pdf").exists()


# -- verification -----------------------------------------------------------------------------


def test_verify_answers_the_same_json_as_the_command_line(kit: Kit, local: Served) -> None:
    with local.client() as client:
        _unlock(client)
        stamped = client.post(
            "/api/v1/stamp", files={"file": ("lamaran.pdf", LETTER.read_bytes())}
        ).content
    folder = kit.folder("same-json")
    (folder / "lamaran.emeterai.pdf").write_bytes(stamped)
    cli = kit.cli("verify", folder / "lamaran.emeterai.pdf", "--json", "--jobs", "1")
    expected = json.loads(cli.stdout)
    expected["file"] = "lamaran.emeterai.pdf"
    with local.client() as client:
        as_body = client.post(
            "/api/v1/verify?name=lamaran.emeterai.pdf",
            content=stamped,
            headers={"Content-Type": "application/pdf"},
        )
        as_form = client.post(
            "/api/v1/verify", files={"file": ("lamaran.emeterai.pdf", stamped, "application/pdf")}
        )
        invalid = client.post(
            "/api/v1/verify", files={"file": ("lamaran.pdf", LETTER.read_bytes())}
        )
    assert as_body.status_code == as_form.status_code == 200
    assert as_body.json() == as_form.json() == expected
    assert expected["valid"] is True
    assert invalid.status_code == 200  # an invalid document is an answer, not an error
    assert [p["code"] for p in invalid.json()["problems"]] == ["no-stamp"]


def test_batch_answers_json_lines_in_order_and_opens_a_zip(local: Served) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("one.pdf", LETTER.read_bytes())
        archive.writestr("notes.txt", b"not a pdf, left out")
        archive.writestr("sub/two.pdf", LETTER.read_bytes())
    with local.client() as client:
        lines = client.post(
            "/api/v1/verify/batch",
            files=[
                ("files", ("first.pdf", LETTER.read_bytes())),
                ("files", ("a.zip", buffer.getvalue())),
            ],
        )
        assert lines.status_code == 200
        assert lines.headers["content-type"].startswith("application/x-ndjson")
        files = [json.loads(line)["file"] for line in lines.text.splitlines()]
        assert files == ["first.pdf", "one.pdf", "sub/two.pdf"]
        report = client.get(f"/api/v1/reports/{lines.headers['emeterai-report']}?format=csv")
        assert report.status_code == 200
        assert report.content.startswith(b"\xef\xbb\xbf")  # the CSV's byte-order mark
        assert b"sub/two.pdf" in report.content and b"no-stamp" in report.content
        direct = client.post(
            "/api/v1/verify/batch",
            files={"files": ("first.pdf", LETTER.read_bytes())},
            data={"report": "html"},
        )
        assert direct.status_code == 200
        assert direct.headers["content-type"].startswith("text/html")
        assert b"first.pdf" in direct.content


# -- stamping ---------------------------------------------------------------------------------


def test_stamping_needs_the_unlocked_wallet_and_a_wrong_passphrase_spends_nothing(
    kit: Kit, local: Served
) -> None:
    before = _states(kit)
    with local.client() as client:
        client.post("/api/v1/wallet/lock")
        locked = client.post("/api/v1/stamp", files={"file": ("lamaran.pdf", LETTER.read_bytes())})
        assert locked.status_code == 423
        assert locked.json()["error"] == "wallet-locked"
        wrong = client.post("/api/v1/wallet/unlock", data={"passphrase": "not it"})
        assert wrong.status_code == 403
        assert client.get("/api/v1/wallet").json()["unlocked"] is False
    assert _states(kit) == before


def test_dry_run_and_preview_spend_nothing(kit: Kit, local: Served) -> None:
    before = _states(kit)
    with local.client() as client:
        _unlock(client)
        dry = client.post(
            "/api/v1/stamp",
            files={"file": ("lamaran.pdf", LETTER.read_bytes())},
            data={"dry_run": "1"},
        )
        assert dry.status_code == 200
        assert dry.json()["dry_run"] is True and dry.json()["placement"] == "placeholder"
        held = client.post(
            "/api/v1/documents", files={"file": ("lamaran.pdf", LETTER.read_bytes())}
        )
        assert held.status_code == 200
        doc = held.json()
        assert doc["placement"] == "placeholder" and len(doc["pages"]) == 1
        assert doc["pages"][0]["width_mm"] == pytest.approx(210, abs=0.5)
        page = client.get(f"/api/v1/documents/{doc['id']}/pages/1?dpi=50")
        preview = client.post(
            f"/api/v1/documents/{doc['id']}/preview", data={"page": "1", "at": "100,100"}
        )
        assert page.status_code == preview.status_code == 200
        assert page.content.startswith(b"\x89PNG") and preview.content.startswith(b"\x89PNG")
        missing = client.get(f"/api/v1/documents/{doc['id']}/pages/9")
        assert missing.status_code == 422
    assert _states(kit) == before


def test_a_stamp_through_the_held_document_verifies_and_is_spent_once(
    kit: Kit, local: Served
) -> None:
    with local.client() as client:
        _unlock(client)
        doc = client.post(
            "/api/v1/documents", files={"file": ("surat lamaran.pdf", LETTER.read_bytes())}
        ).json()
        before = _states(kit)
        answer = client.post(
            "/api/v1/stamp", data={"document": doc["id"], "page": "1", "at": "60,200", "size": "30"}
        )
        assert answer.status_code == 200, answer.text
        record = json.loads(answer.headers["emeterai-stamp"])
        again = client.get(record["download"])
        assert again.content == answer.content  # a lost download can be repeated
        gone = client.post("/api/v1/stamp", data={"document": doc["id"]})
        assert gone.status_code == 404  # the held copy went with its stamping
    after = _states(kit)
    spent = [s for s in after if before[s] != after[s]]
    assert spent == [record["serial"]] and after[record["serial"]] == "used"
    assert record["placement"] == "explicit" and record["output"] == "surat lamaran.emeterai.pdf"
    result = kit.verifier().verify(answer.content, "out.pdf")
    assert result.valid, result.to_json()
    assert result.stamps[0].serial == record["serial"]
    entry = next(
        e
        for e in Wallet(kit.home / "wallet" / "wallet.db").entries()
        if e.serial == record["serial"]
    )
    assert entry.used_file == "surat lamaran.pdf (emeterai serve)"


def test_failed_documents_spend_nothing_and_say_why_naming_the_upload(
    kit: Kit, local: Served, tmp_path: Path
) -> None:
    with local.client() as client:
        _unlock(client)
        stamped = client.post(
            "/api/v1/stamp", files={"file": ("a.pdf", LETTER.read_bytes())}
        ).content
        before = _states(kit)
        bad = not_a_pdf(tmp_path / "bad.pdf").read_bytes()
        for name, data, status, kind in (
            ("bad.pdf", bad, 422, "pdf-error"),
            ("a.emeterai.pdf", stamped, 409, "already-stamped"),
        ):
            answer = client.post("/api/v1/stamp", files={"file": (name, data)})
            assert answer.status_code == status, answer.text
            body = answer.json()
            assert body["error"] == kind
            assert body["message"].startswith(f"{name}: ") and str(tmp_path) not in body["message"]
            assert "/tmp/emeterai-upload" not in body["message"]
        off_page = client.post(
            "/api/v1/stamp",
            files={"file": ("p.pdf", plain_pdf(tmp_path / "p.pdf").read_bytes())},
            data={"page": "7"},
        )
        assert off_page.status_code == 400
    assert _states(kit) == before


def test_the_wallet_locks_itself_after_the_idle_time(local: Served) -> None:
    with local.client() as client:
        _unlock(client)
        assert client.get("/api/v1/wallet").json()["unlocked"] is True
        time.sleep(7)  # --lock-after 0.1 minutes
        assert client.get("/api/v1/wallet").json()["unlocked"] is False
        answer = client.post("/api/v1/stamp", files={"file": ("lamaran.pdf", LETTER.read_bytes())})
        assert answer.status_code == 423


def test_passphrases_never_reach_the_log(local: Served) -> None:
    with local.client() as client:
        client.post("/api/v1/wallet/unlock", data={"passphrase": "wrong-secret-xyz"})
        _unlock(client)
    assert PASSPHRASE not in local.stderr() and "wrong-secret-xyz" not in local.stderr()


def test_a_person_without_the_token_is_told_what_to_do_in_both_languages(local: Served) -> None:
    with local.client(token=False) as browser:
        page = browser.get("/", headers={"Accept": "text/html,application/xhtml+xml"})
    assert page.status_code == 401
    assert page.headers["content-type"].startswith("text/html")
    assert "emeterai serve" in page.text and 'lang="en"' in page.text and 'lang="id"' in page.text


def test_a_passphrase_sent_with_a_stamp_request_opens_the_wallet_for_that_request_only(
    kit: Kit, local: Served
) -> None:
    with local.client() as client:
        client.post("/api/v1/wallet/lock")
        answer = client.post(
            "/api/v1/stamp",
            files={"file": ("script.pdf", LETTER.read_bytes())},
            data={"passphrase": PASSPHRASE},
        )
        assert answer.status_code == 200, answer.text
        assert client.get("/api/v1/wallet").json()["unlocked"] is False
        wrong = client.post(
            "/api/v1/stamp",
            files={"file": ("script.pdf", LETTER.read_bytes())},
            data={"passphrase": "not it"},
        )
        assert wrong.status_code == 403


def test_a_stamped_file_over_the_portals_size_limit_spends_nothing(kit: Kit, local: Served) -> None:
    before = _states(kit)
    with local.client() as client:
        _unlock(client)
        answer = client.post(
            "/api/v1/stamp",
            files={"file": ("lamaran.pdf", LETTER.read_bytes())},
            data={"max_size": "10K"},
        )
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"] == "output-too-large"
    assert _states(kit) == before


def test_uploads_leave_nothing_behind_in_the_temporary_folder(kit: Kit, tmp_path: Path) -> None:
    """Held documents, spooled uploads and stamping copies all live under TMPDIR: once the
    server stops, nothing of what was sent is left there."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    big = LETTER.read_bytes() + b"%" + b"x" * (2 * 1024 * 1024) + b"\n"  # spooled to disk
    env = {"EMETERAI_HOME": str(kit.home), "TMPDIR": str(tmp)}
    with serving(env=env, log=tmp_path / "log.txt") as served, served.client() as client:
        _unlock(client)
        held = client.post("/api/v1/documents", files={"file": ("held.pdf", LETTER.read_bytes())})
        assert held.status_code == 200
        assert client.post("/api/v1/verify", files={"file": ("big.pdf", big)}).status_code == 200
        assert client.post("/api/v1/stamp", files={"file": ("s.pdf", big)}).status_code == 200
        during = [p for p in tmp.rglob("*") if p.is_file()]
        assert [p.name for p in during] == ["document.pdf"]  # only the held one, until the end
    assert list(tmp.rglob("*")) == []

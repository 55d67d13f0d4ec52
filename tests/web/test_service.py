"""``emeterai serve --verify-only``: a verification service for portals. Only verification,
health and metrics exist; a token is required off loopback; instances share a PostgreSQL
ledger; saturation answers 503 with Retry-After, slowness 504."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from emeterai.stamp import StampOptions, stamp_file
from emeterai.trust import TrustStore
from emeterai.wallet import Wallet
from tests.support import attacks
from tests.support.common import PASSPHRASE, PROJECT_ROOT
from tests.support.pgserver import fresh_database
from tests.support.webserver import Served, serve_command, serving

LETTER = PROJECT_ROOT / "samples" / "lamaran.pdf"


@pytest.fixture
def stamped_letters(
    home: Path, issuer: object, stamp_files: Callable[..., list[Path]], tmp_path: Path
) -> Callable[[int], list[bytes]]:
    """Factory: n letters, each stamped with a fresh stamp of the ``issuer`` fixture."""

    def make(n: int) -> list[bytes]:
        roots = TrustStore(home / "trust").certificates()
        wallet = Wallet(tmp_path / f"wallet-{n}" / "wallet.db")
        p12s = stamp_files(n)
        wallet.import_stamps([(str(p), p.read_bytes()) for p in p12s], PASSPHRASE, roots)
        key = wallet.unlock(PASSPHRASE)
        out = []
        for i in range(n):
            src = attacks.make_letter(tmp_path / f"l{n}-{i}.pdf", [f"Surat lamaran nomor {i}"])
            dst = tmp_path / f"l{n}-{i}.emeterai.pdf"
            stamp_file(src, dst, wallet, key, StampOptions())
            out.append(dst.read_bytes())
        return out

    return make


def _service(home: Path, tmp_path: Path, *args: str, **env: str) -> Iterator[Served]:
    return serving(
        "--verify-only", *args, env={"EMETERAI_HOME": str(home), **env}, log=tmp_path / "log.txt"
    )


def _verify(client: httpx.Client, data: bytes, name: str = "doc.pdf") -> httpx.Response:
    return client.post(
        f"/api/v1/verify?name={name}", content=data, headers={"Content-Type": "application/pdf"}
    )


def test_only_verification_health_and_metrics_exist(home: Path, issuer: object, tmp_path: Path):
    with _service(home, tmp_path) as served, served.client() as client:
        for method, path in (
            ("GET", "/"),
            ("GET", "/stamp"),
            ("GET", "/api/v1/wallet"),
            ("POST", "/api/v1/wallet/unlock"),
            ("POST", "/api/v1/wallet/import"),
            ("POST", "/api/v1/stamp"),
            ("POST", "/api/v1/documents"),
            ("POST", "/api/v1/trust"),
            ("GET", "/static/app.js"),
        ):
            assert client.request(method, path).status_code == 404, path
        assert client.get("/api/v1/health").json()["mode"] == "verify-only"
        assert _verify(client, LETTER.read_bytes()).json()["problems"][0]["code"] == "no-stamp"
        assert "emeterai_http_requests_total" in client.get("/metrics").text
        spec = client.get("/api/openapi.json").json()
        assert "/api/v1/stamp" not in spec["paths"] and "/api/v1/verify" in spec["paths"]


def test_off_loopback_a_token_is_required_to_start_and_on_every_request(
    home: Path, issuer: object, tmp_path: Path
):
    started = subprocess.run(
        [*serve_command("--verify-only", "--host", "0.0.0.0")],
        capture_output=True,
        text=True,
        env={"EMETERAI_HOME": str(home), "PATH": "/usr/bin:/bin", "EMETERAI_LANG": "en"},
        timeout=60,
    )
    assert started.returncode == 2
    assert "needs an access token" in started.stderr
    assert len(started.stderr.strip().splitlines()) == 1

    token_file = tmp_path / "token"
    token_file.write_text("s3cret-token-for-portals\n")
    with serving(
        "--verify-only", "--host", "0.0.0.0", "--token-file", str(token_file),
        env={"EMETERAI_HOME": str(home)}, log=tmp_path / "log.txt",
    ) as served:  # fmt: skip
        served.token = "s3cret-token-for-portals"
        with served.client(token=False) as anonymous:
            assert _verify(anonymous, LETTER.read_bytes()).status_code == 401
            assert anonymous.get("/metrics").status_code == 401
            assert anonymous.get("/api/v1/health").status_code == 200  # a balancer's probe
            # off loopback any Host is served: a portal's name for it
            with served.client(headers={"Host": "verify.example.go.id"}) as portal:
                assert _verify(portal, LETTER.read_bytes()).status_code == 200


def test_saturation_answers_503_with_retry_after_and_never_an_error(
    home: Path, issuer: object, tmp_path: Path, stamped_letters: Callable[[int], list[bytes]]
):
    (letter,) = stamped_letters(1)
    statuses: list[int] = []
    retry_after: list[str | None] = []
    with _service(home, tmp_path, "--max-in-flight", "1") as served:
        barrier = threading.Barrier(12)

        def one() -> None:
            with served.client() as client:
                barrier.wait()
                answer = _verify(client, letter)
                statuses.append(answer.status_code)
                retry_after.append(answer.headers.get("retry-after"))

        threads = [threading.Thread(target=one) for _ in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        with served.client() as client:
            assert client.get("/api/v1/health").status_code == 200  # probes are never capped
    assert set(statuses) == {200, 503}, statuses
    assert all(r == "1" for s, r in zip(statuses, retry_after, strict=True) if s == 503)


def test_a_request_over_its_time_limit_answers_504(
    home: Path, issuer: object, tmp_path: Path, stamped_letters: Callable[[int], list[bytes]]
):
    (letter,) = stamped_letters(1)
    with _service(home, tmp_path, "--timeout", "0.001") as served, served.client() as client:
        answer = _verify(client, letter)
        assert answer.status_code == 504
        assert answer.json()["error"] == "too-slow"
        batch = client.post("/api/v1/verify/batch", files={"files": ("a.pdf", letter)})
        assert batch.status_code == 200
        assert '"error": "too-slow"' in batch.text


def test_metrics_count_verdicts_by_problem_code_over_all_workers(
    home: Path, issuer: object, tmp_path: Path, stamped_letters: Callable[[int], list[bytes]]
):
    letters = stamped_letters(2)
    with _service(home, tmp_path, "--workers", "2") as served, served.client() as client:
        for letter in letters * 3:
            assert _verify(client, letter).json()["valid"] is True
        for _ in range(4):
            _verify(client, LETTER.read_bytes())
        # every worker answers metrics for all of them (prometheus multiprocess mode)
        texts = [client.get("/metrics").text for _ in range(4)]
    for text in texts:
        assert 'emeterai_verdicts_total{verdict="valid"} 6.0' in text
        assert 'emeterai_verdicts_total{verdict="invalid"} 4.0' in text
        assert 'emeterai_problems_total{code="no-stamp"} 4.0' in text
        assert "emeterai_http_request_seconds_bucket" in text


def test_two_instances_sharing_one_postgres_ledger_record_a_serial_once(
    home: Path,
    issuer: object,
    tmp_path: Path,
    postgres_server: str,
    stamp_files: Callable[..., list[Path]],
    stamped_letters: Callable[[int], list[bytes]],
):
    """Both instances get the same document at once: one sighting. Two documents with one
    serial (one stamp file imported into two wallets) at once: exactly one is serial-reused."""
    ledger = fresh_database(postgres_server)
    same = stamped_letters(3)
    (p12,) = stamp_files(1)
    roots = TrustStore(home / "trust").certificates()
    twins = [p.read_bytes() for p in attacks.one_stamp_on_two_letters(p12, roots, tmp_path)]
    with (
        serving("--verify-only", "--ledger", ledger, env={"EMETERAI_HOME": str(home)},
                log=tmp_path / "a.txt") as a,
        serving("--verify-only", "--ledger", ledger, env={"EMETERAI_HOME": str(home)},
                log=tmp_path / "b.txt") as b,
    ):  # fmt: skip

        def at_once(docs: tuple[bytes, bytes]) -> list[dict[str, object]]:
            barrier = threading.Barrier(2)
            answers: list[dict[str, object]] = [{}, {}]

            def send(i: int, served: Served) -> None:
                with served.client() as client:
                    barrier.wait()
                    answers[i] = _verify(client, docs[i], f"doc{i}.pdf").json()

            threads = [threading.Thread(target=send, args=(i, s)) for i, s in enumerate((a, b))]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            return answers

        for letter in same:
            assert all(r["valid"] for r in at_once((letter, letter)))
        verdicts = at_once((twins[0], twins[1]))
    codes = [{p["code"] for p in v["problems"]} for v in verdicts]  # type: ignore[union-attr]
    assert sorted(codes, key=len) == [set(), {"serial-reused"}], codes

    from emeterai.ledger import open_ledger

    stats = open_ledger(ledger).stats()
    assert (stats.serials, stats.documents, stats.reused_serials) == (4, 5, 1)


def test_the_openapi_document_names_only_routes_that_exist(kit: object, tmp_path: Path):
    home = kit.home  # type: ignore[attr-defined]
    log = tmp_path / "l.txt"
    with serving(env={"EMETERAI_HOME": str(home)}, log=log) as served, served.client() as client:
        spec = client.get("/api/openapi.json").json()
        assert spec["openapi"].startswith("3.")
        for path, operations in spec["paths"].items():
            for method in operations:
                answer = client.request(method.upper(), path)
                assert answer.status_code not in (404, 405), (method, path)


def test_a_ledger_that_cannot_be_opened_stops_the_start(home: Path, tmp_path: Path):
    (tmp_path / "folder.db").mkdir()
    started = subprocess.run(
        serve_command("--verify-only", "--ledger", str(tmp_path / "folder.db")),
        capture_output=True,
        text=True,
        env={"EMETERAI_HOME": str(home), "PATH": "/usr/bin:/bin", "EMETERAI_LANG": "en"},
        timeout=60,
    )
    assert started.returncode != 0
    assert "folder.db" in started.stderr

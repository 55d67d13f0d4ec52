#!/usr/bin/env python
"""Benchmark (issue 15): ``emeterai serve --verify-only`` throughput, and two instances racing on
one PostgreSQL ledger.

This is a benchmark, not a test: it prints figures, the ratio against the CLI measured in the
same run on the same files, and PASS/FAIL against the issue's target. It never fails the build;
the exit code is 0 unless the benchmark itself breaks.

    python bench/serve.py                        # full run: 1000 letters, 3 rounds
    python bench/serve.py --docs 100 --rounds 1  # smoke run
    python bench/serve.py --no-results           # do not touch bench/results.md

1. Throughput: one ``emeterai serve --verify-only --workers 2`` process tree on loopback;
   ``--clients`` (8) threads, each with its own keep-alive httpx connection, POST every one of
   the stamped letters once per round to ``/api/v1/verify`` (``application/pdf`` body). A
   warm-up pass (unmeasured) first: a service runs for days, so the figure is its steady state.
   Each round is followed by one ``emeterai verify DIR --jobs 2 --json`` over the same files with
   the same trust root, timed as a whole command (start-up included), so that drift on a shared
   machine hits both alike. Reported: docs/s (median over rounds), p50/p95/p99 latency (all
   measured requests), errors (non-200, transport errors or a verdict that is not valid),
   the server's peak RSS (parent + workers, summed, sampled from /proc every 50 ms), CPU
   seconds per document of the server, of this load generator and of the CLI, and the ratio.
2. Shared ledger: a real PostgreSQL (``$EMETERAI_TEST_POSTGRES``, else a throwaway server as
   tests/support/pgserver.py starts it) with a fresh database; two ``serve --verify-only
   --ledger URL`` processes on two ports. ``--races`` times, the same letter (a serial never
   seen by this database) goes to both at once (a thread barrier on warm connections); then
   ``--twins`` pairs of *different* letters carrying one serial (one stamp file imported into
   two wallets) go to both at once. The ledger must hold each serial once, and exactly one
   letter of each pair must come back ``serial-reused``.

The stamped letters (distinct 2-page letters, one serial each, stamped in-process by the CLI's
batch path with 2 jobs) are made once and kept in ``--cache`` (default: a folder in the system
temp directory); ``--fresh`` makes them again. Everything runs from a byte-compiled copy of
emeterai/ taken at the start (bench/run.py's ``snapshot_package``). The machine may be shared:
the report gives /proc/loadavg before and after each measurement.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as bench  # noqa: E402  (bench/run.py: snapshot, letters, tables)

RESULTS = bench.RESULTS
BEGIN = "<!-- bench/serve.py: begin -->"
END = "<!-- bench/serve.py: end -->"
RATIO_MIN = 0.8  # issue 15: service docs/s vs `emeterai verify --jobs 2`
PASSPHRASE = bench.PASSPHRASE
CACHE_VERSION = 1
TICKS = os.sysconf("SC_CLK_TCK")


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


# -- the stamped letters (cached) ----------------------------------------------------------


@dataclass(frozen=True)
class Letters:
    """The cached inputs: a home that trusts their issuer, the letters, the twin pairs."""

    home: Path
    letters: list[Path]
    twins: list[tuple[Path, Path]]  # (first, second): different letters, one serial
    made_seconds: float | None  # None: taken from the cache


def numbered_letter(path: Path, number: int) -> None:
    """bench/run.py's 2-page letter with its own words and number (no two alike)."""
    rng = random.Random(number)
    c = bench._canvas(path)
    bench._text_page(c, rng, f"Perihal: Lamaran CPNS nomor {number} - halaman 1", lines=40)
    c.showPage()
    bench._text_page(c, rng, f"Perihal: Lamaran CPNS nomor {number} - halaman 2", lines=12)
    bench._placeholder(c)
    c.showPage()
    c.save()


def _stamp_all(wallet: object, sources: list[Path], out_dir: Path) -> list[tuple[Path, str]]:
    from emeterai import batch
    from emeterai.stamp import StampOptions

    out_dir.mkdir(parents=True, exist_ok=True)
    jobs = [batch.StampJob(s, out_dir / f"{s.stem}.emeterai.pdf") for s in sources]
    done = []
    for job, outcome in batch.stamp_files(wallet, PASSPHRASE, jobs, StampOptions(), 2):  # type: ignore[arg-type]
        if not hasattr(outcome, "serial"):
            raise SystemExit(f"bench: stamping {job.source.name} failed: {outcome.error}")  # type: ignore[union-attr]
        done.append((job.output, outcome.serial))
    return done


def make_letters(cache: Path, docs: int, twins: int) -> None:
    """Issuer, trust store and wallet in ``cache/home``; ``docs`` letters stamped with one serial
    each; ``twins`` pairs stamped with a stamp file imported into two separate wallets."""
    from emeterai.issuer import Issuer
    from emeterai.trust import TrustStore
    from emeterai.wallet import Wallet

    shutil.rmtree(cache, ignore_errors=True)
    home = cache / "home"
    issuer = Issuer.create(home / "issuer", PASSPHRASE, name="Bench Issuer")
    stamps = issuer.issue(docs + twins, PASSPHRASE)
    TrustStore(home / "trust").add(issuer.root_pem(), "bench root")
    roots = [issuer.root]
    wallet = Wallet(home / "wallet" / "wallet.db")
    wallet.import_stamps([(s.serial, s.p12) for s in stamps[:docs]], PASSPHRASE, roots)
    sources = cache / "sources"
    sources.mkdir(parents=True)
    letters = []
    for i in range(docs):
        numbered_letter(sources / f"letter-{i:04d}.pdf", i)
        letters.append(sources / f"letter-{i:04d}.pdf")
    bench.log(f"stamping {docs} letters (2 jobs)")
    _stamp_all(wallet, letters, cache / "letters")

    pairs: dict[str, list[str]] = {}
    for side in ("first", "second"):
        twin_wallet = Wallet(cache / f"wallet-{side}" / "wallet.db")
        twin_wallet.import_stamps([(s.serial, s.p12) for s in stamps[docs:]], PASSPHRASE, roots)
        srcs = []
        for j in range(twins):
            numbered_letter(
                sources / f"{side}-{j:03d}.pdf", 100_000 * (side == "first") + 50_000 + j
            )
            srcs.append(sources / f"{side}-{j:03d}.pdf")
        for out, serial in _stamp_all(twin_wallet, srcs, cache / "twins"):
            pairs.setdefault(serial, []).append(out.name)
    shutil.rmtree(sources)
    manifest = {
        "version": CACHE_VERSION,
        "docs": docs,
        "letters": [f"letter-{i:04d}.emeterai.pdf" for i in range(docs)],
        "twins": sorted(pairs.values()),
        "commit": bench.git_rev(),
    }
    (cache / "manifest.json").write_text(json.dumps(manifest, indent=1))


def letters(cache: Path, docs: int, twins: int, fresh: bool) -> Letters:
    """The cached letters, made first when the cache is missing, too small or ``fresh``."""
    manifest_path = cache / "manifest.json"
    made = None
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    if (
        fresh
        or manifest.get("version") != CACHE_VERSION
        or manifest.get("docs", 0) < docs
        or len(manifest.get("twins", [])) < twins
    ):
        t0 = time.perf_counter()
        make_letters(cache, max(docs, manifest.get("docs", 0) if not fresh else 0), twins)
        made = time.perf_counter() - t0
        manifest = json.loads(manifest_path.read_text())
        bench.log(f"made {manifest['docs']} stamped letters in {cache} in {made:.0f} s")
    else:
        bench.log(f"stamped letters from the cache {cache} (made at {manifest['commit']})")
    return Letters(
        cache / "home",
        [cache / "letters" / name for name in manifest["letters"][:docs]],
        [(cache / "twins" / a, cache / "twins" / b) for a, b in manifest["twins"][:twins]],
        made,
    )


# -- the server as a process tree -----------------------------------------------------------


def sub_env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["EMETERAI_HOME"] = str(home)
    env["PYTHONPATH"] = str(bench.SNAPSHOT[0])  # the snapshot, not the working tree
    for name in ("EMETERAI_VERBOSE", "EMETERAI_SERVE_TOKEN", "EMETERAI_LANG"):
        env.pop(name, None)
    return env


@dataclass
class Server:
    process: subprocess.Popen[str]
    base: str
    log: Path

    def pids(self) -> list[int]:
        """The parent and every descendant (uvicorn's workers, multiprocessing's helpers)."""
        out, todo = [], [self.process.pid]
        while todo:
            pid = todo.pop()
            out.append(pid)
            try:
                for task in os.listdir(f"/proc/{pid}/task"):
                    children = Path(f"/proc/{pid}/task/{task}/children").read_text().split()
                    todo.extend(int(c) for c in children)
            except OSError:
                continue
        return out


@contextmanager
def serving(home: Path, log: Path, *args: str) -> Iterator[Server]:
    """``emeterai serve --verify-only --port 0 ARGS`` until Ctrl-C (SIGINT) at the end."""
    cmd = [bench.emeterai_exe(), "serve", "--verify-only", "--host", "127.0.0.1", "--port", "0"]
    err = log.open("w")
    process = subprocess.Popen(
        [*cmd, *args], stdout=subprocess.PIPE, stderr=err, text=True, env=sub_env(home)
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        if not line.startswith("http://"):
            process.wait(10)
            raise SystemExit(f"bench: serve printed {line!r}: {log.read_text()[-600:]}")
        server = Server(process, line.rstrip("/"), log)
        _wait_healthy(server)
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        err.close()


def _wait_healthy(server: Server) -> None:
    import httpx

    deadline = time.monotonic() + 90
    while True:
        try:
            if httpx.get(server.base + "/api/v1/health", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if server.process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"bench: serve did not come up: {server.log.read_text()[-600:]}")
        time.sleep(0.1)


class Sampler:
    """Peak RSS of a process tree (the sum over its processes at one instant, and each
    process's own peak), read from /proc/PID/status every ``every`` seconds."""

    def __init__(self, server: Server, every: float = 0.05) -> None:
        self.server = server
        self.every = every
        self.peak_sum_kb = 0
        self.peak_kb: dict[int, int] = {}
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        pids = self.server.pids()
        last_scan = time.monotonic()
        while not self._stop.is_set():
            if time.monotonic() - last_scan > 1.0:
                pids, last_scan = self.server.pids(), time.monotonic()
            total = 0
            for pid in pids:
                kb = rss_kb(pid)
                total += kb
                self.peak_kb[pid] = max(self.peak_kb.get(pid, 0), kb)
            self.peak_sum_kb = max(self.peak_sum_kb, total)
            self.samples += 1
            self._stop.wait(self.every)


def rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds used so far by these processes (their own, not children's)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / TICKS


def connections(server: Server) -> dict[int, int]:
    """Established TCP connections on the server's port held by each of its processes (a
    keep-alive connection stays with the worker that accepted it)."""
    port = int(server.base.rsplit(":", 1)[1])
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            cols = row.split()
            if int(cols[1].rsplit(":", 1)[1], 16) == port and cols[3] == "01":
                inodes.add(cols[9])
    out = {}
    for pid in server.pids():
        try:
            links = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
        except OSError:
            continue
        out[pid] = sum(1 for link in links if link[8:-1] in inodes and link.startswith("socket:"))
    return out


def own_cpu() -> float:
    t = os.times()
    return t.user + t.system


def children_cpu() -> float:
    t = os.times()
    return t.children_user + t.children_system


# -- part 1: throughput ----------------------------------------------------------------------


@dataclass
class Pass:
    """One pass of the clients over the letters."""

    wall: float
    latencies: list[float]
    errors: list[str]
    server_cpu: float
    client_cpu: float
    per_process_cpu: dict[int, float]
    connections: dict[int, int]


def client_pass(base: str, bodies: list[tuple[str, bytes]], clients: int, server: Server) -> Pass:
    """``clients`` threads, one keep-alive connection each, POST each body once (shared queue)."""
    import httpx

    lock = threading.Lock()
    next_index = [0]
    latencies: list[float] = []
    errors: list[str] = []
    pool = [httpx.Client(base_url=base, timeout=120) for _ in range(clients)]
    for c in pool:  # open every connection before the clock starts
        c.get("/api/v1/health").raise_for_status()
    held = connections(server)
    barrier = threading.Barrier(clients + 1)

    def work(client: httpx.Client) -> None:
        mine: list[float] = []
        barrier.wait()
        while True:
            with lock:
                i = next_index[0]
                next_index[0] += 1
            if i >= len(bodies):
                break
            name, data = bodies[i]
            t0 = time.perf_counter()
            try:
                answer = client.post(
                    f"/api/v1/verify?name={name}",
                    content=data,
                    headers={"Content-Type": "application/pdf"},
                )
                mine.append(time.perf_counter() - t0)
                if answer.status_code != 200:
                    errors.append(f"{name}: HTTP {answer.status_code} {answer.text[:120]}")
                elif answer.json().get("valid") is not True:
                    errors.append(f"{name}: not valid: {answer.text[:200]}")
            except httpx.HTTPError as exc:
                errors.append(f"{name}: {type(exc).__name__}: {exc}")
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=work, args=(c,)) for c in pool]
    for t in threads:
        t.start()
    pids = server.pids()
    before = {pid: cpu_seconds([pid]) for pid in pids}
    own0 = own_cpu()
    barrier.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    own1 = own_cpu()
    per = {pid: cpu_seconds([pid]) - before[pid] for pid in pids}
    for c in pool:
        c.close()
    return Pass(wall, latencies, errors, sum(per.values()), own1 - own0, per, held)


@dataclass
class CliRun:
    wall: float
    cpu: float
    ok: bool
    note: str


def cli_verify(home: Path, folder: Path, n: int) -> CliRun:
    cmd = [bench.emeterai_exe(), "verify", str(folder), "--jobs", "2", "--json"]
    cpu0 = children_cpu()
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=sub_env(home), capture_output=True, text=True)
    wall = time.perf_counter() - t0
    lines = [json.loads(ln) for ln in proc.stdout.splitlines() if ln.strip()]
    valid = sum(1 for r in lines if r.get("valid") is True)
    ok = proc.returncode == 0 and len(lines) == n and valid == n
    last = (proc.stderr.strip().splitlines() or [""])[-1]
    note = "" if ok else f"exit {proc.returncode}, {valid} valid of {n} lines {len(lines)}: {last}"
    return CliRun(wall, children_cpu() - cpu0, ok, note)


@dataclass
class Throughput:
    n: int
    clients: int
    workers: int
    passes: list[Pass] = field(default_factory=list)
    cli: list[CliRun] = field(default_factory=list)
    warmup_s: float = 0.0
    peak_sum_kb: int = 0
    peak_kb: dict[int, int] = field(default_factory=dict)
    names: dict[int, str] = field(default_factory=dict)
    samples: int = 0
    loads: list[str] = field(default_factory=list)


def bench_throughput(
    data: Letters, work: Path, rounds: int, clients: int, workers: int
) -> Throughput:
    folder = work / "verify"
    folder.mkdir()
    for path in data.letters:
        os.link(path, folder / path.name)
    bodies = [(p.name, p.read_bytes()) for p in data.letters]
    fig = Throughput(len(bodies), clients, workers)
    with serving(data.home, work / "serve.log", "--workers", str(workers)) as server:
        fig.names = {pid: _role(server, pid) for pid in server.pids()}
        with Sampler(server) as sampler:
            t0 = time.perf_counter()
            warm = client_pass(
                server.base, bodies[: min(len(bodies), 20 * clients)], clients, server
            )
            fig.warmup_s = time.perf_counter() - t0
            if warm.errors:
                bench.warn(f"warm-up: {len(warm.errors)} errors, first: {warm.errors[0]}")
            for r in range(rounds):
                fig.loads.append(loadavg())
                p = client_pass(server.base, bodies, clients, server)
                fig.passes.append(p)
                bench.log(
                    f"round {r + 1}: serve {fig.n / p.wall:.1f} docs/s, {len(p.errors)} errors; "
                    f"load {fig.loads[-1]}"
                )
                for e in p.errors[:3]:
                    bench.warn(f"serve round {r + 1}: {e}")
                c = cli_verify(data.home, folder, fig.n)
                fig.cli.append(c)
                bench.log(f"round {r + 1}: verify --jobs 2 {fig.n / c.wall:.1f} docs/s")
                if not c.ok:
                    bench.warn(f"`emeterai verify --jobs 2` round {r + 1}: {c.note[-300:]}")
            fig.loads.append(loadavg())
        fig.peak_sum_kb, fig.peak_kb, fig.samples = (
            sampler.peak_sum_kb,
            sampler.peak_kb,
            sampler.samples,
        )
    shutil.rmtree(folder)
    return fig


def _role(server: Server, pid: int) -> str:
    if pid == server.process.pid:
        return "parent (uvicorn supervisor)"
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return "child"
    if "resource_tracker" in cmdline:
        return "multiprocessing resource tracker"
    return "worker" if "spawn_main" in cmdline or "multiprocessing" in cmdline else "child"


def percentile(values: list[float], q: int) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


# -- part 2: two instances, one PostgreSQL ledger --------------------------------------------


@dataclass
class LedgerRace:
    races: int = 0
    races_both_valid: int = 0
    races_flagged: int = 0  # a same-document race answered serial-reused (must be 0)
    pairs: int = 0
    pairs_one_reused: int = 0
    reused_on: dict[str, int] = field(default_factory=lambda: {"A": 0, "B": 0})
    errors: list[str] = field(default_factory=list)
    skew_ms: list[float] = field(default_factory=list)  # between the two sends of a race
    serials: int = 0
    documents: int = 0
    reused_serials: int = 0
    serial_rows: int = 0
    serials_seen_twice: int = 0  # serial rows recorded more than once (must be 0)
    same_doc_twice: int = 0  # a (serial, document) sighting recorded twice (must be 0)
    postgres: str = ""


@contextmanager
def postgres() -> Iterator[tuple[str, str]]:
    """A PostgreSQL server URL and how it was found."""
    url = os.environ.get("EMETERAI_TEST_POSTGRES")
    if url:
        yield url, "$EMETERAI_TEST_POSTGRES"
        return
    sys.path.append(str(bench.PROJECT))
    from tests.support.pgserver import pg_bin, start_server

    if pg_bin() is None:
        raise SystemExit(
            "bench: no PostgreSQL (apt-get install postgresql or set $EMETERAI_TEST_POSTGRES)"
        )
    server = start_server()
    try:
        yield server.url, f"throwaway PostgreSQL {server.bindir.parent.name} (fsync=off)"
    finally:
        server.destroy()


def _codes(answer: dict[str, object]) -> set[str]:
    problems = answer.get("problems", [])
    codes = {p["code"] for p in problems}  # type: ignore[union-attr,index]
    for stamp in answer.get("stamps", []):  # type: ignore[union-attr]
        codes |= {p["code"] for p in stamp.get("problems", [])}  # type: ignore[union-attr]
    return codes


def bench_ledger(data: Letters, work: Path, races: int) -> LedgerRace:
    import httpx
    import psycopg

    sys.path.append(str(bench.PROJECT))
    from tests.support.pgserver import fresh_database

    fig = LedgerRace()
    with postgres() as (server_url, how):
        fig.postgres = how
        url = fresh_database(server_url)
        with (
            serving(data.home, work / "a.log", "--ledger", url) as a,
            serving(data.home, work / "b.log", "--ledger", url) as b,
            httpx.Client(base_url=a.base, timeout=120) as ca,
            httpx.Client(base_url=b.base, timeout=120) as cb,
        ):
            for c in (ca, cb):
                c.get("/api/v1/health").raise_for_status()

            def at_once(first: bytes, second: bytes, names: tuple[str, str]) -> list[dict]:
                barrier = threading.Barrier(2)
                answers: list[dict] = [{}, {}]
                sent = [0.0, 0.0]

                def send(i: int, client: httpx.Client, body: bytes) -> None:
                    barrier.wait()
                    sent[i] = time.perf_counter()
                    try:
                        r = client.post(
                            f"/api/v1/verify?name={names[i]}",
                            content=body,
                            headers={"Content-Type": "application/pdf"},
                        )
                        if r.status_code == 200:
                            answers[i] = r.json()
                        else:
                            fig.errors.append(f"{names[i]}: HTTP {r.status_code} {r.text[:120]}")
                    except httpx.HTTPError as exc:
                        fig.errors.append(f"{names[i]}: {type(exc).__name__}: {exc}")

                threads = [
                    threading.Thread(target=send, args=(0, ca, first)),
                    threading.Thread(target=send, args=(1, cb, second)),
                ]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
                fig.skew_ms.append(abs(sent[0] - sent[1]) * 1000)
                return answers

            for path in data.letters[:races]:
                body = path.read_bytes()
                answers = at_once(body, body, (path.name, path.name))
                fig.races += 1
                fig.races_both_valid += all(x.get("valid") is True for x in answers)
                fig.races_flagged += any("serial-reused" in _codes(x) for x in answers if x)
            for j, (first, second) in enumerate(data.twins):
                # alternate which instance gets which letter of the pair
                pair = (first, second) if j % 2 == 0 else (second, first)
                answers = at_once(
                    pair[0].read_bytes(), pair[1].read_bytes(), (pair[0].name, pair[1].name)
                )
                fig.pairs += 1
                reused = ["serial-reused" in _codes(x) for x in answers]
                other_valid = [x.get("valid") is True for x in answers]
                if sum(reused) == 1 and other_valid[reused.index(False)]:
                    fig.pairs_one_reused += 1
                    fig.reused_on["AB"[reused.index(True)]] += 1
        with psycopg.connect(url, autocommit=True) as conn:
            fig.serial_rows, fig.serials_seen_twice = conn.execute(
                "SELECT COUNT(*), COUNT(*) - COUNT(DISTINCT serial) FROM emeterai_serials"
            ).fetchone()
            fig.serials, fig.documents = conn.execute(
                "SELECT COUNT(DISTINCT serial), COUNT(*) FROM emeterai_sightings"
            ).fetchone()
            (fig.same_doc_twice,) = conn.execute(
                "SELECT COUNT(*) FROM (SELECT 1 FROM emeterai_sightings"
                " GROUP BY serial, document_sha256 HAVING COUNT(*) > 1) AS d"
            ).fetchone()
            (fig.reused_serials,) = conn.execute(
                "SELECT COUNT(*) FROM (SELECT serial FROM emeterai_sightings"
                " GROUP BY serial HAVING COUNT(*) > 1) AS r"
            ).fetchone()
    return fig


# -- report -----------------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def report(
    data: Letters,
    tp: Throughput,
    lr: LedgerRace | None,
    args: argparse.Namespace,
    elapsed: float,
    loads: tuple[str, str],
) -> list[str]:
    lines: list[str] = []
    add = lines.append
    scaled = args.docs < 1000 or args.rounds < 3
    add(
        f"## serve: `emeterai serve --verify-only` (issue 15){' — SCALED-DOWN smoke run' if scaled else ''}"
    )
    add("")
    add(
        f"{time.strftime('%Y-%m-%d %H:%M:%S %Z')}; {os.cpu_count()} CPUs; commit {bench.git_rev()} "
        f"(emeterai/ copied at the start and run from the copy); whole run {elapsed:.0f} s. "
        f"Command: `{' '.join(['python bench/serve.py', *args.argv])}`."
    )
    add(
        f"Load average (/proc/loadavg, 1/5/15 min) at start {loads[0]}, at end {loads[1]}; before "
        f"each round: {', '.join(tp.loads[:-1])}. The machine is shared: figures taken under load "
        "are slower and noisier."
    )
    made = "made in this run" if data.made_seconds is not None else "taken from the cache"
    add(
        f"Inputs: {tp.n} distinct stamped 2-page letters (one serial each, {made}; "
        f"{statistics.mean(p.stat().st_size for p in data.letters) / 1024:.1f} KB on average)."
    )
    add("")
    add(
        f"Service: one `emeterai serve --verify-only --workers {tp.workers}` on loopback; "
        f"{tp.clients} client threads in this process, one keep-alive httpx connection each, "
        f"POST every letter once per round (`application/pdf` body); one unmeasured warm-up pass "
        f"of {min(tp.n, 20 * tp.clients)} requests first ({tp.warmup_s:.1f} s, worker start-up "
        "and first verifications). CLI: one `emeterai verify DIR --jobs 2 --json` over the same "
        "files and trust root after each service round, timed as a whole command (start-up "
        "included). Errors: non-200 answers, transport errors, verdicts not valid."
    )
    add("")
    rows = []
    for i, (p, c) in enumerate(zip(tp.passes, tp.cli, strict=True)):
        s, v = tp.n / p.wall, tp.n / c.wall
        rows.append(
            [
                str(i + 1),
                f"{p.wall:.2f}",
                f"{s:.1f}",
                f"{percentile(p.latencies, 50) * 1000:.1f}",
                f"{percentile(p.latencies, 99) * 1000:.1f}",
                str(len(p.errors)),
                f"{c.wall:.2f}",
                f"{v:.1f}{'' if c.ok else ' (!)'}",
                f"{s / v:.2f}x",
            ]
        )
    lines += bench.table(
        [
            "round",
            "serve s",
            "serve docs/s",
            "p50 ms",
            "p99 ms",
            "errors",
            "verify s",
            "verify docs/s",
            "ratio",
        ],
        rows,
    )
    add("")
    serve_dps = bench.med([tp.n / p.wall for p in tp.passes])
    cli_dps = bench.med([tp.n / c.wall for c in tp.cli])
    ratio = serve_dps / cli_dps
    every = [x for p in tp.passes for x in p.latencies]
    errors = sum(len(p.errors) for p in tp.passes)
    served_docs = tp.n * len(tp.passes)
    server_cpu = sum(p.server_cpu for p in tp.passes) / served_docs * 1000
    client_cpu = sum(p.client_cpu for p in tp.passes) / served_docs * 1000
    cli_cpu = sum(c.cpu for c in tp.cli) / (tp.n * len(tp.cli)) * 1000
    cores_busy = sum(p.server_cpu + p.client_cpu for p in tp.passes) / sum(
        p.wall for p in tp.passes
    )
    rows = [
        ["documents per round; rounds", f"{tp.n}; {len(tp.passes)}", ""],
        ["serve docs/s (median of rounds)", f"{serve_dps:.1f}", ""],
        ["`verify --jobs 2 --json` docs/s (median of rounds)", f"{cli_dps:.1f}", ""],
        [
            "ratio serve / verify",
            f"{ratio:.2f}x",
            f"{verdict(ratio >= RATIO_MIN)} (>= {RATIO_MIN:g}x)",
        ],
        [
            f"latency p50 / p95 / p99 ms (all {len(every)} requests)",
            " / ".join(f"{percentile(every, q) * 1000:.1f}" for q in (50, 95, 99)),
            f"max {max(every) * 1000:.1f}" if every else "",
        ],
        ["errors", str(errors), verdict(errors == 0) + " (= 0)"],
        [
            "server peak RSS MB (parent + workers, summed at one instant)",
            f"{tp.peak_sum_kb * 1024 / 1e6:.0f}",
            f"{tp.samples} samples",
        ],
        [
            "  of which each process's own peak MB",
            ", ".join(
                f"{tp.names.get(pid, 'child')} {kb * 1024 / 1e6:.0f}"
                for pid, kb in sorted(tp.peak_kb.items())
            ),
            "",
        ],
        ["server CPU ms per document (all its processes)", f"{server_cpu:.2f}", ""],
        ["load generator CPU ms per document (this process)", f"{client_cpu:.2f}", ""],
        ["`verify --jobs 2` CPU ms per document (start-up included)", f"{cli_cpu:.2f}", ""],
        [
            "cores busy during serve rounds (server + load generator)",
            f"{cores_busy:.2f} of {os.cpu_count()}",
            "",
        ],
        [
            "each worker, each round: CPU s (keep-alive connections it held)",
            "; ".join(
                f"r{i + 1} "
                + ", ".join(
                    f"{p.per_process_cpu.get(pid, 0.0):.1f} ({p.connections.get(pid, 0)})"
                    for pid in sorted(p.per_process_cpu)
                    if tp.names.get(pid) == "worker"
                )
                for i, p in enumerate(tp.passes)
            ),
            "",
        ],
    ]
    lines += bench.table(["figure", "measured", "target / note"], rows)
    add("")
    if lr is not None:
        add(
            "Two instances sharing one PostgreSQL ledger: two `emeterai serve --verify-only "
            f"--ledger URL` processes (one worker each) on two ports, {lr.postgres}, a fresh "
            "database. A race = the two POSTs released by a thread barrier on warm keep-alive "
            "connections, one to each instance. Same document: a letter whose serial this "
            "database has not seen, to both. Twin pair: two different letters stamped with one "
            "stamp file imported into two wallets, one to each instance (sides alternated)."
        )
        add("")
        expect_serials = lr.races + lr.pairs
        expect_docs = lr.races + 2 * lr.pairs
        ok_ledger = (
            lr.serial_rows == expect_serials
            and lr.serials == expect_serials
            and lr.documents == expect_docs
            and lr.serials_seen_twice == 0
            and lr.same_doc_twice == 0
            and lr.reused_serials == lr.pairs
        )
        rows = [
            [
                "same-document races: both answers valid",
                f"{lr.races_both_valid} of {lr.races}",
                verdict(lr.races_both_valid == lr.races),
            ],
            [
                "same-document races answered serial-reused",
                str(lr.races_flagged),
                verdict(lr.races_flagged == 0) + " (= 0)",
            ],
            [
                "twin pairs: exactly one serial-reused, the other valid",
                f"{lr.pairs_one_reused} of {lr.pairs} (flagged on A {lr.reused_on['A']}, on B {lr.reused_on['B']})",
                verdict(lr.pairs_one_reused == lr.pairs),
            ],
            [
                "ledger: serial rows (emeterai_serials); a serial in two rows",
                f"{lr.serial_rows}; {lr.serials_seen_twice}",
                f"{verdict(lr.serial_rows == expect_serials and lr.serials_seen_twice == 0)} (= {expect_serials}; 0)",
            ],
            [
                "ledger: sightings (serial, document) / distinct serials; a sighting twice",
                f"{lr.documents} / {lr.serials}; {lr.same_doc_twice}",
                f"{verdict(lr.documents == expect_docs and lr.serials == expect_serials and lr.same_doc_twice == 0)} (= {expect_docs} / {expect_serials}; 0)",
            ],
            [
                "ledger: serials on more than one document",
                str(lr.reused_serials),
                f"{verdict(lr.reused_serials == lr.pairs)} (= {lr.pairs}, the twins)",
            ],
            ["errors (non-200, transport)", str(len(lr.errors)), verdict(not lr.errors) + " (= 0)"],
            [
                "send skew between the two POSTs of a race, ms: median / max",
                f"{bench.med(lr.skew_ms):.2f} / {max(lr.skew_ms):.2f}" if lr.skew_ms else "n/a",
                "",
            ],
            ["all ledger checks", "", verdict(ok_ledger and not lr.errors)],
        ]
        lines += bench.table(["shared ledger", "measured", "verdict"], rows)
        add("")
        for e in lr.errors[:5]:
            bench.warn(f"ledger race: {e}")
    if bench.WARNINGS:
        add("Warnings:")
        add("")
        lines.extend(f"- {w}" for w in bench.WARNINGS)
        add("")
    return lines


def write_results(lines: list[str]) -> None:
    """Put the section between its markers in bench/results.md (appended the first time),
    leaving the rest of the file as it is."""
    section = "\n".join([BEGIN, *lines, END]) + "\n"
    text = RESULTS.read_text() if RESULTS.exists() else ""
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        tail = rest.split(END, 1)[1].lstrip("\n")
        text = head + section + (("\n" + tail) if tail else "")
    else:
        text = text.rstrip("\n") + ("\n\n" if text else "") + section
    RESULTS.write_text(text)


# -- main -------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=1000, help="stamped letters (default 1000)")
    parser.add_argument("--rounds", type=int, default=3, help="serve/verify rounds (default 3)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (default 8)")
    parser.add_argument("--workers", type=int, default=2, help="serve --workers (default 2)")
    parser.add_argument(
        "--races", type=int, default=200, help="same-document races on the ledger (<= --docs)"
    )
    parser.add_argument(
        "--twins", type=int, default=20, help="twin pairs (one serial, two letters)"
    )
    parser.add_argument("--no-ledger", action="store_true", help="skip the PostgreSQL part")
    parser.add_argument(
        "--cache",
        type=Path,
        default=Path(tempfile.gettempdir()) / "emeterai-bench-serve",
        help="where the stamped letters are kept between runs",
    )
    parser.add_argument("--fresh", action="store_true", help="stamp the letters again")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--no-results", action="store_true", help="do not write bench/results.md")
    raw = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(raw)
    args.argv = raw
    start = time.perf_counter()
    load_start = loadavg()

    import logging

    logging.getLogger().handlers = [logging.NullHandler()]
    logging.getLogger().setLevel(logging.CRITICAL + 1)

    work = Path(tempfile.mkdtemp(prefix="emeterai-bench-serve-"))
    try:
        bench.snapshot_package(work)
        bench.log(f"work directory {work}; load average {load_start}; emeterai/ snapshot taken")
        data = letters(args.cache, args.docs, args.twins, args.fresh)
        tp = bench_throughput(data, work, args.rounds, args.clients, args.workers)
        lr = None
        if not args.no_ledger:
            bench.log("shared ledger: two instances, one PostgreSQL")
            lr = bench_ledger(data, work, min(args.races, args.docs))
        lines = report(data, tp, lr, args, time.perf_counter() - start, (load_start, loadavg()))
        print("\n".join(lines))
        if not args.no_results:
            write_results(lines)
            bench.log(f"wrote the serve section of {RESULTS}")
    finally:
        if args.keep:
            bench.log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python
"""Benchmark (README, Speed): stamping and verification speed, cold start, peak memory.

This is a benchmark, not a test: it prints figures, ratios against the peers measured in the
same run on the same inputs, and PASS/FAIL against the issue's targets. It never fails the
build; the exit code is 0 unless the benchmark itself breaks.

    python bench/run.py            # full run (a few minutes on a 2-core machine)
    python bench/run.py --quick    # smoke run, under a minute
    python bench/run.py --profile  # also cProfile stamping the letter and both 300-page docs

What it does, all in a throwaway directory (deleted at the end unless --keep):
- makes deterministic inputs with reportlab: a 2-page letter with a "Meterai 10.000"
  placeholder, a 40-page text document, a 300-page ~30 MB document (one incompressible
  ~100 KB noise JPEG per page, stored as is: /DCTDecode, like a scan) and a 300-page text-only
  document (page count without the size);
- sets up a throwaway EMETERAI_HOME through the library: issuer (ECDSA P-256), enough stamps in
  one issue call, trust store, wallet import;
- stamping: ``emeterai.batch.stamp_files`` (the CLI's own batch path) in this process with
  jobs=1 and jobs=2 over N hard-linked copies of each input, wall time per batch including
  the wallet unlock (and, for jobs=2, the worker pool); median ms/doc over the repetitions.
  The jobs=2 workers are forked from this warmed-up process, so the figures are steady-state
  throughput (no import cost); the cold start is measured separately. Peer: pyHanko's own
  ``PdfSigner.sign_pdf`` with a ``QRStampStyle``, in-process, per document (read input, sign,
  write output), with a stamp's PKCS#12 (ECDSA P-256, the same key type) loaded once;
- verification: ``emeterai verify DIR --jobs 2 --json`` as a subprocess over N stamped
  copies (wall time, including its start-up), ``Verifier.verify`` in-process per document, and
  the peer ``pdfsig FILE`` run once per file (sequentially, as a shell loop would);
- cold wall times (fresh processes, median): ``emeterai --help``, ``emeterai stamp`` of one
  document (each input), ``emeterai verify`` of one stamped letter; peak RSS of the one-document
  ``emeterai stamp`` per input via ``/usr/bin/time -f %M`` (or getrusage in a child);
- writes the same report as markdown to bench/results.md (overwritten each run).

Everything runs from a byte-compiled copy of emeterai/ taken at the start (see
``snapshot_package``), so that edits made to the working tree during the run cannot mix code
versions. The machine may be shared: the report gives the load average at start and end.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
PROJECT = BENCH_DIR.parent
RESULTS = BENCH_DIR / "results.md"
# bench/serve.py's section of results.md: kept as it is, at the end, when this run rewrites it.
SERVE_BEGIN = "<!-- bench/serve.py: begin -->"
SERVE_END = "<!-- bench/serve.py: end -->"
PASSPHRASE = "bench-passphrase"
MM = 72 / 25.4
A4 = (210 * MM, 297 * MM)
PLACEHOLDER = "Meterai 10.000"

# Targets from README, Speed.
STAMP_RATIO_MIN = 2.0  # batch stamping throughput vs pyHanko QR-stamp signing
VERIFY_RATIO_MIN = 2.0  # batch verification throughput vs pdfsig per file
HELP_MAX_MS = 150.0
BIG_STAMP_MAX_MS = 2000.0
# "Cost grows with file size, not with page count": this benchmark's reading of it is that the
# 300-page text-only document costs at most this much more than the 2-page letter.
PAGES_COST_MAX_RATIO = 1.5


# -- configuration -------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """How much to measure; ``--quick`` uses a smaller one."""

    stamp_n: dict[str, int]  # documents per batch, per input
    stamp_reps: int
    verify_n: dict[str, int]  # stamped files per verify batch, per input
    verify_reps: int
    inproc_verify_n: int
    cold_runs: int  # --help, verify, letter stamp
    cold_stamp_runs: int  # the other inputs' one-document cold stamp
    cli_batch: bool  # also one end-to-end `emeterai stamp --jobs 2` batch per input
    phase_n: int = 8  # documents per input for the phase breakdown


# Batch sizes: the issue's offices stamp and verify thousands of documents in one go, so a
# batch must be long enough that what a command pays once (wallet unlock, worker start-up,
# imports of a cold `emeterai verify`) weighs per document as it does in such a batch.
FULL = Plan(
    stamp_n={"letter": 100, "doc40": 60, "big300": 10, "small300": 30},
    stamp_reps=3,
    verify_n={"letter": 1000, "doc40": 1000, "big300": 100, "small300": 1000},
    verify_reps=3,
    inproc_verify_n=8,
    cold_runs=7,
    cold_stamp_runs=5,
    cli_batch=True,
)
QUICK = Plan(
    stamp_n={"letter": 12, "doc40": 6, "big300": 2, "small300": 4},
    stamp_reps=2,
    verify_n={"letter": 100, "doc40": 40, "big300": 4, "small300": 20},
    verify_reps=1,
    inproc_verify_n=2,
    cold_runs=2,
    cold_stamp_runs=1,
    cli_batch=False,
    phase_n=3,
)


@dataclass
class Doc:
    key: str
    label: str
    path: Path
    pages: int
    make_seconds: float

    @property
    def size(self) -> int:
        return self.path.stat().st_size

    @property
    def mb(self) -> float:
        return self.size / 1e6


@dataclass
class Figures:
    """Everything measured for one input."""

    ours_j1_ms: list[float] = field(default_factory=list)  # per-doc ms of each batch
    ours_j2_ms: list[float] = field(default_factory=list)
    peer_ms: list[float] = field(default_factory=list)  # per document
    cli_batch_ms: float | None = None  # per doc, one cold `emeterai stamp --jobs 2` batch
    placement: str = ""
    stamped: list[Path] = field(default_factory=list)
    verify_inproc_ms: list[float] = field(default_factory=list)
    verify_cli_s: list[float] = field(default_factory=list)
    pdfsig_s: list[float] = field(default_factory=list)
    pdfsig_par_s: list[float] = field(default_factory=list)
    verify_n: int = 0
    verify_ok: bool = True
    pdfsig_ok: bool = True
    cold_stamp_ms: list[float] = field(default_factory=list)
    rss_kb: list[int] = field(default_factory=list)


WARNINGS: list[str] = []  # anomalies seen during the run, repeated at the end of the report
SNAPSHOT: list[Path] = []  # the copy of emeterai/ that every measurement runs


def warn(msg: str) -> None:
    if msg in WARNINGS:  # e.g. a phase missing from this emeterai, seen for every input
        return
    WARNINGS.append(msg)
    log(f"WARNING: {msg}")


def snapshot_package(work: Path, source: Path = PROJECT) -> Path:
    """Copy ``source``/emeterai/ as it is now and run everything from the copy.

    Other engineers edit the working tree while the benchmark runs; without a snapshot the
    stamps made early and the verifier run late could come from different code. The copy is put
    first on sys.path here and on PYTHONPATH for the subprocesses (the editable install's finder
    comes after both). The copy is byte-compiled, as ``pip install`` does: with
    PYTHONDONTWRITEBYTECODE set (as here) an editable tree never gets .pyc files and every cold
    start would compile emeterai's sources again.
    """
    import compileall

    root = work / "src"
    package = source / "emeterai"
    if not (package / "__init__.py").is_file():
        raise SystemExit(f"bench: no emeterai package in {source}")
    shutil.copytree(package, root / "emeterai", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(root, work / "src-nopyc")
    compileall.compile_dir(root, quiet=1)
    if "emeterai" in sys.modules:
        raise SystemExit("bench: emeterai was imported before the snapshot")
    sys.path.insert(0, str(root))
    SNAPSHOT.append(root)
    import emeterai

    if Path(emeterai.__file__).resolve().parent != (root / "emeterai").resolve():
        raise SystemExit(f"bench: emeterai comes from {emeterai.__file__}, not the snapshot")
    return root


def med(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


# -- inputs --------------------------------------------------------------------------------

_TEXT = (
    "dengan hormat yang bertanda tangan di bawah ini mengajukan permohonan untuk mengikuti "
    "seleksi calon pegawai negeri sipil pada instansi pemerintah daerah sebagai bahan "
    "pertimbangan bersama ini saya lampirkan dokumen persyaratan sesuai ketentuan yang berlaku "
    "demikian surat ini saya buat dengan sebenarnya untuk dipergunakan sebagaimana mestinya "
    "atas perhatian bapak ibu saya ucapkan terima kasih"
)
_WORDS = _TEXT.split()


def _text_page(c, rng: random.Random, title: str, lines: int = 44) -> None:
    c.setFont("Times-Bold", 12)
    c.drawString(25 * MM, A4[1] - 22 * MM, title)
    c.setFont("Times-Roman", 11)
    y = A4[1] - 32 * MM
    for _ in range(lines):
        words: list[str] = []
        while sum(len(w) + 1 for w in words) < 88:
            words.append(rng.choice(_WORDS))
        c.drawString(25 * MM, y, " ".join(words).capitalize() + ".")
        y -= 14


def _placeholder(c, center_mm: tuple[float, float] = (150.0, 250.0)) -> None:
    cx, cy = center_mm[0] * MM, A4[1] - center_mm[1] * MM
    c.saveState()
    c.setDash(3, 2)
    c.setLineWidth(0.5)
    c.rect(cx - 12.5 * MM, cy - 12.5 * MM, 25 * MM, 25 * MM)
    c.setFont("Helvetica", 9)
    c.drawCentredString(cx, cy - 3, PLACEHOLDER)
    c.restoreState()
    c.setFont("Times-Roman", 12)
    c.drawString(130 * MM, A4[1] - 275 * MM, "Rina Ayu Lestari")


def _canvas(path: Path):
    from reportlab.pdfgen.canvas import Canvas

    return Canvas(str(path), pagesize=A4, invariant=1, pageCompression=1)


def make_letter(path: Path) -> int:
    rng = random.Random(1)
    c = _canvas(path)
    _text_page(c, rng, "Perihal: Lamaran CPNS - halaman 1", lines=40)
    c.showPage()
    _text_page(c, rng, "Perihal: Lamaran CPNS - halaman 2", lines=12)
    _placeholder(c)
    c.showPage()
    c.save()
    return 2


def make_text_doc(path: Path, pages: int, seed: int) -> int:
    rng = random.Random(seed)
    c = _canvas(path)
    for n in range(1, pages + 1):
        _text_page(c, rng, f"Dokumen {pages} halaman - halaman {n}", lines=44 if n < pages else 12)
        if n == pages:
            _placeholder(c)
        c.showPage()
    c.save()
    return pages


def make_scan_doc(path: Path, pages: int, seed: int, image_px: tuple[int, int] = (300, 282)) -> int:
    """One distinct noise JPEG (~100 KB, incompressible) per page, stored as is (/DCTDecode)."""
    from PIL import Image
    from reportlab import rl_config
    from reportlab.lib.utils import ImageReader

    rng = random.Random(seed)
    old_a85 = rl_config.useA85
    rl_config.useA85 = 0  # raw JPEG bytes in the stream: no ASCII85 inflation
    try:
        c = _canvas(path)
        w, h = image_px
        for n in range(1, pages + 1):
            image = Image.frombytes("RGB", (w, h), rng.randbytes(w * h * 3))
            jpeg = io.BytesIO()
            image.save(jpeg, format="JPEG", quality=95)
            jpeg.seek(0)
            c.drawImage(ImageReader(jpeg), 20 * MM, 40 * MM, 170 * MM, 230 * MM)
            c.setFont("Times-Roman", 10)
            c.drawString(25 * MM, A4[1] - 15 * MM, f"Pindaian halaman {n} dari {pages}")
            if n == pages:
                _placeholder(c, (150.0, 262.0))
            c.showPage()
        c.save()
    finally:
        rl_config.useA85 = old_a85
    return pages


def make_inputs(directory: Path) -> list[Doc]:
    directory.mkdir(parents=True, exist_ok=True)
    specs: list[tuple[str, str, Callable[[Path], int]]] = [
        ("letter", "2-page letter", make_letter),
        ("doc40", "40-page document", lambda p: make_text_doc(p, 40, seed=40)),
        ("big300", "300-page ~30 MB scan", lambda p: make_scan_doc(p, 300, seed=300)),
        ("small300", "300-page text only", lambda p: make_text_doc(p, 300, seed=301)),
    ]
    docs = []
    for key, label, maker in specs:
        path = directory / f"{key}.pdf"
        t0 = time.perf_counter()
        pages = maker(path)
        docs.append(Doc(key, label, path, pages, time.perf_counter() - t0))
    return docs


def copies(src: Path, directory: Path, n: int, stem: str) -> list[Path]:
    """``n`` hard links (copies where links fail) of ``src`` in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(n):
        dst = directory / f"{stem}-{i:04d}.pdf"
        try:
            os.link(src, dst)
        except OSError:
            shutil.copyfile(src, dst)
        out.append(dst)
    return out


# -- the home: issuer, stamps, trust, wallet -----------------------------------------------


@dataclass
class Home:
    path: Path
    wallet: object
    peer_p12: Path
    roots: list


def setup_home(directory: Path, count: int) -> Home:
    from emeterai.issuer import Issuer
    from emeterai.trust import TrustStore
    from emeterai.wallet import Wallet

    home = directory / "home"
    issuer = Issuer.create(home / "issuer", PASSPHRASE, name="Bench Issuer")
    stamps = issuer.issue(count + 1, PASSPHRASE)
    TrustStore(home / "trust").add(issuer.root_pem(), "bench root")
    peer = stamps.pop()  # the peer signs with a stamp of its own: same key type and chain
    peer_p12 = directory / f"{peer.serial}.p12"
    peer_p12.write_bytes(peer.p12)
    wallet = Wallet(home / "wallet" / "wallet.db")
    outcomes = wallet.import_stamps([(s.serial, s.p12) for s in stamps], PASSPHRASE, [issuer.root])
    bad = [o for o in outcomes if o.status != "imported"]
    if bad:
        raise SystemExit(f"bench: wallet import failed: {bad[0].detail}")
    return Home(home, wallet, peer_p12, [issuer.root])


def sub_env(home: Home) -> dict[str, str]:
    env = dict(os.environ)
    env["EMETERAI_HOME"] = str(home.path)
    env["EMETERAI_PASSPHRASE"] = PASSPHRASE
    if SNAPSHOT:
        env["PYTHONPATH"] = os.pathsep.join(
            [str(SNAPSHOT[0]), *filter(None, [os.environ.get("PYTHONPATH")])]
        )
    env.pop("EMETERAI_VERBOSE", None)
    return env


def emeterai_exe() -> str:
    here = Path(sys.executable).with_name("emeterai")
    if here.exists():
        return str(here)
    found = shutil.which("emeterai")
    if found is None:
        raise SystemExit("bench: the emeterai command is not installed (pip install -e .)")
    return found


# -- stamping ------------------------------------------------------------------------------


def ours_batch(home: Home, sources: list[Path], out_dir: Path, jobs: int) -> tuple[float, list]:
    """Wall seconds of one stamp_files batch (the CLI's path) and its results."""
    from emeterai import batch
    from emeterai.stamp import StampOptions

    out_dir.mkdir(parents=True, exist_ok=True)
    jobs_list = [batch.StampJob(s, out_dir / f"{s.stem}.emeterai.pdf") for s in sources]
    t0 = time.perf_counter()
    results = list(batch.stamp_files(home.wallet, PASSPHRASE, jobs_list, StampOptions(), jobs))  # type: ignore[arg-type]
    wall = time.perf_counter() - t0
    for _job, outcome in results:
        if not hasattr(outcome, "serial"):  # a StampFailure
            raise SystemExit(f"bench: stamping failed: {outcome.error}")
    return wall, [o for _, o in results]


class Peer:
    """pyHanko's own QR-stamp signing: a PdfSigner with a QRStampStyle, per document."""

    def __init__(self, p12: Path) -> None:
        from pyhanko.sign import signers

        self.signer = signers.SimpleSigner.load_pkcs12(str(p12), passphrase=PASSPHRASE.encode())
        assert self.signer is not None
        self.count = 0

    def sign_file(self, src: Path, dst: Path, page_index: int) -> float:
        from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
        from pyhanko.sign import signers
        from pyhanko.sign.fields import SigFieldSpec, SigSeedSubFilter
        from pyhanko.stamp import QRStampStyle

        self.count += 1
        name = f"Peer{self.count}"
        box = (390, 98, 461, 169)  # the letter's placeholder square (25 mm), bottom right
        t0 = time.perf_counter()
        data = src.read_bytes()
        writer = IncrementalPdfFileWriter(io.BytesIO(data))
        pdf_signer = signers.PdfSigner(
            signers.PdfSignatureMetadata(
                field_name=name, md_algorithm="sha256", subfilter=SigSeedSubFilter.PADES
            ),
            signer=self.signer,
            stamp_style=QRStampStyle(),
            new_field_spec=SigFieldSpec(name, on_page=page_index, box=box),
        )
        out = io.BytesIO()
        pdf_signer.sign_pdf(
            writer, output=out, appearance_text_params={"url": "https://verify.example/e-meterai"}
        )
        dst.write_bytes(out.getvalue())
        return time.perf_counter() - t0


def bench_stamping(doc: Doc, fig: Figures, home: Home, peer: Peer, work: Path, plan: Plan) -> None:
    n = plan.stamp_n[doc.key]
    sources = copies(doc.path, work / "in" / doc.key, n, doc.key)
    for rep in range(plan.stamp_reps):
        # Interleaved, so that drift on a noisy machine hits all three alike.
        for jobs, store in ((1, fig.ours_j1_ms), (2, fig.ours_j2_ms)):
            out = work / "out" / f"{doc.key}-j{jobs}-r{rep}"
            wall, results = ours_batch(home, sources, out, jobs)
            store.append(wall * 1000 / n)
            fig.placement = results[0].placement
            if rep == plan.stamp_reps - 1 and jobs == 1:
                fig.stamped = [Path(r.output) for r in results]
            else:
                shutil.rmtree(out)
        peer_out = work / "out" / f"{doc.key}-peer-r{rep}"
        peer_out.mkdir(parents=True, exist_ok=True)
        for s in sources:
            fig.peer_ms.append(1000 * peer.sign_file(s, peer_out / s.name, doc.pages - 1))
        shutil.rmtree(peer_out)
    log(
        f"stamp {doc.key}: ours j1 {med(fig.ours_j1_ms):.0f} ms/doc, j2 {med(fig.ours_j2_ms):.0f}"
        f" ms/doc, peer {med(fig.peer_ms):.0f} ms/doc"
    )


def bench_cli_batch(doc: Doc, fig: Figures, home: Home, work: Path, plan: Plan) -> None:
    n = plan.stamp_n[doc.key]
    sources = sorted((work / "in" / doc.key).glob("*.pdf"))[:n]
    out = work / "out" / f"{doc.key}-cli"
    cmd = [emeterai_exe(), "stamp", *map(str, sources), "--out-dir", str(out), "--jobs", "2"]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=sub_env(home), capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"bench: {' '.join(cmd[:2])} failed: {proc.stderr.strip()[-400:]}")
    fig.cli_batch_ms = wall * 1000 / n
    shutil.rmtree(out)


# -- verification --------------------------------------------------------------------------


def bench_verify(doc: Doc, fig: Figures, home: Home, work: Path, plan: Plan) -> None:
    from emeterai.verify import Verifier

    verifier = Verifier(home.roots)
    for path in fig.stamped[: plan.inproc_verify_n]:
        data = path.read_bytes()
        t0 = time.perf_counter()
        result = verifier.verify(data, str(path))
        fig.verify_inproc_ms.append((time.perf_counter() - t0) * 1000)
        if not result.valid:
            fig.verify_ok = False
            warn(f"in-process verify of {path.name}: INVALID {[p.code for p in result.problems]}")

    n = plan.verify_n[doc.key]
    vdir = work / "verify" / doc.key
    vdir.mkdir(parents=True, exist_ok=True)
    files = []
    for i in range(n):
        src = fig.stamped[i % len(fig.stamped)]
        dst = vdir / f"{doc.key}-{i:04d}.pdf"
        try:
            os.link(src, dst)
        except OSError:
            shutil.copyfile(src, dst)
        files.append(dst)
    fig.verify_n = n
    env = sub_env(home)
    exe = emeterai_exe()
    pdfsig = shutil.which("pdfsig")

    def run_pdfsig(path: Path) -> bool:
        assert pdfsig is not None
        proc = subprocess.run([pdfsig, str(path)], capture_output=True, text=True)
        return "Signature is Valid" in proc.stdout

    for _ in range(plan.verify_reps):
        t0 = time.perf_counter()
        proc = subprocess.run(
            [exe, "verify", str(vdir), "--jobs", "2", "--json"],
            env=env,
            capture_output=True,
            text=True,
        )
        fig.verify_cli_s.append(time.perf_counter() - t0)
        lines = [ln for ln in proc.stdout.splitlines() if ln.strip()]
        if (
            proc.returncode != 0
            or len(lines) != n
            or any('"valid": true' not in ln for ln in lines)
        ):
            fig.verify_ok = False
            valid = sum('"valid": true' in ln for ln in lines)
            last = (proc.stderr.strip().splitlines() or [""])[-1]
            warn(
                f"`emeterai verify` of {n} {doc.key} files: exit {proc.returncode}, "
                f"{valid} valid of {n}: {last[-200:]}"
            )
        if pdfsig is not None:
            t0 = time.perf_counter()
            oks = [run_pdfsig(f) for f in files]
            fig.pdfsig_s.append(time.perf_counter() - t0)
            if not all(oks):
                fig.pdfsig_ok = False
                warn(f"pdfsig did not report 'Signature is Valid' for some {doc.key} file")
            t0 = time.perf_counter()
            with ThreadPoolExecutor(2) as pool:  # for information: pdfsig on both cores
                list(pool.map(run_pdfsig, files))
            fig.pdfsig_par_s.append(time.perf_counter() - t0)
    shutil.rmtree(vdir)
    log(
        f"verify {doc.key}: in-process {med(fig.verify_inproc_ms):.0f} ms/doc, "
        f"CLI --jobs 2 {n / med(fig.verify_cli_s):.1f} docs/s, "
        f"pdfsig {n / med(fig.pdfsig_s) if fig.pdfsig_s else float('nan'):.1f} docs/s"
    )


# -- cold start and memory -----------------------------------------------------------------

TIME_BIN = "/usr/bin/time"

_RUSAGE_CHILD = """
import resource, subprocess, sys
proc = subprocess.run(sys.argv[2:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
open(sys.argv[1], "w").write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
sys.stderr.write(proc.stderr.decode(errors="replace"))
sys.exit(proc.returncode)
"""


def timed_run(
    cmd: list[str], env: dict[str, str], rss_file: Path | None = None
) -> tuple[float, int | None]:
    """Wall ms of one fresh process running ``cmd``; its peak RSS in KB when ``rss_file``."""
    if rss_file is not None:
        if os.access(TIME_BIN, os.X_OK):
            cmd = [TIME_BIN, "-f", "%M", "-o", str(rss_file), *cmd]
        else:
            cmd = [sys.executable, "-c", _RUSAGE_CHILD, str(rss_file), *cmd]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = (time.perf_counter() - t0) * 1000
    if proc.returncode != 0:
        names = [Path(c).name for c in cmd]
        shown = " ".join(names[names.index("emeterai") :] if "emeterai" in names else names)
        last = (proc.stderr.decode(errors="replace").strip().splitlines() or [""])[-1]
        warn(f"`{shown}` exit {proc.returncode}: {last[-300:]}")
    rss = None
    if rss_file is not None:
        rss = int(rss_file.read_text().split()[-1])
        rss_file.unlink()
    return wall, rss


def cold(
    commands: dict[str, tuple[list[str], dict[str, str]]], runs: int
) -> dict[str, list[float]]:
    """Wall ms of ``runs`` fresh processes per command, taken round-robin so that load from
    elsewhere hits every command alike; one unmeasured warm-up run each."""
    for cmd, env in commands.values():
        subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    out: dict[str, list[float]] = {label: [] for label in commands}
    for _ in range(runs):
        for label, (cmd, env) in commands.items():
            out[label].append(timed_run(cmd, env)[0])
    return out


def bench_cold_stamp(
    docs: list[Doc], figs: dict[str, Figures], home: Home, work: Path, runs: dict[str, int]
) -> None:
    """One-document ``emeterai stamp`` in fresh processes, round-robin over the inputs."""
    env = sub_env(home)
    for i in range(max(runs.values())):
        for doc in docs:
            if i >= runs[doc.key]:
                continue
            fig = figs[doc.key]
            out = work / "out" / f"{doc.key}-cold-{i}.emeterai.pdf"
            wall, rss = timed_run(
                [emeterai_exe(), "stamp", str(doc.path), "-o", str(out)], env, work / "rss.txt"
            )
            fig.cold_stamp_ms.append(wall)
            assert rss is not None
            fig.rss_kb.append(rss)
            out.unlink(missing_ok=True)
    for doc in docs:
        fig = figs[doc.key]
        log(
            f"cold stamp {doc.key}: {med(fig.cold_stamp_ms):.0f} ms, "
            f"peak RSS {med(fig.rss_kb) * 1024 / 1e6:.0f} MB"
        )


# -- profile -------------------------------------------------------------------------------

# (label, module, attribute, is a coroutine): the stamping pipeline's phases, timed by wrapping.
PHASES = [
    ("read the input", "emeterai.stamp", "read_input", False),
    ("analyse: strict structure check (pyHanko)", "emeterai._repair", "structure_problem", False),
    ("analyse: pypdf reader + page list", "emeterai.stamp", "_reader", False),
    ("analyse: placement (placeholder text search)", "emeterai._place", "choose", False),
    ("analyse, in all (also SHA-256 of the input)", "emeterai.stamp", "analyse", False),
    ("wallet: reserve", "emeterai.wallet", "Wallet.reserve", False),
    ("wallet: unwrap stamp key", "emeterai.wallet", "Wallet.stamp_key", False),
    ("picture from the cached template", "emeterai.stamp", "appearance_for", False),
    ("sign (pyHanko), in all", "emeterai._sign", "sign_update", False),
    (
        "  of which CMS + ECDSA (pyHanko perform_signature)",
        "pyhanko.sign.signers.pdf_signer",
        "PdfTBSDocument.perform_signature",
        True,
    ),
    (
        "  of which write + digest the byte range",
        "pyhanko.sign.signers.pdf_signer",
        "PdfTBSDocument.digest_tbs_document",
        False,
    ),
    ("self-check: full verify of input and output, in all", "emeterai.stamp", "self_check", False),
    (
        "  of which one Verifier.verify call (input or output)",
        "emeterai.verify",
        "Verifier.verify",
        False,
    ),
    ("wallet: record intended output (durable)", "emeterai.wallet", "Wallet.mark_written", False),
    ("write temp file + fsync", "emeterai.stamp", "write_temp", False),
    ("wallet: record the move (durable)", "emeterai.wallet", "Wallet.mark_publishing", False),
    ("rename", "emeterai.stamp", "rename_into_place", False),
    ("fsync folder", "emeterai.stamp", "sync_folder", False),
    ("wallet: commit", "emeterai.wallet", "Wallet.commit", False),
]
PEER_PHASES = [
    (
        "peer: size estimate (a dry-run signature)",
        "pyhanko.sign.signers.pdf_signer",
        "PdfSigningSession.estimate_signature_container_size",
        True,
    ),
    (
        "peer: CMS + ECDSA (perform_signature)",
        "pyhanko.sign.signers.pdf_signer",
        "PdfTBSDocument.perform_signature",
        True,
    ),
]


@contextlib.contextmanager
def timed_phases(phases: list[tuple[str, str, str, bool]], into: dict[str, list[float]]):
    """Wrap each phase's function so that its wall time per call lands in ``into``."""
    import functools
    import importlib

    undo = []
    for label, module, attr, is_async in phases:
        *path, name = attr.split(".")
        try:  # another version of emeterai (--source) may not have it
            owner: object = importlib.import_module(module)
            for part in path:
                owner = getattr(owner, part)
            original = getattr(owner, name)
        except (ImportError, AttributeError):
            warn(f"phase '{label.strip()}': {module}.{attr} does not exist here; not timed")
            continue

        def make(original=original, label=label, is_async=is_async):
            if is_async:

                @functools.wraps(original)
                async def awrapper(*a, **k):
                    t0 = time.perf_counter()
                    try:
                        return await original(*a, **k)
                    finally:
                        into.setdefault(label, []).append(time.perf_counter() - t0)

                return awrapper

            @functools.wraps(original)
            def wrapper(*a, **k):
                t0 = time.perf_counter()
                try:
                    return original(*a, **k)
                finally:
                    into.setdefault(label, []).append(time.perf_counter() - t0)

            return wrapper

        setattr(owner, name, make())
        undo.append((owner, name, original))
    try:
        yield
    finally:
        for owner, name, original in reversed(undo):
            setattr(owner, name, original)


def phase_breakdown(
    docs: list[Doc], home: Home, peer: Peer, work: Path, n: int
) -> tuple[list[str], dict[str, dict[str, float]]]:
    """Median wall ms of each stamping phase per input (in-process, one core, no profiler),
    with the peer's total and its dry run beside it."""
    from emeterai import batch
    from emeterai.stamp import StampOptions

    key = home.wallet.unlock(PASSPHRASE)  # type: ignore[attr-defined]
    by_doc: dict[str, dict[str, float]] = {}
    for doc in docs:
        sources = copies(doc.path, work / "in" / f"phases-{doc.key}", n, doc.key)
        out = work / "out" / f"phases-{doc.key}"
        out.mkdir(parents=True, exist_ok=True)
        jobs = [batch.StampJob(s, out / s.name) for s in sources]
        times: dict[str, list[float]] = {}
        with timed_phases(
            PHASES + [("whole stamp_file", "emeterai.stamp", "stamp_file", False)], times
        ):
            for job in jobs:
                list(batch.stamp_files(home.wallet, PASSPHRASE, [job], StampOptions(), 1, key=key))  # type: ignore[arg-type]
        peer_times: dict[str, list[float]] = {}
        with timed_phases(PEER_PHASES, peer_times):
            peer_total = [peer.sign_file(s, out / f"peer-{s.name}", doc.pages - 1) for s in sources]
        peer_times["peer: whole sign_file (read, sign, write)"] = peer_total
        by_doc[doc.key] = {k: med(v) * 1000 for k, v in {**times, **peer_times}.items()}
        shutil.rmtree(out)
    labels = (
        [p[0] for p in PHASES]
        + ["whole stamp_file"]
        + [p[0] for p in PEER_PHASES]
        + ["peer: whole sign_file (read, sign, write)"]
    )
    rows = [
        [label] + [f"{by_doc[d.key].get(label, float('nan')):.2f}" for d in docs]
        for label in labels
    ]
    return table(["phase (median ms per document)"] + [d.label for d in docs], rows), by_doc


def profile_stamp(doc: Doc, home: Home, work: Path, top: int = 14) -> tuple[float, list[str]]:
    """cProfile of stamping one ``doc`` in this (warm) process: the top cumulative entries
    inside emeterai, pyHanko and pypdf."""
    import cProfile
    import pstats

    from emeterai import batch
    from emeterai.stamp import StampOptions

    out = work / "out" / f"{doc.key}-profile.pdf"
    job = batch.StampJob(doc.path, out)
    key = home.wallet.unlock(PASSPHRASE)  # type: ignore[attr-defined]  # once per batch: not profiled
    prof = cProfile.Profile()
    t0 = time.perf_counter()
    prof.enable()
    list(batch.stamp_files(home.wallet, PASSPHRASE, [job], StampOptions(), 1, key=key))  # type: ignore[arg-type]
    prof.disable()
    total = time.perf_counter() - t0
    out.unlink(missing_ok=True)
    stats = pstats.Stats(prof)
    rows = []
    for (filename, line, func), (_cc, ncalls, tottime, cumtime, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        norm = filename.replace(os.sep, "/")
        for pkg in ("emeterai", "pyhanko", "pypdf"):
            marker = f"/{pkg}/"
            if marker in norm:
                where = pkg + "/" + norm.split(marker, 1)[1]
                break
        else:
            continue
        if where == "emeterai/batch.py":  # the wrappers around stamp_file: equal to the total
            continue
        rows.append((cumtime, tottime, ncalls, f"{where}:{line}({func})"))
    rows.sort(reverse=True)
    lines = [
        f"| {ct * 1000:.1f} | {tt * 1000:.1f} | {nc} | `{name}` |"
        for ct, tt, nc, name in rows[:top]
    ]
    return total, lines


# -- report --------------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def fmt_ms(values: Sequence[float]) -> str:
    if not values:
        return "n/a"
    if len(values) == 1:
        return f"{values[0]:.0f}"
    return f"{med(values):.0f} ({min(values):.0f}-{max(values):.0f})"


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    out = ["| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |"]
    out.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    out += [
        "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in rows
    ]
    return out


def versions() -> str:
    from importlib.metadata import version

    parts = [f"Python {platform.python_version()}"]
    for dist in ("emeterai", "pyHanko", "pypdf", "reportlab", "cryptography"):
        with contextlib.suppress(Exception):
            parts.append(f"{dist} {version(dist)}")
    try:
        out = subprocess.run(["pdfsig", "-v"], capture_output=True, text=True)
        parts.append((out.stdout + out.stderr).splitlines()[0].replace(" version", ""))
    except (OSError, IndexError):
        parts.append("pdfsig missing")
    return ", ".join(parts)


def git_rev(checkout: Path = PROJECT) -> str:
    """The short commit of ``checkout`` (the one the emeterai/ snapshot came from), and whether
    its emeterai/ differed from that commit."""
    try:
        rev = subprocess.run(
            ["git", "-C", str(checkout), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(checkout), "status", "--porcelain", "--", "emeterai"],
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        return f"unknown ({checkout})"
    if not rev:
        return f"unknown ({checkout} is not a git checkout)"
    return rev + (" + uncommitted changes in emeterai/" if dirty else "")


def report(
    docs: list[Doc],
    figs: dict[str, Figures],
    cold_ms: dict[str, list[float]],
    plan: Plan,
    quick: bool,
    setup_s: float,
    stamps: int,
    elapsed_s: float,
    profiles: list[tuple[Doc, float, list[str]]],
    load: tuple[float, float],
    phases: list[str],
    source: Path,
) -> list[str]:
    lines: list[str] = []
    add = lines.append
    by = {d.key: d for d in docs}
    add(f"# emeterai benchmark (README, Speed){' — QUICK smoke run' if quick else ''}")
    add("")
    add(
        f"{time.strftime('%Y-%m-%d %H:%M:%S %Z')}; {os.cpu_count()} CPUs; commit {git_rev(source)} "
        f"(emeterai/ copied from {source} at the start and run from the copy); "
        f"{versions()}."
    )
    add(
        f"Load average (1 min) at start {load[0]:.2f}, at end {load[1]:.2f}: the machine is shared, "
        "so figures taken under load are slower and noisier."
    )
    add(
        f"Stamping: median over {plan.stamp_reps} batches per setting; issuer, "
        f"{stamps} stamps and wallet made in "
        f"{setup_s:.1f} s; whole run {elapsed_s:.0f} s. Key type everywhere: ECDSA P-256."
    )
    add("")

    add("## Inputs")
    add("")
    rows = [
        [
            d.label,
            str(d.pages),
            f"{d.mb:.2f}",
            f"{d.size / d.pages / 1024:.1f}",
            figs[d.key].placement,
            f"{d.make_seconds:.2f}",
        ]
        for d in docs
    ]
    lines += table(["input", "pages", "MB", "KB/page", "placement", "made in s"], rows)
    add("")

    add("## Stamping throughput (in-process, warm)")
    add("")
    add(
        "ms/doc = batch wall time / N, median (min-max) over the batches; ours = "
        "`emeterai.batch.stamp_files` (reserve, sign, fsync'd write, commit); peer = pyHanko "
        "`PdfSigner(..., stamp_style=QRStampStyle()).sign_pdf()` per document (read, sign, write)."
    )
    add("")
    rows = []
    for d in docs:
        f = figs[d.key]
        j1, j2, peer = med(f.ours_j1_ms), med(f.ours_j2_ms), med(f.peer_ms)
        rows.append(
            [
                d.label,
                str(plan.stamp_n[d.key]),
                fmt_ms(f.ours_j1_ms),
                f"{1000 / j1:.1f}",
                fmt_ms(f.ours_j2_ms),
                f"{1000 / j2:.1f}",
                fmt_ms(f.peer_ms),
                f"{1000 / peer:.1f}",
                f"{peer / j1:.2f}x",
                f"{peer / j2:.2f}x",
                f"{verdict(peer / j2 >= STAMP_RATIO_MIN)} (>= {STAMP_RATIO_MIN:g}x)",
            ]
        )
    lines += table(
        [
            "input",
            "N",
            "ours j1 ms/doc",
            "docs/s",
            "ours --jobs 2 ms/doc",
            "docs/s",
            "pyHanko QR ms/doc",
            "docs/s",
            "ours j1 / peer",
            "ours j2 / peer",
            "target (j2)",
        ],
        rows,
    )
    if plan.cli_batch:
        add("")
        add(
            "End to end, one cold `emeterai stamp FILES --out-dir D --jobs 2` process (start-up "
            "included), ms/doc: "
            + ", ".join(
                f"{d.label} {figs[d.key].cli_batch_ms:.0f} (N={plan.stamp_n[d.key]})"
                for d in docs
                if figs[d.key].cli_batch_ms is not None
            )
            + "."
        )
    add("")

    add("## Verification throughput")
    add("")
    add(
        "ours = one `emeterai verify DIR --jobs 2 --json` process over N stamped files (wall "
        "time, start-up included); peer = `pdfsig FILE` once per file, one after the other. "
        "In-process = `Verifier.verify` per document, one core. pdfsig x2 = two pdfsig at a "
        "time (for information; not the target's peer)."
    )
    add("")
    rows = []
    for d in docs:
        f = figs[d.key]
        n = f.verify_n
        ours = n / med(f.verify_cli_s)
        sig = n / med(f.pdfsig_s) if f.pdfsig_s else float("nan")
        sig2 = n / med(f.pdfsig_par_s) if f.pdfsig_par_s else float("nan")
        ok = "" if f.verify_ok and f.pdfsig_ok else " (!)"
        rows.append(
            [
                d.label,
                str(n),
                fmt_ms(f.verify_inproc_ms),
                f"{1000 / med(f.verify_inproc_ms):.1f}",
                f"{med(f.verify_cli_s):.2f}",
                f"{ours:.1f}{ok}",
                f"{med(f.pdfsig_s):.2f}" if f.pdfsig_s else "n/a",
                f"{sig:.1f}",
                f"{sig2:.1f}",
                f"{ours / sig:.2f}x",
                f"{verdict(ours / sig >= VERIFY_RATIO_MIN)} (>= {VERIFY_RATIO_MIN:g}x)",
            ]
        )
    lines += table(
        [
            "input",
            "N",
            "in-process ms/doc",
            "docs/s",
            "verify --jobs 2 s",
            "docs/s",
            "pdfsig loop s",
            "docs/s",
            "pdfsig x2 docs/s",
            "ours / pdfsig",
            "target",
        ],
        rows,
    )
    if not all(figs[d.key].verify_ok and figs[d.key].pdfsig_ok for d in docs):
        add("")
        add("(!) some stamped file was not reported valid: see Warnings below.")
    start = med(cold_ms.get("emeterai verify letter.emeterai.pdf", []))
    if start == start and any(figs[d.key].pdfsig_s and figs[d.key].verify_n > 1 for d in docs):
        add("")
        add(
            f"Start-up vs per file: a cold `emeterai verify` of one letter takes {start:.0f} ms "
            "(interpreter, imports, trust store, one file). Taking that as the batch's start-up, "
            "each further file of the batch cost (wall time on 2 workers, against pdfsig per file, "
            "process start included):"
        )
        add("")
        rows = []
        for d in docs:
            f = figs[d.key]
            if not f.pdfsig_s or f.verify_n < 2:
                continue
            per_file = (med(f.verify_cli_s) * 1000 - start) / (f.verify_n - 1)
            peer_file = med(f.pdfsig_s) * 1000 / f.verify_n
            need = peer_file / VERIFY_RATIO_MIN - per_file
            rows.append(
                [
                    d.label,
                    f"{per_file:.2f}",
                    f"{peer_file:.2f}",
                    f"{peer_file / per_file:.2f}x",
                    f"{start / need:.0f}" if need > 0 else "never",
                ]
            )
        lines += table(
            [
                "input",
                "ours ms per further file",
                "pdfsig ms per file",
                "ratio without start-up",
                f"{VERIFY_RATIO_MIN:g}x from N =",
            ],
            rows,
        )
    add("")

    add(
        "## Cold start (fresh processes, median (min-max); commands taken round-robin, "
        "after one unmeasured run each)"
    )
    add("")
    rows = [[cmd, fmt_ms(v)] for cmd, v in cold_ms.items()]
    lines += table(["command", "wall ms"], rows)
    add("")

    add("## One document: cold `emeterai stamp FILE -o OUT`, peak RSS")
    add("")
    letter = figs["letter"]
    letter_rss = med(letter.rss_kb) * 1024
    rows = []
    for d in docs:
        f = figs[d.key]
        rss = med(f.rss_kb) * 1024
        limit = letter_rss + 2 * d.size
        rows.append(
            [
                d.label,
                f"{d.mb:.2f}",
                fmt_ms(f.cold_stamp_ms),
                f"{med(f.ours_j1_ms):.0f}",
                f"{rss / 1e6:.0f}",
                f"{(rss - letter_rss) / 1e6:+.0f}",
                f"{limit / 1e6:.0f}",
                verdict(rss <= limit) if d.key == "big300" else "(info)",
            ]
        )
    lines += table(
        [
            "input",
            "MB",
            "cold stamp ms",
            "in-batch ms/doc",
            "peak RSS MB",
            "vs letter MB",
            "RSS limit MB (letter + 2x size)",
            "RSS",
        ],
        rows,
    )
    add("")

    add("## Cost vs file size and page count")
    add("")
    small, big = by["small300"], by["big300"]
    t_letter, t_small, t_big = (med(figs[k].ours_j1_ms) for k in ("letter", "small300", "big300"))
    c_letter, c_small, c_big = (
        med(figs[k].cold_stamp_ms) for k in ("letter", "small300", "big300")
    )
    per_page = (t_small - t_letter) / (small.pages - by["letter"].pages)
    per_mb = (t_big - t_small) / max(big.mb - small.mb, 1e-9)
    add(
        f"- in-batch stamp ms/doc: letter {t_letter:.0f}, 300 pages {small.mb:.2f} MB {t_small:.0f}, "
        f"300 pages {big.mb:.1f} MB {t_big:.0f}; 40 pages {med(figs['doc40'].ours_j1_ms):.0f}."
    )
    add(
        f"- marginal cost: {per_page:.2f} ms per extra page (letter -> 300-page text), "
        f"{per_mb:.1f} ms per extra MB (300-page text -> 300-page scan)."
    )
    add(
        f"- cold CLI ms: letter {c_letter:.0f}, 300-page text {c_small:.0f}, 300-page scan {c_big:.0f}."
    )
    add(
        f"- peak RSS MB: letter {med(letter.rss_kb) * 1024 / 1e6:.0f}, 300-page text "
        f"{med(figs['small300'].rss_kb) * 1024 / 1e6:.0f}, 300-page scan "
        f"{med(figs['big300'].rss_kb) * 1024 / 1e6:.0f} (MB = 10^6 bytes)."
    )
    add("")

    add("## Targets")
    add("")
    help_ms = med(cold_ms["emeterai --help"])
    rows = []
    for d in docs:
        f = figs[d.key]
        r = med(f.peer_ms) / med(f.ours_j2_ms)
        rows.append(
            [
                f"stamp throughput --jobs 2 vs pyHanko QR, {d.label}",
                f"{r:.2f}x",
                f">= {STAMP_RATIO_MIN:g}x",
                verdict(r >= STAMP_RATIO_MIN),
            ]
        )
    for d in docs:
        f = figs[d.key]
        if not f.pdfsig_s:
            continue
        r = (f.verify_n / med(f.verify_cli_s)) / (f.verify_n / med(f.pdfsig_s))
        rows.append(
            [
                f"verify throughput --jobs 2 vs pdfsig per file, {d.label} (N={f.verify_n})",
                f"{r:.2f}x",
                f">= {VERIFY_RATIO_MIN:g}x",
                verdict(r >= VERIFY_RATIO_MIN),
            ]
        )
    rows.append(
        [
            "`emeterai --help` cold",
            f"{help_ms:.0f} ms",
            f"<= {HELP_MAX_MS:g} ms",
            verdict(help_ms <= HELP_MAX_MS),
        ]
    )
    rows.append(
        [
            f"300-page {big.mb:.0f} MB stamped, cold `emeterai stamp`",
            f"{c_big:.0f} ms",
            f"<= {BIG_STAMP_MAX_MS:g} ms",
            verdict(c_big <= BIG_STAMP_MAX_MS),
        ]
    )
    rows.append(
        [
            f"300-page {big.mb:.0f} MB stamped, in a batch",
            f"{t_big:.0f} ms",
            f"<= {BIG_STAMP_MAX_MS:g} ms",
            verdict(t_big <= BIG_STAMP_MAX_MS),
        ]
    )
    big_rss = med(figs["big300"].rss_kb) * 1024
    rows.append(
        [
            f"300-page {big.mb:.0f} MB peak RSS",
            f"{big_rss / 1e6:.0f} MB",
            f"<= {(letter_rss + 2 * big.size) / 1e6:.0f} MB (letter + 2x size)",
            verdict(big_rss <= letter_rss + 2 * big.size),
        ]
    )
    rows.append(
        [
            "cost grows with pages? 300-page text / letter, in-batch time",
            f"{t_small / t_letter:.2f}x",
            f"<= {PAGES_COST_MAX_RATIO:g}x (bench's reading)",
            verdict(t_small / t_letter <= PAGES_COST_MAX_RATIO),
        ]
    )
    small_rss = med(figs["small300"].rss_kb) * 1024
    rows.append(
        [
            "(info) 300-page text / letter, cold CLI time; peak RSS",
            f"{c_small / c_letter:.2f}x; {small_rss / 1e6:.0f} MB",
            f"letter + 2x size = {(letter_rss + 2 * small.size) / 1e6:.0f} MB",
            "-",
        ]
    )
    lines += table(["target", "measured", "limit", "verdict"], rows)
    add("")

    add("## Where a stamp's time goes (in-process, one core, wall clock, no profiler)")
    add("")
    add(
        "Each phase's function is wrapped with a timer while stamping the input one document at a "
        "time (nested rows are part of the row above; the wallet unlock, once per batch, is not "
        "shown). The peer's rows are the same run of pyHanko's own QR-stamp signing."
    )
    add("")
    lines += phases
    add("")

    if WARNINGS:
        add("## Warnings")
        add("")
        lines.extend(f"- {w}" for w in WARNINGS)
        add("")

    for doc, total, prof_lines in profiles:
        add(
            f"## Profile: stamping the {doc.label} once, warm, in-process ({total * 1000:.0f} ms under cProfile)"
        )
        add("")
        add("Top cumulative entries inside emeterai, pyHanko and pypdf (batch wrappers left out).")
        add("")
        add("| cumulative ms | own ms | calls | function |")
        add("|---|---|---|---|")
        lines += prof_lines
        add("")
    return lines


# -- main ----------------------------------------------------------------------------------


def with_serve_section(text: str) -> str:
    """``text`` followed by bench/serve.py's section of the results.md there is now, unchanged."""
    try:
        old = RESULTS.read_text()
    except FileNotFoundError:
        return text
    begin = old.find(SERVE_BEGIN)
    end = old.find(SERVE_END, begin)
    if begin < 0 or end < 0:
        return text
    return text.rstrip("\n") + "\n\n" + old[begin : end + len(SERVE_END)] + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small N: a smoke run under a minute")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="also cProfile stamping one letter, the 300-page text and the 300-page scan",
    )
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--no-results", action="store_true", help="do not write bench/results.md")
    parser.add_argument(
        "--source",
        type=Path,
        default=PROJECT,
        metavar="DIR",
        help="measure the emeterai package in DIR/emeterai (e.g. a git worktree of an earlier "
        "commit) instead of this checkout's",
    )
    args = parser.parse_args(argv)
    source = args.source.resolve()
    plan = QUICK if args.quick else FULL
    start = time.perf_counter()
    load_start = os.getloadavg()[0]

    import logging

    logging.getLogger().handlers = [logging.NullHandler()]  # as the CLI does: pyHanko is chatty
    logging.getLogger().setLevel(logging.CRITICAL + 1)

    work = Path(tempfile.mkdtemp(prefix="emeterai-bench-"))
    try:
        snapshot_package(work, source)
        log(f"work directory {work}; load average {load_start:.2f}; emeterai/ snapshot taken")
        docs = make_inputs(work / "inputs")
        log(
            "inputs: "
            + ", ".join(
                f"{d.key} {d.pages} p {d.mb:.1f} MB in {d.make_seconds:.1f} s" for d in docs
            )
        )

        runs_cold_stamp = {
            d.key: plan.cold_runs if d.key == "letter" else plan.cold_stamp_runs for d in docs
        }
        needed = (
            sum(plan.stamp_n.values()) * plan.stamp_reps * 2
            + sum(runs_cold_stamp.values())
            + (sum(plan.stamp_n.values()) if plan.cli_batch else 0)
            + len(docs)  # warm-up
            + plan.cold_runs
            + 1  # cold `emeterai stamp` of the letter, for the cold table
            + (3 if args.profile else 0)
            + plan.phase_n * len(docs)
            + 4  # margin
        )
        t0 = time.perf_counter()
        home = setup_home(work, needed)
        setup_s = time.perf_counter() - t0
        log(f"home with {needed} stamps in {setup_s:.1f} s")

        peer = Peer(home.peer_p12)
        figs = {d.key: Figures() for d in docs}
        # Warm up both pipelines (imports, caches) so the batches measure steady state.
        for d in docs:
            ours_batch(home, [d.path], work / "out" / f"warm-{d.key}", 1)
            peer.sign_file(d.path, work / "out" / f"warm-{d.key}" / "peer.pdf", d.pages - 1)
            shutil.rmtree(work / "out" / f"warm-{d.key}")

        for d in docs:
            bench_stamping(d, figs[d.key], home, peer, work, plan)
        if plan.cli_batch:
            for d in docs:
                bench_cli_batch(d, figs[d.key], home, work, plan)
        for d in docs:
            bench_verify(d, figs[d.key], home, work, plan)

        env = sub_env(home)
        exe = emeterai_exe()
        letter = docs[0]
        nopyc = dict(env, PYTHONPATH=str(work / "src-nopyc"), PYTHONDONTWRITEBYTECODE="1")
        stamped_letter = figs["letter"].stamped[0]
        cold_ms = cold(
            {
                "emeterai --help": ([exe, "--help"], env),
                "(info) emeterai --help, emeterai/ not byte-compiled": ([exe, "--help"], nopyc),
                "emeterai verify letter.emeterai.pdf": ([exe, "verify", str(stamped_letter)], env),
            },
            plan.cold_runs,
        )
        bench_cold_stamp(docs, figs, home, work, runs_cold_stamp)
        cold_ms["emeterai stamp letter.pdf -o out.pdf"] = figs["letter"].cold_stamp_ms
        cold_ms[f"emeterai stamp big300.pdf -o out.pdf ({docs[2].mb:.0f} MB)"] = figs[
            "big300"
        ].cold_stamp_ms
        log(f"cold: --help {med(cold_ms['emeterai --help']):.0f} ms")

        log("phase breakdown")
        phases, _ = phase_breakdown(docs, home, peer, work, plan.phase_n)
        profiles = []
        if args.profile:
            for d in (letter, docs[3], docs[2]):
                total, prof_lines = profile_stamp(d, home, work)
                profiles.append((d, total, prof_lines))

        load = (load_start, os.getloadavg()[0])
        lines = report(
            docs,
            figs,
            cold_ms,
            plan,
            args.quick,
            setup_s,
            needed,
            time.perf_counter() - start,
            profiles,
            load,
            phases,
            source,
        )
        text = "\n".join(lines) + "\n"
        print(text)
        if not args.no_results:
            RESULTS.write_text(with_serve_section(text))
            log(f"wrote {RESULTS}")
    finally:
        if args.keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

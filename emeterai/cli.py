"""The command line: parse, call the library, print. Nothing else lives here.

Heavy modules (pyHanko, pypdf, reportlab) are imported inside the commands that need them, so
that ``emeterai --help`` stays fast.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from typer.core import TyperGroup

from emeterai import __version__
from emeterai.errors import EmeteraiError, PassphraseError, UsageError, library_logging

_verbose = False
_live: Any = None  # the progress bar being drawn, if any


class _Group(TyperGroup):
    """Turns every EmeteraiError into one stderr line and its exit code, in one place."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except EmeteraiError as exc:
            _fail(exc, exc.exit_code)
        except (typer.Exit, typer.Abort, KeyboardInterrupt):
            raise
        except BrokenPipeError:  # e.g. piped into `head`: stop quietly
            sys.stderr.close()
            raise typer.Exit(1) from None
        except Exception as exc:  # a bug: say so in one line, details with --verbose
            if type(exc).__module__.startswith(("typer", "click")):
                raise
            _fail(exc, 1, prefix=f"internal error ({type(exc).__name__}): ")


def _fail(exc: BaseException, code: int, prefix: str = "") -> NoReturn:
    if _verbose:
        traceback.print_exception(exc, file=sys.stderr)
    message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    typer.echo(f"emeterai: error: {prefix}{message}", err=True)
    raise typer.Exit(code)


app = typer.Typer(
    cls=_Group,
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,  # plain help: importing rich's renderer costs ~80 ms per start
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    help="Put e-meterai stamps on PDFs locally and offline, and verify them.",
)
issuer_app = typer.Typer(
    no_args_is_help=True, help="The stamp issuer (root CA): init, issue, revoke."
)
wallet_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None, help="Your purchased stamps.")
trust_app = typer.Typer(
    no_args_is_help=True, help="Issuer roots trusted by verify and wallet import."
)
serial_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None, help="Serial numbers.")
app.add_typer(issuer_app, name="issuer")
app.add_typer(wallet_app, name="wallet")
app.add_typer(trust_app, name="trust")
app.add_typer(serial_app, name="serial")

PassphraseFile = Annotated[
    Path | None,
    typer.Option(
        "--passphrase-file",
        help="Read the passphrase from this file (first line). Else EMETERAI_PASSPHRASE, else a prompt.",
        dir_okay=False,
    ),
]
StampPassphraseFile = Annotated[
    Path | None,
    typer.Option(
        "--stamp-passphrase-file",
        help="Passphrase of the stamp files (first line). Else EMETERAI_STAMP_PASSPHRASE, else a prompt.",
        dir_okay=False,
    ),
]
JsonFlag = Annotated[bool, typer.Option("--json", help="One JSON object per line on stdout.")]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"emeterai {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Tracebacks and library logs.")
    ] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    global _verbose
    _verbose = verbose
    library_logging(verbose)


# -- shared helpers ---------------------------------------------------------------------------


def home() -> Path:
    env = os.environ.get("EMETERAI_HOME")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("emeterai", appauthor=False))


def passphrase(
    passphrase_file: Path | None,
    what: str,
    confirm: bool = False,
    env_var: str = "EMETERAI_PASSPHRASE",
    file_option: str = "--passphrase-file",
) -> str:
    """The secret of this command: file, environment or prompt, in that order."""
    if passphrase_file is not None:
        try:
            lines = passphrase_file.read_text().splitlines()
        except OSError as exc:
            raise PassphraseError(
                f"{passphrase_file}: cannot read passphrase file ({exc.strerror})"
            ) from None
        if not lines or not lines[0]:
            raise PassphraseError(f"{passphrase_file}: the passphrase file is empty")
        return lines[0]
    env = os.environ.get(env_var)
    if env:
        return env
    if not sys.stdin.isatty():
        raise PassphraseError(
            f"a passphrase is needed for {what}: set {env_var} or use {file_option}"
        )
    value: str = typer.prompt(
        f"Passphrase for {what}", hide_input=True, confirmation_prompt=confirm, err=True
    )
    return value


def _wrong_secret(outcome: Any) -> bool:
    return "wrong passphrase" in (outcome.detail or "")


def _sellers_passphrase(passphrase_file: Path | None) -> str | None:
    """The stamp files' own passphrase, when given (file or EMETERAI_STAMP_PASSPHRASE); import
    asks for it only once the wallet's passphrase has failed to open a file."""
    if passphrase_file is None and not os.environ.get("EMETERAI_STAMP_PASSPHRASE"):
        return None
    return passphrase(
        passphrase_file,
        "the stamp files",
        env_var="EMETERAI_STAMP_PASSPHRASE",
        file_option="--stamp-passphrase-file",
    )


def _emit_json(obj: dict[str, Any]) -> None:
    typer.echo(json.dumps(obj, ensure_ascii=False, sort_keys=False))


def _trust_store() -> Any:
    from emeterai.trust import TrustStore

    return TrustStore(home() / "trust")


def _wallet() -> Any:
    from emeterai.wallet import Wallet

    return Wallet(home() / "wallet" / "wallet.db")


# -- serial -----------------------------------------------------------------------------------


@serial_app.command("check")
def serial_check(
    serial: Annotated[str, typer.Argument(help="A serial, any case, '-' grouping allowed.")],
) -> None:
    """Exit 0 if SERIAL is well formed (length, alphabet, check character), 1 with the reason if not."""
    from emeterai import serial as serials

    canonical = serials.parse(serial)
    typer.echo(f"{canonical}: well formed")


# -- issuer -----------------------------------------------------------------------------------


def _issuer_dir() -> Path:
    return home() / "issuer"


@issuer_app.command("init")
def issuer_init(
    name: Annotated[
        str, typer.Option(help="The issuer's name, shown on every stamp.")
    ] = "emeterai Issuer",
    specimen: Annotated[
        bool, typer.Option("--specimen", help="A specimen issuer: stamps say SPESIMEN.")
    ] = False,
    passphrase_file: PassphraseFile = None,
) -> None:
    """Create the issuer CA (ECDSA P-256, key encrypted with the passphrase)."""
    from emeterai.issuer import Issuer

    secret = passphrase(passphrase_file, "the new issuer key", confirm=True)
    issuer = Issuer.create(_issuer_dir(), secret, name=name, specimen=specimen)
    info = issuer.info
    typer.echo(
        f"created issuer {info.name!r}{' (specimen)' if info.specimen else ''}, serial prefix "
        f"{info.prefix}, root fingerprint {info.fingerprint}"
    )
    typer.echo("give verifiers its root: emeterai issuer root -o issuer-root.pem", err=True)


@issuer_app.command("root")
def issuer_root(
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write here instead of stdout.")
    ] = None,
) -> None:
    """The issuer's root certificate (PEM), for verifiers' trust stores."""
    from emeterai.issuer import Issuer

    pem = Issuer.open(_issuer_dir()).root_pem()
    if output is None:
        sys.stdout.write(pem.decode())
    else:
        _write_new_file(output, pem, force=True)
        typer.echo(f"wrote {output}", err=True)


@issuer_app.command("issue")
def issuer_issue(
    count: Annotated[int, typer.Option("--count", "-n", min=1, help="How many stamps.")],
    out: Annotated[
        Path, typer.Option("--out", help="Folder for the <SERIAL>.p12 files.", file_okay=False)
    ],
    value: Annotated[int, typer.Option(min=1, help="Nominal value in rupiah.")] = 10000,
    valid_days: Annotated[int, typer.Option(min=1, help="Validity period in days.")] = 365,
    passphrase_file: PassphraseFile = None,
    stamp_passphrase_file: StampPassphraseFile = None,
) -> None:
    """Issue COUNT stamps, each a PKCS#12 protected by the stamp passphrase (not the issuer's:
    the buyer gets it, and must never learn the passphrase of the issuer key)."""
    from emeterai.issuer import Issuer

    issuer = Issuer.open(_issuer_dir())
    secret = passphrase(passphrase_file, "the issuer key")
    issuer.check_passphrase(secret)  # a wrong one fails before the buyer's secret is asked for
    for_buyer = passphrase(
        stamp_passphrase_file,
        "the new stamp files",
        confirm=True,
        env_var="EMETERAI_STAMP_PASSPHRASE",
        file_option="--stamp-passphrase-file",
    )
    if for_buyer == secret:
        raise UsageError(
            "the stamp files' passphrase must differ from the issuer key's: buyers get it"
        )
    stamps = issuer.issue(
        count, secret, value=value, valid_days=valid_days, stamp_passphrase=for_buyer
    )
    out.mkdir(parents=True, exist_ok=True)
    for stamp in stamps:
        _write_new_file(out / f"{stamp.serial}.p12", stamp.p12, force=False, mode=0o600)
        typer.echo(stamp.serial)
    typer.echo(f"issued {len(stamps)} stamp(s) of Rp{value} into {out}", err=True)


@issuer_app.command("revoke")
def issuer_revoke(serials: Annotated[list[str], typer.Argument(help="Serials to revoke.")]) -> None:
    """Revoke serials; publish the change with 'emeterai issuer crl'."""
    from emeterai.issuer import Issuer

    for serial in Issuer.open(_issuer_dir()).revoke(serials):
        typer.echo(f"revoked {serial}")


@issuer_app.command("crl")
def issuer_crl(
    output: Annotated[Path, typer.Option("-o", "--output", help="Where to write the CRL (PEM).")],
    passphrase_file: PassphraseFile = None,
) -> None:
    """Write the current certificate revocation list, for 'verify --crl'."""
    from emeterai.issuer import Issuer

    issuer = Issuer.open(_issuer_dir())
    crl = issuer.crl(passphrase(passphrase_file, "the issuer key"))
    _write_new_file(output, crl, force=True)
    typer.echo(f"wrote {output}", err=True)


# -- wallet -----------------------------------------------------------------------------------


def _stamp_files(paths: list[Path]) -> list[tuple[str, bytes]]:
    files: list[tuple[str, bytes]] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix.lower() in (".p12", ".pfx"))
            if not found:
                raise UsageError(f"{path}: no .p12 stamp files in this folder")
            files.extend((str(p), p.read_bytes()) for p in found)
        elif path.is_file():
            files.append((str(path), path.read_bytes()))
        else:
            raise UsageError(f"{path}: no such file or folder")
    return files


@wallet_app.command("import")
def wallet_import(
    paths: Annotated[list[Path], typer.Argument(help="Stamp files (.p12) or folders of them.")],
    allow_untrusted: Annotated[
        bool, typer.Option("--allow-untrusted", help="Import stamps whose issuer you do not trust.")
    ] = False,
    passphrase_file: PassphraseFile = None,
    stamp_passphrase_file: StampPassphraseFile = None,
) -> None:
    """Check purchased stamps and add them to the wallet.

    The wallet's passphrase also opens the stamp files unless the seller's passphrase for them
    is given (--stamp-passphrase-file or EMETERAI_STAMP_PASSPHRASE).
    """
    files = _stamp_files(paths)
    for_files = _sellers_passphrase(stamp_passphrase_file)
    secret = passphrase(
        passphrase_file, "the wallet" if for_files else "the stamp files and wallet"
    )
    wallet, roots = _wallet(), _trust_store().certificates()
    outcomes = wallet.import_stamps(
        files, secret, roots, allow_untrusted=allow_untrusted, stamp_passphrase=for_files
    )
    locked = {o.source for o in outcomes if o.status == "error" and _wrong_secret(o)}
    if locked and for_files is None and sys.stdin.isatty():
        # bought under the seller's passphrase: ask for it once, for all such files
        seller = passphrase(None, f"the {len(locked)} stamp file(s) from the seller")
        again = wallet.import_stamps(
            [f for f in files if f[0] in locked],
            secret,
            roots,
            allow_untrusted=allow_untrusted,
            stamp_passphrase=seller,
        )
        outcomes = [o for o in outcomes if o.source not in locked] + again
    counts = {"imported": 0, "duplicate": 0, "error": 0}
    for outcome in outcomes:
        counts[outcome.status] += 1
        if outcome.status == "error":
            typer.echo(f"emeterai: error: {outcome.detail}", err=True)
        elif outcome.status == "duplicate":
            typer.echo(
                f"{outcome.source}: {outcome.serial} already in the wallet, unchanged", err=True
            )
        else:
            typer.echo(f"imported {outcome.serial}")
    typer.echo(
        f"{counts['imported']} imported, {counts['duplicate']} already present, {counts['error']} refused",
        err=True,
    )
    if counts["error"]:
        raise typer.Exit(1)


@wallet_app.command("list")
def wallet_list(json_out: JsonFlag = False) -> None:
    """Serial, value, expiry, state and, for used stamps, where they were used."""
    wallet = _wallet()
    wallet.recover()
    entries = wallet.entries()
    for e in entries:
        if json_out:
            _emit_json(
                {
                    "serial": e.serial,
                    "value": e.value,
                    "issuer": e.issuer,
                    "specimen": e.specimen,
                    "expires": e.not_after.isoformat(),
                    "state": e.state,
                    "file": e.used_file,
                    "document_sha256": e.used_sha256,
                    "output": e.output_path,
                    "used_at": e.used_at,
                }
            )
        else:
            used = f"  {e.used_file} sha256:{e.used_sha256}" if e.state == "used" else ""
            if e.state == "unsure":
                used = f"  (possibly used: {e.output_path} from {e.used_file}; never spent again)"
            typer.echo(f"{e.serial}  Rp{e.value}  expires {e.not_after:%Y-%m-%d}  {e.state}{used}")
    if not json_out:
        available = sum(e.state == "available" for e in entries)
        typer.echo(f"{len(entries)} stamp(s), {available} available", err=True)


# -- trust ------------------------------------------------------------------------------------


@trust_app.command("add")
def trust_add(
    pems: Annotated[list[Path], typer.Argument(help="Issuer root certificates (PEM or DER).")],
) -> None:
    """Trust issuer roots."""
    store = _trust_store()
    for pem in pems:
        try:
            data = pem.read_bytes()
        except OSError as exc:
            raise UsageError(f"{pem}: cannot read ({exc.strerror})") from None
        root, new = store.add(data, str(pem))
        state = "trusted" if new else "already trusted"
        typer.echo(
            f"{state}: {root.name}{' (specimen)' if root.specimen else ''} {root.fingerprint}"
        )


@trust_app.command("list")
def trust_list(json_out: JsonFlag = False) -> None:
    """The trusted issuer roots."""
    for root in _trust_store().roots():
        if json_out:
            _emit_json(
                {
                    "fingerprint": root.fingerprint,
                    "name": root.name,
                    "specimen": root.specimen,
                    "not_after": root.not_after.isoformat(),
                }
            )
        else:
            typer.echo(
                f"{root.fingerprint}  {root.name}{' (specimen)' if root.specimen else ''}"
                f"  until {root.not_after:%Y-%m-%d}"
            )


@trust_app.command("remove")
def trust_remove(
    keys: Annotated[
        list[str], typer.Argument(help="Fingerprint (or its first 8+ hex digits) or name.")
    ],
) -> None:
    """Stop trusting issuer roots."""
    store = _trust_store()
    for key in keys:
        root = store.remove(key)
        typer.echo(f"removed {root.name} {root.fingerprint}")


# -- stamp ------------------------------------------------------------------------------------


def _parse_at(value: str | None) -> tuple[float, float] | None:
    if value is None:
        return None
    try:
        x, y = (float(v) for v in value.split(","))
    except ValueError:
        raise UsageError(
            f"--at {value!r}: expected X,Y in millimetres, e.g. --at 150,230"
        ) from None
    if x < 0 or y < 0:
        raise UsageError(f"--at {value!r}: millimetres from the top-left must not be negative")
    return x, y


def _parse_page(value: str | None) -> int | None:
    """1-based page, or -1 for 'last', or None when not given."""
    if value is None:
        return None
    if value.lower() == "last":
        return -1
    try:
        page = int(value)
    except ValueError:
        raise UsageError(f"--page {value!r}: expected a page number or 'last'") from None
    if page < 1:
        raise UsageError(f"--page {value!r}: pages are numbered from 1")
    return page


def _expand_pdfs(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix.lower() == ".pdf" and p.is_file())
            if not found:
                typer.echo(f"emeterai: warning: {path}: no PDF files in this folder", err=True)
            files.extend(found)
        else:
            files.append(path)
    return files


def _progress(total: int) -> Any:
    """A rich progress bar on stderr when it is a terminal, else a no-op."""
    if total < 2 or not sys.stderr.isatty():
        return None
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    progress = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    progress.start()
    progress.add_task("working", total=total)
    global _live
    _live = progress
    return progress


def _stop(progress: Any) -> None:
    global _live
    if progress is not None:
        progress.stop()
    _live = None


def _err(text: str) -> None:
    """One line on stderr, above the progress bar while one is drawn (never through it)."""
    if _live is not None:
        _live.console.print(text, markup=False, highlight=False, emoji=False, soft_wrap=True)
    else:
        typer.echo(text, err=True)


@app.command("stamp")
def stamp_cmd(
    pdfs: Annotated[list[Path], typer.Argument(help="PDF files (or folders of them) to stamp.")],
    serial: Annotated[
        str | None, typer.Option(help="Spend this stamp instead of the next available.")
    ] = None,
    page: Annotated[str | None, typer.Option(help="Page number (1-based) or 'last'.")] = None,
    at: Annotated[
        str | None, typer.Option(help="Stamp centre X,Y in mm from the page's top-left as read.")
    ] = None,
    size: Annotated[float, typer.Option(help="Stamp size in mm.")] = 25.0,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Output file (one input only).")
    ] = None,
    out_dir: Annotated[
        Path | None, typer.Option("--out-dir", help="Folder for the outputs.", file_okay=False)
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite existing outputs.")] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Place and preview only: no signing, nothing spent.")
    ] = False,
    preview: Annotated[
        Path | None,
        typer.Option("--preview", help="Write a PNG of the stamped page.", dir_okay=False),
    ] = None,
    password: Annotated[str | None, typer.Option(help="Password of encrypted input PDFs.")] = None,
    json_out: JsonFlag = False,
    jobs: Annotated[int, typer.Option(min=1, help="Worker processes for a batch.")] = 1,
    tsa: Annotated[
        str | None, typer.Option(help="RFC 3161 timestamp authority URL (PAdES B-T).")
    ] = None,
    passphrase_file: PassphraseFile = None,
) -> None:
    """Stamp PDFs: one stamp from the wallet per document, spent only when the output is written."""
    from emeterai.stamp import StampOptions

    files = _expand_pdfs(pdfs)
    if not files:
        raise UsageError("no PDF files given")
    if output is not None and len(files) != 1:
        raise UsageError("-o/--output takes one input; use --out-dir for several")
    if output is not None and out_dir is not None:
        raise UsageError("use either -o/--output or --out-dir, not both")
    if serial is not None and len(files) != 1:
        raise UsageError("--serial spends one stamp: give one input")
    if preview is not None and len(files) != 1:
        raise UsageError("--preview shows one page: give one input")
    from emeterai.render import MAX_SIZE_MM, MIN_SIZE_MM

    if not MIN_SIZE_MM <= size <= MAX_SIZE_MM:
        raise UsageError(f"--size must be between {MIN_SIZE_MM:g} and {MAX_SIZE_MM:g} mm")
    options = StampOptions(
        page=_parse_page(page), at_mm=_parse_at(at), size_mm=size, password=password, tsa_url=tsa
    )
    if dry_run or preview is not None:
        _stamp_dry_run(files, options, preview, json_out, serial)
        return
    if out_dir is not None:
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            from emeterai.errors import OutputError

            raise OutputError(
                f"{out_dir}: cannot create the output folder ({exc.strerror})"
            ) from None

    from emeterai import batch
    from emeterai.stamp import default_output

    def target(path: Path) -> Path:
        if output is not None:
            return output
        if out_dir is not None:
            return out_dir / default_output(path).name
        return default_output(path)

    _refuse_clashing_outputs(files, [target(path) for path in files], force)

    wallet = _wallet()
    recovered = wallet.recover()
    for s in recovered.released:
        typer.echo(
            f"recovered stamp {s}: an interrupted run left it reserved; available again", err=True
        )
    for s in recovered.committed:
        typer.echo(
            f"recovered stamp {s}: an interrupted run wrote its output; marked used", err=True
        )
    for s in recovered.unsure:
        typer.echo(
            f"recovered stamp {s}: an interrupted run may have written its output (it is not "
            "where it was written); marked unsure, never spent again",
            err=True,
        )
    secret = passphrase(passphrase_file, "the wallet")
    key = wallet.unlock(secret)  # a wrong passphrase fails here, once, before any document

    jobs_list = [batch.StampJob(path, target(path), serial, force) for path in files]
    failed = 0
    progress = _progress(len(files))
    try:
        for job, outcome in batch.stamp_files(wallet, secret, jobs_list, options, jobs, key):
            if progress is not None:
                progress.advance(progress.task_ids[0])
            path = job.source
            if isinstance(outcome, str):
                failed += 1
                message = outcome if outcome.startswith(str(path)) else f"{path}: {outcome}"
                _err(f"emeterai: error: {message}")
                if json_out:
                    _emit_json(_failed_stamp_json(path, message))
                continue
            if outcome.repair:
                _err(f"{path}: {outcome.repair}")
            if outcome.placement == "fallback":
                _err(
                    f"{path}: no 'Meterai' placeholder found; stamp placed at the bottom right of "
                    f"page {outcome.page}"
                )
            moved = _moved_mm(options.at_mm, outcome.center_mm)
            if options.at_mm is not None and moved > 1.0:
                _err(
                    f"{path}: --at {options.at_mm[0]:g},{options.at_mm[1]:g} would put the stamp "
                    f"partly off the page; its centre moved {moved:.0f} mm, to "
                    f"{outcome.center_mm[0]:.1f},{outcome.center_mm[1]:.1f} mm"
                )
            _err(
                f"stamped {path} -> {outcome.output}: {outcome.serial} on page {outcome.page} "
                f"({outcome.placement}), +{outcome.bytes_added} bytes"
            )
            if json_out:
                _emit_json(outcome.to_json())
    finally:
        _stop(progress)
    if len(files) > 1:
        _err(f"{len(files) - failed} stamped, {failed} failed")
    if failed:
        raise typer.Exit(1)


def _same_file_key(path: Path) -> str:
    """One key per file whatever the spelling: '..', symbolic links, case on Windows."""
    return os.path.normcase(os.path.realpath(path))


def _refuse_clashing_outputs(files: list[Path], outputs: list[Path], force: bool) -> None:
    """Two inputs written to one output would spend two stamps on one file; with --force an
    output that is also an input would be overwritten while it is being stamped."""
    seen: dict[str, Path] = {}
    for path, out_path in zip(files, outputs, strict=True):
        key = _same_file_key(out_path)
        if key in seen:
            raise UsageError(
                f"{seen[key]} and {path} would both be written to {out_path}; "
                "stamp them into different folders"
            )
        seen[key] = path
    if force:
        inputs = {_same_file_key(f) for f in files}
        for path, out_path in zip(files, outputs, strict=True):
            if _same_file_key(out_path) in inputs:
                raise UsageError(
                    f"{path}: its output {out_path} is also an input; --force would overwrite it"
                )


def _moved_mm(asked: tuple[float, float] | None, got: tuple[float, float]) -> float:
    """How far the stamp's centre was moved from an explicit --at to keep it on the page."""
    if asked is None:
        return 0.0
    return float(((asked[0] - got[0]) ** 2 + (asked[1] - got[1]) ** 2) ** 0.5)


def _failed_stamp_json(path: Path, message: str) -> dict[str, Any]:
    """The stamp --json object of a file that was not stamped: every key, null, and the error."""
    return {
        "file": str(path),
        "output": None,
        "serial": None,
        "page": None,
        "rect_pt": None,
        "placement": None,
        "document_sha256": None,
        "bytes_added": None,
        "error": message,
    }


def _stamp_dry_run(
    files: list[Path], options: Any, preview: Path | None, json_out: bool, serial: str | None
) -> None:
    from emeterai.stamp import analyse, picture_for, preview_png, read_input

    wallet = _wallet()
    entry = next((e for e in wallet.entries() if e.state == "available"), None)
    if serial is not None:
        from emeterai import serial as serials

        shown_serial = serials.parse(serial)
    else:
        shown_serial = entry.serial if entry else "0" * 22
    failed = 0
    for path in files:
        try:
            data = read_input(path)
            analysis = analyse(data, str(path), options)
            p = analysis.placement
            if analysis.repair:
                typer.echo(f"{path}: would be {analysis.repair}", err=True)
            if preview is not None:
                picture = picture_for(
                    analysis,
                    shown_serial,
                    entry.value if entry else 10000,
                    entry.issuer if entry else "preview",
                    entry.specimen if entry else True,
                    options.size_mm,
                )
                _write_new_file(
                    preview,
                    preview_png(data, analysis, picture, password=options.password),
                    force=True,
                )
                typer.echo(f"wrote preview {preview}", err=True)
        except EmeteraiError as exc:
            failed += 1
            typer.echo(f"emeterai: error: {exc.message}", err=True)
            continue
        typer.echo(
            f"{path}: would stamp page {p.page_index + 1} at {p.center_mm[0]:.1f},{p.center_mm[1]:.1f} mm "
            f"({p.method}); nothing spent",
            err=True,
        )
        if json_out:
            _emit_json(
                {
                    "file": str(path),
                    "output": None,
                    "serial": None,
                    "page": p.page_index + 1,
                    "rect_pt": [round(v, 2) for v in (p.rect.x0, p.rect.y0, p.rect.x1, p.rect.y1)],
                    "placement": p.method,
                    "document_sha256": analysis.document_sha256,
                    "bytes_added": 0,
                    "dry_run": True,
                }
            )
    if failed:
        raise typer.Exit(1)


# -- verify -----------------------------------------------------------------------------------


@app.command("verify")
def verify_cmd(
    pdfs: Annotated[list[Path], typer.Argument(help="PDF files (or folders of them) to verify.")],
    trust: Annotated[
        list[Path] | None, typer.Option("--trust", help="Also trust this issuer root (PEM).")
    ] = None,
    crl: Annotated[
        Path | None, typer.Option(help="The issuer's CRL: revoked serials are invalid.")
    ] = None,
    ledger: Annotated[
        str | None,
        typer.Option(
            help="Ledger recording serial -> document: a SQLite path or a postgresql:// URL."
        ),
    ] = None,
    password: Annotated[str | None, typer.Option(help="Password of encrypted PDFs.")] = None,
    json_out: JsonFlag = False,
    jobs: Annotated[
        int | None, typer.Option(min=1, help="Worker processes (default: CPUs).")
    ] = None,
) -> None:
    """Verify stamped PDFs offline: genuine, unmodified, shown, not revoked, not reused."""
    from emeterai import batch
    from emeterai.ledger import apply as apply_ledger
    from emeterai.ledger import open_ledger
    from emeterai.trust import parse_root

    files = _expand_pdfs(pdfs)
    if not files:
        raise UsageError("no PDF files given")
    roots = list(_trust_store().certificates())
    for pem in trust or []:
        try:
            roots.append(parse_root(pem.read_bytes(), str(pem)))
        except OSError as exc:
            raise UsageError(f"{pem}: cannot read ({exc.strerror})") from None
    if not roots:
        typer.echo(
            "emeterai: warning: no trusted issuer roots (emeterai trust add, or --trust): "
            "every stamp will be untrusted-issuer",
            err=True,
        )
    crl_data = None
    if crl is not None:
        try:
            crl_data = crl.read_bytes()
        except OSError as exc:
            raise UsageError(f"{crl}: cannot read ({exc.strerror})") from None
    the_ledger = open_ledger(ledger) if ledger else None

    counts = {"valid": 0, "invalid": 0}
    progress = _progress(len(files))
    try:
        for result in batch.verify_files(
            files, roots, crl_data, password, jobs or os.cpu_count() or 1
        ):
            if the_ledger is not None:
                try:
                    result = apply_ledger(result, the_ledger)
                except EmeteraiError as exc:
                    from emeterai.verify import Problem, VerifyResult

                    result = VerifyResult(
                        result.file,
                        result.stamps,
                        result.file_problems + (Problem("ledger-unavailable", exc.message),),
                    )
            counts["valid" if result.valid else "invalid"] += 1
            if progress is not None:
                progress.advance(progress.task_ids[0])
            _print_verdict(result)
            if json_out:
                _emit_json(result.to_json())
    finally:
        _stop(progress)
    typer.echo(
        f"{len(files)} file(s): {counts['valid']} valid, {counts['invalid']} invalid", err=True
    )
    if counts["invalid"]:
        raise typer.Exit(1)


def _print_verdict(result: Any) -> None:
    if result.valid:
        parts = []
        for s in result.stamps:
            spec = ", SPESIMEN" if s.specimen else ""
            parts.append(f"{s.serial} (Rp{s.value}, {s.issuer}{spec}, stamped {s.stamped_at})")
        _err(f"VALID    {result.file}: " + "; ".join(parts))
    else:
        details = "; ".join(f"{p.code}: {p.detail}" for p in result.problems)
        _err(f"INVALID  {result.file}: {details}")
    for sig in result.later_signatures:
        rect = ", ".join(f"{v:.0f}" for v in sig.rect_pt)
        _err(
            f"         signed after the stamp: {sig.field} by {sig.signer or 'unknown'}"
            f" on page {sig.page} at [{rect}] pt"
        )


# -- ledger -----------------------------------------------------------------------------------

ledger_app = typer.Typer(
    no_args_is_help=True, rich_markup_mode=None, help="The verifiers' serial -> document ledger."
)
app.add_typer(ledger_app, name="ledger")
LedgerOpt = Annotated[
    str, typer.Option("--ledger", help="Ledger: a SQLite path or a postgresql:// URL.")
]


@ledger_app.command("reused")
def ledger_reused(ledger: LedgerOpt, json_out: JsonFlag = False) -> None:
    """Serials seen on more than one document."""
    from emeterai.ledger import open_ledger

    groups = open_ledger(ledger, create=False).reused()
    for group in groups:
        if json_out:
            _emit_json(
                {
                    "serial": group[0].serial,
                    "documents": [
                        {
                            "document_sha256": s.document_sha256,
                            "file": s.file,
                            "first_seen": s.first_seen,
                        }
                        for s in group
                    ],
                }
            )
        else:
            typer.echo(f"{group[0].serial} on {len(group)} documents:")
            for s in group:
                typer.echo(f"  {s.first_seen}  sha256:{s.document_sha256}  {s.file}")
    if not json_out:
        typer.echo(f"{len(groups)} reused serial(s)", err=True)


@ledger_app.command("stats")
def ledger_stats(ledger: LedgerOpt, json_out: JsonFlag = False) -> None:
    """Counts: serials, documents, reused serials."""
    from emeterai.ledger import open_ledger

    stats = open_ledger(ledger, create=False).stats()
    if json_out:
        _emit_json(
            {
                "serials": stats.serials,
                "documents": stats.documents,
                "reused_serials": stats.reused_serials,
            }
        )
    else:
        typer.echo(
            f"{stats.serials} serial(s), {stats.documents} document(s), {stats.reused_serials} reused serial(s)"
        )


# -- demo -------------------------------------------------------------------------------------


@app.command("demo")
def demo_cmd() -> None:
    """The whole flow on the bundled sample letter, in a throwaway home: prints output and verdict."""
    from emeterai.demo import run_demo

    result = run_demo(log=lambda line: typer.echo(line, err=True))
    typer.echo(f"stamped: {result.output}")
    verdict = "VALID" if result.verify.valid else "INVALID"
    stamp = result.verify.stamps[0] if result.verify.stamps else None
    typer.echo(
        f"verdict: {verdict}"
        + (f" ({stamp.serial}, Rp{stamp.value}, {stamp.issuer}, SPESIMEN)" if stamp else "")
    )
    if not result.verify.valid:
        raise typer.Exit(1)


# -- files ------------------------------------------------------------------------------------


def _write_new_file(path: Path, data: bytes, force: bool, mode: int = 0o644) -> None:
    from emeterai.files import write_atomic

    write_atomic(path, data, overwrite=force, mode=mode)


def main() -> None:
    app()

"""The command line: parse, call the library, print. Nothing else lives here.

Heavy modules (pyHanko, pypdf, reportlab) are imported inside the commands that need them, so
that ``emeterai --help`` stays fast.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import traceback
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from typer.core import TyperGroup

from emeterai import __version__
from emeterai.errors import EmeteraiError, PassphraseError, UsageError

_verbose = False


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
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    help="Put e-meterai stamps on PDFs locally and offline, and verify them.",
)
issuer_app = typer.Typer(no_args_is_help=True, help="The stamp issuer (root CA): init, issue, revoke.")
wallet_app = typer.Typer(no_args_is_help=True, help="Your purchased stamps.")
trust_app = typer.Typer(no_args_is_help=True, help="Issuer roots trusted by verify and wallet import.")
serial_app = typer.Typer(no_args_is_help=True, help="Serial numbers.")
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
JsonFlag = Annotated[bool, typer.Option("--json", help="One JSON object per line on stdout.")]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"emeterai {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Tracebacks and library logs.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    global _verbose
    _verbose = verbose
    root = logging.getLogger()
    if verbose:
        logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    else:
        # pyHanko logs whole tracebacks for untrusted chains and diff analysis.
        root.handlers = [logging.NullHandler()]
        root.setLevel(logging.CRITICAL + 1)


# -- shared helpers ---------------------------------------------------------------------------


def home() -> Path:
    env = os.environ.get("EMETERAI_HOME")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("emeterai", appauthor=False))


def passphrase(passphrase_file: Path | None, what: str, confirm: bool = False) -> str:
    """The one secret of this command: file, environment or prompt, in that order."""
    if passphrase_file is not None:
        try:
            lines = passphrase_file.read_text().splitlines()
        except OSError as exc:
            raise PassphraseError(f"{passphrase_file}: cannot read passphrase file ({exc.strerror})") from None
        if not lines or not lines[0]:
            raise PassphraseError(f"{passphrase_file}: the passphrase file is empty")
        return lines[0]
    env = os.environ.get("EMETERAI_PASSPHRASE")
    if env:
        return env
    if not sys.stdin.isatty():
        raise PassphraseError(
            f"a passphrase is needed for {what}: set EMETERAI_PASSPHRASE or use --passphrase-file"
        )
    value: str = typer.prompt(
        f"Passphrase for {what}", hide_input=True, confirmation_prompt=confirm, err=True
    )
    return value


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
def serial_check(serial: Annotated[str, typer.Argument(help="A serial, any case, '-' grouping allowed.")]) -> None:
    """Exit 0 if SERIAL is well formed (length, alphabet, check character), 1 with the reason if not."""
    from emeterai import serial as serials

    canonical = serials.parse(serial)
    typer.echo(f"{canonical}: well formed")


# -- issuer -----------------------------------------------------------------------------------


def _issuer_dir() -> Path:
    return home() / "issuer"


@issuer_app.command("init")
def issuer_init(
    name: Annotated[str, typer.Option(help="The issuer's name, shown on every stamp.")] = "emeterai Issuer",
    specimen: Annotated[bool, typer.Option("--specimen", help="A specimen issuer: stamps say SPESIMEN.")] = False,
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
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write here instead of stdout.")] = None,
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
    out: Annotated[Path, typer.Option("--out", help="Folder for the <SERIAL>.p12 files.", file_okay=False)],
    value: Annotated[int, typer.Option(min=1, help="Nominal value in rupiah.")] = 10000,
    valid_days: Annotated[int, typer.Option(min=1, help="Validity period in days.")] = 365,
    passphrase_file: PassphraseFile = None,
) -> None:
    """Issue COUNT stamps, each a PKCS#12 protected by the passphrase."""
    from emeterai.issuer import Issuer

    issuer = Issuer.open(_issuer_dir())
    secret = passphrase(passphrase_file, "the issuer key")
    stamps = issuer.issue(count, secret, value=value, valid_days=valid_days)
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
) -> None:
    """Check purchased stamps and add them to the wallet."""
    files = _stamp_files(paths)
    secret = passphrase(passphrase_file, "the stamp files and wallet")
    outcomes = _wallet().import_stamps(
        files, secret, _trust_store().certificates(), allow_untrusted=allow_untrusted
    )
    counts = {"imported": 0, "duplicate": 0, "error": 0}
    for outcome in outcomes:
        counts[outcome.status] += 1
        if outcome.status == "error":
            typer.echo(f"emeterai: error: {outcome.detail}", err=True)
        elif outcome.status == "duplicate":
            typer.echo(f"{outcome.source}: {outcome.serial} already in the wallet, unchanged", err=True)
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
                    "serial": e.serial, "value": e.value, "issuer": e.issuer, "specimen": e.specimen,
                    "expires": e.not_after.isoformat(), "state": e.state, "file": e.used_file,
                    "document_sha256": e.used_sha256, "output": e.output_path, "used_at": e.used_at,
                }
            )
        else:
            used = f"  {e.used_file} sha256:{e.used_sha256}" if e.state == "used" else ""
            typer.echo(f"{e.serial}  Rp{e.value}  expires {e.not_after:%Y-%m-%d}  {e.state}{used}")
    if not json_out:
        available = sum(e.state == "available" for e in entries)
        typer.echo(f"{len(entries)} stamp(s), {available} available", err=True)


# -- trust ------------------------------------------------------------------------------------


@trust_app.command("add")
def trust_add(pems: Annotated[list[Path], typer.Argument(help="Issuer root certificates (PEM or DER).")]) -> None:
    """Trust issuer roots."""
    store = _trust_store()
    for pem in pems:
        try:
            data = pem.read_bytes()
        except OSError as exc:
            raise UsageError(f"{pem}: cannot read ({exc.strerror})") from None
        root, new = store.add(data, str(pem))
        state = "trusted" if new else "already trusted"
        typer.echo(f"{state}: {root.name}{' (specimen)' if root.specimen else ''} {root.fingerprint}")


@trust_app.command("list")
def trust_list(json_out: JsonFlag = False) -> None:
    """The trusted issuer roots."""
    for root in _trust_store().list():
        if json_out:
            _emit_json(
                {"fingerprint": root.fingerprint, "name": root.name, "specimen": root.specimen,
                 "not_after": root.not_after.isoformat()}
            )
        else:
            typer.echo(
                f"{root.fingerprint}  {root.name}{' (specimen)' if root.specimen else ''}"
                f"  until {root.not_after:%Y-%m-%d}"
            )


@trust_app.command("remove")
def trust_remove(keys: Annotated[list[str], typer.Argument(help="Fingerprint (or its first 8+ hex digits) or name.")]) -> None:
    """Stop trusting issuer roots."""
    store = _trust_store()
    for key in keys:
        root = store.remove(key)
        typer.echo(f"removed {root.name} {root.fingerprint}")


# -- files ------------------------------------------------------------------------------------


def _write_new_file(path: Path, data: bytes, force: bool, mode: int = 0o644) -> None:
    from emeterai.files import write_atomic

    write_atomic(path, data, overwrite=force, mode=mode)


def main() -> None:
    app()

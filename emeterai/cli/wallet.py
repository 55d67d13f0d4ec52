"""``emeterai wallet``: the applicant's purchased stamps."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from emeterai.cli._common import (
    JsonFlag,
    PassphraseFile,
    StampPassphraseFile,
    describe,
    emit_json,
    passphrase,
    stamp_files_passphrase,
    state,
)
from emeterai.errors import UsageError

if TYPE_CHECKING:
    from emeterai.wallet import ImportOutcome

app = typer.Typer(no_args_is_help=True, rich_markup_mode=None, help="Your purchased stamps.")


def _stamp_files(paths: list[Path]) -> list[tuple[str, bytes]]:
    files: list[tuple[str, bytes]] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix.lower() in (".p12", ".pfx"))
            if not found:
                raise UsageError("no .p12 stamp files in this folder", path=path)
            files.extend((str(p), p.read_bytes()) for p in found)
        elif path.is_file():
            files.append((str(path), path.read_bytes()))
        else:
            raise UsageError("no such file or folder", path=path)
    return files


@app.command("import")
def wallet_import(
    ctx: typer.Context,
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
    given = stamp_passphrase_file is not None or os.environ.get("EMETERAI_STAMP_PASSPHRASE")
    for_files = stamp_files_passphrase(stamp_passphrase_file) if given else None
    secret = passphrase(
        passphrase_file, "the wallet" if for_files else "the stamp files and wallet"
    )
    wallet, roots = state(ctx).wallet(), state(ctx).trust_store().certificates()

    def run(batch: list[tuple[str, bytes]], seller: str | None) -> list[ImportOutcome]:
        return wallet.import_stamps(
            batch, secret, roots, allow_untrusted=allow_untrusted, stamp_passphrase=seller
        )

    outcomes = run(files, for_files)
    locked = {o.source for o in outcomes if o.locked}
    if locked and for_files is None and sys.stdin.isatty():
        # bought under the seller's passphrase: ask for it once, for all such files
        seller = passphrase(None, f"the {len(locked)} stamp file(s) from the seller")
        again = run([f for f in files if f[0] in locked], seller)
        outcomes = [o for o in outcomes if o.source not in locked] + again
    _report_import(outcomes)


def _report_import(outcomes: list[ImportOutcome]) -> None:
    from emeterai.wallet import ImportStatus

    counts = dict.fromkeys(ImportStatus, 0)
    for outcome in outcomes:
        counts[outcome.status] += 1
        if outcome.error is not None:
            typer.echo(f"emeterai: error: {describe(outcome.error)}", err=True)
        elif outcome.status == ImportStatus.DUPLICATE:
            typer.echo(
                f"{outcome.source}: {outcome.serial} already in the wallet, unchanged", err=True
            )
        else:
            typer.echo(f"imported {outcome.serial}")
    imported, duplicate, refused = (counts[s] for s in ImportStatus)
    typer.echo(f"{imported} imported, {duplicate} already present, {refused} refused", err=True)
    if refused:
        raise typer.Exit(1)


@app.command("list")
def wallet_list(ctx: typer.Context, json_out: JsonFlag = False) -> None:
    """Serial, value, expiry, state and, for used stamps, where they were used."""
    from emeterai.wallet import State

    wallet = state(ctx).wallet()
    wallet.recover()
    entries = wallet.entries()
    for e in entries:
        if json_out:
            emit_json(e.to_json())
            continue
        used = f"  {e.used_file} sha256:{e.used_sha256}" if e.state == State.USED else ""
        if e.state == State.UNSURE:
            used = f"  (possibly used: {e.output_path} from {e.used_file}; never spent again)"
        typer.echo(f"{e.serial}  Rp{e.value}  expires {e.not_after:%Y-%m-%d}  {e.state}{used}")
    if not json_out:
        available = sum(e.state == State.AVAILABLE for e in entries)
        typer.echo(f"{len(entries)} stamp(s), {available} available", err=True)

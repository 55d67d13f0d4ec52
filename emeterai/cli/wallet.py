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
    read_file,
    stamp_files_passphrase,
    state,
    with_retries,
    write_new_file,
)
from emeterai.errors import UsageError

if TYPE_CHECKING:
    from emeterai.wallet import ImportOutcome, RestoreReport, State, WalletEntry, WalletTotals

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
    wallet, roots = state(ctx).wallet(), state(ctx).trust_store().certificates()
    given = stamp_passphrase_file is not None or os.environ.get("EMETERAI_STAMP_PASSPHRASE")
    for_files = stamp_files_passphrase(stamp_passphrase_file) if given else None
    what = "the wallet" if for_files else "the stamp files and wallet"
    if wallet.has_passphrase():
        secret, _ = with_retries(passphrase_file, what, wallet.unlock)
    else:  # the first import chooses the wallet's passphrase: typed twice
        also = "" if for_files else " (it also opens the stamp files)"
        secret = passphrase(passphrase_file, f"the new wallet{also}", confirm=True)

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


def _states(values: list[str]) -> tuple[State, ...]:
    from emeterai.wallet import State

    try:
        return tuple(dict.fromkeys(State(v.lower()) for v in values))
    except ValueError:
        choices = ", ".join(State)
        raise UsageError(f"--state: expected one of {choices}") from None


@app.command("list")
def wallet_list(
    ctx: typer.Context,
    states: Annotated[
        list[str] | None,
        typer.Option(
            "--state",
            help="Only stamps in this state: available, used, expired, unsure or reserved "
            "(repeat for several).",
        ),
    ] = None,
    json_out: JsonFlag = False,
) -> None:
    """One line per stamp: serial, value, expiry, state and, for used stamps, the output file
    and the day it was used. The totals go to stderr."""
    wanted = _states(states or [])
    wallet = state(ctx).wallet()
    wallet.recover()
    shown = wallet.entries(states=wanted)
    for entry in shown:
        if json_out:
            emit_json(entry.to_json())
        else:
            typer.echo(_line(entry))
    if not json_out:
        typer.echo(_totals(wallet.totals(), len(shown) if wanted else None), err=True)


def _line(e: WalletEntry) -> str:
    line = f"{e.serial}  Rp{e.value}  expires {e.not_after:%Y-%m-%d}  {e.state}"
    if e.state == "used":
        return f"{line}  {e.used_on}  {e.output_path or e.used_file}"
    if e.state == "unsure":
        return f"{line}  (possibly used: {e.output_path} from {e.used_file}; never spent again)"
    return line


def _totals(totals: WalletTotals, shown: int | None) -> str:
    """e.g. "12 stamps: 3 usable, 8 used, 1 expired"; usable always, other states when held."""
    named = (
        (totals.used, "used"),
        (totals.expired, "expired"),
        (totals.not_valid_yet, "not valid yet"),
        (totals.unsure, "possibly used"),
        (totals.reserved, "in use now"),
    )
    parts = [f"{totals.usable} usable"] + [f"{n} {words}" for n, words in named if n]
    count = "1 stamp" if totals.total == 1 else f"{totals.total} stamps"
    return f"{count}: {', '.join(parts)}" + ("" if shown is None else f" ({shown} shown)")


NewPassphraseFile = Annotated[
    Path | None,
    typer.Option(
        "--new-passphrase-file",
        help="The new passphrase (first line). Else EMETERAI_NEW_PASSPHRASE, else a prompt (twice).",
        dir_okay=False,
    ),
]


@app.command("passphrase")
def wallet_passphrase(
    ctx: typer.Context,
    passphrase_file: PassphraseFile = None,
    new_passphrase_file: NewPassphraseFile = None,
) -> None:
    """Change the wallet's passphrase. Interrupted, the old one or the new one opens the
    wallet, never neither; backups made earlier keep the old one."""
    wallet = state(ctx).wallet()
    wallet.require_key()  # an empty wallet says so before any prompt
    old, _ = with_retries(passphrase_file, "the wallet (current)", wallet.unlock)
    new = passphrase(
        new_passphrase_file,
        "the wallet (new)",
        confirm=True,
        env_var="EMETERAI_NEW_PASSPHRASE",
        file_option="--new-passphrase-file",
    )
    wallet.change_passphrase(old, new)
    typer.echo("the wallet's passphrase is changed", err=True)


@app.command("export")
def wallet_export(
    ctx: typer.Context,
    output: Annotated[
        Path, typer.Option("-o", "--output", help="The backup file to write.", dir_okay=False)
    ],
    force: Annotated[bool, typer.Option("--force", help="Replace an existing file.")] = False,
) -> None:
    """Back up the wallet: every stamp with its state and where it was used. The keys stay
    encrypted under the wallet's passphrase; restore with 'emeterai wallet restore'."""
    wallet = state(ctx).wallet()
    wallet.recover()
    data = wallet.export_bytes()
    write_new_file(output, data, force=force, mode=0o600)
    count = len(wallet.entries())
    typer.echo(f"wrote {output}: {count} stamp(s); it opens with today's passphrase", err=True)


BackupPassphraseFile = Annotated[
    Path | None,
    typer.Option(
        "--backup-passphrase-file",
        help="The backup's passphrase when it differs from this wallet's (first line). "
        "Else EMETERAI_BACKUP_PASSPHRASE, else the wallet's.",
        dir_okay=False,
    ),
]


@app.command("restore")
def wallet_restore(
    ctx: typer.Context,
    backup: Annotated[Path, typer.Argument(help="A file written by 'emeterai wallet export'.")],
    passphrase_file: PassphraseFile = None,
    backup_passphrase_file: BackupPassphraseFile = None,
    allow_untrusted: Annotated[
        bool,
        typer.Option("--allow-untrusted", help="Restore stamps whose issuer you do not trust."),
    ] = False,
    json_out: JsonFlag = False,
) -> None:
    """Restore a backup, onto a new machine or into this wallet: a stamp used, possibly used
    or reserved in either stays so. Every stamp is checked as import checks it (its issuer
    trusted unless --allow-untrusted)."""
    data = read_file(backup)
    wallet, roots = state(ctx).wallet(), state(ctx).trust_store().certificates()
    wallet.recover()
    given = backup_passphrase_file is not None or os.environ.get("EMETERAI_BACKUP_PASSPHRASE")
    for_backup = (
        passphrase(
            backup_passphrase_file,
            "the backup",
            env_var="EMETERAI_BACKUP_PASSPHRASE",
            file_option="--backup-passphrase-file",
        )
        if given
        else None
    )

    def restore(secret: str) -> RestoreReport:
        return wallet.restore(
            data, secret, roots, for_backup, source=str(backup), allow_untrusted=allow_untrusted
        )

    if wallet.has_passphrase():  # its passphrase first: a wrong one may be typed again
        secret, _ = with_retries(passphrase_file, "the wallet", wallet.unlock)
        report = restore(secret)
    else:  # a new wallet takes the backup's passphrase
        _, report = with_retries(passphrase_file, "the backup", restore)
    if json_out:
        emit_json(report.to_json())
    typer.echo(
        f"restored {backup}: {len(report.added)} added, {len(report.spent)} marked used or "
        f"possibly used, {len(report.unchanged)} unchanged",
        err=True,
    )
    if report.warning is not None:
        typer.echo(f"emeterai: warning: {report.warning}", err=True)

"""``emeterai wallet``: the applicant's purchased stamps."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from emeterai.cli._common import (
    JsonFlag,
    PassphraseFile,
    StampPassphraseFile,
    describe,
    echo,
    emit_json,
    passphrase,
    read_file,
    secret_given,
    stamp_files_passphrase,
    state,
    with_retries,
    write_new_file,
)
from emeterai.errors import UsageError
from emeterai.i18n import N_, _, day, moment, ngettext, rupiah

if TYPE_CHECKING:
    from emeterai.wallet import ImportOutcome, RestoreReport, State, WalletEntry, WalletTotals

app = typer.Typer(
    no_args_is_help=True,
    rich_markup_mode=None,
    help=_("Your purchased stamps: import, list, back up."),
)


def _stamp_files(paths: list[Path]) -> list[tuple[str, bytes]]:
    files: list[tuple[str, bytes]] = []
    for path in paths:
        if path.is_dir():
            found = sorted(
                p for p in path.iterdir() if p.suffix.lower() in (".p12", ".pfx", ".crl")
            )
            if not found:
                raise UsageError(N_("no .p12 stamp files in this folder"), path=path)
            files.extend((str(p), p.read_bytes()) for p in found)
        elif path.is_file():
            files.append((str(path), path.read_bytes()))
        else:
            raise UsageError(N_("no such file or folder"), path=path)
    return files


@app.command(
    "import",
    help=_(
        "Check bought stamps and add them to the wallet.\n\n"
        "The wallet's passphrase also opens the stamp files, unless you give the seller's "
        "passphrase for them (--stamp-passphrase-file or EMETERAI_STAMP_PASSPHRASE)."
    ),
)
def wallet_import(
    ctx: typer.Context,
    paths: Annotated[
        list[Path],
        typer.Argument(
            metavar="FILE.p12...",
            help=_("Stamp files (.p12) and issuers' revocation lists (.crl), or folders of them."),
        ),
    ],
    allow_untrusted: Annotated[
        bool,
        typer.Option("--allow-untrusted", help=_("Import stamps whose issuer you do not trust.")),
    ] = False,
    passphrase_file: PassphraseFile = None,
    stamp_passphrase_file: StampPassphraseFile = None,
) -> None:
    """Checks purchased stamps (and issuers' CRLs) and adds them to the wallet."""
    from emeterai.wallet import is_crl

    files = _stamp_files(paths)
    wallet, roots = state(ctx).wallet(), state(ctx).trust_store().certificates()
    crls = [f for f in files if is_crl(f[1])]
    for source, data in crls:
        got = wallet.import_crl(data, source, roots)
        line = (
            _("revocation list of {issuer} from {when}: kept, stamps embed it from now on")
            if got.kept
            else _("revocation list of {issuer} from {when}: the wallet has a newer one")
        )
        echo(line.format(issuer=got.issuer, when=day(got.this_update.date())))
    files = [f for f in files if f not in crls]
    if not files:
        return
    given = secret_given(stamp_passphrase_file, "EMETERAI_STAMP_PASSPHRASE")
    for_files = stamp_files_passphrase(stamp_passphrase_file) if given else None
    what = _("the wallet") if for_files else _("the stamp files and the wallet")
    if wallet.has_passphrase():
        secret = with_retries(passphrase_file, what, wallet.unlock)[0]
    else:  # the first import chooses the wallet's passphrase: typed twice
        new = (
            _("the new wallet")
            if for_files
            else _("the new wallet (it also opens the stamp files)")
        )
        secret = passphrase(passphrase_file, new, confirm=True)

    def run(batch: list[tuple[str, bytes]], seller: str | None) -> list[ImportOutcome]:
        return wallet.import_stamps(
            batch, secret, roots, allow_untrusted=allow_untrusted, stamp_passphrase=seller
        )

    outcomes = run(files, for_files)
    locked = {o.source for o in outcomes if o.locked}
    if locked and for_files is None and sys.stdin.isatty():
        # bought under the seller's passphrase: ask for it once, for all such files
        seller = passphrase(
            None,
            ngettext(
                "the stamp file from the seller", "the {n} stamp files from the seller", len(locked)
            ).format(n=len(locked)),
        )
        again = run([f for f in files if f[0] in locked], seller)
        outcomes = [o for o in outcomes if o.source not in locked] + again
    _report_import(outcomes)


def _report_import(outcomes: list[ImportOutcome]) -> None:
    from emeterai.wallet import ImportStatus

    counts = dict.fromkeys(ImportStatus, 0)
    for outcome in outcomes:
        counts[outcome.status] += 1
        if outcome.error is not None:
            message = describe(outcome.error)
            echo(_("emeterai: error: {message}").format(message=message), err=True)
        elif outcome.status == ImportStatus.DUPLICATE:
            echo(
                _("{source}: {serial} already in the wallet, unchanged").format(
                    source=outcome.source, serial=outcome.serial
                ),
                err=True,
            )
        else:
            echo(_("imported {serial}").format(serial=outcome.serial))
    imported, duplicate, refused = (counts[s] for s in ImportStatus)
    echo(
        _("{imported} imported, {duplicate} already present, {refused} refused").format(
            imported=imported, duplicate=duplicate, refused=refused
        ),
        err=True,
    )
    if refused:
        raise typer.Exit(1)


def _states(values: list[str]) -> tuple[State, ...]:
    from emeterai.wallet import State

    try:
        return tuple(dict.fromkeys(State(v.lower()) for v in values))
    except ValueError:
        choices = ", ".join(State)
        raise UsageError(N_("--state: expected one of {choices}"), choices=choices) from None


@app.command(
    "list",
    help=_(
        "One line per stamp: serial, value, expiry, state and, for a used stamp, the day it "
        "was used and the stamped file. The totals come last."
    ),
)
def wallet_list(
    ctx: typer.Context,
    states: Annotated[
        list[str] | None,
        typer.Option(
            "--state",
            metavar="STATE",
            help=_(
                "Only stamps in this state: available, used, expired, unsure or reserved "
                "(repeat for several)."
            ),
        ),
    ] = None,
    json_out: JsonFlag = False,
) -> None:
    """The stamps one per line (stdout); the totals on stderr."""
    wanted = _states(states or [])
    wallet = state(ctx).wallet()
    wallet.recover()
    shown = wallet.entries(states=wanted)
    for entry in shown:
        if json_out:
            emit_json(entry.to_json())
        else:
            echo(_line(entry))
    if not json_out:
        echo(_totals(wallet.totals(), len(shown) if wanted else None), err=True)


# The states as people read them (the JSON keeps the English codes).
STATE_WORDS = {
    "available": N_("available"),
    "used": N_("used"),
    "expired": N_("expired"),
    "unsure": N_("unsure"),
    "reserved": N_("reserved"),
}


def _line(e: WalletEntry) -> str:
    fields = {
        "serial": e.serial,
        "value": rupiah(e.value),
        "expires": day(e.not_after.astimezone().date()),
        "state": _(STATE_WORDS.get(e.state, e.state)),
    }
    if e.state == "used":
        used_on = day(e.used_on) if e.used_on is not None else ""
        return _("{serial}  {value}  expires {expires}  {state}  {day}  {file}").format(
            **fields, day=used_on, file=e.output_path or e.used_file
        )
    if e.state == "unsure":
        return _(
            "{serial}  {value}  expires {expires}  {state}  "
            "(possibly used: {output} from {file}; never spent again)"
        ).format(**fields, output=e.output_path, file=e.used_file)
    return _("{serial}  {value}  expires {expires}  {state}").format(**fields)


def _totals(totals: WalletTotals, shown: int | None) -> str:
    """e.g. "12 stamps: 3 usable, 8 used, 1 expired"; usable always, other states when held."""
    named = (
        (totals.used, _("{n} used")),
        (totals.expired, _("{n} expired")),
        (totals.not_valid_yet, _("{n} not valid yet")),
        (totals.unsure, _("{n} possibly used")),
        (totals.reserved, _("{n} in use now")),
    )
    parts = [_("{n} usable").format(n=totals.usable)]
    parts += [words.format(n=n) for n, words in named if n]
    count = ngettext("{n} stamp", "{n} stamps", totals.total).format(n=totals.total)
    if shown is None:
        return _("{count}: {parts}").format(count=count, parts=", ".join(parts))
    return _("{count}: {parts} ({shown} shown)").format(
        count=count, parts=", ".join(parts), shown=shown
    )


NewPassphraseFile = Annotated[
    Path | None,
    typer.Option(
        "--new-passphrase-file",
        metavar="FILE",
        help=_(
            "The new passphrase (first line of the file). Else EMETERAI_NEW_PASSPHRASE, "
            "else you are asked twice."
        ),
        dir_okay=False,
    ),
]


@app.command(
    "passphrase",
    help=_(
        "Change the wallet's passphrase. If this is interrupted, the old or the new passphrase "
        "opens the wallet, never neither. Backups made before keep the old one."
    ),
)
def wallet_passphrase(
    ctx: typer.Context,
    passphrase_file: PassphraseFile = None,
    new_passphrase_file: NewPassphraseFile = None,
) -> None:
    """Changes the wallet's passphrase, atomically."""
    wallet = state(ctx).wallet()
    wallet.require_key()  # an empty wallet says so before any prompt
    old = with_retries(passphrase_file, _("the wallet (current)"), wallet.unlock)[0]
    new = passphrase(
        new_passphrase_file,
        _("the wallet (new)"),
        confirm=True,
        env_var="EMETERAI_NEW_PASSPHRASE",
        file_option="--new-passphrase-file",
    )
    wallet.change_passphrase(old, new)
    echo(_("the wallet's passphrase is changed"), err=True)


@app.command(
    "export",
    help=_(
        "Back up the wallet: every stamp, its state and where it was used. The backup stays "
        "locked with the wallet's passphrase. Restore it with 'emeterai wallet restore'."
    ),
)
def wallet_export(
    ctx: typer.Context,
    output: Annotated[
        Path,
        typer.Option(
            "-o", "--output", metavar="FILE", help=_("The backup file to write."), dir_okay=False
        ),
    ],
    force: Annotated[bool, typer.Option("--force", help=_("Replace an existing file."))] = False,
) -> None:
    """Backs up the wallet; the keys stay encrypted under its passphrase."""
    wallet = state(ctx).wallet()
    wallet.recover()
    data = wallet.export_bytes()
    write_new_file(output, data, force=force, mode=0o600)
    count = wallet.totals().total
    echo(
        ngettext(
            "wrote {output}: {n} stamp; it opens with today's passphrase",
            "wrote {output}: {n} stamps; it opens with today's passphrase",
            count,
        ).format(output=output, n=count),
        err=True,
    )


BackupPassphraseFile = Annotated[
    Path | None,
    typer.Option(
        "--backup-passphrase-file",
        metavar="FILE",
        help=_(
            "The backup's passphrase, when it differs from this wallet's (first line of the "
            "file). Else EMETERAI_BACKUP_PASSPHRASE, else the wallet's."
        ),
        dir_okay=False,
    ),
]


@app.command(
    "restore",
    help=_(
        "Restore a backup, on a new computer or into this wallet. A stamp that is used, "
        "possibly used or in use in either stays so. Every stamp is checked as import checks "
        "it (its issuer must be trusted, unless --allow-untrusted)."
    ),
)
def wallet_restore(
    ctx: typer.Context,
    backup: Annotated[
        Path,
        typer.Argument(metavar="FILE", help=_("A file written by 'emeterai wallet export'.")),
    ],
    passphrase_file: PassphraseFile = None,
    backup_passphrase_file: BackupPassphraseFile = None,
    allow_untrusted: Annotated[
        bool,
        typer.Option("--allow-untrusted", help=_("Restore stamps whose issuer you do not trust.")),
    ] = False,
    json_out: JsonFlag = False,
) -> None:
    """Restores a backup: the more spent state of each stamp wins."""
    data = read_file(backup)
    wallet, roots = state(ctx).wallet(), state(ctx).trust_store().certificates()
    wallet.recover()
    given = secret_given(backup_passphrase_file, "EMETERAI_BACKUP_PASSPHRASE")
    for_backup = (
        passphrase(
            backup_passphrase_file,
            _("the backup"),
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
        secret = with_retries(passphrase_file, _("the wallet"), wallet.unlock)[0]
        report = restore(secret)
    else:  # a new wallet takes the backup's passphrase
        report = with_retries(passphrase_file, _("the backup"), restore)[1]
    if json_out:
        emit_json(report.to_json())
    echo(
        _(
            "restored {backup}: {added} added, {spent} marked used or possibly used, "
            "{unchanged} unchanged"
        ).format(
            backup=backup,
            added=len(report.added),
            spent=len(report.spent),
            unchanged=len(report.unchanged),
        ),
        err=True,
    )
    if report.warning is not None:  # the JSON keeps the library's English sentence
        echo(_restore_warning(report), err=True)


def _restore_warning(report: RestoreReport) -> str:
    """:attr:`RestoreReport.warning` in the reader's words, the time in their time zone."""
    if report.exported_at is None:
        return _(
            "emeterai: warning: this backup does not say when it was made: stamps used on the "
            "old machine after that show as available here; stop using the old wallet, or one "
            "serial may be spent on two documents, which verifiers with a ledger detect"
        )
    return _(
        "emeterai: warning: this backup was made on {when}: stamps used on the old machine "
        "after that show as available here; stop using the old wallet, or one serial may be "
        "spent on two documents, which verifiers with a ledger detect"
    ).format(when=moment(report.exported_at))

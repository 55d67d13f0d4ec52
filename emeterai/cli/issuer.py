"""``emeterai issuer``: the stamp issuer (root CA) that sells stamps and revokes them."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from emeterai.cli._common import (
    PassphraseFile,
    StampPassphraseFile,
    echo,
    passphrase,
    stamp_files_passphrase,
    state,
    with_retries,
    write_new_file,
)
from emeterai.i18n import _, ngettext, rupiah

if TYPE_CHECKING:
    from emeterai.issuer import Issuer

app = typer.Typer(
    no_args_is_help=True,
    rich_markup_mode=None,
    help=_("The stamp issuer (root CA): create it, issue stamps, revoke them."),
)


def _issuer_dir(ctx: typer.Context) -> Path:
    return state(ctx).home() / "issuer"


def _issuer(ctx: typer.Context) -> Issuer:
    from emeterai.issuer import Issuer

    return Issuer.open(_issuer_dir(ctx))


@app.command(
    "init",
    help=_(
        "Create the issuer: its root certificate and its key (ECDSA P-256), locked with the "
        "issuer passphrase."
    ),
)
def issuer_init(
    ctx: typer.Context,
    name: Annotated[
        str, typer.Option(metavar="NAME", help=_("The issuer's name, shown on every stamp."))
    ] = "emeterai Issuer",
    specimen: Annotated[
        bool, typer.Option("--specimen", help=_("A specimen issuer: its stamps say SPESIMEN."))
    ] = False,
    passphrase_file: PassphraseFile = None,
) -> None:
    """Creates the issuer CA (ECDSA P-256, key encrypted with the passphrase)."""
    from emeterai.issuer import Issuer

    secret = passphrase(passphrase_file, _("the new issuer key"), confirm=True)
    info = Issuer.create(_issuer_dir(ctx), secret, name=name, specimen=specimen).info
    created = (
        _(
            "created issuer {name!r} (specimen), serial prefix {prefix}, root fingerprint {fingerprint}"
        )
        if info.specimen
        else _("created issuer {name!r}, serial prefix {prefix}, root fingerprint {fingerprint}")
    )
    echo(created.format(name=info.name, prefix=info.prefix, fingerprint=info.fingerprint))
    echo(_("give verifiers its root: emeterai issuer root -o issuer-root.pem"), err=True)


@app.command(
    "root",
    help=_("The issuer's root certificate (PEM), for verifiers to trust ('emeterai trust add')."),
)
def issuer_root(
    ctx: typer.Context,
    output: Annotated[
        Path | None,
        typer.Option(
            "-o", "--output", metavar="FILE", help=_("Write it to this file instead of the screen.")
        ),
    ] = None,
) -> None:
    """The root certificate in PEM, on stdout or in a file."""
    pem = _issuer(ctx).root_pem()
    if output is None:
        sys.stdout.write(pem.decode())
    else:
        write_new_file(output, pem, force=True)
        echo(_("wrote {output}").format(output=output), err=True)


@app.command(
    "issue",
    help=_(
        "Issue stamps: one file SERIAL.p12 each (PKCS#12), locked with the stamp files' "
        "passphrase. That passphrase goes to the buyer, so it must never be the issuer's."
    ),
)
def issuer_issue(
    ctx: typer.Context,
    count: Annotated[
        int, typer.Option("--count", "-n", min=1, metavar="N", help=_("How many stamps."))
    ],
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            metavar="FOLDER",
            help=_("The folder for the stamp files (SERIAL.p12)."),
            file_okay=False,
        ),
    ],
    value: Annotated[
        int, typer.Option(min=1, metavar="NUMBER", help=_("The value of each stamp, in rupiah."))
    ] = 10000,
    valid_days: Annotated[
        int, typer.Option(min=1, metavar="N", help=_("How many days each stamp is valid."))
    ] = 365,
    passphrase_file: PassphraseFile = None,
    stamp_passphrase_file: StampPassphraseFile = None,
) -> None:
    """Issues stamps as PKCS#12 files under the buyer's passphrase, never the issuer's."""
    from emeterai.issuer import check_stamp_passphrase

    issuer = _issuer(ctx)
    # a wrong one fails (or is typed again) before the buyer's secret is asked for
    secret = with_retries(passphrase_file, _("the issuer key"), issuer.check_passphrase)[0]
    for_buyer = stamp_files_passphrase(
        stamp_passphrase_file,
        confirm=True,
        vet=lambda first: check_stamp_passphrase(first, secret),  # before the second entry
    )
    stamps = issuer.issue(
        count, secret, value=value, valid_days=valid_days, stamp_passphrase=for_buyer
    )
    out.mkdir(parents=True, exist_ok=True)
    for stamp in stamps:
        write_new_file(out / f"{stamp.serial}.p12", stamp.p12, force=False, mode=0o600)
        echo(stamp.serial)
    echo(
        ngettext(
            "issued {n} stamp of {value} into {folder}",
            "issued {n} stamps of {value} into {folder}",
            len(stamps),
        ).format(n=len(stamps), value=rupiah(value), folder=out),
        err=True,
    )


@app.command(
    "revoke",
    help=_(
        "Revoke stamps by their serial. The issuer passphrase is asked, since this changes the "
        "revocation list; publish the change with 'emeterai issuer crl'."
    ),
)
def issuer_revoke(
    ctx: typer.Context,
    serials: Annotated[
        list[str], typer.Argument(metavar="SERIAL...", help=_("The serials to revoke."))
    ],
    passphrase_file: PassphraseFile = None,
) -> None:
    """Revokes serials; the CRL changes, so the issuer key's passphrase is needed."""
    issuer = _issuer(ctx)
    wanted = issuer.revocable(serials)  # a mistyped serial fails before the passphrase is asked
    revoked = with_retries(
        passphrase_file, _("the issuer key"), lambda secret: issuer.revoke(wanted, secret)
    )[1]
    for serial in revoked:
        echo(_("revoked {serial}").format(serial=serial))


@app.command(
    "crl",
    help=_("Write the current list of revoked stamps (CRL, PEM), for 'emeterai verify --crl'."),
)
def issuer_crl(
    ctx: typer.Context,
    output: Annotated[
        Path,
        typer.Option(
            "-o", "--output", metavar="FILE", help=_("Where to write the revocation list.")
        ),
    ],
    passphrase_file: PassphraseFile = None,
) -> None:
    """Writes the current CRL, signed with the issuer key."""
    crl = with_retries(passphrase_file, _("the issuer key"), _issuer(ctx).crl)[1]
    write_new_file(output, crl, force=True)
    echo(_("wrote {output}").format(output=output), err=True)

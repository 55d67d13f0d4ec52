"""``emeterai issuer``: the stamp issuer (root CA) that sells stamps and revokes them."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from emeterai.cli._common import (
    PassphraseFile,
    StampPassphraseFile,
    passphrase,
    stamp_files_passphrase,
    state,
    with_retries,
    write_new_file,
)

if TYPE_CHECKING:
    from emeterai.issuer import Issuer

app = typer.Typer(no_args_is_help=True, help="The stamp issuer (root CA): init, issue, revoke.")


def _issuer_dir(ctx: typer.Context) -> Path:
    return state(ctx).home() / "issuer"


def _issuer(ctx: typer.Context) -> Issuer:
    from emeterai.issuer import Issuer

    return Issuer.open(_issuer_dir(ctx))


@app.command("init")
def issuer_init(
    ctx: typer.Context,
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
    info = Issuer.create(_issuer_dir(ctx), secret, name=name, specimen=specimen).info
    typer.echo(
        f"created issuer {info.name!r}{' (specimen)' if info.specimen else ''}, serial prefix "
        f"{info.prefix}, root fingerprint {info.fingerprint}"
    )
    typer.echo("give verifiers its root: emeterai issuer root -o issuer-root.pem", err=True)


@app.command("root")
def issuer_root(
    ctx: typer.Context,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write here instead of stdout.")
    ] = None,
) -> None:
    """The issuer's root certificate (PEM), for verifiers' trust stores."""
    pem = _issuer(ctx).root_pem()
    if output is None:
        sys.stdout.write(pem.decode())
    else:
        write_new_file(output, pem, force=True)
        typer.echo(f"wrote {output}", err=True)


@app.command("issue")
def issuer_issue(
    ctx: typer.Context,
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
    from emeterai.issuer import check_stamp_passphrase

    issuer = _issuer(ctx)
    # a wrong one fails (or is typed again) before the buyer's secret is asked for
    secret, _ = with_retries(passphrase_file, "the issuer key", issuer.check_passphrase)
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
        typer.echo(stamp.serial)
    typer.echo(f"issued {len(stamps)} stamp(s) of Rp{value} into {out}", err=True)


@app.command("revoke")
def issuer_revoke(
    ctx: typer.Context,
    serials: Annotated[list[str], typer.Argument(help="Serials to revoke.")],
    passphrase_file: PassphraseFile = None,
) -> None:
    """Revoke serials (the issuer key's passphrase is asked: revocation changes the CRL);
    publish the change with 'emeterai issuer crl'."""
    issuer = _issuer(ctx)
    wanted = issuer.revocable(serials)  # a mistyped serial fails before the passphrase is asked
    _, revoked = with_retries(
        passphrase_file, "the issuer key", lambda secret: issuer.revoke(wanted, secret)
    )
    for serial in revoked:
        typer.echo(f"revoked {serial}")


@app.command("crl")
def issuer_crl(
    ctx: typer.Context,
    output: Annotated[Path, typer.Option("-o", "--output", help="Where to write the CRL (PEM).")],
    passphrase_file: PassphraseFile = None,
) -> None:
    """Write the current certificate revocation list, for 'verify --crl'."""
    _, crl = with_retries(passphrase_file, "the issuer key", _issuer(ctx).crl)
    write_new_file(output, crl, force=True)
    typer.echo(f"wrote {output}", err=True)

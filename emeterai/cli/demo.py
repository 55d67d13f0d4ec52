"""``emeterai demo``: the whole flow on the bundled sample letter."""

from __future__ import annotations

import typer


def demo_cmd() -> None:
    """The whole flow on the bundled sample letter, in a throwaway home: prints output and verdict."""
    from emeterai.demo import DEMO_PASSPHRASE, run_demo

    result = run_demo(log=lambda line: typer.echo(line, err=True))
    typer.echo(f"stamped: {result.output}")
    verdict = "VALID" if result.verify.valid else "INVALID"
    stamp = result.verify.stamps[0] if result.verify.stamps else None
    typer.echo(
        f"verdict: {verdict}"
        + (f" ({stamp.serial}, Rp{stamp.value}, {stamp.issuer}, SPESIMEN)" if stamp else "")
    )
    home = result.home
    for line in (
        f"The demo's files stay in {home} (delete the folder when you are done):",
        f"  {result.output.name}  the stamped letter: open it in a PDF reader",
        "  lamaran.pdf  the letter before stamping",
        "  issuer/  wallet/  trust/  the specimen issuer, its stamps, the trusted root",
        "Try next:",
        f"  EMETERAI_HOME={home} emeterai verify {result.output}",
        f"  EMETERAI_HOME={home} EMETERAI_PASSPHRASE={DEMO_PASSPHRASE} emeterai wallet list",
        "  emeterai stamp YOUR-LETTER.pdf --dry-run --preview preview.png  (see it before spending)",
    ):
        typer.echo(line, err=True)
    if not result.verify.valid:
        raise typer.Exit(1)

"""``emeterai demo``: the whole flow on the bundled sample letter."""

from __future__ import annotations

import typer

from emeterai.cli._common import echo
from emeterai.i18n import _, rupiah

HELP = _(
    "The whole flow on the bundled sample letter, in a throwaway home: prints output and verdict."
)


def demo_cmd() -> None:
    """The whole flow on the bundled sample letter, in a throwaway home: prints output and
    verdict (the help is HELP, in the reader's language)."""
    from emeterai.demo import DEMO_PASSPHRASE, run_demo

    result = run_demo(log=lambda line: echo(line, err=True))
    echo(_("stamped: {path}").format(path=result.output))
    verdict = _("VALID") if result.verify.valid else _("INVALID")
    stamp = result.verify.stamps[0] if result.verify.stamps else None
    if stamp is None:
        echo(_("verdict: {verdict}").format(verdict=verdict))
    else:
        echo(
            _("verdict: {verdict} ({serial}, {amount}, {issuer}, SPESIMEN)").format(
                verdict=verdict,
                serial=stamp.serial,
                amount=rupiah(stamp.value) if stamp.value is not None else "-",
                issuer=stamp.issuer,
            )
        )
    home = result.home
    for line in (
        _("The demo's files stay in {home} (delete the folder when you are done):").format(
            home=home
        ),
        _("  {name}  the stamped letter: open it in a PDF reader").format(name=result.output.name),
        _("  lamaran.pdf  the letter before stamping"),
        _("  issuer/  wallet/  trust/  the specimen issuer, its stamps, the trusted root"),
        _("Try next:"),
        f"  EMETERAI_HOME={home} emeterai verify {result.output}",
        f"  EMETERAI_HOME={home} EMETERAI_PASSPHRASE={DEMO_PASSPHRASE} emeterai wallet list",
        _(
            "  emeterai stamp YOUR-LETTER.pdf --dry-run --preview preview.png  (see it before spending)"
        ),
    ):
        echo(line, err=True)
    if not result.verify.valid:
        raise typer.Exit(1)

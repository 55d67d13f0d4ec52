"""``emeterai demo``: the whole flow on the bundled sample letter."""

from __future__ import annotations

import typer


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

"""``emeterai demo``: the whole flow on the bundled sample letter, in a throwaway home.

A specimen issuer sells three stamps, the wallet imports them, the sample CPNS letter is stamped
and the result verified. Nothing outside the temporary folder is touched.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from emeterai.i18n import _
from emeterai.verify import VerifyResult

__all__ = ["DEMO_PASSPHRASE", "DemoResult", "run_demo", "sample_letter"]

DEMO_PASSPHRASE = "demo-only-passphrase"


@dataclass(frozen=True)
class DemoResult:
    home: Path
    output: Path
    verify: VerifyResult


def sample_letter() -> bytes:
    return resources.files("emeterai").joinpath("data/lamaran.pdf").read_bytes()


def run_demo(log: Callable[[str], None], workdir: Path | None = None) -> DemoResult:
    from emeterai import home as layout
    from emeterai.issuer import Issuer
    from emeterai.stamp import StampOptions, stamp_file
    from emeterai.verify import Verifier

    home = workdir or Path(tempfile.mkdtemp(prefix="emeterai-demo-"))
    issuer = Issuer.create(
        home / "issuer", DEMO_PASSPHRASE, name="emeterai Demo Issuer", specimen=True
    )
    log(
        _("1. specimen issuer created in {folder} (serial prefix {prefix})").format(
            folder=home / "issuer", prefix=issuer.info.prefix
        )
    )
    stamps = issuer.issue(3, DEMO_PASSPHRASE)
    log(_("2. bought 3 stamps: {serials}").format(serials=", ".join(s.serial for s in stamps)))
    trust = layout.trust_store(home)
    trust.add(issuer.root_pem(), "demo issuer root")
    wallet = layout.wallet(home)
    wallet.import_stamps([(s.serial, s.p12) for s in stamps], DEMO_PASSPHRASE, trust.certificates())
    log(_("3. stamps imported into the wallet (chain checked against the trusted issuer root)"))
    letter = home / "lamaran.pdf"
    letter.write_bytes(sample_letter())
    output = home / "lamaran.emeterai.pdf"
    result = stamp_file(letter, output, wallet, wallet.unlock(DEMO_PASSPHRASE), StampOptions())
    log(
        _("4. stamped {name} with {serial} on page {page} ({placement})").format(
            name=letter.name,
            serial=result.serial,
            page=result.page,
            placement=_(str(result.placement)),  # its words marked in emeterai.cli.stamp
        )
    )
    verdict = Verifier(trust.certificates()).verify(output.read_bytes(), str(output))
    log(_("5. verified offline against the issuer root"))
    return DemoResult(home, output, verdict)

"""``emeterai._lazy``: ``pyhanko.sign`` importable without its signers, and the same package as
pyHanko's own once anything of it is asked for. Each check runs in a fresh interpreter, since
the test process has long imported pyHanko."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest


def _run(code: str) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_verifying_a_stamp_imports_neither_the_signers_nor_aiohttp(tmp_path, issuer):
    """A whole verification of a real stamp, every check run, in a fresh interpreter."""
    from tests.support.attacks import stamp_key_from_issuer, stamp_with_key
    from tests.support.common import PASSPHRASE
    from tests.support.pdfmakers import plain_pdf

    source = plain_pdf(tmp_path / "letter.pdf")
    key = stamp_key_from_issuer(issuer, PASSPHRASE, "TST-0000000001")
    stamped = tmp_path / "letter.emeterai.pdf"
    stamped.write_bytes(stamp_with_key(source.read_bytes(), key))
    root = tmp_path / "root.pem"
    root.write_bytes(issuer.root_pem())
    out = _run(
        f"""
        import json, sys
        from pathlib import Path
        from emeterai.trust import parse_root
        from emeterai.verify import Verifier
        result = Verifier([parse_root(Path({str(root)!r}).read_bytes(), "root.pem")]).verify(
            Path({str(stamped)!r}).read_bytes(), "letter.emeterai.pdf")
        assert result.stamps and result.stamps[0].serial, result.to_json()
        print(json.dumps({{m: m in sys.modules for m in (
            "pyhanko.sign.validation", "pyhanko.sign.signers", "pyhanko.sign.timestamps",
            "aiohttp")}}))
        """
    )
    assert out == {
        "pyhanko.sign.validation": True,
        "pyhanko.sign.signers": False,
        "pyhanko.sign.timestamps": False,
        "aiohttp": False,
    }


@pytest.mark.parametrize(
    "first",
    [
        "from pyhanko.sign import PdfSigner",
        "import pyhanko.sign; pyhanko.sign.sign_pdf",
        "from pyhanko.sign import signers",
        "from pyhanko.sign import *",
    ],
)
def test_the_deferred_package_gives_every_name_the_real_one_gives(first):
    """The names of the real ``pyhanko.sign`` (a fresh interpreter without emeterai) against
    those of the deferred one, asked for in each way a program may ask."""
    describe = """
        import re
        def describe(v):
            return f"{getattr(v, '__module__', None) or getattr(v, '__name__', '')}." + (
                getattr(v, "__qualname__", None) or re.sub(" at 0x[0-9a-f]+", "", repr(v)))
    """
    real = _run(
        textwrap.dedent(describe)
        + textwrap.dedent(
            """
            import json, pyhanko.sign as pkg
            print(json.dumps({k: describe(v) for k, v in vars(pkg).items()
                              if not k.startswith("__") or k == "__all__"}))
            """
        )
    )
    deferred = _run(
        textwrap.dedent(describe)
        + "import emeterai\n"
        + first
        + textwrap.dedent(
            f"""
            import json, pyhanko.sign as pkg
            print(json.dumps({{k: describe(getattr(pkg, k)) for k in {sorted(real)!r}}}))
            """
        )
    )
    assert deferred == real
    assert "PdfSigner" in real and "__all__" in real


def test_a_submodule_asked_of_the_package_is_imported_alone():
    out = _run(
        """
        import json, sys
        import emeterai
        from pyhanko.sign import fields, general
        from emeterai import _lazy
        print(json.dumps({"deferred": _lazy.is_deferred(sys.modules["pyhanko.sign"]),
                          "signers": "pyhanko.sign.signers" in sys.modules,
                          "fields": fields.__name__}))
        """
    )
    assert out == {"deferred": True, "signers": False, "fields": "pyhanko.sign.fields"}


def test_a_package_already_imported_is_left_alone():
    out = _run(
        """
        import json, sys
        import pyhanko.sign
        before = sys.modules["pyhanko.sign"]
        import emeterai
        from emeterai import _lazy
        print(json.dumps({"same": sys.modules["pyhanko.sign"] is before,
                          "deferred": _lazy.is_deferred(before)}))
        """
    )
    assert out == {"same": True, "deferred": False}


def test_qr_codes_are_made_without_pil_and_the_drawers_are_still_there():
    out = _run(
        """
        import json, sys
        import emeterai
        from emeterai._render import qr_matrix
        rows = qr_matrix("HELLO")
        no_pil = "PIL" not in sys.modules
        from qrcode.image.styles.moduledrawers import SquareModuleDrawer
        from qrcode.image.styles.moduledrawers.pil import SquareModuleDrawer as Real
        print(json.dumps({"rows": len(rows), "no_pil": no_pil, "same": SquareModuleDrawer is Real}))
        """
    )
    assert out == {"rows": 21, "no_pil": True, "same": True}

"""The program as a whole (``emeterai.cli``): --version, usage errors, --help without the heavy
imports, and --verbose."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

from emeterai import __version__
from tests.support.cli import _run
from tests.support.common import PASSPHRASE

# -- program-level ------------------------------------------------------------------------------


def test_version(runner):
    result = _run(runner, "--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"emeterai {__version__}"


def test_unknown_option_is_a_usage_error(runner):
    result = _run(runner, "serial", "check", "--no-such-option")
    assert result.exit_code == 2
    assert "Traceback" not in result.stderr


_HELP_IMPORTS = textwrap.dedent(
    """
    import json, sys
    from emeterai.cli import main
    sys.argv = ["emeterai", "--help"]
    try:
        main()
    except SystemExit as exc:
        code = exc.code
    else:
        code = 0
    heavy = sorted(m for m in ("pyhanko", "pypdf", "reportlab") if m in sys.modules)
    print(json.dumps({"code": code, "heavy": heavy}))
    """
)


def test_help_runs_as_a_module_without_heavy_imports(tmp_path):
    env = {**os.environ, "EMETERAI_HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "emeterai", "--help"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "Usage" in done.stdout
    for group in ("issuer", "wallet", "trust", "serial"):
        assert group in done.stdout

    probe = subprocess.run(
        [sys.executable, "-c", _HELP_IMPORTS], capture_output=True, text=True, env=env, timeout=60
    )
    assert probe.returncode == 0, probe.stderr
    report = json.loads(probe.stdout.strip().splitlines()[-1])
    assert report["code"] in (0, None)
    assert report["heavy"] == []


# -- --verbose --------------------------------------------------------------------------------


def _cli(home, *args: str, secret: str = PASSPHRASE) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "EMETERAI_HOME": str(home), "EMETERAI_PASSPHRASE": secret}
    env.pop("EMETERAI_STAMP_PASSPHRASE", None)
    return subprocess.run(
        [sys.executable, "-m", "emeterai", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=120,
        check=False,
    )


def test_verbose_adds_the_traceback_but_never_the_passphrase(home, issuer, tmp_path):
    wrong = "salah-sekali-rahasia"
    quiet = _cli(home, "issuer", "crl", "-o", tmp_path / "x.crl", secret=wrong)
    assert quiet.returncode == 1
    assert quiet.stderr == "emeterai: error: wrong passphrase for the issuer key\n"
    loud = _cli(home, "--verbose", "issuer", "crl", "-o", tmp_path / "x.crl", secret=wrong)
    assert loud.returncode == 1
    assert "Traceback (most recent call last)" in loud.stderr
    assert "PassphraseError: wrong passphrase for the issuer key" in loud.stderr
    assert loud.stderr.rstrip().endswith("emeterai: error: wrong passphrase for the issuer key")
    assert wrong not in loud.stderr + loud.stdout
    assert not (tmp_path / "x.crl").exists()


def _no_pages(path):
    import pypdf

    with path.open("wb") as f:
        pypdf.PdfWriter().write(f)


def test_verbose_shows_why_a_file_in_a_batch_was_not_stamped(home, wallet_with_stamps, tmp_path):
    wallet_with_stamps(1)
    bad = tmp_path / "kosong.pdf"
    _no_pages(bad)  # a sound PDF to the first look: refused while stamping, not before
    quiet = _cli(home, "stamp", bad)
    assert quiet.returncode == 1 and "Traceback" not in quiet.stderr
    assert f"emeterai: error: {bad}: the PDF has no pages" in quiet.stderr.splitlines()
    loud = _cli(home, "--verbose", "stamp", bad)
    assert loud.returncode == 1
    assert "Traceback (most recent call last)" in loud.stderr
    assert "PdfError" in loud.stderr and f"{bad}: not stamped" in loud.stderr
    assert PASSPHRASE not in loud.stderr

    others = [tmp_path / f"kosong-{n}.pdf" for n in range(4)]
    for path in others:
        _no_pages(path)
    pooled = _cli(home, "--verbose", "stamp", "--jobs", "2", *others)  # worker processes
    assert pooled.returncode == 1
    assert pooled.stderr.count("Traceback (most recent call last)") == len(others), pooled.stderr
    assert all(f"{path}: not stamped" in pooled.stderr for path in others)
    quiet_pool = _cli(home, "stamp", "--jobs", "2", *others)
    assert quiet_pool.returncode == 1 and "Traceback" not in quiet_pool.stderr

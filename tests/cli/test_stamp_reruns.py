"""`emeterai stamp` run again, as applicants do: a stamped input is refused unless --add-stamp,
a folder's own outputs are not stamped again, --skip-existing finishes an interrupted batch,
--max-size refuses before spending, and everything that can be checked without the passphrase
is checked before it is asked for.
"""

from __future__ import annotations

import pytest

from emeterai.cli import app
from tests.support import attacks, pdfmakers
from tests.support.stamping import _error_lines, _states


def _used(kit) -> int:
    return sum(state == "used" for state in _states(kit.wallet).values())


def test_a_folder_stamped_twice_spends_nothing_the_second_time(kit):
    folder = kit.folder("twice")
    for name in ("a", "b"):
        pdfmakers.plain_pdf(folder / f"{name}.pdf", placeholder_page=1)
    result, records = kit.stamp(folder)
    assert result.exit_code == 0, result.stderr
    assert len(records) == 2
    used = _used(kit)

    # Before: the outputs a.emeterai.pdf, b.emeterai.pdf were inputs of the second run and got
    # stamped into a.emeterai.emeterai.pdf, one more stamp each.
    result, records = kit.stamp(folder)
    assert result.exit_code == 1, result.stderr
    assert _used(kit) == used, "the second run spent stamps"
    assert sorted(p.name for p in folder.iterdir()) == [
        "a.emeterai.pdf",
        "a.pdf",
        "b.emeterai.pdf",
        "b.pdf",
    ]
    errors = _error_lines(result.stderr)
    assert len(errors) == 2 and all("already exists" in e for e in errors), errors


def test_a_stamped_input_is_refused_with_its_serial_and_page(kit):
    folder = kit.folder("stamped-input")
    source = pdfmakers.plain_pdf(folder / "x.pdf", placeholder_page=1)
    result, (first,) = kit.stamp(source)
    assert result.exit_code == 0, result.stderr
    used = _used(kit)

    result, (record,) = kit.stamp(folder / "x.emeterai.pdf", "-o", folder / "again.pdf")
    assert result.exit_code == 1
    (error,) = _error_lines(result.stderr)
    assert f"already stamped with {first['serial']} on page 1" in error
    assert "--add-stamp" in error
    assert record["serial"] is None and "already stamped" in record["error"]
    assert not (folder / "again.pdf").exists()
    assert _used(kit) == used

    # a second party's stamp, asked for
    result, (second,) = kit.stamp(
        folder / "x.emeterai.pdf", "-o", folder / "two.pdf", "--add-stamp"
    )
    assert result.exit_code == 0, result.stderr
    verdict = kit.verifier().verify((folder / "two.pdf").read_bytes(), "two.pdf")
    assert verdict.valid, verdict.problems
    assert [s.serial for s in verdict.stamps] == [first["serial"], second["serial"]]


def test_a_stamped_file_changed_since_is_refused_saying_a_new_stamp_would_not_help(kit):
    folder = kit.folder("stamped-changed")
    source = pdfmakers.plain_pdf(folder / "x.pdf", placeholder_page=1)
    result, (first,) = kit.stamp(source)
    assert result.exit_code == 0, result.stderr
    changed = folder / "changed.pdf"
    changed.write_bytes(attacks.append_page_text((folder / "x.emeterai.pdf").read_bytes()))
    used = _used(kit)

    result, _ = kit.stamp(changed)
    assert result.exit_code == 1
    (error,) = _error_lines(result.stderr)
    assert first["serial"] in error and "no longer verifies" in error
    assert "modified-after-stamp" in error and "original" in error
    assert _used(kit) == used


def test_a_document_signed_by_a_person_is_not_taken_for_a_stamp(kit):
    folder = kit.folder("cosigned")
    source = folder / "signed.pdf"
    plain = pdfmakers.plain_pdf(folder / "plain.pdf", placeholder_page=1).read_bytes()
    source.write_bytes(attacks.cosign(plain))
    result, (record,) = kit.stamp(source)
    assert result.exit_code == 0, result.stderr
    assert record["serial"]


def test_skip_existing_finishes_an_interrupted_batch(kit):
    folder = kit.folder("rerun")
    for name in ("a", "b", "c"):
        pdfmakers.plain_pdf(folder / f"{name}.pdf", placeholder_page=1)
    result, _ = kit.stamp(folder / "a.pdf")  # the run that was interrupted after one file
    assert result.exit_code == 0, result.stderr
    used = _used(kit)

    result, records = kit.stamp(folder, "--skip-existing")
    assert result.exit_code == 0, result.stderr
    assert _used(kit) == used + 2
    skipped = [r for r in records if r.get("skipped")]
    assert [r["file"] for r in skipped] == [str(folder / "a.pdf")]
    assert {r["file"] for r in records if r["serial"]} == {
        str(folder / "b.pdf"),
        str(folder / "c.pdf"),
    }
    assert "2 stamped, 0 failed, 1 skipped" in result.stderr

    result, records = kit.stamp(folder, "--skip-existing")  # nothing left to do
    assert result.exit_code == 0, result.stderr
    assert all(r.get("skipped") for r in records) and len(records) == 3
    assert _used(kit) == used + 2


def test_skip_existing_and_force_together_is_a_usage_error(kit):
    folder = kit.folder("skip-force")
    source = pdfmakers.plain_pdf(folder / "x.pdf", placeholder_page=1)
    result = kit.cli("stamp", source, "--skip-existing", "--force")
    assert result.exit_code == 2
    assert "--skip-existing" in result.stderr


def test_max_size_refuses_before_spending(kit):
    folder = kit.folder("max-size")
    source = pdfmakers.plain_pdf(folder / "x.pdf", placeholder_page=1)
    size = source.stat().st_size
    used = _used(kit)

    # the input fits, the stamped file would not: refused after signing, before writing
    cap = size + 2000
    result, (record,) = kit.stamp(source, "--max-size", str(cap))
    assert result.exit_code == 1
    (error,) = _error_lines(result.stderr)
    assert "over the maximum" in error and f"({cap} bytes)" in error and "shrink" in error
    assert record["serial"] is None
    assert not (folder / "x.emeterai.pdf").exists()
    assert _used(kit) == used
    assert "reserved" not in _states(kit.wallet).values()

    result, _ = kit.stamp(source, "--max-size", "1K")  # the input alone is over
    assert result.exit_code == 1
    assert "the file is already" in result.stderr

    result, (record,) = kit.stamp(source, "--max-size", "800K")
    assert result.exit_code == 0, result.stderr
    assert (folder / "x.emeterai.pdf").stat().st_size <= 800_000

    result = kit.cli("stamp", source, "--max-size", "banyak")
    assert result.exit_code == 2 and "800K" in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["missing.pdf"],
        ["not-a-pdf.txt"],
        ["exists.pdf"],  # its output is already there
    ],
)
def test_nothing_is_asked_when_no_input_can_be_stamped(kit, args):
    """Without EMETERAI_PASSPHRASE and with no terminal, asking for the passphrase would fail
    with 'a passphrase is needed': the input's own error must come first."""
    folder = kit.folder(f"before-secrets-{args[0]}")
    (folder / "not-a-pdf.txt").write_text("hello")
    pdfmakers.plain_pdf(folder / "exists.pdf", placeholder_page=1)
    (folder / "exists.emeterai.pdf").write_bytes(b"%PDF-1.7 earlier output")
    env = {"EMETERAI_HOME": str(kit.home), "EMETERAI_PASSPHRASE": ""}
    result = kit.runner.invoke(app, ["stamp", *[str(folder / a) for a in args]], env=env)
    assert result.exit_code == 1, result.stderr
    assert "passphrase" not in result.stderr, result.stderr
    (error,) = _error_lines(result.stderr)
    assert str(folder / args[0]) in error


@pytest.mark.parametrize(
    ("make", "args", "expected", "code"),
    [
        ("stamped", [], "already stamped with", 1),
        ("plain", ["--page", "9"], "out of range", 2),
        ("plain", ["--at", "500,10"], "off page 1", 2),
        ("plain", ["--max-size", "1K"], "over the maximum", 1),
    ],
)
def test_a_document_that_cannot_be_stamped_says_so_before_the_passphrase_is_asked(
    kit, make, args, expected, code
):
    """In a terminal: before, the passphrase was asked first and the document's own problem
    came after it had been typed."""
    from tests.support.terminal import Terminal, terminal_env

    folder = kit.folder(f"asked-after-{make}-{'-'.join(args) or 'none'}".replace(",", "_"))
    source = pdfmakers.plain_pdf(folder / "x.pdf", placeholder_page=1)
    if make == "stamped":
        result, _ = kit.stamp(source)
        assert result.exit_code == 0, result.stderr
        source = folder / "x.emeterai.pdf"
    term = Terminal(["stamp", source, "-o", folder / "out.pdf", *args], terminal_env(kit.home))
    assert term.finish() == code, term.screen
    assert "Passphrase" not in term.screen, term.screen
    assert expected in term.screen


def test_an_empty_wallet_says_so_before_asking(tmp_path, runner):
    source = pdfmakers.plain_pdf(tmp_path / "x.pdf", placeholder_page=1)
    env = {"EMETERAI_HOME": str(tmp_path / "home"), "EMETERAI_PASSPHRASE": ""}
    result = runner.invoke(app, ["stamp", str(source)], env=env)
    assert result.exit_code == 1, result.stderr
    assert "wallet is empty" in result.stderr and "passphrase" not in result.stderr


def test_a_wallet_whose_stamps_are_all_used_says_so_before_asking(
    home, wallet_with_stamps, tmp_path, runner
):
    wallet_with_stamps(1)
    first = pdfmakers.plain_pdf(tmp_path / "a.pdf", placeholder_page=1)
    assert runner.invoke(app, ["stamp", str(first)]).exit_code == 0
    second = pdfmakers.plain_pdf(tmp_path / "b.pdf", placeholder_page=1)
    env = {"EMETERAI_HOME": str(home), "EMETERAI_PASSPHRASE": ""}
    result = runner.invoke(app, ["stamp", str(second)], env=env)
    assert result.exit_code == 1, result.stderr
    (error,) = _error_lines(result.stderr)
    assert "the wallet's only stamp is used" in error and "wallet import" in error
    assert "passphrase" not in result.stderr
    assert not (tmp_path / "b.emeterai.pdf").exists()

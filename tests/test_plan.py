"""``emeterai.plan`` and ``emeterai.batch`` as a library: a stamping run planned without the
command line (outputs, clashes), its outcomes typed (a failure carries its exception, never a
string to match), and every record in one JSON shape."""

from __future__ import annotations

import pickle

import pytest

from emeterai import batch, plan
from emeterai.errors import NoStampAvailable, NotStamped, OutputError, UsageError
from emeterai.stamp import StampFailure, StampOptions, StampResult, StampSkipped
from tests.support import pdfmakers
from tests.support.common import PASSPHRASE


def test_outputs_go_beside_the_input_or_into_the_output_folder(tmp_path):
    a = pdfmakers.plain_pdf(tmp_path / "a.pdf")
    beside = plan.plan_stamping([a]).jobs
    assert [j.output for j in beside] == [tmp_path / "a.emeterai.pdf"]
    folder = tmp_path / "out" / "deep"
    into = plan.plan_stamping([a], out_dir=folder, force=True).jobs
    assert folder.is_dir() and [j.output for j in into] == [folder / "a.emeterai.pdf"]
    assert into[0].force


def test_two_inputs_with_one_output_name_are_refused_before_anything_is_spent(tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "y").mkdir()
    one = pdfmakers.plain_pdf(tmp_path / "x" / "surat.pdf")
    two = pdfmakers.plain_pdf(tmp_path / "y" / "surat.pdf")
    with pytest.raises(UsageError, match="would both be written to"):
        plan.plan_stamping([one, two], out_dir=tmp_path / "out")


def test_an_output_that_is_also_an_input_is_refused_when_overwriting(tmp_path):
    a = pdfmakers.plain_pdf(tmp_path / "a.pdf")
    stamped_name = pdfmakers.plain_pdf(tmp_path / "a.emeterai.pdf")
    with pytest.raises(UsageError) as info:
        plan.plan_stamping([a, stamped_name], force=True)
    assert info.value.path == str(a)
    assert "is also an input" in info.value.message


def test_an_output_folder_that_cannot_be_made_is_an_output_error_naming_it(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(OutputError) as info:
        plan.plan_stamping([tmp_path / "a.pdf"], out_dir=blocker / "out")
    assert info.value.path == str(blocker / "out")


@pytest.mark.parametrize("jobs", [1, 2], ids=["in-process", "workers"])
def test_failures_are_typed_and_a_run_stops_spending_after_an_empty_wallet(
    home, wallet_with_stamps, tmp_path, jobs
):
    wallet = wallet_with_stamps(1)
    files = [pdfmakers.plain_pdf(tmp_path / f"{n}.pdf") for n in "abc"]
    outcomes = [
        o
        for _, o in batch.stamp_files(
            wallet, PASSPHRASE, plan.plan_stamping(files).jobs, StampOptions(), jobs
        )
    ]
    stamped = [o for o in outcomes if isinstance(o, StampResult)]
    failed = [o for o in outcomes if isinstance(o, StampFailure)]
    assert len(stamped) == 1 and len(failed) == 2
    first, second = failed
    assert isinstance(first.error, NoStampAvailable), first.error
    assert isinstance(second.error, NotStamped)
    assert isinstance(second.error.cause, NoStampAvailable)
    assert second.error.path == second.file
    assert str(second.error).startswith(f"{second.file}: not stamped: ")


def test_every_stamp_record_has_the_same_keys(home, wallet_with_stamps, tmp_path):
    wallet = wallet_with_stamps(1)
    files = [pdfmakers.plain_pdf(tmp_path / f"{n}.pdf") for n in "ab"]
    outcomes = [
        o
        for _, o in batch.stamp_files(
            wallet, PASSPHRASE, plan.plan_stamping(files).jobs, StampOptions(), 1
        )
    ]
    shown = plan.preview_stamp(wallet)
    (dry,) = plan.dry_run(files[:1], StampOptions(), shown)
    records = [o.to_json() for o in outcomes] + [dry.to_json()]
    base = set(records[0])
    assert set(records[1]) == base | {"error"} and records[1]["serial"] is None
    assert set(records[2]) == base | {"dry_run"} and records[2]["bytes_added"] == 0


def test_a_folder_is_expanded_without_its_stamped_outputs_when_stamping(tmp_path):
    a = pdfmakers.plain_pdf(tmp_path / "a.pdf")
    (tmp_path / "sub").mkdir()
    out = pdfmakers.plain_pdf(tmp_path / "sub" / "a.EMETERAI.pdf")
    assert plan.expand_pdfs([tmp_path]) == ([a, out], [])  # verify: every PDF
    assert plan.expand_pdfs([tmp_path], skip_outputs=True) == ([a], [])
    assert plan.expand_pdfs([out], skip_outputs=True) == ([out], [])  # named: kept


def test_inputs_and_outputs_are_checked_when_planning_without_reading_documents(tmp_path):
    good = pdfmakers.plain_pdf(tmp_path / "good.pdf")
    done = pdfmakers.plain_pdf(tmp_path / "done.pdf")
    (tmp_path / "done.emeterai.pdf").write_bytes(b"%PDF-1.7 an earlier output")
    text = tmp_path / "notes.pdf"
    text.write_text("not a pdf")
    missing = tmp_path / "missing.pdf"
    files = [good, done, text, missing]

    planned = plan.plan_stamping(files)
    assert [j.source for j in planned.jobs] == [good] and planned.skipped == ()
    refused = {f.file: f.error for f in planned.refused}
    assert isinstance(refused[str(done)], OutputError)
    assert refused[str(done)].path == str(tmp_path / "done.emeterai.pdf")
    assert "no %PDF- header" in refused[str(text)].message
    assert "No such file" in refused[str(missing)].message

    rerun = plan.plan_stamping(files, skip_existing=True)
    assert [j.source for j in rerun.skipped] == [done]
    assert {f.file for f in rerun.refused} == {str(text), str(missing)}
    record = StampSkipped(str(done), str(rerun.skipped[0].output)).to_json()
    assert record["skipped"] is True and record["serial"] is None

    forced = plan.plan_stamping([good, done], force=True)
    assert [j.source for j in forced.jobs] == [good, done]
    with pytest.raises(UsageError, match="--skip-existing"):
        plan.plan_stamping(files, force=True, skip_existing=True)


@pytest.mark.parametrize("jobs", [1, 2], ids=["in-process", "workers"])
def test_a_stopped_run_finishes_what_it_started_and_starts_nothing_more(
    home, wallet_with_stamps, tmp_path, jobs
):
    import threading

    wallet = wallet_with_stamps(8)
    files = [pdfmakers.plain_pdf(tmp_path / f"{n}.pdf") for n in "abcdefgh"]
    stop = threading.Event()
    outcomes = []
    for _, outcome in batch.stamp_files(
        wallet, PASSPHRASE, plan.plan_stamping(files).jobs, StampOptions(), jobs, stop=stop
    ):
        outcomes.append(outcome)
        stop.set()  # as the first Ctrl-C does
    assert outcomes and all(isinstance(o, StampResult) for o in outcomes)
    assert len(outcomes) <= 1 + 2 * jobs, "jobs were started after the stop"
    used = {e.serial for e in wallet.entries() if e.state == "used"}
    assert used == {o.serial for o in outcomes}, "a spent stamp was not reported"
    written = sorted(tmp_path.glob("*.emeterai.pdf"))
    assert len(written) == len(outcomes)


def test_an_error_keeps_its_file_and_hint_across_processes():
    error = NotStamped(NoStampAvailable("the wallet has no stamp left"), path="b.pdf")
    again = pickle.loads(pickle.dumps(StampFailure("b.pdf", error)))
    assert type(again.error) is NotStamped and type(again.error.cause) is NoStampAvailable
    assert str(again.error) == "b.pdf: not stamped: the wallet has no stamp left"
    named = OutputError("already exists").at("out.pdf")
    assert (named.path, str(named)) == ("out.pdf", "out.pdf: already exists")
    assert named.at("other.pdf") is named  # the file is named once

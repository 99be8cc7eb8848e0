"""The output-directory rules: new, resumed, or refused unless --overwrite."""

import json
import os
import subprocess
import sys

import pytest

from keras_umdf.experiments.run_directory import RunDirectory
from keras_umdf.experiments.variants import VARIANT_NAMES
from keras_umdf.experiments.variants import parse_variants
from keras_umdf.experiments.variants import variant_arguments

pytestmark = pytest.mark.only_backend("tensorflow")  # file bookkeeping only

CONFIG = {"settings": {"epochs": 3, "batch_size": 8}, "seed": 0}


def test_a_new_directory_is_created_with_its_record(tmp_path):
    run = RunDirectory(tmp_path / "a" / "b", "train")
    assert run.prepare(CONFIG) == "new"
    record = json.loads((tmp_path / "a" / "b" / "run.json").read_text())
    assert record["status"] == "running" and record["config"] == CONFIG
    assert RunDirectory(tmp_path / "empty", "train").prepare(CONFIG) == "new"


def test_an_unfinished_run_of_the_same_configuration_resumes(tmp_path):
    RunDirectory(tmp_path, "train").prepare(CONFIG)
    assert RunDirectory(tmp_path, "train").prepare(dict(CONFIG)) == "resume"


def test_a_configuration_mismatch_on_resume_names_the_setting(tmp_path):
    RunDirectory(tmp_path, "train").prepare(CONFIG)
    changed = {**CONFIG, "settings": {"epochs": 5, "batch_size": 8}}
    with pytest.raises(ValueError, match=r"settings\.epochs: recorded 3, now 5"):
        RunDirectory(tmp_path, "train").prepare(changed)
    assert RunDirectory(tmp_path, "train").prepare(changed, overwrite=True) == "new"


def test_a_key_added_later_compares_as_the_value_old_runs_had(tmp_path):
    RunDirectory(tmp_path, "train").prepare(CONFIG)  # recorded without the key
    defaults = {"select_epoch": "last"}
    best = {**CONFIG, "select_epoch": "best"}
    with pytest.raises(ValueError, match="select_epoch: recorded 'last', now 'best'"):
        RunDirectory(tmp_path, "train").prepare(best, recorded_defaults=defaults)
    last = {**CONFIG, "select_epoch": "last"}
    resumed = RunDirectory(tmp_path, "train").prepare(last, recorded_defaults=defaults)
    assert resumed == "resume"


def test_a_finished_run_is_refused_unless_overwrite(tmp_path):
    run = RunDirectory(tmp_path, "train")
    run.prepare(CONFIG)
    (tmp_path / "model.keras").write_text("trained")
    run.mark_finished()
    with pytest.raises(FileExistsError, match="already holds a finished run"):
        RunDirectory(tmp_path, "train").prepare(CONFIG)
    assert (tmp_path / "model.keras").read_text() == "trained"
    assert RunDirectory(tmp_path, "train").prepare(CONFIG, reuse_finished=True) == (
        "finished"
    )
    assert RunDirectory(tmp_path, "train").prepare(CONFIG, overwrite=True) == "new"
    assert not (tmp_path / "model.keras").exists()


def test_other_files_are_refused_and_never_deleted(tmp_path):
    (tmp_path / "thesis.tex").write_text("mine")
    with pytest.raises(FileExistsError, match=r"not a keras_umdf run \(thesis.tex\)"):
        RunDirectory(tmp_path, "train").prepare(CONFIG)
    assert RunDirectory(tmp_path, "train").prepare(CONFIG, overwrite=True) == "new"
    assert (tmp_path / "thesis.tex").read_text() == "mine"
    file = tmp_path / "file"
    file.write_text("x")
    with pytest.raises(FileExistsError, match="is a file, not a directory"):
        RunDirectory(file, "train").prepare(CONFIG)


def test_a_run_of_another_command_or_a_failed_run_is_refused(tmp_path):
    RunDirectory(tmp_path, "reproduce").prepare(CONFIG)
    with pytest.raises(FileExistsError, match="holds a keras_umdf 'reproduce' run"):
        RunDirectory(tmp_path, "train").prepare(CONFIG)
    failed = RunDirectory(tmp_path / "f", "train")
    failed.prepare(CONFIG)
    failed.mark_failed("the training loss became nan")
    with pytest.raises(FileExistsError, match="a failed run .the training loss"):
        RunDirectory(tmp_path / "f", "train").prepare(CONFIG)


def test_variants_are_the_paper_ablations_plus_plain_training():
    assert VARIANT_NAMES[:5] == (
        "UMDF",
        "w/o L_fea",
        "w/o L_logits",
        "w/o MCIM",
        "w/o DFIM",
    )
    assert variant_arguments("w/o MCIM") == {"attention": "self"}
    assert variant_arguments("w/o distillation") == {
        "lambda_fea": 0.0,
        "lambda_logits": 0.0,
    }
    assert parse_variants("umdf, W/O DFIM,wo-l_fea") == (
        "UMDF",
        "w/o DFIM",
        "w/o L_fea",
    )
    with pytest.raises(ValueError, match="Unknown variant 'w/o magic'"):
        parse_variants("w/o magic")


def test_overwrite_never_replaces_another_commands_run(tmp_path):
    """`evaluate --output <training run> --overwrite` once deleted the model it
    was evaluating."""
    RunDirectory(tmp_path, "train").prepare(CONFIG)
    (tmp_path / "model.keras").write_text("trained")
    (tmp_path / "history.json").write_text("[]")
    RunDirectory(tmp_path, "train").mark_finished()
    with pytest.raises(FileExistsError, match="replaces only a run of the same"):
        RunDirectory(tmp_path, "evaluate").prepare(CONFIG, overwrite=True)
    assert (tmp_path / "model.keras").read_text() == "trained"
    assert (tmp_path / "history.json").read_text() == "[]"
    assert json.loads((tmp_path / "run.json").read_text())["kind"] == "train"


def test_overwrite_removes_only_what_the_same_kind_of_run_writes(tmp_path):
    run = RunDirectory(tmp_path, "evaluate")
    run.prepare(CONFIG)
    (tmp_path / "model.keras").write_text("the user's model")
    (tmp_path / "results.json").write_text("{}")
    run.mark_finished()
    assert RunDirectory(tmp_path, "evaluate").prepare(CONFIG, overwrite=True) == "new"
    assert (tmp_path / "model.keras").read_text() == "the user's model"
    assert not (tmp_path / "results.json").exists()


def test_overwrite_never_removes_unrecorded_files_or_the_commands_inputs(tmp_path):
    (tmp_path / "model.keras").write_text("the user's model")
    # Files under names a run writes, but written by no recorded run: kept.
    with pytest.raises(FileExistsError, match="which no keras_umdf run recorded"):
        RunDirectory(tmp_path, "train").prepare(CONFIG, overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.keras"]
    # An evaluation writes beside the model it evaluates.
    run = RunDirectory(tmp_path, "evaluate")
    assert run.prepare(CONFIG, overwrite=True, inputs=[tmp_path / "model.keras"])
    assert (tmp_path / "model.keras").read_text() == "the user's model"
    (tmp_path / "results.json").write_text("{}")
    with pytest.raises(FileExistsError, match=r"would replace .*results\.json"):
        RunDirectory(tmp_path, "evaluate").prepare(
            CONFIG, overwrite=True, inputs=[str(tmp_path / "results.json")]
        )
    assert (tmp_path / "results.json").read_text() == "{}"


def test_a_resumed_run_removes_the_temporary_files_of_a_killed_one(tmp_path):
    RunDirectory(tmp_path, "train").prepare(CONFIG)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = [f"history.json.tmp-{dead.pid}", "model.tmp.keras", "checkpoint.tmp.keras"]
    kept = [
        f"history.json.tmp-{os.getpid()}",  # a live process's (this one)
        f"notes.txt.tmp-{dead.pid}",  # not a name the run writes
        "history.json",
    ]
    for name in stale + kept:
        (tmp_path / name).write_text("x")
    assert RunDirectory(tmp_path, "train").prepare(CONFIG) == "resume"
    left = set(os.listdir(tmp_path))
    assert not left & set(stale), left
    assert set(kept) <= left


def test_the_results_json_is_written_after_the_markdown(tmp_path, monkeypatch):
    # results.json marks a finished report (`keras-umdf train` looks for it):
    # a process killed between the two writes must not leave it alone.
    from keras_umdf.evaluation import report

    written = []
    real = report.write_text_atomically

    def recording(path, text):
        written.append(os.path.basename(path))
        real(path, text)

    monkeypatch.setattr(report, "write_text_atomically", recording)
    monkeypatch.setattr(report, "results_markdown", lambda document: "| table |\n")
    report.write_results({"runs": {}}, tmp_path)
    assert written == ["results.md", "results.json"]

"""The benchmark's plumbing (`benchmarks/run.py`): never a timed assertion."""

import json
import os
import subprocess
import sys

import pytest

from benchmarks import flops
from benchmarks import run

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

FAKE_PEER = """
import sys
batch, steps = int(sys.argv[1]), int(sys.argv[2])
print(f"torch fake threads=2 batch={batch} params=1")
print("train_samples_per_s=2.0 infer_samples_per_s=4.0 gemm_fp32_gflops=50.0")
"""


@pytest.mark.only_backend("tensorflow")
def test_flop_count_reproduces_the_issue_figures():
    arch = flops.paper_mosi()
    # The issue: about 0.52 GFLOP per training sample (forward and backward, two
    # views) and 0.18 per inference sample (the encoder run twice, as the peer).
    assert flops.training_flops(arch, with_attention=False) / 1e9 == pytest.approx(
        0.52, abs=0.02
    )
    assert flops.inference_flops(
        arch, with_attention=False, encodes=2
    ) / 1e9 == pytest.approx(0.18, abs=0.01)
    # The attention products add to that; encoding once halves the encoder part.
    assert flops.training_flops(arch) > flops.training_flops(arch, False)
    assert flops.inference_flops(arch, False) < flops.inference_flops(arch, False, 2)


@pytest.mark.only_backend("tensorflow")
def test_a_missing_peer_fails_clearly_before_running_anything(tmp_path, capsys):
    missing = tmp_path / "no_such_peer.py"
    output = tmp_path / "out"
    with pytest.raises(SystemExit, match="no_such_peer.py.*--no-peer"):
        run.main(["--quick", "--peer", str(missing), "--output", str(output)])
    assert not output.exists()


@pytest.mark.only_backend("tensorflow")
def test_existing_results_are_never_overwritten_without_the_flag(tmp_path):
    output = tmp_path / "out"
    output.mkdir()
    (output / "results.json").write_text("{}")
    with pytest.raises(SystemExit, match="already holds results.json.*--overwrite"):
        run.main(["--quick", "--no-peer", "--output", str(output)])
    assert (output / "results.json").read_text() == "{}"


@pytest.mark.slow
@pytest.mark.only_backend("torch")
def test_quick_run_measures_and_compares_with_the_peer(tmp_path):
    peer = tmp_path / "peer.py"
    peer.write_text(FAKE_PEER)
    output = tmp_path / "results"
    command = [
        sys.executable,
        os.path.join("benchmarks", "run.py"),
        "--quick",
        "--architecture=tiny",
        "--backends=torch",
        "--batch-sizes=2",
        "--train-seconds=0",
        "--infer-seconds=0",
        "--min-steps=1",
        f"--peer={peer}",
        f"--output={output}",
    ]
    done = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr
    document = json.loads((output / "results.json").read_text())
    summary = document["summary"]
    assert summary["gemm_fp32_gflops_numpy"] > 0
    assert summary["peer"]["2"]["train_samples_per_s"] == 2.0
    (row,) = summary["rows"]
    assert row["label"] == "torch float32" and row["batch_size"] == 2
    assert row["train_samples_per_s"] > 0 and row["infer_samples_per_s"] > 0
    assert row["train_vs_peer"] == pytest.approx(row["train_samples_per_s"] / 2.0)
    assert row["infer_vs_peer"] == pytest.approx(row["infer_samples_per_s"] / 4.0)
    assert row["loss_finite"] and row["prediction_dtype"] == "float32"
    assert row["peak_rss_mb"] > 0
    markdown = (output / "results.md").read_text()
    assert "| torch float32 | 2 |" in markdown
    assert f"| {row['train_vs_peer']:.2f} |" in markdown
    # A second run into the same folder is refused.
    again = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    assert again.returncode != 0 and "--overwrite" in again.stderr


@pytest.mark.only_backend("tensorflow")
def test_the_readme_preset_covers_every_setting_and_repeats_the_default():
    args = run.parse_args(["--preset", "readme"])
    runs = run.configurations(args)
    plan = [
        (round_index, batch, run.config_label(config))
        for round_index in range(max(args.rounds, args.other_rounds))
        for batch in args.batch_sizes
        for index, config in enumerate(runs)
        if run.planned(args, index, config, batch, round_index)
    ]
    labels = {label for _, _, label in plan}
    for backend in ("tensorflow", "tensorflow XLA", "jax", "torch"):
        assert f"{backend} float32" in labels
        assert f"{backend} mixed_bfloat16" in labels
    # The default configuration (TensorFlow, float32) in every round, at both
    # batch sizes, as the peer; mixed precision at batch 128 only.
    assert runs[0]["backend"] == "tensorflow" and runs[0]["precision"] == "float32"
    for round_index in range(args.rounds):
        for batch in (16, 128):
            assert (round_index, batch, "tensorflow float32") in plan
    assert {b for _, b, label in plan if "mixed" in label} == {128}
    assert args.max_minutes is not None and args.max_minutes <= 25


@pytest.mark.only_backend("tensorflow")
def test_no_run_starts_once_the_time_budget_is_spent(tmp_path):
    args = run.parse_args(["--quick", "--no-peer", "--max-minutes", "1"])
    runner = run.Runner(args, str(tmp_path))
    runner.started -= 61
    result = runner.child(
        "umdf", [sys.executable, "-c", "raise SystemExit(3)"], {}, None
    )
    assert result == {"error": "skipped: --max-minutes 1 reached"}


def _measured(config: dict, train: float, infer: float, device: str) -> dict:
    """A child's result as `measure_umdf` prints it, with made-up figures."""
    matmul = "float32" if device == "cpu" else "XLA default (TF32 on NVIDIA GPUs)"
    return {
        "kind": "umdf",
        "round": 0,
        "config": config,
        "train_samples_per_s": train,
        "infer_samples_per_s": infer,
        "first_train_step_s": 1.0,
        "first_infer_step_s": 0.5,
        "peak_rss_mb": 100.0,
        "loss_finite": True,
        "prediction_dtype": "float32",
        "device": device,
        "float32_matmul": matmul,
    }


@pytest.mark.only_backend("tensorflow")
def test_gpu_report_compares_precisions_and_names_the_float32_matmul(tmp_path):
    from benchmarks import report

    args = run.parse_args(
        [
            "--device=gpu",
            "--backends=jax",
            "--precisions=float32,mixed_bfloat16",
            "--batch-sizes=16",
            "--rounds=1",
            f"--output={tmp_path}",
        ]
    )
    assert args.no_peer and args.pipeline_seconds == 0
    configs = [{**c, "batch_size": 16} for c in run.configurations(args)]
    records = [
        _measured(configs[0], train=100.0, infer=400.0, device="H100"),
        _measured(configs[1], train=80.0, infer=500.0, device="H100"),
    ]
    summary = run.summarize(args, records)
    rows = {row["precision"]: row for row in summary["rows"]}
    assert "train_vs_float32" not in rows["float32"]
    assert rows["mixed_bfloat16"]["train_vs_float32"] == pytest.approx(0.8)
    assert rows["mixed_bfloat16"]["infer_vs_float32"] == pytest.approx(1.25)
    document = {
        "command": "run.py --device gpu",
        "machine": run.machine_description(args),
        "settings": vars(args),
        "summary": summary,
        "runs": records,
    }
    markdown = report.markdown(document)
    assert "| jax mixed_bfloat16 | 16 | 0.80 | 1.25 |" in markdown
    assert "jax: XLA default (TF32 on NVIDIA GPUs)" in markdown
    # On a CPU there is no float32 matmul line (nothing to warn about).
    cpu = run.summarize(
        args,
        [
            _measured(configs[0], train=10.0, infer=40.0, device="cpu"),
        ],
    )
    assert "Float32 matrix products" not in report.markdown(
        {**document, "summary": cpu}
    )
    # Only TensorFlow's runs say whether its oneDNN kernels were on.
    assert "oneDNN" not in markdown
    on_cpu = _measured(configs[0], train=10.0, infer=40.0, device="cpu")
    for onednn, line in ((True, "on"), (False, "off")):
        tensorflow = run.summarize(args, [{**on_cpu, "onednn": onednn}])
        assert tensorflow["rows"][0]["onednn"] is onednn
        assert f"TensorFlow's oneDNN CPU kernels: {line} " in report.markdown(
            {**document, "summary": tensorflow}
        )


@pytest.mark.only_backend("tensorflow")
def test_heads_per_chunk_adds_a_labelled_run_of_the_default(capsys):
    args = run.parse_args(["--quick", "--no-peer", "--heads-per-chunk", "2"])
    default, chunked = run.configurations(args)
    assert chunked == {**default, "heads_per_chunk": 2}
    assert run.config_label(chunked) == "tensorflow float32 2 heads per chunk"
    with pytest.raises(SystemExit):
        run.parse_args(["--quick", "--heads-per-chunk", "0"])
    assert "received 0" in capsys.readouterr().err


@pytest.mark.only_backend("tensorflow")
def test_a_dropout_outside_its_range_is_refused_with_the_value(capsys):
    with pytest.raises(SystemExit):
        run.parse_args(["--quick", "--dropout", "1.5"])
    assert "--dropout must be in [0, 1); received 1.5" in capsys.readouterr().err

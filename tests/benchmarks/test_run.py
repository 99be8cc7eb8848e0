"""The benchmark's plumbing (`python -m benchmarks.run`): never a timed assertion."""

import json
import os
import subprocess
import sys

import pytest

from benchmarks import flops
from benchmarks import machine
from benchmarks import report
from benchmarks import run
from benchmarks import run_options
from benchmarks import runner
from benchmarks.summary import summarize

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
def test_a_missing_peer_script_fails_clearly_before_running_anything(tmp_path):
    missing = tmp_path / "no_such_peer.py"
    output = tmp_path / "out"
    with pytest.raises(SystemExit, match="no_such_peer.py.*leave --peer-path out"):
        run.main(["--quick", "--peer-path", str(missing), "--output", str(output)])
    assert not output.exists()


@pytest.mark.only_backend("tensorflow")
def test_the_own_peer_is_the_default_and_a_peer_script_is_only_a_cross_check():
    args = run_options.parse_args(["--quick"])
    assert not args.no_peer and args.peer_path is None
    # The old spelling still names a script.
    assert run_options.parse_args(["--quick", "--peer", "p.py"]).peer_path == "p.py"
    config = run.own_peer_config(
        run_options.parse_args(["--quick", "--dropout=0.2"]), 4
    )
    assert config["dropout"] == 0.2 and config["batch_size"] == 4
    # Without --dropout the peer keeps its default, keras_umdf.UMDF's 0.1.
    assert "dropout" not in run.own_peer_config(args, 4)


@pytest.mark.only_backend("tensorflow")
def test_running_the_file_instead_of_the_module_names_the_module_command():
    done = subprocess.run(
        [sys.executable, os.path.join("benchmarks", "run.py"), "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert "python -m benchmarks.run --quick" in done.stderr


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
def test_quick_run_measures_and_compares_with_the_peers(tmp_path):
    script = tmp_path / "peer.py"
    script.write_text(FAKE_PEER)
    output = tmp_path / "results"
    command = [
        sys.executable,
        "-m",
        "benchmarks.run",
        "--quick",
        "--architecture=tiny",
        "--backends=torch",
        "--batch-sizes=2",
        "--train-seconds=0",
        "--infer-seconds=0",
        "--min-steps=1",
        "--threads=1",
        f"--peer-path={script}",
        f"--output={output}",
    ]
    done = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr
    document = json.loads((output / "results.json").read_text())
    assert document["command"].startswith("python -m benchmarks.run --quick")
    assert document["machine"]["cpu"] and "instruction_sets" in document["machine"]
    summary = document["summary"]
    assert summary["gemm_fp32_gflops_numpy"] > 0
    # The own peer ran: the same network as keras_umdf's, trained to a finite
    # loss; the peer script is kept apart, as a cross-check.
    peer = summary["peer"]["2"]
    assert peer["train_samples_per_s"] > 0 and peer["infer_samples_per_s"] > 0
    assert peer["infer_encodes"] == 1
    assert summary["external_peer"]["2"]["train_samples_per_s"] == 2.0
    runs = {
        (r["kind"], r["config"].get("peer")): r
        for r in document["runs"]
        if r["kind"] in ("umdf", "peer")
    }
    own, ours = runs[("peer", "torch_umdf")], runs[("umdf", None)]
    assert own["loss_finite"] and own["prediction_finite"]
    assert own["params"] == ours["params"]
    (row,) = summary["rows"]
    assert row["label"] == "torch float32" and row["batch_size"] == 2
    assert row["train_samples_per_s"] > 0 and row["infer_samples_per_s"] > 0
    assert row["train_vs_peer"] == pytest.approx(
        row["train_samples_per_s"] / peer["train_samples_per_s"]
    )
    assert row["infer_vs_peer"] == pytest.approx(
        row["infer_samples_per_s"] / peer["infer_samples_per_s"]
    )
    assert row["loss_finite"] and row["prediction_dtype"] == "float32"
    assert row["peak_rss_mb"] > 0
    markdown = (output / "results.md").read_text()
    assert "| torch float32 | 2 |" in markdown
    assert f"| {row['train_vs_peer']:.2f} |" in markdown
    assert "| torch_umdf | 2 |" in markdown and "| external | 2 | 2.0 |" in markdown
    # A second run into the same folder is refused.
    again = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    assert again.returncode != 0 and "--overwrite" in again.stderr


@pytest.mark.only_backend("tensorflow")
def test_the_readme_preset_covers_every_setting_and_repeats_the_default():
    args = run_options.parse_args(["--preset", "readme"])
    runs = run_options.configurations(args)
    plan = [
        (round_index, batch, run_options.config_label(config))
        for round_index in range(max(args.rounds, args.other_rounds))
        for batch in args.batch_sizes
        for index, config in enumerate(runs)
        if run_options.planned(args, index, config, batch, round_index)
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
    args = run_options.parse_args(["--quick", "--no-peer", "--max-minutes", "1"])
    benchmark = runner.Runner(args, str(tmp_path), "python -m benchmarks.run --quick")
    benchmark.started -= 61
    result = benchmark.child(
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
    args = run_options.parse_args(
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
    configs = [{**c, "batch_size": 16} for c in run_options.configurations(args)]
    records = [
        _measured(configs[0], train=100.0, infer=400.0, device="H100"),
        _measured(configs[1], train=80.0, infer=500.0, device="H100"),
    ]
    summary = summarize(args, records)
    rows = {row["precision"]: row for row in summary["rows"]}
    assert "train_vs_float32" not in rows["float32"]
    assert rows["mixed_bfloat16"]["train_vs_float32"] == pytest.approx(0.8)
    assert rows["mixed_bfloat16"]["infer_vs_float32"] == pytest.approx(1.25)
    document = {
        "command": "python -m benchmarks.run --device gpu",
        "machine": machine.machine_description(args.threads),
        "settings": vars(args),
        "summary": summary,
        "runs": records,
    }
    markdown = report.markdown(document)
    assert "| jax mixed_bfloat16 | 16 | 0.80 | 1.25 |" in markdown
    assert "jax: XLA default (TF32 on NVIDIA GPUs)" in markdown
    # On a CPU there is no float32 matmul line (nothing to warn about).
    cpu = summarize(
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
        tensorflow = summarize(args, [{**on_cpu, "onednn": onednn}])
        assert tensorflow["rows"][0]["onednn"] is onednn
        assert f"TensorFlow's oneDNN CPU kernels: {line} " in report.markdown(
            {**document, "summary": tensorflow}
        )


@pytest.mark.only_backend("tensorflow")
def test_heads_per_chunk_adds_a_labelled_run_of_the_default(capsys):
    args = run_options.parse_args(["--quick", "--no-peer", "--heads-per-chunk", "2"])
    default, chunked = run_options.configurations(args)
    assert chunked == {**default, "heads_per_chunk": 2}
    assert run_options.config_label(chunked) == "tensorflow float32 2 heads per chunk"
    with pytest.raises(SystemExit):
        run_options.parse_args(["--quick", "--heads-per-chunk", "0"])
    assert "received 0" in capsys.readouterr().err


@pytest.mark.only_backend("tensorflow")
def test_a_dropout_outside_its_range_is_refused_with_the_value(capsys):
    with pytest.raises(SystemExit):
        run_options.parse_args(["--quick", "--dropout", "1.5"])
    assert "--dropout must be in [0, 1); received 1.5" in capsys.readouterr().err


X86_CPUINFO = """processor\t: 0
vendor_id\t: GenuineIntel
model name\t: Intel(R) Xeon(R) Platinum 8480+
flags\t\t: fpu sse4_2 avx avx2 fma avx512f avx512_bf16 amx_tile amx_bf16

processor\t: 1
model name\t: Intel(R) Xeon(R) Platinum 8480+
flags\t\t: fpu sse4_2
"""

ARM_CPUINFO = """processor\t: 0
BogoMIPS\t: 2000.00
Features\t: fp asimd evtstrm aes sve sve2 bf16 i8mm
"""


@pytest.mark.only_backend("tensorflow")
def test_the_cpu_model_and_its_instruction_sets_are_recorded(tmp_path):
    path = tmp_path / "cpuinfo"
    path.write_text(X86_CPUINFO)
    model, instruction_sets = machine.cpu_info(str(path))
    assert model == "Intel(R) Xeon(R) Platinum 8480+"
    # The first processor's, in the order of INSTRUCTION_SETS.
    assert instruction_sets == [
        "sse4_2",
        "avx",
        "avx2",
        "fma",
        "avx512f",
        "avx512_bf16",
        "amx_tile",
        "amx_bf16",
    ]
    path.write_text(ARM_CPUINFO)
    assert machine.cpu_info(str(path))[1] == ["asimd", "sve", "sve2", "bf16", "i8mm"]
    described = machine.machine_description(threads=3)
    assert described["threads"] == 3 and described["cores"] >= 1
    assert isinstance(described["instruction_sets"], list)
    args = run_options.parse_args(["--quick", "--no-peer"])
    document = {
        "command": "python -m benchmarks.run --quick",
        "machine": {**described, "cpu": "Some CPU", "instruction_sets": ["avx2"]},
        "settings": vars(args),
        "summary": summarize(args, []),
        "runs": [],
    }
    assert "Machine: Some CPU (instruction sets: avx2)" in report.markdown(document)

"""The keras_umdf benchmark: UMDF throughput beside the PyTorch peer, one command.

    python benchmarks/run.py --preset readme      # the README's table
    python benchmarks/run.py --quick              # a smoke run, 3-4 minutes
    python benchmarks/run.py --device gpu         # float32 vs mixed, JAX and torch

At the paper's MOSI configuration (T=50, 300/74/35 features, d=40, 4 MCIM layers,
10 heads, two views) with synthetic data of the real shapes, it measures for each
configuration (backend, TensorFlow's XLA `jit_compile`, dtype policy, batch size)
training and inference throughput after warm-up, the first (tracing/compiling)
step, and the peak RSS; the tf.data pipeline's own throughput (two-view masking,
no model); and the machine's fp32 matmul peak. Each configuration runs in its own
process (Keras fixes the backend at import), with the same thread count as the
PyTorch peer (`../shared/perf/torch_reference.py`), which runs in the same
invocation. The machine is noisy, so the runs are interleaved round by round
(peer, ours, ..., peer, ours, ...) and every figure is the median over rounds;
the ratios are ours / peer at the same batch size.

Writes `results.json` (every run and the summary) and `results.md` (the tables)
into `--output`, which must not exist yet unless `--overwrite` is given (default:
a new `runs/benchmark-<time>` folder), and prints the tables.
"""

from __future__ import annotations

import argparse
import datetime
import itertools
import json
import os
import platform
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from benchmarks import flops  # noqa: E402
from benchmarks import peer as peer_module  # noqa: E402
from benchmarks import report  # noqa: E402
from benchmarks.measure_umdf import add_model_arguments  # noqa: E402
from benchmarks.measure_umdf import architecture  # noqa: E402
from benchmarks.measure_umdf import check_model_arguments  # noqa: E402
from benchmarks.threads import thread_env  # noqa: E402

BACKENDS = ("tensorflow", "jax", "torch")
PRESETS = {
    "quick": {
        "backends": "tensorflow",
        "precisions": "float32",
        "batch_sizes": "16",
        "xla": "off",
        "rounds": 1,
        "train_seconds": 3.0,
        "infer_seconds": 2.0,
        "pipeline_seconds": 2.0,
        "peer_steps": 2,
    },
    # At most about 25 minutes on 2 cores: the default configuration and the peer
    # in 2 interleaved rounds at both batch sizes, every other configuration once,
    # mixed precision at batch 128 only; no run starts after 22 minutes.
    "readme": {
        "backends": "tensorflow,jax,torch",
        "precisions": "float32,mixed_bfloat16",
        "batch_sizes": "16,128",
        "mixed_batch_sizes": "128",
        "xla": "both",
        "rounds": 2,
        "other_rounds": 1,
        "train_seconds": 6.0,
        "infer_seconds": 2.0,
        "pipeline_seconds": 4.0,
        "peer_steps": None,
        "max_minutes": 22.0,
    },
    "gpu": {
        "backends": "jax,torch",
        "precisions": "float32,mixed_bfloat16,mixed_float16",
        "batch_sizes": "16,128",
        "xla": "off",
        "rounds": 3,
        "train_seconds": 5.0,
        "infer_seconds": 3.0,
        "pipeline_seconds": 0.0,
        "peer_steps": None,
    },
}


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--preset",
        choices=sorted(PRESETS),
        help="a set of defaults: 'readme' (the README's table, about 20-25 minutes "
        "on 2 cores), 'quick' (a smoke run), 'gpu' (JAX and torch on a GPU, float32 "
        "vs mixed precision). Options given explicitly override the preset.",
    )
    parser.add_argument("--quick", action="store_true", help="same as --preset quick")
    parser.add_argument(
        "--device",
        choices=("cpu", "gpu"),
        default="cpu",
        help="gpu: JAX and torch backends on the GPU (TensorFlow may be absent on "
        "GPU images), float32 vs mixed_bfloat16 vs mixed_float16, no peer "
        "(it is CPU code); implies --preset gpu unless a preset is given.",
    )
    parser.add_argument("--backends", help="comma-separated: tensorflow,jax,torch")
    parser.add_argument(
        "--precisions",
        help="comma-separated dtype policies: float32,mixed_bfloat16,mixed_float16",
    )
    parser.add_argument("--batch-sizes", help="comma-separated, e.g. 16,128")
    parser.add_argument(
        "--xla",
        choices=("off", "on", "both"),
        help="TensorFlow only: 'off' is Keras's default (jit_compile='auto', which "
        "is False on CPU), 'on' forces jit_compile=True, 'both' runs each.",
    )
    parser.add_argument("--rounds", type=int, help="interleaved rounds (medians)")
    parser.add_argument(
        "--other-rounds",
        type=int,
        help="rounds of every configuration but the first (the default backend "
        "and settings); default: --rounds",
    )
    parser.add_argument(
        "--mixed-batch-sizes",
        help="batch sizes of the mixed-precision configurations; default: "
        "--batch-sizes",
    )
    parser.add_argument(
        "--max-minutes",
        type=float,
        help="start no further run once this many minutes have passed (the rest "
        "is reported as skipped); default: no limit",
    )
    parser.add_argument("--train-seconds", type=float, help="timed training per run")
    parser.add_argument("--infer-seconds", type=float, help="timed inference per run")
    parser.add_argument(
        "--min-steps",
        type=int,
        default=2,
        help="timed steps per phase at least, after two warm-up steps",
    )
    parser.add_argument(
        "--pipeline-seconds",
        type=float,
        help="timed tf.data pipeline per run; 0 skips it",
    )
    parser.add_argument(
        "--like-peer",
        action="store_true",
        help="add a run of the default backend with dropout=0, the peer's setting",
    )
    parser.add_argument(
        "--heads-per-chunk",
        type=int,
        help="add a run of the default backend whose TensorFlow attention runs "
        "this many heads per chunk (keras_umdf's HEADS_PER_CHUNK, default 5)",
    )
    add_model_arguments(
        parser, "threads of every library and of the peer (default: all cores)"
    )
    parser.add_argument(
        "--peer",
        default=peer_module.DEFAULT_PATH,
        help="the PyTorch peer script (default: ../shared/perf/torch_reference.py "
        "relative to the repository root)",
    )
    parser.add_argument("--no-peer", action="store_true", help="do not run the peer")
    parser.add_argument(
        "--peer-steps",
        type=int,
        help="timed steps of each peer run (default: about as long as ours)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=900.0,
        help="seconds before one configuration's run is stopped and reported as "
        "timed out (TensorFlow's first step alone traces for 1-2 minutes on 2 "
        "cores)",
    )
    parser.add_argument(
        "--output",
        help="folder for results.json and results.md (default: a new "
        "runs/benchmark-<time>); an existing one needs --overwrite",
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace results in an existing --output folder",
    )
    parser.add_argument(
        "--python", default=sys.executable, help="the Python that runs each child"
    )
    args = parser.parse_args(argv)
    preset = args.preset or (
        "quick" if args.quick else ("gpu" if args.device == "gpu" else "readme")
    )
    for key, value in PRESETS[preset].items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    args.preset = preset
    if args.device == "gpu":
        args.no_peer = True
        args.pipeline_seconds = 0.0
    args.backends = _choices("--backends", args.backends, BACKENDS)
    args.precisions = _choices(
        "--precisions",
        args.precisions,
        ("float32", "mixed_bfloat16", "mixed_float16", "bfloat16", "float16"),
    )
    if args.other_rounds is None:
        args.other_rounds = args.rounds
    if args.mixed_batch_sizes is None:
        args.mixed_batch_sizes = args.batch_sizes
    try:
        args.batch_sizes = [int(b) for b in args.batch_sizes.split(",")]
        args.mixed_batch_sizes = [int(b) for b in args.mixed_batch_sizes.split(",")]
    except ValueError:
        parser.error(
            "--batch-sizes and --mixed-batch-sizes must be comma-separated "
            f"integers; received {args.batch_sizes!r} and {args.mixed_batch_sizes!r}"
        )
    if args.heads_per_chunk is not None and args.heads_per_chunk < 1:
        parser.error(
            f"--heads-per-chunk must be positive; received {args.heads_per_chunk}"
        )
    if (
        any(b < 1 for b in args.batch_sizes + args.mixed_batch_sizes)
        or min(args.rounds, args.other_rounds, args.threads, args.min_steps) < 1
    ):
        parser.error(
            "--batch-sizes, --mixed-batch-sizes, --rounds, --other-rounds, "
            "--threads and --min-steps must be positive"
        )
    check_model_arguments(parser, args)
    if args.max_minutes is not None and args.max_minutes <= 0:
        parser.error(f"--max-minutes must be positive; received {args.max_minutes}")
    return args


def _choices(flag: str, value: str, allowed) -> list[str]:
    items = [v.strip() for v in value.split(",") if v.strip()]
    unknown = [v for v in items if v not in allowed]
    if unknown or not items:
        raise SystemExit(
            f"{flag}: unknown {unknown or value!r}; choose from {', '.join(allowed)}."
        )
    return items


def configurations(args) -> list[dict]:
    """The keras_umdf runs of one round, the default backend and settings first."""
    runs = []
    for backend, precision in itertools.product(args.backends, args.precisions):
        xla_modes = ["default"]
        if backend == "tensorflow" and args.xla in ("on", "both"):
            xla_modes = ["default", True] if args.xla == "both" else [True]
        for jit in xla_modes:
            runs.append(
                {
                    "backend": backend,
                    "precision": precision,
                    "jit_compile": jit,
                    "dropout": args.dropout,
                }
            )
    if args.like_peer and runs:
        runs.append({**runs[0], "dropout": 0.0, "like_peer": True})
    if args.heads_per_chunk and runs:
        runs.append({**runs[0], "heads_per_chunk": args.heads_per_chunk})
    return runs


def planned(args, index: int, config: dict, batch: int, round_index: int) -> bool:
    """Whether configuration `index` runs at `batch` in round `round_index`."""
    if config["precision"].startswith("mixed") and batch not in args.mixed_batch_sizes:
        return False
    return round_index < (args.rounds if index == 0 else args.other_rounds)


def config_label(run: dict) -> str:
    parts = [run["backend"]]
    if run["jit_compile"] is True:
        parts.append("XLA")
    parts.append(run["precision"])
    if run.get("dropout") is not None:
        parts.append(f"dropout={run['dropout']:g}")
    if run.get("heads_per_chunk"):
        parts.append(f"{run['heads_per_chunk']} heads per chunk")
    return " ".join(parts)


class Runner:
    """Runs the children, keeps every result and writes them after each one."""

    def __init__(self, args, output: str):
        self.args = args
        self.output = output
        self.records: list[dict] = []
        self.started = time.time()
        self.machine = machine_description(args)  # The load at the start.
        self.base_env = dict(os.environ, **thread_env(args.threads))
        self.base_env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        self.base_env["PYTHONPATH"] = os.pathsep.join(
            p for p in (ROOT, os.environ.get("PYTHONPATH")) if p
        )

    def child(self, kind: str, command: list[str], env: dict, parse) -> dict:
        minutes = self.args.max_minutes
        if minutes is not None and time.time() - self.started > 60 * minutes:
            return {"error": f"skipped: --max-minutes {minutes:g} reached"}
        start = time.perf_counter()
        try:
            done = subprocess.run(
                command,
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=self.args.timeout,
            )
        except subprocess.TimeoutExpired:
            return {"error": f"timed out after {self.args.timeout:.0f} s"}
        finally:
            elapsed = time.perf_counter() - start
        output = done.stdout + done.stderr
        if done.returncode:
            tail = output.strip().splitlines()[-5:]
            return {"error": f"{kind} exited {done.returncode}: {' | '.join(tail)}"}
        try:
            result = parse(done.stdout)
        except ValueError as error:
            return {"error": str(error)}
        result["wall_s"] = elapsed
        return result

    def record(self, kind: str, round_index: int, config: dict, result: dict) -> None:
        entry = {"kind": kind, "round": round_index, "config": config, **result}
        self.records.append(entry)
        status = result.get("error") or _headline(kind, result)
        print(
            f"[{time.time() - self.started:6.0f} s] round {round_index + 1} "
            f"{kind:8s} {_describe(kind, config)}: {status}",
            flush=True,
        )
        self.save()

    def save(self) -> None:
        summary = summarize(self.args, self.records)
        document = {
            "command": " ".join([os.path.basename(sys.argv[0]), *sys.argv[1:]]),
            "machine": self.machine,
            "settings": {
                k: v for k, v in vars(self.args).items() if k not in ("python",)
            },
            "summary": summary,
            "runs": self.records,
        }
        with open(os.path.join(self.output, "results.json"), "w") as file:
            json.dump(document, file, indent=1, default=str)
        with open(os.path.join(self.output, "results.md"), "w") as file:
            file.write(report.markdown(document))


def _describe(kind: str, config: dict) -> str:
    if kind == "umdf":
        return f"{config_label(config)} batch {config['batch_size']}"
    if kind in ("peer", "pipeline"):
        return f"batch {config['batch_size']}"
    return ""


def _headline(kind: str, result: dict) -> str:
    if kind == "umdf":
        return (
            f"train {result['train_samples_per_s']:.1f} samples/s, infer "
            f"{result['infer_samples_per_s']:.1f} samples/s, first step "
            f"{result['first_train_step_s']:.1f} s, peak RSS "
            f"{result['peak_rss_mb']:.0f} MB"
        )
    if kind == "peer":
        return (
            f"train {result['train_samples_per_s']:.1f} samples/s, infer "
            f"{result['infer_samples_per_s']:.1f} samples/s"
        )
    if kind == "pipeline":
        return f"{result['pipeline_batches_per_s']:.1f} batches/s"
    return f"{result['gemm_fp32_gflops']:.1f} GFLOP/s"


def _parse_result_line(stdout: str) -> dict:
    for line in reversed(stdout.splitlines()):
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
    raise ValueError(f"no RESULT line in the child's output:\n{stdout[-2000:]}")


def flop_architecture(args) -> flops.Architecture:
    arch = {**_paper_arch(), **architecture(args)}
    return flops.Architecture(
        modality_dims=tuple(arch["modality_dims"].values()),
        length=arch["length"],
        hidden_dim=arch["hidden_dim"],
        num_layers=arch["num_layers"],
    )


def _paper_arch() -> dict:
    return {
        "modality_dims": {"text": 300, "audio": 74, "vision": 35},
        "length": 50,
        "hidden_dim": 40,
        "num_heads": 10,
        "num_layers": 4,
    }


def summarize(args, records: list[dict]) -> dict:
    """Medians over rounds, ratios to the peer, GFLOP/s against the peak."""
    arch = flop_architecture(args)
    train_flops = flops.training_flops(arch, with_attention=False)
    ours_infer_flops = flops.inference_flops(arch, with_attention=False)
    peer_infer_flops = flops.inference_flops(arch, with_attention=False, encodes=2)

    def ok(kind):
        return [r for r in records if r["kind"] == kind and "error" not in r]

    def median(values):
        return statistics.median(values) if values else None

    peaks = [r["gemm_fp32_gflops"] for r in ok("peak")]
    peak = median(peaks)
    peers, pipelines = {}, {}
    for batch in args.batch_sizes:
        runs = [r for r in ok("peer") if r["config"]["batch_size"] == batch]
        if runs:
            peers[batch] = {
                key: median([r[key] for r in runs])
                for key in (
                    "train_samples_per_s",
                    "infer_samples_per_s",
                    "gemm_fp32_gflops",
                    "peak_rss_mb",
                )
            }
            peers[batch]["rounds"] = len(runs)
        runs = [r for r in ok("pipeline") if r["config"]["batch_size"] == batch]
        if runs:
            pipelines[batch] = {
                "pipeline_batches_per_s": median(
                    [r["pipeline_batches_per_s"] for r in runs]
                ),
                "rounds": len(runs),
            }

    def percent(samples_per_s, flops_per_sample):
        if samples_per_s is None or not peak:
            return None
        return 100 * samples_per_s * flops_per_sample / 1e9 / peak

    rows = []
    for index, config in enumerate(configurations(args)):
        for batch in args.batch_sizes:
            if not planned(args, index, config, batch, 0):
                continue
            key = {**config, "batch_size": batch}
            runs = [r for r in ok("umdf") if r["config"] == key]
            failed = [
                r["error"]
                for r in records
                if r["kind"] == "umdf" and r["config"] == key and "error" in r
            ]
            row = {"label": config_label(config), **key, "rounds": len(runs)}
            if failed:
                row["errors"] = failed
            if runs:
                for field in (
                    "train_samples_per_s",
                    "infer_samples_per_s",
                    "first_train_step_s",
                    "first_infer_step_s",
                ):
                    row[field] = median([r[field] for r in runs])
                row["peak_rss_mb"] = max(r["peak_rss_mb"] for r in runs)
                row["loss_finite"] = all(r["loss_finite"] for r in runs)
                row["prediction_dtype"] = runs[-1]["prediction_dtype"]
                row["device"] = runs[-1]["device"]
                if "float32_matmul" in runs[-1]:
                    row["float32_matmul"] = runs[-1]["float32_matmul"]
                if "onednn" in runs[-1]:
                    row["onednn"] = runs[-1]["onednn"]
                row["train_gflops"] = row["train_samples_per_s"] * train_flops / 1e9
                row["train_percent_of_peak"] = percent(
                    row["train_samples_per_s"], train_flops
                )
                row["infer_gflops"] = (
                    row["infer_samples_per_s"] * ours_infer_flops / 1e9
                )
                row["infer_percent_of_peak"] = percent(
                    row["infer_samples_per_s"], ours_infer_flops
                )
                if batch in peers:
                    row["train_vs_peer"] = (
                        row["train_samples_per_s"] / peers[batch]["train_samples_per_s"]
                    )
                    row["infer_vs_peer"] = (
                        row["infer_samples_per_s"] / peers[batch]["infer_samples_per_s"]
                    )
                if batch in pipelines and index == 0:
                    steps_per_s = row["train_samples_per_s"] / batch
                    pipelines[batch]["train_steps_per_s"] = steps_per_s
                    pipelines[batch]["pipeline_over_training"] = (
                        pipelines[batch]["pipeline_batches_per_s"] / steps_per_s
                    )
            rows.append(row)
    _add_ratios_to_float32(rows)
    for entry in peers.values():
        entry["train_percent_of_peak"] = percent(
            entry["train_samples_per_s"], train_flops
        )
        entry["infer_percent_of_peak"] = percent(
            entry["infer_samples_per_s"], peer_infer_flops
        )
    return {
        "gemm_fp32_gflops_numpy": peak,
        "gemm_rounds": len(peaks),
        "flops_per_sample": {
            "train": train_flops,
            "infer_keras_umdf": ours_infer_flops,
            "infer_peer": peer_infer_flops,
            "train_with_attention": flops.training_flops(arch, with_attention=True),
        },
        "peer": peers,
        "pipeline": pipelines,
        "rows": rows,
    }


def _add_ratios_to_float32(rows: list[dict]) -> None:
    """Each measured non-float32 row's throughput over its float32 twin's (same
    backend, XLA setting, dropout and batch size), as `*_vs_float32`."""

    def twin_key(row):
        return (
            row["backend"],
            row["jit_compile"],
            row["dropout"],
            row.get("heads_per_chunk"),
            row["batch_size"],
        )

    float32 = {
        twin_key(row): row
        for row in rows
        if row["precision"] == "float32" and "train_samples_per_s" in row
    }
    for row in rows:
        twin = float32.get(twin_key(row))
        if row["precision"] == "float32" or twin is None:
            continue
        if "train_samples_per_s" not in row:
            continue
        for phase in ("train", "infer"):
            row[f"{phase}_vs_float32"] = (
                row[f"{phase}_samples_per_s"] / twin[f"{phase}_samples_per_s"]
            )


def machine_description(args) -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as file:
            for line in file:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "threads": args.threads,
        "load_average_at_start": load,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
    }


def prepare_output(args) -> str:
    output = args.output or os.path.join(
        ROOT, "runs", "benchmark-" + datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    )
    existing = [
        name
        for name in ("results.json", "results.md")
        if os.path.exists(os.path.join(output, name))
    ]
    if existing and not args.overwrite:
        raise SystemExit(
            f"{output!r} already holds {', '.join(existing)}; pass another --output "
            "or --overwrite to replace them."
        )
    os.makedirs(output, exist_ok=True)
    return output


def peer_steps(args, batch: int) -> int:
    if args.peer_steps:
        return args.peer_steps
    # About as long as our timed training at the peer's ~20 samples/s.
    return max(2, round(args.train_seconds * 20 / batch))


def main(argv=None) -> int:
    args = parse_args(argv)
    peer_path = None
    if not args.no_peer:
        try:
            peer_path = peer_module.resolve(args.peer, ROOT)
        except FileNotFoundError as error:
            raise SystemExit(str(error)) from None
    output = prepare_output(args)
    runner = Runner(args, output)
    base = {**architecture(args)}
    runs = configurations(args)
    planned_runs = sum(
        planned(args, index, run, batch, round_index)
        for round_index in range(max(args.rounds, args.other_rounds))
        for batch in args.batch_sizes
        for index, run in enumerate(runs)
    )
    print(
        f"benchmark preset {args.preset!r}: {planned_runs} keras_umdf runs "
        f"({len(runs)} configurations, batch sizes {args.batch_sizes}, "
        f"{args.rounds} rounds of the first, {args.other_rounds} of the others), "
        f"{args.threads} threads; results in {output}",
        flush=True,
    )
    env = runner.base_env
    for round_index in range(max(args.rounds, args.other_rounds)):
        main_round = round_index < args.rounds
        if args.device == "cpu" and main_round:
            result = runner.child(
                "peak",
                [
                    args.python,
                    "-m",
                    "benchmarks.matmul_peak",
                    "512" if args.architecture == "tiny" else "2048",
                ],
                env,
                _parse_result_line,
            )
            runner.record("peak", round_index, {}, result)
        for batch in args.batch_sizes:
            if peer_path and main_round:
                steps = peer_steps(args, batch)
                result = runner.child(
                    "peer",
                    peer_module.command(args.python, peer_path, batch, steps),
                    env,
                    peer_module.parse,
                )
                runner.record(
                    "peer", round_index, {"batch_size": batch, "steps": steps}, result
                )
            if (
                args.pipeline_seconds > 0
                and args.architecture == "paper"
                and main_round
            ):
                config = {"batch_size": batch, "seconds": args.pipeline_seconds}
                result = runner.child(
                    "pipeline",
                    [
                        args.python,
                        "-m",
                        "benchmarks.measure_pipeline",
                        json.dumps(config),
                    ],
                    env,
                    _parse_result_line,
                )
                runner.record("pipeline", round_index, {"batch_size": batch}, result)
            for index, run in enumerate(runs):
                if not planned(args, index, run, batch, round_index):
                    continue
                config = {**run, "batch_size": batch}
                child_config = {
                    **base,
                    "batch_size": batch,
                    "precision": run["precision"],
                    "jit_compile": run["jit_compile"],
                    "dropout": run["dropout"],
                    "heads_per_chunk": run.get("heads_per_chunk"),
                    "train_seconds": args.train_seconds,
                    "infer_seconds": args.infer_seconds,
                    "min_steps": args.min_steps,
                }
                result = runner.child(
                    "umdf",
                    [
                        args.python,
                        "-m",
                        "benchmarks.measure_umdf",
                        json.dumps(child_config),
                    ],
                    dict(env, KERAS_BACKEND=run["backend"]),
                    _parse_result_line,
                )
                runner.record("umdf", round_index, config, result)
    runner.save()
    with open(os.path.join(output, "results.md")) as file:
        print("\n" + file.read())
    print(f"Results: {output}/results.json and results.md")
    failures = [r for r in runner.records if "error" in r]
    return 1 if failures and len(failures) == len(runner.records) else 0


if __name__ == "__main__":
    sys.exit(main())

"""The keras_umdf benchmark: UMDF throughput beside a PyTorch peer, one command.

Run it from the repository root, as a module:

    python -m benchmarks.run --preset readme    # the README's table
    python -m benchmarks.run --quick            # a smoke run, 3-4 minutes
    python -m benchmarks.run --device gpu       # float32 vs mixed, JAX and torch

At the paper's MOSI configuration (T=50, 300/74/35 features, d=40, 4 MCIM layers,
10 heads, two views) with synthetic data of the real shapes, it measures for each
configuration (backend, TensorFlow's XLA `jit_compile`, dtype policy, batch size)
training and inference throughput after warm-up, the first (tracing/compiling)
step, and the peak RSS (`measure_umdf.py`); the same for the PyTorch peer, the
same network and objective in plain eager PyTorch (`peer/torch_umdf.py`, timed
by `peer/measure.py`); the tf.data pipeline's own throughput (two-view masking,
no model; `measure_pipeline.py`); and the machine's fp32 matmul peak
(`matmul_peak.py`). Each runs in its own process (Keras fixes the backend at
import) with the same thread count. The machine is noisy, so the runs are
interleaved round by round (peer, ours, ..., peer, ours, ...) and every figure
is the median over rounds (`summary.py`); the ratios are ours / peer at the same
batch size. `--peer-path SCRIPT` also runs another peer script as a cross-check
(`peer/external.py`).

Writes `results.json` (the machine with its CPU model and instruction sets,
every run and the summary) and `results.md` (the tables, `report.py`) into
`--output`, which must not exist yet unless `--overwrite` is given (default: a
new `runs/benchmark-<time>` folder), and prints the tables.
"""

from __future__ import annotations

import json
import os
import shlex
import sys

try:
    from benchmarks.measure_umdf import architecture
    from benchmarks.peer import external
    from benchmarks.run_options import configurations
    from benchmarks.run_options import parse_args
    from benchmarks.run_options import planned
    from benchmarks.runner import ROOT
    from benchmarks.runner import Runner
    from benchmarks.runner import parse_result_line
    from benchmarks.runner import prepare_output
    from benchmarks.summary import EXTERNAL_PEER
    from benchmarks.summary import OWN_PEER
except ModuleNotFoundError as error:  # `python benchmarks/run.py`: no package.
    if error.name != "benchmarks":
        raise
    raise SystemExit(
        "The benchmark is a package of the repository: run it from the repository "
        "root as `python -m benchmarks.run " + shlex.join(sys.argv[1:]) + "`."
    ) from None


def external_peer_steps(args, batch: int) -> int:
    """Timed steps of a `--peer-path` script at `batch`."""
    if args.peer_steps:
        return args.peer_steps
    # About as long as our timed training at such a peer's ~20 samples/s.
    return max(2, round(args.train_seconds * 20 / batch))


def own_peer_config(args, batch: int) -> dict:
    """The JSON configuration of one run of `benchmarks.peer.measure`."""
    config = {
        **architecture(args),
        "batch_size": batch,
        "train_seconds": args.train_seconds,
        "infer_seconds": args.infer_seconds,
        "min_steps": args.min_steps,
        "steps": args.peer_steps,
        "gemm_size": 512 if args.architecture == "tiny" else 2048,
    }
    if args.dropout is not None:
        config["dropout"] = args.dropout
    return config


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv, description=__doc__)
    peer_path = None
    if args.peer_path and not args.no_peer:
        try:
            peer_path = external.resolve(args.peer_path, ROOT)
        except FileNotFoundError as error:
            raise SystemExit(str(error)) from None
    output = prepare_output(args.output, args.overwrite)
    runner = Runner(args, output, "python -m benchmarks.run " + shlex.join(argv))
    runs = configurations(args)
    rounds = max(args.rounds, args.other_rounds)
    planned_runs = sum(
        planned(args, index, run, batch, round_index)
        for round_index in range(rounds)
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
    env, python = runner.env, args.python
    for round_index in range(rounds):
        main_round = round_index < args.rounds
        if args.device == "cpu" and main_round:
            size = "512" if args.architecture == "tiny" else "2048"
            result = runner.child(
                "peak",
                [python, "-m", "benchmarks.matmul_peak", size],
                env,
                parse_result_line,
            )
            runner.record("peak", round_index, {}, result)
        for batch in args.batch_sizes:
            if not args.no_peer and main_round:
                config = own_peer_config(args, batch)
                result = runner.child(
                    "peer",
                    [python, "-m", "benchmarks.peer.measure", json.dumps(config)],
                    env,
                    parse_result_line,
                )
                runner.record(
                    "peer",
                    round_index,
                    {"peer": OWN_PEER, "batch_size": batch, "steps": args.peer_steps},
                    result,
                )
            if peer_path and main_round:
                steps = external_peer_steps(args, batch)
                result = runner.child(
                    "peer",
                    external.command(python, peer_path, batch, steps),
                    env,
                    external.parse,
                )
                runner.record(
                    "peer",
                    round_index,
                    {
                        "peer": EXTERNAL_PEER,
                        "path": peer_path,
                        "batch_size": batch,
                        "steps": steps,
                    },
                    result,
                )
            if (
                args.pipeline_seconds > 0
                and args.architecture == "paper"
                and main_round
            ):
                config = {"batch_size": batch, "seconds": args.pipeline_seconds}
                result = runner.child(
                    "pipeline",
                    [python, "-m", "benchmarks.measure_pipeline", json.dumps(config)],
                    env,
                    parse_result_line,
                )
                runner.record("pipeline", round_index, {"batch_size": batch}, result)
            for index, run in enumerate(runs):
                if not planned(args, index, run, batch, round_index):
                    continue
                child_config = {
                    **architecture(args),
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
                        python,
                        "-m",
                        "benchmarks.measure_umdf",
                        json.dumps(child_config),
                    ],
                    dict(env, KERAS_BACKEND=run["backend"]),
                    parse_result_line,
                )
                runner.record("umdf", round_index, {**run, "batch_size": batch}, result)
    runner.save()
    with open(os.path.join(output, "results.md")) as file:
        print("\n" + file.read())
    print(f"Results: {output}/results.json and results.md")
    failures = [r for r in runner.records if "error" in r]
    return 1 if failures and len(failures) == len(runner.records) else 0


if __name__ == "__main__":
    sys.exit(main())

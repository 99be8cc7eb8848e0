"""Runs the benchmark's child processes and keeps their results on disk.

Each measurement runs in its own process (Keras fixes its backend at import;
each peak RSS is then its own), started from the repository root as
`python -m benchmarks.<module>`. After every child the runner rewrites
`results.json` (settings, machine, every run, the summary) and `results.md`
(the tables), so an interrupted benchmark keeps what it measured.
"""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import time

from benchmarks import report
from benchmarks.machine import machine_description
from benchmarks.run_options import config_label
from benchmarks.summary import summarize
from benchmarks.threads import thread_env

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
"""The repository root: the children's working directory."""


class Runner:
    """Runs the children, keeps every result and writes them after each one.

    Args:
        args: the settings (`run_options.parse_args`).
        output: the folder for results.json and results.md.
        command: the command line to record with the figures.
    """

    def __init__(self, args, output: str, command: str):
        self.args = args
        self.output = output
        self.command = command
        self.records: list[dict] = []
        self.started = time.time()
        self.machine = machine_description(args.threads)  # The load at the start.
        self.env = dict(os.environ, **thread_env(args.threads))
        self.env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

    def child(self, kind: str, command: list[str], env: dict, parse) -> dict:
        """Runs one child in the repository root; its parsed result, or
        {"error": ...} when it failed, timed out or was not started."""
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
        """Keeps one child's result, prints its headline and saves."""
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
        """Writes results.json and results.md from the records so far."""
        document = {
            "command": self.command,
            "machine": self.machine,
            "settings": {
                k: v for k, v in vars(self.args).items() if k not in ("python",)
            },
            "summary": summarize(self.args, self.records),
            "runs": self.records,
        }
        with open(os.path.join(self.output, "results.json"), "w") as file:
            json.dump(document, file, indent=1, default=str)
        with open(os.path.join(self.output, "results.md"), "w") as file:
            file.write(report.markdown(document))


def parse_result_line(stdout: str) -> dict:
    """The JSON of a child's last `RESULT {json}` line."""
    for line in reversed(stdout.splitlines()):
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
    raise ValueError(f"no RESULT line in the child's output:\n{stdout[-2000:]}")


def prepare_output(path: str | None, overwrite: bool) -> str:
    """Creates the output folder (default: a new runs/benchmark-<time>);
    refuses one that holds results unless `overwrite`."""
    output = path or os.path.join(
        ROOT, "runs", "benchmark-" + datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    )
    existing = [
        name
        for name in ("results.json", "results.md")
        if os.path.exists(os.path.join(output, name))
    ]
    if existing and not overwrite:
        raise SystemExit(
            f"{output!r} already holds {', '.join(existing)}; pass another --output "
            "or --overwrite to replace them."
        )
    os.makedirs(output, exist_ok=True)
    return output


def _describe(kind: str, config: dict) -> str:
    if kind == "umdf":
        return f"{config_label(config)} batch {config['batch_size']}"
    if kind == "peer":
        return f"{config.get('peer', 'torch_umdf')} batch {config['batch_size']}"
    if kind == "pipeline":
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

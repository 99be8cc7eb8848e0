"""The benchmark's figures from its runs: medians, ratios, share of the peak.

`summarize` reads the records `runner.Runner` keeps (one per child process)
and returns what `results.json` holds as "summary" and `report.markdown` turns
into tables.
"""

from __future__ import annotations

import statistics

from benchmarks import flops
from benchmarks.measure_umdf import DEFAULTS
from benchmarks.measure_umdf import architecture
from benchmarks.run_options import config_label
from benchmarks.run_options import configurations
from benchmarks.run_options import planned

OWN_PEER = "torch_umdf"
"""The project's peer, `benchmarks/peer/torch_umdf.py`: the ratios' reference."""
EXTERNAL_PEER = "external"
"""A peer script given with `--peer-path` (a cross-check)."""

_PEER_FIELDS = (
    "train_samples_per_s",
    "infer_samples_per_s",
    "gemm_fp32_gflops",
    "peak_rss_mb",
)
_ROW_FIELDS = (
    "train_samples_per_s",
    "infer_samples_per_s",
    "first_train_step_s",
    "first_infer_step_s",
)


def flop_architecture(args) -> flops.Architecture:
    """The FLOP count's view of the benchmarked architecture."""
    arch = {**DEFAULTS, **architecture(args)}
    return flops.Architecture(
        modality_dims=tuple(arch["modality_dims"].values()),
        length=arch["length"],
        hidden_dim=arch["hidden_dim"],
        num_layers=arch["num_layers"],
    )


def _median(values):
    return statistics.median(values) if values else None


def summarize(args, records: list[dict]) -> dict:
    """Medians over rounds, ratios to the own peer, GFLOP/s against the peak.

    Returns a dict with the NumPy fp32 matmul peak, the FLOPs per sample, the
    own peer's and (with `--peer-path`) the external peer's medians by batch
    size ("peer", "external_peer"), the input pipeline's, and one row per
    planned keras_umdf configuration and batch size ("rows").
    """
    arch = flop_architecture(args)
    train_flops = flops.training_flops(arch, with_attention=False)
    infer_flops = {
        encodes: flops.inference_flops(arch, with_attention=False, encodes=encodes)
        for encodes in (1, 2)
    }

    def ok(kind):
        return [r for r in records if r["kind"] == kind and "error" not in r]

    peak = _median([r["gemm_fp32_gflops"] for r in ok("peak")])

    def percent(samples_per_s, flops_per_sample):
        if samples_per_s is None or not peak:
            return None
        return 100 * samples_per_s * flops_per_sample / 1e9 / peak

    peers = {OWN_PEER: {}, EXTERNAL_PEER: {}}
    pipelines = {}
    for batch in args.batch_sizes:
        for name, entries in peers.items():
            runs = [
                r
                for r in ok("peer")
                if r["config"]["batch_size"] == batch
                and r["config"].get("peer", OWN_PEER) == name
            ]
            if runs:
                entry = {key: _median([r[key] for r in runs]) for key in _PEER_FIELDS}
                # A peer script that does not say encodes a test sample twice,
                # as ../shared/perf/torch_reference.py does.
                encodes = runs[-1].get("infer_encodes", 2)
                entry.update(
                    rounds=len(runs),
                    infer_encodes=encodes,
                    train_percent_of_peak=percent(
                        entry["train_samples_per_s"], train_flops
                    ),
                    infer_percent_of_peak=percent(
                        entry["infer_samples_per_s"], infer_flops[encodes]
                    ),
                )
                entries[batch] = entry
        runs = [r for r in ok("pipeline") if r["config"]["batch_size"] == batch]
        if runs:
            pipelines[batch] = {
                "pipeline_batches_per_s": _median(
                    [r["pipeline_batches_per_s"] for r in runs]
                ),
                "rounds": len(runs),
            }
    own = peers[OWN_PEER]

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
                for field in _ROW_FIELDS:
                    row[field] = _median([r[field] for r in runs])
                row["peak_rss_mb"] = max(r["peak_rss_mb"] for r in runs)
                row["loss_finite"] = all(r["loss_finite"] for r in runs)
                for field in ("prediction_dtype", "device", "float32_matmul", "onednn"):
                    if field in runs[-1]:
                        row[field] = runs[-1][field]
                for phase, phase_flops in (
                    ("train", train_flops),
                    ("infer", infer_flops[1]),
                ):
                    samples_per_s = row[f"{phase}_samples_per_s"]
                    row[f"{phase}_gflops"] = samples_per_s * phase_flops / 1e9
                    row[f"{phase}_percent_of_peak"] = percent(
                        samples_per_s, phase_flops
                    )
                    if batch in own:
                        row[f"{phase}_vs_peer"] = (
                            samples_per_s / own[batch][f"{phase}_samples_per_s"]
                        )
                if batch in pipelines and index == 0:
                    steps_per_s = row["train_samples_per_s"] / batch
                    pipelines[batch]["train_steps_per_s"] = steps_per_s
                    pipelines[batch]["pipeline_over_training"] = (
                        pipelines[batch]["pipeline_batches_per_s"] / steps_per_s
                    )
            rows.append(row)
    _add_ratios_to_float32(rows)
    return {
        "gemm_fp32_gflops_numpy": peak,
        "gemm_rounds": len(ok("peak")),
        "flops_per_sample": {
            "train": train_flops,
            "infer_encoder_once": infer_flops[1],
            "infer_encoder_twice": infer_flops[2],
            "train_with_attention": flops.training_flops(arch, with_attention=True),
        },
        "peer": own,
        "external_peer": peers[EXTERNAL_PEER],
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

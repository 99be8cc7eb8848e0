"""The benchmark's Markdown tables, from the document `run.py` writes as JSON."""

from __future__ import annotations


def _number(value, digits: int = 1, suffix: str = "") -> str:
    if value is None:
        return "-"
    return f"{value:.{digits}f}{suffix}"


def markdown(document: dict) -> str:
    """The results as Markdown: machine, peer, one row per configuration."""
    summary, machine = document["summary"], document["machine"]
    settings = document["settings"]
    flops = summary["flops_per_sample"]
    isa = ", ".join(machine.get("instruction_sets") or []) or "not read"
    load = machine["load_average_at_start"]
    load = "-" if load is None else " / ".join(f"{value:.2f}" for value in load)
    lines = [
        "# keras_umdf benchmark",
        "",
        f"Command: `{document['command']}`",
        "",
        f"Machine: {machine['cpu']} (instruction sets: {isa}), {machine['cores']} "
        f"cores, {machine['threads']} threads per run, load average at start "
        f"(1 / 5 / 15 min) {load}, {machine['date']}. fp32 matmul peak "
        f"(NumPy, median of {summary['gemm_rounds']} rounds): "
        f"{_number(summary['gemm_fp32_gflops_numpy'])} GFLOP/s.",
        "",
        f"Medians over {settings['rounds']} interleaved rounds. Model GFLOP per "
        f"sample (parameterised matmuls, as in the issue): training "
        f"{flops['train'] / 1e9:.3f}, inference "
        f"{flops['infer_encoder_once'] / 1e9:.3f} (keras_umdf and its peer encode "
        f"a test sample once; {flops['infer_encoder_twice'] / 1e9:.3f} encoding it "
        f"twice). With the attention products, training costs "
        f"{flops['train_with_attention'] / 1e9:.3f} GFLOP per sample.",
        "",
    ]
    peers = [
        ("torch_umdf", entry_batch, entry)
        for entry_batch, entry in summary["peer"].items()
    ] + [
        ("external", entry_batch, entry)
        for entry_batch, entry in summary.get("external_peer", {}).items()
    ]
    if peers:
        dropout = settings.get("dropout")
        lines += [
            "## PyTorch peer (plain eager PyTorch)",
            "",
            "torch_umdf: the same network and objective in eager PyTorch "
            "(`benchmarks/peer/torch_umdf.py`), dropout "
            f"{0.1 if dropout is None else dropout:g}, as keras_umdf's runs."
            + (
                f" external: `{settings['peer_path']}` (--peer-path), a cross-check."
                if summary.get("external_peer")
                else ""
            ),
            "",
            "| Peer | Batch | Train samples/s | % of peak | Infer samples/s "
            "| % of peak | torch GEMM GFLOP/s | Peak RSS MB | Rounds |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for name, batch, entry in sorted(
            peers, key=lambda p: (int(p[1]), p[0] != "torch_umdf")
        ):
            lines.append(
                f"| {name} | {batch} | {_number(entry['train_samples_per_s'])} "
                f"| {_number(entry['train_percent_of_peak'], 1, '%')} "
                f"| {_number(entry['infer_samples_per_s'])} "
                f"| {_number(entry['infer_percent_of_peak'], 1, '%')} "
                f"| {_number(entry['gemm_fp32_gflops'])} "
                f"| {_number(entry['peak_rss_mb'], 0)} | {entry['rounds']} |"
            )
        lines.append("")
    lines += [
        "## keras_umdf",
        "",
        "| Configuration | Batch | Train samples/s | x peer | % of peak "
        "| Infer samples/s | x peer | % of peak | First step s | Peak RSS MB "
        "| Rounds |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in summary["rows"]:
        if "train_samples_per_s" not in row:
            error = "; ".join(row.get("errors", ["not run"]))
            lines.append(f"| {row['label']} | {row['batch_size']} | {error} |||||||||")
            continue
        lines.append(
            f"| {row['label']} | {row['batch_size']} "
            f"| {_number(row['train_samples_per_s'])} "
            f"| {_number(row.get('train_vs_peer'), 2)} "
            f"| {_number(row['train_percent_of_peak'], 1, '%')} "
            f"| {_number(row['infer_samples_per_s'])} "
            f"| {_number(row.get('infer_vs_peer'), 2)} "
            f"| {_number(row['infer_percent_of_peak'], 1, '%')} "
            f"| {_number(row['first_train_step_s'])} "
            f"| {_number(row['peak_rss_mb'], 0)} | {row['rounds']} |"
        )
    mixed = [row for row in summary["rows"] if "train_vs_float32" in row]
    if mixed:
        lines += [
            "",
            "## Lower precision against float32 (same backend and batch size)",
            "",
            "| Configuration | Batch | Train x float32 | Infer x float32 |",
            "|---|---|---|---|",
        ]
        for row in mixed:
            lines.append(
                f"| {row['label']} | {row['batch_size']} "
                f"| {_number(row['train_vs_float32'], 2)} "
                f"| {_number(row['infer_vs_float32'], 2)} |"
            )
    if summary["pipeline"]:
        lines += [
            "",
            "## Input pipeline (tf.data, two-view masking, no model)",
            "",
            "| Batch | Pipeline batches/s | Training steps/s (first configuration) "
            "| Pipeline / training |",
            "|---|---|---|---|",
        ]
        for batch, entry in sorted(
            summary["pipeline"].items(), key=lambda kv: int(kv[0])
        ):
            lines.append(
                f"| {batch} | {_number(entry['pipeline_batches_per_s'])} "
                f"| {_number(entry.get('train_steps_per_s'), 3)} "
                f"| {_number(entry.get('pipeline_over_training'), 0, 'x')} |"
            )
    devices = sorted({row["device"] for row in summary["rows"] if "device" in row})
    lines += ["", f"Devices: {', '.join(devices) or '-'}."]
    matmuls = sorted(
        {
            f"{row['backend']}: {row['float32_matmul']}"
            for row in summary["rows"]
            if row.get("device", "cpu") != "cpu" and "float32_matmul" in row
        }
    )
    if matmuls:
        lines.append(f"Float32 matrix products on the GPU: {'; '.join(matmuls)}.")
    onednn = sorted(
        {
            "on" if row["onednn"] else "off"
            for row in summary["rows"]
            if row.get("onednn") is not None
        }
    )
    if onednn:
        lines.append(
            f"TensorFlow's oneDNN CPU kernels: {' and '.join(onednn)} "
            "(keras_umdf.onednn)."
        )
    lines.append("")
    return "\n".join(lines)

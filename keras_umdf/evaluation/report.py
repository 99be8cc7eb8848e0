"""Results laid out like the paper's tables, as Markdown and as JSON.

A results document is the JSON-ready record of one evaluation: which data, which
configuration and seeds, the package and backend versions, and per run (the full
model, an ablation) the protocol's results per seed and their mean and std over
seeds. `write_results` writes it as `<stem>.json` and `<stem>.md`:

- Table 1 layout (MOSI, MOSEI): one row per model, columns {l}, {a}, {v},
  {l,a}, {l,v}, {a,v}, Avg., {l,a,v}, each cell "MAE / F1" where F1 is the
  weighted F1 of positive against negative sentiment with the neutral (label 0)
  clips left out ("Non0 F1", MMSA's `F1_score`), in percent;
- Table 2 layout (IEMOCAP): one row per emotion per model, the emotion's
  weighted F1 of absent/present in percent;
- Table 3 layout (ablations): one row per variant, the F1 alone;
- the frame-drop curves of Figures 3-5 as a table (p = 0.0 ... 1.0).

Every table ends with the row of a model that ignores its inputs and predicts
the training mean (or majority), scored the same way (`mean_baseline`), when
the document holds one: a collapsed model cannot pass for a trained one.

The tables are built by `keras_umdf.evaluation.markdown_tables`, the JSON by
`keras_umdf.evaluation.json_results`.
"""

from __future__ import annotations

import datetime
import json
import os
from collections.abc import Mapping
from collections.abc import Sequence

from keras_umdf.data.atomic_file import write_text_atomically
from keras_umdf.data.multimodal_dataset import IEMOCAP_EMOTIONS
from keras_umdf.evaluation.environment import environment_info
from keras_umdf.evaluation.json_results import json_ready
from keras_umdf.evaluation.json_results import nan_metrics
from keras_umdf.evaluation.json_results import protocol_results_from_json
from keras_umdf.evaluation.markdown_tables import emotion_table
from keras_umdf.evaluation.markdown_tables import frame_drop_table
from keras_umdf.evaluation.markdown_tables import markdown_table
from keras_umdf.evaluation.markdown_tables import single_metric_table
from keras_umdf.evaluation.mean_baseline import with_baseline_row
from keras_umdf.evaluation.metric_format import metric_label
from keras_umdf.evaluation.seed_aggregation import aggregate_seeds
from keras_umdf.evaluation.task_metrics import TASK_KINDS
from keras_umdf.evaluation.task_metrics import headline_metrics
from keras_umdf.evaluation.task_metrics import summary_metric

RESULTS_FORMAT = 1
"""Version of the JSON results layout (`"keras_umdf_results"` in the file)."""


def results_document(
    runs: Mapping[str, Mapping[int, Mapping]],
    *,
    kind: str,
    dataset: Mapping | None = None,
    config: Mapping | None = None,
    label_names: Sequence[str] | None = None,
    baseline: Mapping | None = None,
) -> dict:
    """The record of an evaluation, ready for `write_results`.

    Args:
        runs: run name (e.g. "UMDF", "w/o L_fea") -> seed -> the protocol's
            results for that seed (`evaluate_protocol`).
        kind: the task kind ("regression", "classification", "multi_label").
        dataset: facts about the data, e.g. {"name": "mosi", "split": "test",
            "num_samples": 686}.
        config: the configuration that produced the results (training
            settings, model arguments, ...).
        label_names: multi-label only: the K label names.
        baseline: the constant prediction's record on the same split
            (`mean_baseline`), shown as the last row of every table.

    Returns:
        A dict with "keras_umdf_results" (the layout version), "created",
        "environment", "task", "label_names", "dataset", "config", "seeds",
        "runs": name -> {"seeds": {seed: results}, "summary": mean and
        std over seeds (`aggregate_seeds`)}, and "baseline" (None without one).
    """
    if kind not in TASK_KINDS:
        raise ValueError(f"kind must be one of {TASK_KINDS}; received kind={kind!r}.")
    if not runs:
        raise ValueError("results_document needs at least one run; received none.")
    seeds = sorted({int(s) for per_seed in runs.values() for s in per_seed})
    document_runs = {}
    for name, per_seed in runs.items():
        if not per_seed:
            raise ValueError(f"Run {name!r} has no seed's results.")
        ordered = {int(s): per_seed[s] for s in sorted(per_seed, key=int)}
        document_runs[name] = {
            "seeds": ordered,
            "summary": aggregate_seeds(list(ordered.values())),
        }
    return {
        "keras_umdf_results": RESULTS_FORMAT,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(
            timespec="seconds"
        ),
        "environment": environment_info(),
        "task": kind,
        "label_names": list(label_names or IEMOCAP_EMOTIONS)
        if kind == "multi_label"
        else None,
        "dataset": dict(dataset or {}),
        "config": dict(config or {}),
        "seeds": seeds,
        "runs": document_runs,
        "baseline": dict(baseline) if baseline else None,
    }


def results_markdown(document: Mapping) -> str:
    """The Markdown report of a results document: the Table 1/2 layout of every
    run, the Table 3 layout when there are several runs, the frame-drop curves
    as a table, and the versions. Each table ends with the constant baseline's
    row when the document has one, explained under the first table."""
    kind = document["task"]
    baseline = document.get("baseline")
    names = document.get("label_names") or IEMOCAP_EMOTIONS
    runs = document["runs"]
    dataset = document.get("dataset") or {}
    seeds = document.get("seeds") or []
    title = dataset.get("name", "dataset")
    lines = [f"# Results on {title}", ""]
    facts = []
    if dataset.get("split"):
        facts.append(f"{dataset['split']} split")
    if dataset.get("num_samples"):
        facts.append(f"{dataset['num_samples']} samples")
    if seeds:
        plural = "s" if len(seeds) > 1 else ""
        facts.append(f"seed{plural} {', '.join(map(str, seeds))}")
        if len(seeds) > 1:
            facts.append("mean ± std over seeds")
    if facts:
        lines += ["; ".join(facts) + ".", ""]
    summaries = {name: run["summary"] for name, run in runs.items()}
    conditions = {
        name: summary["conditions"]
        for name, summary in summaries.items()
        if "conditions" in summary
    }
    if conditions:
        lines += ["## Inter-modality missingness", ""]
        rows = with_baseline_row(conditions, baseline)
        if kind == "multi_label":
            lines += [
                "Table 2 layout: per emotion, the weighted F1 (%) of absent / present.",
                "",
                emotion_table(rows, label_names=names),
            ]
        else:
            metrics = headline_metrics(kind)
            note = (
                "Table 1 layout: MAE (lower is better) / F1 (%) of positive "
                "against negative sentiment, neutral clips left out (Non0 F1)."
                if kind == "regression"
                else "Accuracy (%) / weighted F1 (%)."
            )
            lines += [note, "", markdown_table(rows, metrics=metrics)]
        lines.append("")
        if baseline:
            lines += [baseline["description"], ""]
        if len(conditions) > 1:
            metric = summary_metric(kind)
            lines += [
                "## Ablations",
                "",
                f"Table 3 layout: {metric_label(metric)} (%).",
                "",
                single_metric_table(rows, metric),
                "",
            ]
    curves = {
        name: summary["frame_drop"]
        for name, summary in summaries.items()
        if "frame_drop" in summary
    }
    if curves:
        lines += [
            "## Intra-modality missingness",
            "",
            "Frames dropped at rate p, all modalities present (Figures 3-5).",
            "",
            frame_drop_table(
                with_baseline_row(curves, baseline),
                metrics=headline_metrics(kind, label_names=names),
            ),
            "",
        ]
        if baseline and not conditions:
            lines += [baseline["description"], ""]
    env = document.get("environment") or {}
    if env:
        lines += [
            f"keras_umdf {env.get('keras_umdf')}, Keras {env.get('keras')}, "
            f"{env.get('backend')} {env.get('backend_version')}, NumPy "
            f"{env.get('numpy')}, Python {env.get('python')}.",
            "",
        ]
    return "\n".join(lines)


def write_results(
    document: Mapping, directory, *, stem: str = "results", overwrite: bool = False
) -> tuple[str, str]:
    """Writes a results document as `<stem>.json` and `<stem>.md`.

    NaN (an undefined metric) is written as JSON `null`, so that any JSON
    parser reads the file. Each file is written to a temporary name and then
    renamed, so an interrupted write never leaves half a file; the JSON is
    written after the Markdown, so its presence means both are there.

    Args:
        document: from `results_document`.
        directory: the folder (created if missing).
        stem: the file names' stem.
        overwrite: replace existing files (default: refuse).

    Returns:
        The paths of the JSON and Markdown files.

    Raises:
        FileExistsError: a file exists and `overwrite` is False.
    """
    directory = os.fspath(directory)
    os.makedirs(directory, exist_ok=True)
    json_path = os.path.join(directory, f"{stem}.json")
    md_path = os.path.join(directory, f"{stem}.md")
    if not overwrite:
        for path in (json_path, md_path):
            if os.path.exists(path):
                raise FileExistsError(
                    f"{path!r} already exists; choose another directory or pass "
                    "overwrite=True (--overwrite) to replace it."
                )
    text = json.dumps(json_ready(document), indent=2, allow_nan=False)
    # The JSON last: a run whose results.json exists has both files, even if
    # it was killed between the two writes.
    write_text_atomically(md_path, results_markdown(document))
    write_text_atomically(json_path, text + "\n")
    return json_path, md_path


def read_results(path) -> dict:
    """Reads a results JSON written by `write_results`.

    JSON `null` metrics come back as NaN and the frame-drop rates as floats,
    so the document is as `results_document` made it (seeds as ints).

    Raises:
        ValueError: the file is not a keras_umdf results file.
    """
    with open(path) as file:
        document = json.load(file)
    if not isinstance(document, dict) or "keras_umdf_results" not in document:
        raise ValueError(
            f"{os.fspath(path)!r} is not a keras_umdf results file (no "
            "'keras_umdf_results' key)."
        )
    for run in document.get("runs", {}).values():
        run["seeds"] = {
            int(s): protocol_results_from_json(r) for s, r in run["seeds"].items()
        }
        run["summary"] = protocol_results_from_json(run["summary"])
    if document.get("baseline"):
        document["baseline"]["metrics"] = nan_metrics(document["baseline"]["metrics"])
    return document

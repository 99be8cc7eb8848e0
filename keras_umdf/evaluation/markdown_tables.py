"""The paper's tables as Markdown: Table 1 (MAE / F1 per condition), Table 2 (per
emotion), Table 3 (one metric per condition) and the frame-drop curves."""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Sequence

from keras_umdf.data.multimodal_dataset import IEMOCAP_EMOTIONS
from keras_umdf.evaluation.metric_format import format_condition
from keras_umdf.evaluation.metric_format import format_metric
from keras_umdf.evaluation.metric_format import metric_label
from keras_umdf.modalities import CONDITIONS
from keras_umdf.modalities import INCOMPLETE_CONDITIONS

TABLE_COLUMNS = (*INCOMPLETE_CONDITIONS, "avg", CONDITIONS[-1])
"""The columns of Tables 1-3: the six incomplete conditions, Avg., complete."""

PAPER_EMOTION_ORDER = ("happy", "sad", "angry", "neutral")
"""The order of the emotions in the paper's Table 2 and Figure 4."""


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _columns(rows: Mapping[str, Mapping]) -> list[str]:
    columns = [c for c in TABLE_COLUMNS if any(c in r for r in rows.values())]
    others = []
    for results in rows.values():
        others += [c for c in results if c not in TABLE_COLUMNS and c not in others]
    return columns + others


def markdown_table(
    rows: Mapping[str, Mapping[str, Mapping[str, float]]],
    *,
    metrics: Sequence[str] = ("mae", "non0_f1"),
) -> str:
    """A Markdown table in the layout of the paper's Table 1.

    Columns: {l}, {a}, {v}, {l,a}, {l,v}, {a,v}, Avg., {l,a,v} (those present);
    each cell holds the `metrics` joined by " / ", by default MAE and F1, the
    latter the weighted F1 of positive against negative sentiment with the
    neutral clips left out (MMSA's Non0 F1), in percent. Where a metrics dict
    holds "<metric>_std" (the std over seeds) the cell reads "mean ± std".

    Args:
        rows: row name (e.g. "UMDF") -> condition -> metrics dict.
        metrics: the metric keys in each cell, e.g. ("accuracy",
            "weighted_f1") for single-label classification.

    Returns:
        The table as Markdown text.

    Example:

    ```python
    print(markdown_table({"UMDF": evaluate_conditions(model, data["test"])}))
    ```
    """
    columns = _columns(rows)
    header = ["Model", *(format_condition(c) for c in columns)]
    units = ["", *([" / ".join(metric_label(m) for m in metrics)] * len(columns))]
    body = [units]
    for name, results in rows.items():
        cells = [
            " / ".join(format_metric(results.get(c), m) for m in metrics)
            for c in columns
        ]
        body.append([name, *cells])
    return _table(header, body)


def emotion_table(
    rows: Mapping[str, Mapping[str, Mapping[str, float]]],
    *,
    label_names: Sequence[str] = IEMOCAP_EMOTIONS,
    metric: str = "f1",
) -> str:
    """A Markdown table in the layout of the paper's Table 2 (IEMOCAP).

    One row per emotion per model (Happy, Sad, Angry, Neutral as in the
    paper), columns the conditions as in Table 1, each
    cell the emotion's weighted F1 (of absent against present, as MulT
    computes it; the paper's Table 2 reports F1) in percent with one decimal.

    Args:
        rows: model name -> condition -> `multilabel_metrics` dict.
        label_names: the emotions, in the rows' order of the metrics.
        metric: "f1" or "acc": which per-emotion metric to show.

    Returns:
        The table as Markdown text.
    """
    columns = _columns(rows)
    header = ["Model", "Emotion", *(format_condition(c) for c in columns)]
    # The paper's row order (Happy, Sad, Angry, Neutral), then any other label.
    ordered = [e for e in PAPER_EMOTION_ORDER if e in label_names]
    ordered += [e for e in label_names if e not in ordered]
    body = []
    for name, results in rows.items():
        for i, emotion in enumerate(ordered):
            key = f"{emotion}_{metric}"
            cells = [format_metric(results.get(c), key, digits=1) for c in columns]
            body.append([name if i == 0 else "", emotion.capitalize(), *cells])
    return _table(header, body)


def single_metric_table(
    rows: Mapping[str, Mapping[str, Mapping[str, float]]], metric: str = "non0_f1"
) -> str:
    """A Markdown table in the layout of the paper's Table 3 (ablations): one
    row per model, one metric (by default the F1, in percent) per condition."""
    columns = _columns(rows)
    header = ["Model", *(format_condition(c) for c in columns)]
    body = [["", *([metric_label(metric)] * len(columns))]]
    for name, results in rows.items():
        body.append([name, *(format_metric(results.get(c), metric) for c in columns)])
    return _table(header, body)


def frame_drop_table(
    curves: Mapping[str, Mapping[float, Mapping[str, float]]],
    *,
    metrics: Sequence[str] = ("mae", "non0_f1"),
) -> str:
    """The frame-drop curves (Figures 3-5) as a Markdown table: one row per
    model and metric, one column per missing rate p."""
    rates = sorted({float(p) for curve in curves.values() for p in curve})
    header = ["Model", "Metric", *(f"p={p:.1f}" for p in rates)]
    body = []
    for name, curve in curves.items():
        by_rate = {float(p): values for p, values in curve.items()}
        for i, metric in enumerate(metrics):
            cells = [format_metric(by_rate.get(p), metric) for p in rates]
            body.append([name if i == 0 else "", metric_label(metric), *cells])
    return _table(header, body)

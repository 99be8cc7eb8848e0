"""The report of a UMDF-against-SDUMC comparison: the JSON record, which model
wins each condition, and the Markdown table."""

from __future__ import annotations

from collections.abc import Mapping

from keras_umdf.evaluation.environment import environment_info
from keras_umdf.evaluation.markdown_tables import markdown_table
from keras_umdf.evaluation.mean_baseline import with_baseline_row
from keras_umdf.evaluation.metric_format import format_condition
from keras_umdf.evaluation.metric_format import format_metric
from keras_umdf.evaluation.metric_format import metric_label
from keras_umdf.evaluation.seed_aggregation import aggregate_seeds

COMPARED_METRICS = {"mae": "lower", "non0_f1": "higher"}
"""The metrics the report compares, with the better direction."""

RESULTS_FORMAT = 1


def comparison_document(
    results: Mapping[str, Mapping[int, Mapping]],
    *,
    dataset: Mapping | None = None,
    config: Mapping | None = None,
    baseline: Mapping | None = None,
) -> dict:
    """The JSON-ready record of a comparison.

    Args:
        results: model name -> seed -> condition -> metrics (as
            `evaluate_conditions` returns them).
        dataset: name, split and size of the test data.
        config: the comparison's configuration.
        baseline: predicting the training mean on the test split
            (`mean_baseline`), shown as the table's last row.

    Returns:
        `{"models": {name: {"seeds": ..., "summary": ...}}, "winners":
        {condition: {metric: name or "tie"}}, "baseline": ..., ...}`.
    """
    summaries = {
        name: aggregate_seeds([per_seed[s] for s in sorted(per_seed)])
        for name, per_seed in results.items()
    }
    return {
        "keras_umdf_comparison": RESULTS_FORMAT,
        "kind": "missing_text",
        "dataset": dict(dataset or {}),
        "config": dict(config or {}),
        "seeds": sorted({s for per_seed in results.values() for s in per_seed}),
        "environment": environment_info(),
        "models": {
            name: {
                "seeds": {str(s): per_seed[s] for s in sorted(per_seed)},
                "summary": summaries[name],
            }
            for name, per_seed in results.items()
        },
        "winners": winners(summaries),
        "baseline": dict(baseline) if baseline else None,
    }


def winners(summaries: Mapping[str, Mapping[str, Mapping[str, float]]]) -> dict:
    """Per condition and compared metric, the model with the better mean.

    Lower MAE wins, higher Non0 F1 wins; equal means (to 1e-9) give "tie", a
    NaN in any model gives "-". With one model, it wins everywhere.
    """
    names = list(summaries)
    conditions = [
        c for c in summaries[names[0]] if all(c in summaries[n] for n in names)
    ]
    out = {}
    for condition in conditions:
        out[condition] = {}
        for metric, direction in COMPARED_METRICS.items():
            values = {n: summaries[n][condition].get(metric) for n in names}
            if any(v is None or v != v for v in values.values()):
                out[condition][metric] = "-"
                continue
            best = (min if direction == "lower" else max)(values.values())
            leaders = [n for n, v in values.items() if abs(v - best) <= 1e-9]
            out[condition][metric] = leaders[0] if len(leaders) == 1 else "tie"
    return out


def comparison_markdown(document: Mapping) -> str:
    """The comparison as Markdown: one table (rows the models, columns the
    seven conditions, Avg. of the six incomplete ones, {l,a,v} and
    text_missing; cells MAE / F1, mean ± std over seeds; the last row
    predicting the training mean) and one line per condition saying which
    model wins by MAE and by F1."""
    dataset = document.get("dataset") or {}
    config = document.get("config") or {}
    settings = config.get("settings") or {}
    seeds = document.get("seeds") or []
    summaries = {n: r["summary"] for n, r in document["models"].items()}
    lines = [f"# UMDF and SDUMC on {dataset.get('name', 'dataset')}", ""]
    facts = [
        f"split {dataset.get('split', '?')} ({dataset.get('num_samples', '?')} clips)",
        f"{len(seeds)} seed(s) {', '.join(map(str, seeds))}",
        "pseudo text: " + ("yes" if config.get("pseudo_text") else "no"),
    ]
    facts += [f"{k} {v}" for k, v in settings.items()]
    lines += [
        "; ".join(facts) + ".",
        "",
        "MAE (lower is better) / F1 (Non0 F1: positive against negative, neutral "
        "clips left out; higher is better, in %), mean ± std over the seeds. "
        "Avg. is the mean of the six incomplete conditions; text_missing keeps "
        "audio, vision and the pseudo text.",
        "",
        markdown_table(
            with_baseline_row(summaries, document.get("baseline")),
            metrics=tuple(COMPARED_METRICS),
        ),
        "",
    ]
    if document.get("baseline"):
        lines += [document["baseline"]["description"], ""]
    lines += [
        "## Which wins",
        "",
    ]
    for condition, by_metric in document["winners"].items():
        parts = []
        for metric, winner in by_metric.items():
            values = ", ".join(
                f"{n} {format_metric(s[condition], metric)}"
                for n, s in summaries.items()
            )
            parts.append(f"{metric_label(metric)}: **{winner}** ({values})")
        lines.append(f"- {format_condition(condition)}: " + "; ".join(parts))
    return "\n".join(lines) + "\n"

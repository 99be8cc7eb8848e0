"""Results laid out like the paper's tables."""

from __future__ import annotations

from keras_umdf.modalities import CONDITIONS
from keras_umdf.modalities import INCOMPLETE_CONDITIONS

TABLE_COLUMNS = (*INCOMPLETE_CONDITIONS, "avg", CONDITIONS[-1])


def _heading(column: str) -> str:
    return "Avg." if column == "avg" else "{" + ",".join(column) + "}"


def markdown_table(rows: dict[str, dict[str, dict[str, float]]]) -> str:
    """A Markdown table in the layout of the paper's Table 1.

    Columns: {l}, {a}, {v}, {l,a}, {l,v}, {a,v}, Avg., {l,a,v}; each cell holds
    MAE and F1 (the non-zero positive/negative weighted F1, in percent, as the
    MulT-line papers report it).

    Args:
        rows: row name (e.g. "UMDF") -> condition -> `regression_metrics` dict.
    """
    columns = [c for c in TABLE_COLUMNS if any(c in r for r in rows.values())]
    lines = [
        "| Model | " + " | ".join(_heading(c) for c in columns) + " |",
        "|---|" + "---|" * len(columns),
        "| | " + " | ".join("MAE / F1" for _ in columns) + " |",
    ]
    for name, results in rows.items():
        cells = []
        for column in columns:
            metrics = results.get(column)
            cells.append(
                f"{metrics['mae']:.3f} / {100 * metrics['non0_f1']:.2f}"
                if metrics
                else "-"
            )
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)

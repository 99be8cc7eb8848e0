"""PNG figures like the paper's: frame-drop curves (Figs. 3-4) and t-SNE (Fig. 6).

matplotlib is an optional dependency (`pip install "keras-umdf[plots]"`), imported
only when a plot is drawn. The figures are drawn on matplotlib's Agg canvas
directly, so the user's pyplot backend is neither used nor changed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from collections.abc import Sequence

import numpy as np

from keras_umdf.evaluation.tsne import tsne

POLARITY_COLOURS = (
    ("negative", "tab:red"),
    ("neutral", "tab:green"),
    ("positive", "tab:blue"),
)
"""Figure 6's colours: label < 0, == 0, > 0."""

_PERCENT_MARKERS = ("f1", "acc")


def _matplotlib():
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as error:
        raise ImportError(
            'Plotting needs matplotlib: pip install "keras-umdf[plots]" (or '
            "pip install matplotlib)."
        ) from error
    return Figure, FigureCanvasAgg


def _check_path(path, overwrite: bool) -> str:
    path = os.fspath(path)
    if not path.lower().endswith(".png"):
        raise ValueError(
            f"the figure is written as PNG; path must end in .png, received {path!r}."
        )
    if os.path.exists(path) and not overwrite:
        raise FileExistsError(
            f"{path!r} already exists; pass overwrite=True to replace it or choose "
            "another path."
        )
    return path


def _save(figure, canvas_class, path: str, overwrite: bool) -> str:
    canvas_class(figure)
    directory = os.path.dirname(path)
    if directory:
        os.makedirs(directory, exist_ok=True)
    # "xb" fails rather than replacing a file that appeared since the check.
    with open(path, "wb" if overwrite else "xb") as file:
        try:
            figure.savefig(file, format="png", dpi=120)
        except BaseException:
            file.close()
            os.remove(path)  # no half-written PNG left behind
            raise
    return path


def _is_percent(metric: str) -> bool:
    return any(marker in metric.lower() for marker in _PERCENT_MARKERS)


def _axis_label(metric: str) -> str:
    known = {
        "mae": "MAE",
        "corr": "Corr",
        "non0_f1": "F1 (%)",
        "has0_f1": "Has0 F1 (%)",
        "non0_acc2": "Acc-2 (%)",
        "has0_acc2": "Has0 Acc-2 (%)",
        "acc7": "Acc-7 (%)",
        "acc5": "Acc-5 (%)",
        "mean_f1": "mean F1 (%)",
        "mean_acc": "mean accuracy (%)",
        "weighted_f1": "weighted F1 (%)",
        "accuracy": "accuracy (%)",
    }
    if metric in known:
        return known[metric]
    for suffix, name in (("_f1", "F1"), ("_acc", "accuracy")):
        if metric.endswith(suffix):
            return f"{metric[: -len(suffix)].capitalize()} {name} (%)"
    return f"{metric} (%)" if _is_percent(metric) else metric


def plot_frame_drop_curves(
    curves: Mapping[str, Mapping[float, Mapping[str, float]]],
    path,
    *,
    metrics: Sequence[str] = ("mae", "non0_f1"),
    title: str | None = None,
    overwrite: bool = False,
) -> str:
    """Draws metrics against the frame-drop rate p, one line per model (Figs. 3-4).

    One panel per metric, x the missing (frame-drop) rate p, one line per model
    or run. F1 and accuracies (names containing "f1" or "acc") are shown in
    percent, MAE and Corr as they are. Where a metrics dict also holds
    "<metric>_std" (the standard deviation over seeds), error bars are drawn.

    Args:
        curves: model or run name -> {rate p in [0, 1]: metrics dict}, the dicts
            as `regression_metrics` or `multilabel_metrics` return them.
        path: where to write the PNG (must end in .png); missing folders are
            created.
        metrics: the keys to plot, one panel each. For IEMOCAP:
            `("happy_f1", "sad_f1", "angry_f1", "neutral_f1")`.
        title: a title over the panels.
        overwrite: replace an existing file at `path` (default: refuse).

    Returns:
        `path`, as a string.

    Raises:
        ImportError: matplotlib is not installed.
        FileExistsError: `path` exists and `overwrite` is False.
        ValueError: `curves` or `metrics` is empty, a rate is outside [0, 1], or
            a metrics dict lacks a requested key (the message names the model,
            the rate and the keys it has).

    Example:

    ```python
    curves = {"UMDF": {p: regression_metrics(predict(p), y) for p in rates}}
    plot_frame_drop_curves(curves, "mosi_frame_drop.png")
    ```
    """
    metrics = (metrics,) if isinstance(metrics, str) else tuple(metrics)
    if not metrics:
        raise ValueError("metrics must name at least one metric; received ().")
    if not isinstance(curves, Mapping) or not curves:
        raise ValueError(
            "curves must be a non-empty dict {model name: {rate: metrics dict}}; "
            f"received {type(curves).__name__} {curves!r:.80}."
        )
    series = {}
    for model, by_rate in curves.items():
        if not isinstance(by_rate, Mapping) or not by_rate:
            raise ValueError(
                f"curves[{model!r}] must be a non-empty dict {{rate: metrics dict}}; "
                f"received {by_rate!r:.80}."
            )
        rates = sorted(float(rate) for rate in by_rate)
        if not all(0.0 <= rate <= 1.0 for rate in rates):
            raise ValueError(
                f"curves[{model!r}] has frame-drop rates outside [0, 1]: {rates}."
            )
        rows = {float(rate): values for rate, values in by_rate.items()}
        for rate in rates:
            if not isinstance(rows[rate], Mapping):
                raise ValueError(
                    f"curves[{model!r}][{rate}] must be a metrics dict; received "
                    f"{rows[rate]!r:.80}."
                )
            missing = [m for m in metrics if m not in rows[rate]]
            if missing:
                raise ValueError(
                    f"curves[{model!r}] at rate {rate} has no {missing}; it has "
                    f"{sorted(rows[rate])}. Choose metrics=... among those."
                )
        series[model] = (rates, rows)
    path = _check_path(path, overwrite)
    figure_class, canvas_class = _matplotlib()

    figure = figure_class(figsize=(4.2 * len(metrics), 3.6), layout="constrained")
    axes = figure.subplots(1, len(metrics), squeeze=False)[0]
    for ax, metric in zip(axes, metrics, strict=True):
        scale = 100.0 if _is_percent(metric) else 1.0
        for model, (rates, rows) in series.items():
            values = np.array([rows[r][metric] for r in rates], float) * scale
            std_key = f"{metric}_std"
            if all(std_key in rows[r] for r in rates):
                std = np.array([rows[r][std_key] for r in rates], float) * scale
                ax.errorbar(
                    rates, values, yerr=std, marker="o", ms=4, capsize=3, label=model
                )
            else:
                ax.plot(rates, values, marker="o", ms=4, label=model)
        ax.set_xlabel("missing rate p")
        ax.set_ylabel(_axis_label(metric))
        ax.set_xlim(-0.03, 1.03)
        ax.set_xticks(np.round(np.arange(0.0, 1.01, 0.2), 1))
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize="small")
    if title:
        figure.suptitle(title)
    return _save(figure, canvas_class, path, overwrite)


def plot_tsne(
    features,
    labels,
    path,
    *,
    title: str | None = None,
    seed: int = 0,
    overwrite: bool = False,
    perplexity: float | None = None,
    num_iterations: int = 1000,
    class_names: Sequence[str] | None = None,
) -> str:
    """t-SNE picture of representations coloured by label, like Figure 6.

    Runs `tsne` on `features` and draws the 2-d points. Float labels are
    sentiment scores: negative (< 0) red, neutral (== 0) green, positive (> 0)
    blue, as in the paper. Integer (or bool) labels are classes: one colour per
    class, with a legend naming `class_names` if given.

    Args:
        features: (N, D) representations, e.g. the joint features h of N clips.
        labels: (N,) sentiment scores (float) or class indices (int).
        path: where to write the PNG (must end in .png).
        title: the figure's title.
        seed: t-SNE's seed; the same seed draws the same picture.
        overwrite: replace an existing file at `path` (default: refuse).
        perplexity: t-SNE's perplexity; default min(30, (N - 1) / 3).
        num_iterations: t-SNE's gradient steps.
        class_names: names of the classes 0..C-1 for integer labels.

    Returns:
        `path`, as a string.

    Raises:
        ImportError: matplotlib is not installed.
        FileExistsError: `path` exists and `overwrite` is False.
        ValueError: features and labels disagree in N, labels are not (N,) or
            hold NaN, or `tsne` rejects the features (N < 4, NaN).

    Example:

    ```python
    h = model.encode(view)[:, -1, :]  # joint features of the last frame
    plot_tsne(keras.ops.convert_to_numpy(h), data["test"].labels, "tsne.png")
    ```
    """
    x = np.asarray(features)
    y = np.asarray(labels)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if x.ndim != 2 or y.ndim != 1 or x.shape[0] != y.shape[0]:
        raise ValueError(
            "plot_tsne needs features (N, D) and labels (N,) with the same N; "
            f"received shapes {np.shape(features)} and {np.shape(labels)}."
        )
    is_sentiment = np.issubdtype(y.dtype, np.floating)
    if is_sentiment and not np.isfinite(y).all():
        raise ValueError(
            f"labels contain {int(np.sum(~np.isfinite(y)))} NaN or inf values."
        )
    if not is_sentiment and not (np.issubdtype(y.dtype, np.integer) or y.dtype == bool):
        raise ValueError(
            f"labels must be float sentiment scores or integer classes; received "
            f"dtype {y.dtype}."
        )
    path = _check_path(path, overwrite)
    figure_class, canvas_class = _matplotlib()
    if perplexity is None:
        perplexity = min(30.0, max((x.shape[0] - 1) / 3.0, 1.0))
    xy = tsne(x, perplexity=perplexity, seed=seed, num_iterations=num_iterations)

    if is_sentiment:
        groups = [
            (name, colour, mask)
            for (name, colour), mask in zip(
                POLARITY_COLOURS, (y < 0, y == 0, y > 0), strict=True
            )
        ]
    else:
        classes = np.unique(y.astype(np.int64))
        if class_names is not None and (
            classes.min() < 0 or classes.max() >= len(class_names)
        ):
            raise ValueError(
                f"class_names has {len(class_names)} names but labels hold classes "
                f"{classes.tolist()}."
            )
        palette = [f"C{i % 10}" for i in range(len(classes))]
        groups = [
            (
                class_names[int(c)] if class_names is not None else f"class {int(c)}",
                colour,
                y == c,
            )
            for c, colour in zip(classes, palette, strict=True)
        ]
    figure = figure_class(figsize=(5.0, 4.6), layout="constrained")
    ax = figure.subplots()
    for name, colour, mask in groups:
        if mask.any():
            ax.scatter(
                xy[mask, 0],
                xy[mask, 1],
                s=8,
                c=colour,
                alpha=0.8,
                label=f"{name} ({int(mask.sum())})",
                linewidths=0,
            )
    ax.set_xticks([])
    ax.set_yticks([])
    ax.legend(fontsize="small", markerscale=2, loc="best")
    if title:
        ax.set_title(title)
    ax.set_aspect("equal", adjustable="datalim")
    return _save(figure, canvas_class, path, overwrite)


def matplotlib_available() -> bool:
    """Whether matplotlib can be imported, so that the figures can be drawn
    (the commands skip them with a note when it cannot)."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True

"""The units of a multi-seed experiment: each (model, seed) trained into its own
directory, tested, and its results kept on disk.

`reproduce` (the paper's variants) and `compare_missing_text` (UMDF against
SDUMC) run the same loop: a unit with `evaluation.json` is read back, not rerun;
any other unit is trained (its training resumes or reloads a finished model on
its own), tested on the test split with the unit's seed as the mask seed,
checked for a collapse against the constant baseline, and its results written.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence

from keras_umdf.data.atomic_file import write_text_atomically
from keras_umdf.evaluation.collapse import check_model_for_collapse
from keras_umdf.evaluation.json_results import json_ready
from keras_umdf.modalities import CONDITIONS

UNIT_RESULTS = "evaluation.json"
"""A finished unit's test results, in its directory."""


def check_seeds(seeds: Sequence[int]) -> list[int]:
    """The seeds as ints; raises a ValueError unless distinct and non-empty."""
    seeds = [int(s) for s in seeds]
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct and non-empty; received {seeds}.")
    return seeds


def run_units(
    run,
    names: Sequence[str],
    seeds: Sequence[int],
    *,
    slug: Callable[[str], str],
    train: Callable[[str, int, str], object],
    evaluate: Callable[..., dict],
    read_back: Callable[[dict], dict],
    test_split,
    split_name: str,
    baseline_metrics: Mapping[str, float],
    batch_size: int,
    label_names: Sequence[str] | None = None,
    say: Callable[[str], None],
) -> dict[str, dict[int, dict]]:
    """Trains and tests every (name, seed) unit that has no results yet.

    Args:
        run: the experiment's `RunDirectory`; unit directories are
            `runs/<slug(name)>/seed-<s>/`.
        names: the models (or variants), in the report's order.
        seeds: the seeds, each name trained with each.
        slug: a name's directory name.
        train: `(name, seed, unit_dir) -> model`.
        evaluate: `(model, seed=, progress=, on_predictions=) -> results`, the
            unit's test (`evaluate_protocol` or `evaluate_conditions` with the
            experiment's other arguments).
        read_back: a unit's `evaluation.json` content -> its results.
        test_split: the split the units are tested on.
        split_name: its name, for the messages.
        baseline_metrics: the constant prediction's metrics on the test split,
            for the collapse check.
        batch_size: evaluation batch size.
        label_names: multi-label only: the K label names.
        say: receives one line per step.

    Returns:
        name -> seed -> the unit's results.
    """
    units = [(name, seed) for name in names for seed in seeds]
    results = {name: {} for name in names}
    for number, (name, seed) in enumerate(units, start=1):
        unit_dir = run.file("runs", slug(name), f"seed-{seed}")
        unit_file = os.path.join(unit_dir, UNIT_RESULTS)
        label = f"[{number}/{len(units)}] {name}, seed {seed}"
        if os.path.exists(unit_file):
            with open(unit_file) as file:
                results[name][seed] = read_back(json.load(file))
            say(f"{label}: done earlier, results read from {unit_file}")
            continue
        say(f"{label}: training")
        model = train(name, seed, unit_dir)
        say(f"{label}: evaluating on {split_name}")
        complete = {}
        unit_results = evaluate(
            model,
            seed=seed,
            progress=lambda line, label=label: say(f"{label}: {line}"),
            on_predictions=lambda condition, outputs, complete=complete: (
                complete.setdefault(condition, outputs)
            ),
        )
        check_model_for_collapse(
            model,
            test_split,
            baseline_metrics,
            predictions=complete.get(CONDITIONS[-1]),
            split_name=split_name,
            subject=f"{name} (seed {seed})",
            batch_size=batch_size,
            seed=seed,
            label_names=label_names,
        )
        write_text_atomically(unit_file, json.dumps(json_ready(unit_results), indent=1))
        results[name][seed] = unit_results
    return results

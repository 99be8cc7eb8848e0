"""The Markdown tables in the paper's layouts, the JSON results and the seed means."""

import json
import math

import numpy as np
import pytest

from keras_umdf.evaluation.markdown_tables import emotion_table
from keras_umdf.evaluation.markdown_tables import frame_drop_table
from keras_umdf.evaluation.markdown_tables import markdown_table
from keras_umdf.evaluation.markdown_tables import single_metric_table
from keras_umdf.evaluation.report import read_results
from keras_umdf.evaluation.report import results_document
from keras_umdf.evaluation.report import results_markdown
from keras_umdf.evaluation.report import write_results
from keras_umdf.evaluation.seed_aggregation import aggregate_seeds
from keras_umdf.modalities import CONDITIONS

pytestmark = pytest.mark.only_backend("tensorflow")  # NumPy and text only

HEADINGS = ["{l}", "{a}", "{v}", "{l,a}", "{l,v}", "{a,v}", "Avg.", "{l,a,v}"]


def regression_results(offset=0.0):
    rng = np.random.default_rng(int(offset * 100))
    results = {
        c: {
            "mae": 0.8 + 0.05 * i + offset,
            "non0_f1": 0.8 - 0.02 * i + rng.random() / 100,
        }
        for i, c in enumerate(CONDITIONS)
    }
    results["avg"] = {
        k: float(np.mean([results[c][k] for c in CONDITIONS[:6]]))
        for k in ("mae", "non0_f1")
    }
    return results


def row_cells(table, name):
    line = next(line for line in table.splitlines() if line.startswith(f"| {name} |"))
    return [cell.strip() for cell in line.strip("|").split("|")][1:]


def test_table1_layout_has_the_paper_columns_in_order_and_mae_f1_cells():
    results = regression_results()
    table = markdown_table({"UMDF": results})
    header = [cell.strip() for cell in table.splitlines()[0].strip("|").split("|")]
    assert header == ["Model", *HEADINGS]
    cells = row_cells(table, "UMDF")
    assert (
        cells[0] == f"{results['l']['mae']:.3f} / {100 * results['l']['non0_f1']:.2f}"
    )
    assert cells[6] == (
        f"{results['avg']['mae']:.3f} / {100 * results['avg']['non0_f1']:.2f}"
    )
    assert cells[7].startswith(f"{results['lav']['mae']:.3f} / ")


def test_table_cells_show_mean_and_std_over_seeds_and_a_dash_for_nan():
    summary = aggregate_seeds([regression_results(0.0), regression_results(0.1)])
    summary["l"]["non0_f1"] = math.nan
    cells = row_cells(markdown_table({"UMDF": summary}), "UMDF")
    std = np.std([0.85, 0.95], ddof=1)  # {a}: 0.85 and 0.85 + 0.1
    assert cells[1].startswith(f"0.900 ± {std:.3f} / ")
    assert cells[0].endswith("/ -")


def test_table2_layout_one_row_per_emotion_with_its_f1():
    names = ("neutral", "happy", "sad", "angry")
    results = {
        c: {f"{n}_f1": 0.5 + 0.01 * i + 0.1 * j for j, n in enumerate(names)}
        for i, c in enumerate(CONDITIONS)
    }
    table = emotion_table({"UMDF": results}, label_names=names)
    lines = table.splitlines()
    assert lines[0].split("|")[1:3] == [" Model ", " Emotion "]
    happy = next(line for line in lines if "| Happy |" in line)
    cells = [cell.strip() for cell in happy.strip("|").split("|")]
    assert cells[0] == "UMDF" and cells[1] == "Happy"
    assert cells[2] == f"{100 * results['l']['happy_f1']:.1f}"
    sad = next(line for line in lines if "| Sad |" in line)
    assert sad.startswith("|  | Sad |")  # the model is named once


def test_table3_layout_shows_one_metric_per_variant():
    rows = {"UMDF": regression_results(), "w/o L_fea": regression_results(0.2)}
    table = single_metric_table(rows, "non0_f1")
    assert "w/o L_fea" in table and "MAE" not in table
    cells = row_cells(table, "w/o L_fea")
    assert cells[0] == f"{100 * rows['w/o L_fea']['l']['non0_f1']:.2f}"


def test_frame_drop_table_has_eleven_rates():
    curve = {
        round(0.1 * i, 1): {"mae": 0.8 + 0.05 * i, "non0_f1": 0.8} for i in range(11)
    }
    table = frame_drop_table({"UMDF": curve})
    header = table.splitlines()[0]
    assert header.count("p=") == 11 and "p=0.0" in header and "p=1.0" in header
    assert row_cells(table, "UMDF")[-1] == "1.300"


def test_aggregate_seeds_means_and_sample_std_of_nested_results():
    seeds = [
        {
            "conditions": {"l": {"mae": 1.0, "f1": 0.5}},
            "frame_drop": {0.5: {"mae": 2.0}},
        },
        {
            "conditions": {"l": {"mae": 2.0, "f1": 0.7}},
            "frame_drop": {0.5: {"mae": 4.0}},
        },
        {
            "conditions": {"l": {"mae": 4.0, "f1": 0.6}},
            "frame_drop": {0.5: {"mae": 6.0}},
        },
    ]
    summary = aggregate_seeds(seeds)
    assert summary["conditions"]["l"]["mae"] == pytest.approx(7 / 3)
    assert summary["conditions"]["l"]["mae_std"] == pytest.approx(
        np.std([1.0, 2.0, 4.0], ddof=1)
    )
    assert summary["frame_drop"][0.5]["mae"] == pytest.approx(4.0)
    single = aggregate_seeds(seeds[:1])
    assert single["conditions"]["l"] == {"mae": 1.0, "f1": 0.5}  # no std of one
    with pytest.raises(ValueError, match="at least one seed"):
        aggregate_seeds([])


def test_results_json_round_trip_with_nan_as_null(tmp_path):
    per_seed = {
        seed: {
            "conditions": regression_results(0.1 * seed),
            "frame_drop": {
                0.0: {"mae": 0.9, "non0_f1": 0.7},
                1.0: {"mae": 1.4, "non0_f1": math.nan},
            },
        }
        for seed in (0, 1)
    }
    document = results_document(
        {"UMDF": per_seed, "w/o distillation": per_seed},
        kind="regression",
        dataset={"name": "mosi", "split": "test", "num_samples": 686},
        config={"epochs": 3},
    )
    json_path, md_path = write_results(document, tmp_path)
    with open(json_path) as file:
        raw = json.load(file, parse_constant=lambda c: pytest.fail(f"non-JSON {c}"))
    assert raw["environment"]["backend"] and raw["seeds"] == [0, 1]
    assert raw["runs"]["UMDF"]["seeds"]["1"]["frame_drop"]["1.0"]["non0_f1"] is None
    back = read_results(json_path)
    curve = back["runs"]["UMDF"]["summary"]["frame_drop"]
    assert set(curve) == {0.0, 1.0} and math.isnan(curve[1.0]["non0_f1"])
    assert back["runs"]["UMDF"]["summary"]["conditions"]["avg"]["mae_std"] == (
        pytest.approx(
            document["runs"]["UMDF"]["summary"]["conditions"]["avg"]["mae_std"]
        )
    )
    markdown = open(md_path).read()
    assert markdown == results_markdown(document)
    for heading in HEADINGS:
        assert heading in markdown
    assert "## Ablations" in markdown and "p=1.0" in markdown
    with pytest.raises(FileExistsError, match="already exists"):
        write_results(document, tmp_path)


def test_read_results_refuses_another_json(tmp_path):
    path = tmp_path / "other.json"
    path.write_text('{"a": 1}')
    with pytest.raises(ValueError, match="not a keras_umdf results file"):
        read_results(path)

"""The search space: ranges, the explicit 0 of each lambda, JSON/TOML files."""

import json

import pytest

from tuning import SearchSpace

pytestmark = pytest.mark.only_backend("torch")


def test_defaults_search_both_lambdas_on_a_log_scale_with_zero_as_a_choice():
    space = SearchSpace()
    assert space.lambda_fea[0] > 0 and space.lambda_fea[1] / space.lambda_fea[0] >= 100
    assert space.lambda_logits == space.lambda_fea
    assert space.lambda_off is True
    assert space.learning_rate[0] < 1e-3 < space.learning_rate[1]
    assert space.hidden_dim is None and space.num_layers is None


def test_toml_and_json_files_give_the_same_space(tmp_path):
    toml = tmp_path / "space.toml"
    toml.write_text(
        "lambda_fea = [0.001, 10.0]\nlambda_logits = [0.01, 1]\nlambda_off = false\n"
        "learning_rate = 0.002\nhidden_dim = [32, 40]\nnum_layers = 2\n"
    )
    path = tmp_path / "space.json"
    path.write_text(
        json.dumps(
            {
                "lambda_fea": [0.001, 10.0],
                "lambda_logits": [0.01, 1],
                "lambda_off": False,
                "learning_rate": 0.002,
                "hidden_dim": [32, 40],
                "num_layers": 2,
            }
        )
    )
    from_toml = SearchSpace.from_file(toml)
    assert from_toml == SearchSpace.from_file(path)
    assert from_toml.lambda_fea == (0.001, 10.0)
    assert from_toml.learning_rate == 0.002  # a number fixes it
    assert from_toml.hidden_dim == (32, 40) and from_toml.num_layers == (2,)
    assert SearchSpace.from_dict(from_toml.to_dict()) == from_toml


@pytest.mark.parametrize(
    "config, expected",
    [
        ({"lambda_fea": [0, 1]}, "0 cannot lie on a log scale"),
        ({"lambda_logits": [1, 0.1]}, "0 < low <= high"),
        ({"lambda_fea": 3}, "(low, high) pair"),
        ({"learning_rate": [-1, 1]}, "learning_rate"),
        ({"hidden_dim": [32, 32]}, "distinct positive integers"),
        ({"lambda_off": "yes"}, "true or false"),
        ({"lambda1": [0.1, 1]}, "unknown keys ['lambda1']"),
    ],
)
def test_bad_files_are_refused_naming_the_file_and_value(tmp_path, config, expected):
    path = tmp_path / "space.json"
    path.write_text(json.dumps(config))
    with pytest.raises(ValueError) as error:
        SearchSpace.from_file(path)
    assert expected in str(error.value) and str(path) in str(error.value)


def test_unreadable_or_missing_files_say_what_to_pass(tmp_path):
    with pytest.raises(FileNotFoundError, match="no_such.toml"):
        SearchSpace.from_file(tmp_path / "no_such.toml")
    yaml = tmp_path / "space.yaml"
    yaml.write_text("lambda_fea: [0.1, 1]\n")
    with pytest.raises(ValueError, match=r"\.json or \.toml"):
        SearchSpace.from_file(yaml)
    broken = tmp_path / "space.toml"
    broken.write_text("lambda_fea = [0.1, \n")
    with pytest.raises(ValueError, match="not valid TOML"):
        SearchSpace.from_file(broken)

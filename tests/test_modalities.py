"""Condition codes and the parser of a list of conditions."""

import pytest

from keras_umdf.modalities import CONDITIONS
from keras_umdf.modalities import condition_modalities
from keras_umdf.modalities import parse_conditions

pytestmark = pytest.mark.only_backend("tensorflow")  # plain Python


def test_condition_modalities_reads_the_letters_in_any_order():
    assert condition_modalities("al") == ("text", "audio")
    assert condition_modalities("text_missing") == ("audio", "vision", "pseudo_text")


def test_parse_conditions_all_none_and_lists():
    assert parse_conditions("all") == CONDITIONS
    assert parse_conditions(" NONE ") == ()
    assert parse_conditions("") == ()
    # Letter codes in the paper's order, braces as in the tables allowed.
    assert parse_conditions("l, al,{va}") == ("l", "la", "av")
    assert parse_conditions("text_missing") == ("text_missing",)


def test_parse_conditions_names_the_unknown_condition():
    with pytest.raises(ValueError, match="Unknown test condition 'lx'"):
        parse_conditions("l,lx")
    with pytest.raises(ValueError, match="Unknown test condition 'll'"):
        parse_conditions("ll")

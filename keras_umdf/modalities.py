"""Names of the modalities and of the test conditions, and the parser of a list
of conditions.

The model, the data pipeline and the evaluation protocol all key modality arrays by the
long names below; the paper's test conditions use its one-letter codes, and the
conditions beyond the paper have names that cannot be read as such codes.
"""

MODALITIES = ("text", "audio", "vision")
"""The three modalities, in the paper's order L, A, V."""

PSEUDO_TEXT = "pseudo_text"
"""An optional extra stream standing in for the text when the transcript is missing
(SDUMC): e.g. embeddings of an ASR transcript of the audio. Its width is its own.
It is absent (zero) under the paper's seven conditions."""

MODALITY_CODES = {"l": "text", "a": "audio", "v": "vision"}
"""One-letter code of each modality, as in the paper's tables ({l}, {a}, {v})."""

CONDITIONS = ("l", "a", "v", "la", "lv", "av", "lav")
"""The seven inter-modality test conditions of Table 1; "lav" is the complete one."""

INCOMPLETE_CONDITIONS = CONDITIONS[:-1]
"""The six incomplete conditions whose mean is the paper's "Avg." column."""

FRAME_DROP_RATES = tuple(round(0.1 * i, 1) for i in range(11))
"""The intra-modality missing rates of the paper's Figures 3-5: p = 0.0, 0.1,
..., 1.0 of the frames of the complete test clips dropped
(`keras_umdf.evaluation.frame_drop_curve`)."""

DEFAULT_P_MAX = 0.5
"""The largest frame-drop rate of the training views: each view drops frames at
a rate p ~ U[0, p_max] (design decision 4; the paper does not give the range).
Set beside 0.2 and 0.8 on real features (docs/real-data.md): it lies between
them both on complete clips and on clips that lost most of their frames."""

TEXT_MISSING = "text_missing"
"""The "text missing" condition (SDUMC): the real text is absent; audio, vision and,
when the data has one, the pseudo text are present."""

ALL_STREAMS = "all_streams"
"""Every stream present: text, audio, vision and the pseudo text. The batches SDUMC
trains on (its two flows are built inside the model)."""

NAMED_CONDITIONS = {
    TEXT_MISSING: ("audio", "vision", PSEUDO_TEXT),
    ALL_STREAMS: (*MODALITIES, PSEUDO_TEXT),
}
"""Conditions beyond the paper's seven, by name -> the streams they keep."""


def condition_modalities(condition: str) -> tuple[str, ...]:
    """Returns the streams present under a test condition such as "la".

    The paper's codes (letters l, a, v in any order) keep the listed modalities
    and never the pseudo text; the named conditions of `NAMED_CONDITIONS`
    ("text_missing", "all_streams") keep the streams listed there. A stream that
    a dataset does not have is simply not there (e.g. "text_missing" on data
    without a pseudo text keeps audio and vision).

    Raises:
        ValueError: the condition is neither one of `CONDITIONS` (any letter
            order is accepted, e.g. "al") nor a named condition.

    Example:

    ```python
    condition_modalities("la")  # ("text", "audio")
    condition_modalities("text_missing")  # ("audio", "vision", "pseudo_text")
    ```
    """
    if not isinstance(condition, str) or not condition:
        raise ValueError(
            f"A test condition is a non-empty string of the letters l, a, v "
            f"(e.g. 'la') or one of {tuple(NAMED_CONDITIONS)}; received "
            f"{condition!r}."
        )
    if condition.lower() in NAMED_CONDITIONS:
        return NAMED_CONDITIONS[condition.lower()]
    letters = condition.lower()
    unknown = sorted(set(letters) - set(MODALITY_CODES))
    if unknown or len(set(letters)) != len(letters):
        raise ValueError(
            f"Unknown test condition {condition!r}: use each of the letters l "
            f"(text), a (audio), v (vision) at most once, e.g. one of {CONDITIONS}, "
            f"or one of the named conditions {tuple(NAMED_CONDITIONS)}."
        )
    return tuple(MODALITY_CODES[c] for c in "lav" if c in letters)


def parse_conditions(text: str) -> tuple[str, ...]:
    """Parses a list of test conditions: "all" (the seven of `CONDITIONS`),
    "none" (or "") or comma-separated codes such as "l,la" (braces allowed:
    "{l},{la}"); letter codes come back in the paper's order ("al" -> "la").

    Raises:
        ValueError: an unknown condition (`condition_modalities`'s message).

    Example:

    ```python
    parse_conditions("l, al")  # ("l", "la")
    parse_conditions("text_missing")  # ("text_missing",)
    ```
    """
    text = text.strip().lower()
    if text == "all":
        return CONDITIONS
    if text in ("none", ""):
        return ()
    conditions = []
    for item in text.split(","):
        item = item.strip().strip("{}").replace(",", "")
        condition_modalities(item)
        conditions.append("".join(c for c in "lav" if c in item) or item)
    return tuple(conditions)

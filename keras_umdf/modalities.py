"""Names of the modalities and of the paper's test conditions.

The model, the data pipeline and the evaluation protocol all key modality arrays by the
long names below; test conditions use the paper's one-letter codes.
"""

MODALITIES = ("text", "audio", "vision")
"""The three modalities, in the paper's order L, A, V."""

MODALITY_CODES = {"l": "text", "a": "audio", "v": "vision"}
"""One-letter code of each modality, as in the paper's tables ({l}, {a}, {v})."""

CONDITIONS = ("l", "a", "v", "la", "lv", "av", "lav")
"""The seven inter-modality test conditions of Table 1; "lav" is the complete one."""

INCOMPLETE_CONDITIONS = CONDITIONS[:-1]
"""The six incomplete conditions whose mean is the paper's "Avg." column."""


def condition_modalities(condition: str) -> tuple[str, ...]:
    """Returns the modalities present under a test condition such as "la".

    Raises:
        ValueError: the condition is not one of `CONDITIONS` (any letter order is
            accepted, e.g. "al").
    """
    if not isinstance(condition, str) or not condition:
        raise ValueError(
            f"A test condition is a non-empty string of the letters l, a, v "
            f"(e.g. 'la'); received {condition!r}."
        )
    letters = condition.lower()
    unknown = sorted(set(letters) - set(MODALITY_CODES))
    if unknown or len(set(letters)) != len(letters):
        raise ValueError(
            f"Unknown test condition {condition!r}: use each of the letters l "
            f"(text), a (audio), v (vision) at most once, e.g. one of {CONDITIONS}."
        )
    return tuple(MODALITY_CODES[c] for c in "lav" if c in letters)

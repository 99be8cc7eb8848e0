"""The full model and the ablations of the paper's Table 3, as model arguments."""

from __future__ import annotations

import re

VARIANTS = {
    "UMDF": {},
    "w/o L_fea": {"lambda_fea": 0.0},
    "w/o L_logits": {"lambda_logits": 0.0},
    "w/o MCIM": {"attention": "self"},
    "w/o DFIM": {"fusion": "concat"},
    "w/o distillation": {"lambda_fea": 0.0, "lambda_logits": 0.0},
}
"""Variant name -> the `UMDF` arguments that make it.

"UMDF" is the full model; the next four are the paper's Table 3 ablations
(without the feature distillation L_fea, without the logits distillation
L_logits, MCIM's crossmodal attention replaced by self-attention, DFIM replaced
by concatenation); "w/o distillation" drops both distillation terms, which is
plain training of the same network on the same two-view batches: the baseline
that shows what self-distillation buys.
"""

VARIANT_NAMES = tuple(VARIANTS)


def variant_arguments(name: str) -> dict:
    """The `UMDF` arguments of a variant (a copy).

    Raises:
        ValueError: `name` is not one of `VARIANT_NAMES`.
    """
    if name not in VARIANTS:
        raise ValueError(f"Unknown variant {name!r}; use one of {list(VARIANT_NAMES)}.")
    return dict(VARIANTS[name])


def variant_slug(name: str) -> str:
    """A file-name-safe form of a variant name: "w/o L_fea" -> "wo-l_fea"."""
    slug = name.lower().replace("w/o", "wo")
    return re.sub(r"[^a-z0-9_]+", "-", slug).strip("-")


def parse_variants(text: str) -> tuple[str, ...]:
    """Parses a comma-separated list of variants for the command line.

    Accepts the names or their slugs ("umdf,wo-l_fea"), and "all".

    Raises:
        ValueError: an unknown or repeated name.
    """
    if text.strip().lower() == "all":
        return VARIANT_NAMES
    by_slug = {variant_slug(n): n for n in VARIANT_NAMES}
    names = []
    for item in text.split(","):
        item = item.strip()
        name = item if item in VARIANTS else by_slug.get(variant_slug(item))
        if name is None:
            raise ValueError(
                f"Unknown variant {item!r}; use 'all' or names among "
                f"{list(VARIANT_NAMES)} (or {sorted(by_slug)})."
            )
        if name in names:
            raise ValueError(f"Variant {name!r} is listed twice in {text!r}.")
        names.append(name)
    if not names:
        raise ValueError(f"No variant in {text!r}.")
    return tuple(names)

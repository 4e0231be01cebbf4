"""The keys of a data chunk (recdsl.data.source.Chunk.arrays) besides the features' own.

    FEATURE            the feature's values (the key is the feature name = the model input name)
    FEATURE#len        multi/sequence: [n] int32 number of valid positions
    FEATURE#missing    id/category: [n] bool, the value was null or empty (-> the OOV row)
    label:OUTPUT       [n] float32 labels of an output
    extra:COLUMN       a column passed through untouched (predict's id columns)

The serving function builds the same raw dict (recdsl.serving), so it uses these keys too.
"""
from __future__ import annotations

LENGTH_SUFFIX = "#len"
MISSING_SUFFIX = "#missing"
LABEL_PREFIX = "label:"
EXTRA_PREFIX = "extra:"


def length_key(feature: str) -> str:
    return feature + LENGTH_SUFFIX


def missing_key(feature: str) -> str:
    return feature + MISSING_SUFFIX


def label_key(output: str) -> str:
    return LABEL_PREFIX + output


def extra_key(column: str) -> str:
    return EXTRA_PREFIX + column


def label_of(key: str) -> str | None:
    """The output a label key belongs to, or None for any other key."""
    return key[len(LABEL_PREFIX):] if key.startswith(LABEL_PREFIX) else None


def extra_of(key: str) -> str | None:
    """The column an extra key passes through, or None for any other key."""
    return key[len(EXTRA_PREFIX):] if key.startswith(EXTRA_PREFIX) else None


def is_bookkeeping(key: str) -> bool:
    """A list's lengths or a value's missing flags: fed to the preprocessing with the features."""
    return key.endswith(LENGTH_SUFFIX) or key.endswith(MISSING_SUFFIX)

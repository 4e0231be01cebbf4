"""The op registry and its vocabulary: value types, parameters, counting rules, row layout, heads.

`load()` imports every op family once (each module registers its ops on import) and
returns the complete registry, name -> OpSpec.
"""
from __future__ import annotations


def load() -> dict:
    """Every registered op, name -> OpSpec."""
    from recdsl.ops import (  # noqa: F401
        attention_blocks,
        crossing,
        factorization,
        features,
        gating,
        interaction,
        masking_mlps,
        multitask,
        outputs,
        personalized,
        pooling,
        recurrent,
        sequences,
        wide,
    )
    from recdsl.ops.registry import REGISTRY

    return REGISTRY

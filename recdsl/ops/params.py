"""An op's arguments: their kinds, defaults, allowed values and bounds.

The checker validates an argument from these fields alone (recdsl.checker.arguments):
`low`/`high` bound a number, or each item of a numeric list (an int_list with low=1 holds sizes:
"sizes must be positive"); `finite` (the default) refuses infinities and NaN in a number or a
numeric list; a list has at least `min_items` items
(an empty one is reported with `empty_hint`, else `doc`); a `str` has at least `min_length`
characters; a `str` with `file="vocab"` is the path of a vocabulary file (recdsl.ops.vocab),
relative to the spec, read and counted.
`to_layer` says whether the emitter passes the argument to the op's layer.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

REQUIRED = object()

#: Argument kinds. ref: a node name; table: a feature name or a nested id(...)/category(...); call: a nested op call.
ARG_KINDS = ("int", "float", "bool", "str", "enum", "int_list", "num_list", "str_list", "ref", "table", "call")

#: What a `str` argument with `file=` names: vocab, a vocabulary file (one value per line).
FILE_KINDS = ("vocab",)
#: Kinds that hold numbers, which `finite` applies to.
NUMBER_KINDS = ("int", "float", "int_list", "num_list")


@dataclass(frozen=True)
class Param:
    name: str
    kind: str
    default: Any = REQUIRED
    choices: tuple = ()
    low: float | None = None
    high: float | None = None
    calls: tuple[str, ...] = ()
    doc: str = ""
    min_items: int = 1
    empty_hint: str = ""
    file: str | None = None
    to_layer: bool = True  # passed to the layer's constructor (False: it configures the spec, e.g. share=)
    finite: bool = True  # numbers (and numeric list items) must be finite: no inf, no NaN
    min_length: int = 0  # a str has at least this many characters (1: not empty)

    def __post_init__(self):
        if self.file is not None and (self.kind != "str" or self.file not in FILE_KINDS):
            raise ValueError(f"{self.name}: file= is one of {', '.join(FILE_KINDS)}, on a str argument")
        if self.min_length and self.kind != "str":
            raise ValueError(f"{self.name}: min_length= is for str arguments")

    @property
    def required(self) -> bool:
        return self.default is REQUIRED


#: `share=other`: reuse the weights of another node: of the same op and arguments, the whole layer
#: (checked to have weights of the same shapes); between attention ops (attention,
#: traditional_attention, self_attention, cross_attention, or one of them with other arguments),
#: the weights they have in common by role (recdsl.ops.attention_weights), of equal shapes.
#: One declaration for every op that allows it.
SHARE = Param("share", "ref", None, to_layer=False,
              doc="reuse the weights of another node: all of them (same op and arguments), or, between "
                  "attention ops, those of the same role (key, key_bias, query, ...), which must have the "
                  "same shapes")

#: `alpha_init=`: the initial slope of a learned activation (prelu, dice), for every op with an activation choice.
ALPHA_INIT = Param("alpha_init", "float", 0.0,
                   doc="initial slope alpha of prelu/dice: 0 starts as a ReLU (DIN); the DIN-FCN article's "
                       "PReLU starts at 0.1")

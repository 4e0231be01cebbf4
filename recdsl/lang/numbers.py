"""Number literals: `100_000`, `20k`, `1.5M`, `0.1`, `1e-3`, and the range every number of a spec lies in.

A spec's integers fit in 64 bits (|n| <= MAX_INT) and its floats are finite 64-bit floats that a
nonzero literal does not underflow to zero. Anything else is refused where it is written, by the
.rec parser and the YAML loader alike, before a digit string thousands long is ever converted.
"""
from __future__ import annotations

import math
from decimal import Decimal, localcontext

MAX_INT = 2**63 - 1
#: Digits an integer literal may have before it is surely above MAX_INT (19 digits reach 9.2e18).
_MAX_INT_DIGITS = len(str(MAX_INT))
_SCALES = {"k": 1_000, "M": 1_000_000}


class NumberOutOfRange(ValueError):
    """A literal outside the range numbers of a spec lie in; `message` and `hint` say which way."""

    def __init__(self, message: str, hint: str):
        super().__init__(message)
        self.message, self.hint = message, hint


def too_large(text: str) -> NumberOutOfRange:
    shown = text if len(text) <= 24 else f"{text[:12]}…{text[-6:]} ({len(text):,} characters)"
    return NumberOutOfRange(f"number too large: {shown}",
                            f"integers are at most {MAX_INT:,} (2^63 - 1) and numbers at most about 1.8e308")


def parse_number(text: str) -> int | float:
    """`100_000` -> 100000, `20k` -> 20000, `1.5M` -> 1500000, `0.1` -> 0.1. A scaled literal that is
    whole is an int (`1.001k` -> 1001, computed exactly). Raises NumberOutOfRange."""
    body = text.replace("_", "")
    scale = _SCALES.get(body[-1:], 1)
    if scale != 1:
        body = body[:-1]
    if not any(c in body for c in ".eE"):
        if len(body.lstrip("-").lstrip("0")) > _MAX_INT_DIGITS:
            raise too_large(text)
        return checked_int(int(body) * scale, text)
    value = float(body) * scale
    if scale != 1 and math.isfinite(value) and value != 0:
        exact = _scaled(body, scale)
        if exact is not None:
            if exact == exact.to_integral_value() and abs(exact) <= MAX_INT:
                return int(exact)
            value = float(exact)
    return checked_float(value, text)


def tidy_spelling(literal: str) -> str:
    """How `recdsl fmt` writes a literal the author wrote: as written (`1_000`, `1e-4`, `0.10`, `007`,
    `1e+3`, `20k` keep their digits, underscores, zeros and signs), except that an exponent `E` is
    written `e`, as black does. The result reads back to the same value."""
    return literal.replace("E", "e")


def _scaled(body: str, scale: int) -> Decimal | None:
    """body * scale in decimal, so `1.001k` is exactly 1001 (in floats it is 1000.9999999999999) and
    `1.0001k` the float nearest 1000.1."""
    with localcontext() as ctx:
        ctx.prec = len(body) + 8  # enough for the product to be exact
        try:
            return Decimal(body) * scale
        except ArithmeticError:
            return None


def checked_int(value: int, text: str) -> int:
    if abs(value) > MAX_INT:
        raise too_large(text)
    return value


def checked_float(value: float, text: str) -> float:
    if math.isnan(value):
        raise NumberOutOfRange(f"`{text}` is not a number", "write a finite number")
    if math.isinf(value):
        raise too_large(text)
    if value == 0 and any(c in "123456789" for c in _mantissa(text)):
        raise NumberOutOfRange(f"number too small: {text} is below the smallest float (about 5e-324) "
                               "and would be read as 0", "write 0, or a larger number")
    return value


def _mantissa(text: str) -> str:
    return text.lower().split("e", 1)[0]

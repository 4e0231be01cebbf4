"""Read a spec file in either form (.rec text or .yaml) into the AST."""
from __future__ import annotations

import codecs
from pathlib import Path

from recdsl.lang import ast
from recdsl.lang.errors import SpecError, SpecErrors
from recdsl.lang.span import Span

YAML_SUFFIXES = (".yaml", ".yml")


def read_spec_text(path: str | Path) -> str:
    """The text of a spec file (UTF-8, an optional byte order mark dropped).

    Raises OSError when the file cannot be read, and SpecErrors with one error at the first bad
    byte (file:line:col, with its byte offset) when the file is not UTF-8."""
    path = Path(path)
    data = path.read_bytes()
    body = data[len(codecs.BOM_UTF8):] if data.startswith(codecs.BOM_UTF8) else data
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _not_utf8(str(path), data, body, exc) from None


def _not_utf8(file: str, data: bytes, body: bytes, exc: UnicodeDecodeError) -> SpecErrors:
    offset = exc.start + len(data) - len(body)  # in the file, counting a byte order mark
    line = body.count(b"\n", 0, exc.start) + 1
    line_start = body.rfind(b"\n", 0, exc.start) + 1
    column = len(body[line_start:exc.start].decode("utf-8", errors="replace")) + 1
    error = SpecError(Span.point(file, line, column),
                      f"the file is not UTF-8 text: byte 0x{body[exc.start]:02x} at offset {offset} "
                      f"(line {line}) cannot be decoded",
                      "save the spec as UTF-8 text (e.g. iconv -f latin1 -t utf-8 old.rec > new.rec)")
    return SpecErrors([error], {file: body.decode("utf-8", errors="replace")})


def read_sources(path: str | Path) -> dict[str, str]:
    return {str(Path(path)): read_spec_text(path)}


def load_spec(path: str | Path) -> ast.Spec:
    """Raises OSError when the file cannot be read, SpecErrors when it is not UTF-8 or does not parse."""
    path = Path(path)
    text = read_spec_text(path)
    if path.suffix.lower() in YAML_SUFFIXES:
        from recdsl.lang.yaml_load import load_yaml

        return load_yaml(text, str(path))
    from recdsl.lang.parser import parse

    return parse(text, str(path))

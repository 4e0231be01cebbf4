"""Mutated specs from the bundled ones: byte, token and structure edits, huge and tiny numbers,
deep nesting, long lines and unicode. Seeded and deterministic: case `i` of seed `s` is the same
bytes on every machine and run (`random.Random` seeded with the text "s:i"), given the same
bundled specs (specs/*.rec, examples/movielens/*.rec).

    for case in cases(seed=0, count=1000): case.data  # bytes of a .rec file
    case(0, 4711, "small").data                        # one case again
"""
from __future__ import annotations

import random
import re
from dataclasses import dataclass
from pathlib import Path

from recdsl.ops import load

ROOT = Path(__file__).resolve().parents[2]
SOURCES = tuple(sorted((ROOT / "specs").glob("*.rec")) + sorted((ROOT / "examples" / "movielens").glob("*.rec")))
VOCAB_FILES = (ROOT / "specs" / "genres.txt",)

_REGISTRY = load()
WORDS = sorted({*_REGISTRY, *(p.name for op in _REGISTRY.values() for p in op.params),
                *(str(c) for op in _REGISTRY.values() for p in op.params for c in p.choices),
                "model", "feature", "group", "pool", "gate", "block", "output", "true", "false"})
NUMBERS = ["0", "-0", "1", "-1", "2", "3", "0.0", "0.5", "-0.5", "1.0", "1e-3", "1e-320", "5e-324", "1e308",
           "1.7976931348623157e308", "1e309", "-1e309", "1e999", "20k", "1.5M", "1000000M", "999_999_999_999",
           "2147483647", "2147483648", "4294967296", "9223372036854775807", "9223372036854775808", "100000",
           "0.1", "1e16", "1_0", "1__0", "1e+5", "1E5", "2.5k", "1e3M", "0.0001k"]
LITERALS = ["[]", "[1, 2]", '"x"', '""', '"genres.txt"', "()", ",", "true", "false", "[[]]", '["a", "a"]']
STRINGS = ["", "x", "\\n", '\\"', "\\\\", "genres.txt", "/dev/zero", "/dev/null", "/dev/urandom", "/", ".",
           "..", "/proc/self/status", "genres.txt\x00", "\x00", "\u202e\u0301\U0001f600", "\u2028\x85\x0c",
           "é" * 5, "[UNK]", "^", " ", "\t"]
UNICODE = ["é", "ß", "\u0301", "\u200b", "\u202e", "\ufeff", "\U0001f600", "\u2028", "\x85", "\x0c", "\x0b",
           "\r", "\x00", "\x7f", "中文", "\U00010000", "\ufffd", "ﬁ", "Ａ", "\u00a0"]
INTERESTING = b'()[],=:"#\\\n\t _-.0123456789kMeE'

TOKEN = re.compile(r'[A-Za-z_][A-Za-z0-9_]*|-?\d[\d_]*(\.\d[\d_]*)?([eE][+-]?\d+)?[kM]?|"(\\.|[^"\\\n])*"')
NUMBER = re.compile(r"(?<![A-Za-z0-9_])-?\d[\d_]*(\.\d[\d_]*)?([eE][+-]?\d+)?[kM]?(?![A-Za-z0-9_])")
STRING = re.compile(r'"(\\.|[^"\\\n])*"')
STATEMENT = re.compile(r"^(feature|group|pool|gate|block|output)\s+([A-Za-z_][A-Za-z0-9_]*)", re.MULTILINE)


@dataclass(frozen=True)
class Case:
    seed: int
    index: int
    source: Path  # the bundled spec it was made from
    edits: tuple[str, ...]  # the mutations applied, in order
    data: bytes
    profile: str = "full"

    @property
    def label(self) -> str:
        return f"{self.profile} seed {self.seed} case {self.index} ({self.source.name}: {', '.join(self.edits)})"


@dataclass(frozen=True)
class Sizes:
    """How big the big edits get: digits of huge numbers, characters of long strings and names,
    repeats (features, references, list items) and nesting depths."""

    digits: tuple[int, ...]
    string_lengths: tuple[int, ...]
    counts: tuple[int, ...]
    depths: tuple[int, ...]


#: full: what bench/fuzz_specs.py runs (past graphviz's 16,384-character strings, past the checker's
#: nesting limit, thousands of statements); small: the CI suite's, the same edits at a tenth of the cost.
PROFILES = {
    "full": Sizes(digits=(20, 40, 310, 400, 1000, 4300, 4301, 5000),
                  string_lengths=(100, 1000, 16_383, 16_384, 16_385, 40_000),
                  counts=(10, 100, 500, 2000, 3000), depths=(10, 100, 500, 1100, 1300, 3000)),
    "small": Sizes(digits=(20, 40, 310, 400, 4301), string_lengths=(100, 1000, 16_385),
                   counts=(10, 100, 300), depths=(10, 100, 300)),
}


def cases(seed: int, count: int, start: int = 0, profile: str = "full"):
    """Cases start .. start+count-1 of `seed`."""
    for index in range(start, start + count):
        yield case(seed, index, profile)


def case(seed: int, index: int, profile: str = "full") -> Case:
    sizes = PROFILES[profile]
    rng = random.Random(f"{seed}:{index}")
    source = rng.choice(SOURCES)
    text = _TEXTS[source]
    edits = []
    for _ in range(rng.choice((1, 1, 1, 2, 2, 3))):
        name = rng.choice(_WEIGHTED)
        text = EDITS[name](rng, text, sizes)
        edits.append(name)
    data = text.encode("utf-8", errors="surrogatepass")
    if rng.random() < 0.08:
        name = rng.choice(BYTE_EDITS)
        data = _BYTE_EDITS[name](rng, data)
        edits.append(name)
    return Case(seed, index, source, tuple(edits), data, profile)


# --- text edits ---------------------------------------------------------------------------

def _span(rng, text, pattern):
    found = list(pattern.finditer(text))
    return rng.choice(found) if found else None


def _sub(text, match, new):
    return text[:match.start()] + new + text[match.end():]


def replace_token(rng, text, sizes):
    m = _span(rng, text, TOKEN)
    if m is None:
        return text
    tokens = [t.group() for t in TOKEN.finditer(text)][:80]
    return _sub(text, m, rng.choice(WORDS + LITERALS + NUMBERS + tokens))


def delete_token(rng, text, sizes):
    m = _span(rng, text, TOKEN)
    return text if m is None else _sub(text, m, "")


def duplicate_token(rng, text, sizes):
    m = _span(rng, text, TOKEN)
    return text if m is None else _sub(text, m, m.group() + rng.choice([" ", ", ", "", "="]) + m.group())


def replace_punctuation(rng, text, sizes):
    spots = [i for i, c in enumerate(text) if c in "()[],=:"]
    if not spots:
        return text
    at = rng.choice(spots)
    return text[:at] + rng.choice(["", "(", ")", "[", "]", ",", "=", ":", ",,", "()", "[]"]) + text[at + 1:]


def add_argument(rng, text, sizes):
    opens = [m.end() for m in re.finditer(r"\(", text)]
    if not opens:
        return text
    at = rng.choice(opens)
    value = rng.choice(WORDS + LITERALS + NUMBERS + [f'"{rng.choice(STRINGS)}"'])
    return text[:at] + f"{rng.choice(WORDS)}={value}, " + text[at:]


def huge_number(rng, text, sizes):
    m = _span(rng, text, NUMBER)
    if m is None:
        return text
    digits = rng.choice(sizes.digits)
    body = str(rng.randint(1, 9)) + "".join(rng.choice("0123456789") for _ in range(digits - 1))
    shape = rng.choice(["int", "neg", "float", "exp", "suffix", "underscored"])
    new = {"int": body, "neg": "-" + body, "float": body + ".5", "exp": f"1e{body[:rng.randint(3, 12)]}",
           "suffix": body + rng.choice("kM"), "underscored": "_".join(body[i:i + 3] for i in range(0, 60, 3))}[shape]
    return _sub(text, m, new)


def odd_number(rng, text, sizes):
    m = _span(rng, text, NUMBER)
    return text if m is None else _sub(text, m, rng.choice(NUMBERS))


def odd_string(rng, text, sizes):
    m = _span(rng, text, STRING)
    if m is None:
        return text
    choice = rng.random()
    if choice < 0.5:
        body = rng.choice(STRINGS)
    elif choice < 0.8:
        body = rng.choice(UNICODE).replace("\r", "\\n") * rng.randint(1, 50)
    else:
        body = rng.choice("ab\u00e9\U0001f600") * rng.choice(sizes.string_lengths)
    body = body.replace('"', '\\"').replace("\n", "\\n")
    return _sub(text, m, f'"{body}"')


def unicode_insert(rng, text, sizes):
    at = rng.randint(0, len(text))
    return text[:at] + rng.choice(UNICODE) * rng.randint(1, 3) + text[at:]


def long_name(rng, text, sizes):
    names = list(STATEMENT.finditer(text))
    if not names:
        return text
    old = rng.choice(names).group(2)
    new = old + "_" + "x" * rng.choice(sizes.string_lengths)
    return re.sub(rf"(?<![A-Za-z0-9_]){re.escape(old)}(?![A-Za-z0-9_])", new, text)


def long_line(rng, text, sizes):
    """Every statement on one line (newlines are not significant), comments dropped."""
    code = re.sub(r"#[^\n]*", "", text)
    return re.sub(r"\s*\n\s*", " ", code) + rng.choice(["", "\n"])


def long_list(rng, text, sizes):
    lists = list(re.finditer(r"\[([^\[\]\n]*)\]", text))
    if not lists:
        return text
    m = rng.choice(lists)
    items = m.group(1).split(",")
    return text[:m.start(1)] + ",".join(items * rng.choice(sizes.counts)) + text[m.end(1):]


def deep_nesting(rng, text, sizes):
    tokens = [t for t in TOKEN.finditer(text) if not t.group()[0] == '"']
    if not tokens:
        return text
    m = rng.choice(tokens)
    depth = rng.choice(sizes.depths)
    opener, closer = rng.choice([("[", "]"), ("concat(", ")"), ("avg(", ")"), ("mlp(", ", units=[4])")])
    return _sub(text, m, opener * depth + m.group() + closer * depth)


def deep_chain(rng, text, sizes):
    """A chain of `depth` blocks each feeding the next, then the output reads the last."""
    names = [m.group(2) for m in STATEMENT.finditer(text) if m.group(1) == "feature"]
    if not names:
        return text
    depth = rng.choice(sizes.depths)
    first = rng.choice(names)
    op = rng.choice(["concat({})", "mlp({}, units=[4])", "cross({}, layers=1)", "avg({})"])
    lines = [f"block chain0 = {op.format(first)}"]
    lines += [f"block chain{i} = {op.format(f'chain{i - 1}')}" for i in range(1, depth)]
    return text + "\n" + "\n".join(lines) + f"\noutput chain_out = sigmoid(chain{depth - 1})\n"


def many_features(rng, text, sizes):
    features = [m for m in re.finditer(r"^feature\s+(\w+)\s*:[^\n]*$", text, re.MULTILINE)]
    if not features:
        return text
    m = rng.choice(features)
    count = rng.choice(sizes.counts)
    copies = [m.group().replace(m.group(1), f"{m.group(1)}_{i}", 1) for i in range(count)]
    use = rng.random() < 0.5
    tail = f"\nblock many = concat([{', '.join(f'{m.group(1)}_{i}' for i in range(count))}])\n" if use else "\n"
    return text + "\n" + "\n".join(copies) + tail


def misspelt_references(rng, text, sizes):
    """Many mentions of one misspelt name (or of many), each in its own statement so each is reported."""
    names = [m.group(2) for m in STATEMENT.finditer(text)]
    if not names:
        return text
    wrong = rng.choice(names) + "x"
    count = rng.choice(sizes.counts)
    distinct = rng.random() < 0.3
    lines = [f"block misspelt{i} = mlp({wrong}{i if distinct else ''}, units=[4])" for i in range(count)]
    return text + "\n" + "\n".join(lines) + "\n"


def huge_table(rng, text, sizes):
    found = list(re.finditer(r"(buckets|size|max_tokens|dim|max_len|layers|heads|reduction)=(\d[\d_]*[kM]?)", text))
    if not found:
        return text
    m = rng.choice(found)
    value = rng.choice(["100_000", "1_000_000", "1000000M", "2147483647", "2147483648", "4e9", "10M", "100M",
                        "999999999999999999"])
    return text[:m.start(2)] + value + text[m.end(2):]


def duplicate_statement(rng, text, sizes):
    found = list(re.finditer(r"^(feature|group|pool|gate|block|output)[^\n]*$", text, re.MULTILINE))
    if not found:
        return text
    m = rng.choice(found)
    return text + "\n" + m.group() + "\n"


def delete_statement(rng, text, sizes):
    found = list(re.finditer(r"^(feature|group|pool|gate|block|output)[^\n]*$", text, re.MULTILINE))
    return text if not found else _sub(text, rng.choice(found), "")


def swap_lines(rng, text, sizes):
    lines = text.split("\n")
    i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
    lines[i], lines[j] = lines[j], lines[i]
    return "\n".join(lines)


def line_endings(rng, text, sizes):
    new = rng.choice(["\r\n", "\r", "\n\n", "\x0c\n", "\u2028", "\x85"])
    return text.replace("\n", new)


def truncate(rng, text, sizes):
    return text[:rng.randint(0, len(text))]


EDITS = {f.__name__: f for f in (
    replace_token, delete_token, duplicate_token, replace_punctuation, add_argument, huge_number, odd_number,
    odd_string, unicode_insert, long_name, long_line, long_list, deep_nesting, deep_chain, many_features,
    misspelt_references, huge_table, duplicate_statement, delete_statement, swap_lines, line_endings, truncate,
)}
#: How often each edit is drawn, relative to the others (cheap, varied edits more often).
WEIGHTS = {"replace_token": 6, "add_argument": 5, "huge_number": 4, "odd_number": 5, "odd_string": 4,
           "replace_punctuation": 3, "delete_token": 3, "duplicate_token": 2, "huge_table": 4}
_WEIGHTED = [name for name in EDITS for _ in range(WEIGHTS.get(name, 1))]


# --- byte edits (may break UTF-8) ---------------------------------------------------------

def _byte_insert(rng, data):
    at = rng.randint(0, len(data))
    run = bytes(rng.choice([rng.choice(INTERESTING), rng.randrange(256)]) for _ in range(rng.randint(1, 4)))
    return data[:at] + run + data[at:]


def _byte_delete(rng, data):
    at = rng.randint(0, len(data))
    return data[:at] + data[at + rng.randint(1, 4):]


def _byte_flip(rng, data):
    if not data:
        return data
    at = rng.randrange(len(data))
    return data[:at] + bytes([data[at] ^ (1 << rng.randrange(8))]) + data[at + 1:]


_BYTE_EDITS = {"byte_insert": _byte_insert, "byte_delete": _byte_delete, "byte_flip": _byte_flip}
BYTE_EDITS = sorted(_BYTE_EDITS)

_TEXTS = {path: path.read_text(encoding="utf-8") for path in SOURCES}

"""How fast is the front end on a large spec? Generates a spec with 1,000 features and 300
blocks and times parse, check and graph (best of N runs), next to a reference on the same
machine in the same run: lark's own LALR parse of the text alone (the floor for parse).

    python bench/check_speed.py [--features 1000] [--blocks 300] [--repeat 5]

Target: parse + check + graph under 1 s on a 2-core machine.
"""
from __future__ import annotations

import argparse
import time

from recdsl.checker.checker import check
from recdsl.graph import build_graph
from recdsl.lang.parser import _lark, parse


def make_spec(features: int, blocks: int) -> str:
    lines = ['model big "generated benchmark spec"']
    for i in range(features):
        kind = i % 4
        if kind == 0:
            lines.append(f"feature f{i} : id(buckets=10_000, dim=8)")
        elif kind == 1:
            lines.append(f"feature f{i} : category(size=100, dim=8)")
        elif kind == 2:
            lines.append(f"feature f{i} : numeric(boundaries=[1, 10, 100], dim=8)")
        else:
            lines.append(f"feature f{i} : sequence(of=f{i - 3}, max_len=20)")
    fields = [f"f{i}" for i in range(features) if i % 4 != 3]
    seqs = [f"f{i}" for i in range(features) if i % 4 == 3]
    for b in range(blocks):
        kind = b % 6
        chunk = fields[(b * 7) % len(fields):][:8] or fields[:8]
        members = ", ".join(chunk)
        if kind == 0:
            lines.append(f"pool p{b} = din(query={chunk[0]}, keys={seqs[b % len(seqs)]}, units=[16, 8])")
        elif kind == 1:
            lines.append(f"gate g{b} = senet([{members}], reduction=2)")
        elif kind == 2:
            lines.append(f"block b{b} = mlp([{members}, p{b - 2}], units=[32, 16], gate=poso(by=[{chunk[0]}]))")
        elif kind == 3:
            lines.append(f"block b{b} = cross(g{b - 2}, layers=2)")
        elif kind == 4:
            lines.append(f"block b{b} = fm(g{b - 3})")
        else:
            lines.append(f"block b{b} = concat(b{b - 3}, b{b - 2}, b{b - 1})")
    tops = [f"b{b}" for b in range(blocks) if b % 6 == 5]
    lines.append(f"output ctr = sigmoid(concat({', '.join(tops)}))")
    return "\n".join(lines) + "\n"


def best(fn, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--features", type=int, default=1000)
    ap.add_argument("--blocks", type=int, default=300)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    text = make_spec(args.features, args.blocks)
    _lark()  # grammar load is a one-off cost, timed separately below
    start = time.perf_counter()
    _lark.cache_clear()
    _lark()
    grammar_s = time.perf_counter() - start

    lark_s, _ = best(lambda: _lark().parse(text, start="start"), args.repeat)
    parse_s, spec = best(lambda: parse(text, "big.rec"), args.repeat)
    check_s, checked = best(lambda: check(spec), args.repeat)
    graph_s, graph = best(lambda: build_graph(checked), args.repeat)
    total = parse_s + check_s + graph_s

    print(f"spec: {args.features} features, {args.blocks} blocks, {len(text.splitlines())} lines, "
          f"{graph.number_of_nodes()} graph nodes, {graph.number_of_edges()} edges\n")
    print("| stage | seconds (best of %d) |" % args.repeat)
    print("| --- | ---: |")
    print(f"| grammar load (once per process) | {grammar_s:.3f} |")
    print(f"| reference: bare lark LALR parse, no AST | {lark_s:.3f} |")
    print(f"| parse (lark + AST with spans) | {parse_s:.3f} |")
    print(f"| check (names, types, shapes, params) | {check_s:.3f} |")
    print(f"| graph (networkx) | {graph_s:.3f} |")
    print(f"| **parse + check + graph** | **{total:.3f}** |")
    print(f"\ntarget < 1 s: {'met' if total < 1.0 else 'MISSED'}")


if __name__ == "__main__":
    main()

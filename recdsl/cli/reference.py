"""Print the generated op reference, or refresh it in docs/language.md (`--write`).

    python -m recdsl.cli.reference [--write]
"""
from __future__ import annotations

import sys
from pathlib import Path

from recdsl.ops.reference import generated, refresh


def main(argv: list[str]) -> None:
    doc = Path(__file__).resolve().parents[2] / "docs" / "language.md"
    if "--write" in argv:
        doc.write_text(refresh(doc), encoding="utf-8")
        print(f"wrote {doc}")
    else:
        print(generated())


if __name__ == "__main__":
    main(sys.argv[1:])

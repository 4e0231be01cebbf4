"""The editor's view of a spec: `recdsl lsp`, a language server over stdio (pygls).

Modules, each importing only those above it: positions (LSP positions <-> spans), partial
(parsing around broken statements), occurrences (every name, op and argument with its role),
analysis (one document version: problems, checked nodes, occurrences), hover, completion,
navigation (definition, references, rename, outline), server (the pygls wiring; the only module
that imports pygls). Nothing here imports Keras or builds a model.
"""
from __future__ import annotations

from recdsl.lsp.analysis import Analysis, analyse

__all__ = ["Analysis", "analyse"]

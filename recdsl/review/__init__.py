"""Reviewing a change to a spec: `recdsl diff OLD NEW`.

    diff.py     two checked specs -> SpecDiff (nodes added, removed, renamed, changed, affected)
    matching.py which old node is which new node (renames by structure, cascades included)
    text.py     SpecDiff -> terminal text, Markdown for a pull request, JSON (and back)
    picture.py  SpecDiff -> a diagram of the new spec with removed nodes as ghosts
"""

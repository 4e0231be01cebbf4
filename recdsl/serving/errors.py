"""What `export` and `describe` raise: members of the recdsl.errors family, defined apart from
the SavedModel code so that describing a signature never imports Keras."""
from __future__ import annotations

from recdsl.data.errors import DataError
from recdsl.errors import OutputExists


class ExportError(DataError):
    """A folder that cannot be exported, or an output it cannot be written to (exit 1, like
    recdsl.training.runs.RunError)."""


class ExportExists(OutputExists, ExportError):
    """The output folder is not empty and force was not given: a usage error (exit 2), and
    still an ExportError to a caller that catches those."""

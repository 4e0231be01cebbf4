"""One error family. Library code raises these; the CLI catches `RecdslError` once, prints
`render()` and exits with the error's `exit_code` (0 ok, 1 invalid spec/data/run, 2 usage)."""
from __future__ import annotations

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2


class RecdslError(Exception):
    """Base of every error a user can cause. `hint` says what to do about it."""

    exit_code = EXIT_INVALID

    def __init__(self, message: str = "", hint: str = ""):
        self.message, self.hint = message, hint
        super().__init__(self.render())

    def render(self) -> str:
        return f"{self.message}\n  hint: {self.hint}" if self.hint else self.message


class UsageError(RecdslError):
    """A mistake in how a command or function was called: a missing file, an existing output
    without force, an unknown format."""

    exit_code = EXIT_USAGE


class OutputExists(UsageError):
    """An output that exists and would be overwritten without force."""

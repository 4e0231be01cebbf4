"""Arrays filled chunk by chunk, for a cached split (recdsl.data.pipeline.Split.load).

Each key's array is allocated once for the expected row count and chunks are written into it,
so the data is held once (no list of chunks concatenated at the end, which holds it twice).
Pages of an array that are never written are never touched, so an overestimate costs no
memory; more rows than expected grow the arrays by half (one copy of what is held, then).
"""
from __future__ import annotations

import numpy as np

GROWTH = 1.5


class RowBuffers:
    def __init__(self, expected_rows: int):
        self.capacity = max(int(expected_rows), 1)
        self.rows = 0
        self._arrays: dict[str, np.ndarray] = {}

    def append(self, chunk: dict) -> None:
        """Write one chunk's arrays (equal first dimensions) after the rows held."""
        if not chunk:
            return
        n = len(next(iter(chunk.values())))
        if self.rows + n > self.capacity:
            self._grow(max(self.rows + n, int(self.capacity * GROWTH)))
        for key, value in chunk.items():
            held = self._arrays.get(key)
            if held is None or held.dtype != np.result_type(held.dtype, value.dtype):
                held = self._arrays[key] = self._allocated(value, held)
            held[self.rows:self.rows + n] = value
        self.rows += n

    def arrays(self) -> dict:
        """The rows written, as views of the held arrays."""
        return {k: v[:self.rows] for k, v in self._arrays.items()}

    def _allocated(self, value: np.ndarray, held: np.ndarray | None) -> np.ndarray:
        dtype = value.dtype if held is None else np.result_type(held.dtype, value.dtype)
        out = np.empty((self.capacity, *value.shape[1:]), dtype=dtype)
        if held is not None:
            out[:self.rows] = held[:self.rows]
        return out

    def _grow(self, capacity: int) -> None:
        self.capacity = capacity
        for key, held in self._arrays.items():
            grown = np.empty((capacity, *held.shape[1:]), dtype=held.dtype)
            grown[:self.rows] = held[:self.rows]
            self._arrays[key] = grown

"""Counter-based randomness: every random value is a pure function of (seed, table, column, block,
purpose). That is what makes any block reproducible alone — streaming, chunking and parallel workers
all give the same bytes."""

from __future__ import annotations

import hashlib

import numpy as np

BLOCK_ROWS = 1 << 16  # rows per block; part of the output's identity, like the seed


def stable_hash(*parts: object, bits: int = 64) -> int:
    """A hash that is the same in every process and Python version (unlike hash())."""
    text = "\x1f".join(str(p) for p in parts).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=bits // 8).digest(), "little")


def block_rng(seed: int, table: str, column: str, block: int | str, purpose: str = "") -> np.random.Generator:
    """A Philox generator keyed by the parts; blocks never share a stream."""
    key = stable_hash(seed, table, column, purpose, block, bits=128)
    return np.random.Generator(np.random.Philox(key=key))


def table_rng(seed: int, table: str, column: str, purpose: str) -> np.random.Generator:
    """For draws that must be the same in every block (e.g. where an outlier burst sits in time)."""
    return block_rng(seed, table, column, -1, purpose)

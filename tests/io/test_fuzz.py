"""Seeded hypothesis fuzzing of every reader (issue 15): mutated real files and random bytes
give a valid result or a typed SkellocError naming the file, never an untyped exception, an
allocation past the budget or a non-finite result (contract in ``reader_fuzz.py``).

The suite default stays small and fast; ``SKELLOC_FUZZ_EXAMPLES=2000`` runs a long local
fuzz, and ``python benchmarks/fuzz_readers.py`` prints the per-reader table.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reader_fuzz import OPS, READERS, TOKENS, FuzzReader, mutate, run_case

FUZZ = settings(max_examples=int(os.environ.get("SKELLOC_FUZZ_EXAMPLES", "25")), deadline=None,
                derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])

_MUTATION = st.tuples(st.sampled_from(OPS), st.integers(0, 1 << 16), st.integers(0, 1 << 16),
                      st.sampled_from(TOKENS))


def _run(reader: FuzzReader, data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        run_case(reader, data, Path(tmp))


@pytest.mark.parametrize("reader", READERS, ids=[r.name for r in READERS])
@FUZZ
@given(mutations=st.lists(_MUTATION, min_size=1, max_size=3))
def test_mutated_files(reader: FuzzReader, mutations: list[tuple[str, int, int, bytes]]) -> None:
    data = reader.seed
    for op, pos, arg, token in mutations:
        data = mutate(data, op, pos % (len(data) + 1), arg, token)
    _run(reader, data)


@pytest.mark.parametrize("reader", READERS, ids=[r.name for r in READERS])
@settings(FUZZ, max_examples=max(5, FUZZ.max_examples // 3))
@given(data=st.one_of(st.binary(max_size=300), st.text(max_size=300).map(str.encode)))
def test_random_content(reader: FuzzReader, data: bytes) -> None:
    _run(reader, data)


@FUZZ
@given(st.lists(st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=0,
                         max_size=151), min_size=0, max_size=3))
def test_pkummd_rows_of_any_width_and_magnitude(rows: list[list[float]]) -> None:
    text = "\n".join(" ".join(repr(v) for v in r) for r in rows).encode()
    reader = next(r for r in READERS if r.name == "pkummd skeleton")
    _run(reader, text)


def test_every_seed_reads() -> None:
    """The seeds are valid files, so the mutations start from the interesting side."""
    with tempfile.TemporaryDirectory() as tmp:
        assert {r.name: run_case(r, r.seed, Path(tmp)).status for r in READERS} == {
            r.name: "ok" for r in READERS}

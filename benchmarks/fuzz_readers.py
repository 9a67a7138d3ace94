"""Fuzz every skelloc reader and print a per-reader table (issue 15's closing-note table).

Each case applies 1-3 seeded byte mutations (see ``tests/io/reader_fuzz.py``) to a real seed
file of the reader, parses it, and checks the contract: only ``SkellocError`` subclasses escape,
traced allocations stay under the budget, no non-finite or implausible value is returned.

    python benchmarks/fuzz_readers.py --cases 500 --seed 0 [--markdown]

Exit status 1 when any case breaks the contract (the case's bytes are written to ``--keep``).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "io"))

from reader_fuzz import BUDGET_BYTES, OPS, READERS, TOKENS, mutate, run_case


def _case(rng: random.Random, seed: bytes) -> bytes:
    data = seed
    for _ in range(rng.randint(1, 3)):
        data = mutate(data, rng.choice(OPS), rng.randint(0, len(data)), rng.randint(0, 1 << 16),
                      rng.choice(TOKENS))
    return data


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cases", type=int, default=500, help="cases per reader")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--keep", type=Path, default=Path("fuzz-failures"),
                    help="folder for the bytes of failing cases")
    args = ap.parse_args(argv)
    rows = []
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        for k, reader in enumerate(READERS):
            rng = random.Random(f"{args.seed}:{reader.name}")
            statuses: Counter[str] = Counter()
            peak = seconds = 0.0
            for i in range(args.cases):
                data = _case(rng, reader.seed)
                try:
                    out = run_case(reader, data, Path(tmp))
                except AssertionError as err:
                    failures += 1
                    statuses["VIOLATION"] += 1
                    args.keep.mkdir(parents=True, exist_ok=True)
                    (args.keep / f"{k:02d}-{i:05d}-{reader.filename}").write_bytes(data)
                    print(f"violation: {err}", file=sys.stderr)
                    continue
                statuses[out.status] += 1
                peak, seconds = max(peak, out.peak), max(seconds, out.seconds)
            typed = ", ".join(f"{name} {n}" for name, n in sorted(statuses.items())
                              if name not in ("ok", "VIOLATION"))
            rows.append((reader.name, args.cases, statuses["ok"], typed or "-",
                         statuses["VIOLATION"], peak / 2**20, seconds * 1e3))
    print(f"cases per reader: {args.cases}, seed {args.seed}, allocation budget "
          f"{BUDGET_BYTES / 2**20:.0f} MiB (tracemalloc peak)\n")
    print("| reader | cases | valid | typed errors | contract violations | max peak MiB "
          "| max ms |")
    print("|---|---:|---:|---|---:|---:|---:|")
    for name, cases, ok, typed, bad, mib, ms in rows:
        print(f"| {name} | {cases} | {ok} | {typed} | {bad} | {mib:.1f} | {ms:.0f} |")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

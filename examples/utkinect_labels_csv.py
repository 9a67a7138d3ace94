"""Write UTKinect-Action3D's label file as a generic label table for `skelloc prepare labels`.

    python examples/utkinect_labels_csv.py ../shared/data/utkinect-v1 --hold-out s08 \\
        --out utkinect_labels.csv

UTKinect labels actions by frame id (inclusive); the joints files put frame ``first_id`` at
0 s of a 30 fps timeline (``skelloc.read``), so an action ``start end`` becomes
``start_s = (start - first_id) / 30`` and ``end_s = (end + 1 - first_id) / 30``.  The table has
the columns ``video,label,start_s,end_s,group`` (video = the joints file's stem, group = the
subject).  Subjects named by ``--hold-out`` are left out, so a model trained from the table has
never seen them.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("root", type=Path, help="utkinect-v1 folder (joints/, actionLabel*.txt)")
    p.add_argument("--labels", default="actionLabel_modified.txt")
    p.add_argument("--hold-out", default="", help="comma-separated subjects to leave out (s08)")
    p.add_argument("--out", type=Path, default=None, help="CSV file (default: stdout)")
    a = p.parse_args(argv)

    import skelloc
    from skelloc.io.utkinect import UTKINECT_FPS, read_utkinect_labels

    held = {s.strip() for s in a.hold_out.split(",") if s.strip()}
    table = read_utkinect_labels(a.root / a.labels)
    rows = []
    for name, actions in sorted(table.items()):
        subject = name.split("_")[0]
        path = a.root / "joints" / f"joints_{name}.txt"
        if subject in held or not path.is_file():
            continue
        first = int(skelloc.read(path).meta["first_frame_id"])
        for act in actions:
            rows.append([path.stem, act.label, f"{(act.start_id - first) / UTKINECT_FPS:.3f}",
                         f"{(act.end_id + 1 - first) / UTKINECT_FPS:.3f}", subject])
    out = open(a.out, "w", newline="") if a.out else sys.stdout  # noqa: SIM115
    try:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["video", "label", "start_s", "end_s", "group"])
        writer.writerows(rows)
    finally:
        if a.out:
            out.close()
    print(f"{len(rows)} actions of {len({r[0] for r in rows})} recordings", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

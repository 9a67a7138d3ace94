"""Check the Kinect v2 depth-camera projection on the PKU-MMD recordings.

    python experiments/projection_check.py ../shared/data/pkummd-v1

Projects every tracked joint of every recording with ``skelloc.skeleton.project.KINECT_V2_DEPTH``
and prints the share inside the 512 x 424 frame, pixel percentiles and the horizontal field of
view the focal length implies (docs/skeleton.md, "2D models").
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np

from skelloc.skeleton.project import KINECT_V2_DEPTH, project_to_image


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("root", type=Path, help="pkummd-v1 folder (skeletons/*.npy)")
    a = p.parse_args(argv)
    cam = KINECT_V2_DEPTH
    us, vs = [], []
    for f in sorted((a.root / "skeletons").glob("*.npy")):
        uv = project_to_image(np.load(f).astype(np.float32), cam)
        ok = uv[..., 2] > 0
        us.append(uv[..., 0][ok])
        vs.append(uv[..., 1][ok])
    u, v = np.concatenate(us), np.concatenate(vs)
    inside = (u >= 0) & (u < cam.width) & (v >= 0) & (v < cam.height)
    out = {
        "joints": int(u.size),
        "inside_frame": round(float(inside.mean()), 6),
        "u_percentiles_0.1_50_99.9": [round(float(x), 1) for x in np.percentile(u, [0.1, 50, 99.9])],
        "v_percentiles_0.1_50_99.9": [round(float(x), 1) for x in np.percentile(v, [0.1, 50, 99.9])],
        "horizontal_fov_deg": round(2 * math.degrees(math.atan(cam.width / 2 / cam.fx)), 1),
    }
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

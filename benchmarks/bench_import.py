"""What starting nv12kit costs: ``import nv12kit`` and ``nv12kit --help`` against ``import numpy, PIL.Image``.

Target (house issue): each at most 2x the bare numpy + Pillow import, measured
side by side in one run. Every command runs in a fresh interpreter; rounds are
interleaved so that a busy machine slows all of them alike, and the median of
the rounds is reported. ``-X importtime`` adds the self-reported import time
of the same three, which excludes interpreter start-up.

    python benchmarks/bench_import.py [--repeat 15]
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import time

COMMANDS = {
    "import numpy, PIL.Image": [sys.executable, "-c", "import numpy, PIL.Image"],
    "import nv12kit": [sys.executable, "-c", "import nv12kit"],
    "nv12kit --help": [sys.executable, "-c", "import sys; sys.argv = ['nv12kit', '--help']; "
                       "from nv12kit.cli import main; main()"],
}
IMPORT_ONLY = {
    "import numpy, PIL.Image": "import numpy, PIL.Image",
    "import nv12kit": "import nv12kit",
    "nv12kit --help": "import nv12kit.cli",
}
TARGET = 2.0


def wall_seconds(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def importtime_seconds(statement: str) -> float:
    """The cumulative import time Python reports for the statement's top-level imports."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", statement], check=True,
                          capture_output=True, text=True)
    total = 0
    for line in done.stderr.splitlines():
        match = re.match(r"import time:\s+\d+ \|\s+(\d+) \| (\S.*)$", line)
        if match and not match.group(2).startswith(" "):  # top-level entries only
            total += int(match.group(1))
    return total / 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15, help="interleaved rounds (default 15)")
    args = parser.parse_args()
    for command in COMMANDS.values():  # warm the file cache and the .pyc files
        wall_seconds(command)
    wall: dict[str, list[float]] = {name: [] for name in COMMANDS}
    reported: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(args.repeat):
        for name, command in COMMANDS.items():
            wall[name].append(wall_seconds(command))
            reported[name].append(importtime_seconds(IMPORT_ONLY[name]))
    base_wall = statistics.median(wall["import numpy, PIL.Image"])
    base_reported = statistics.median(reported["import numpy, PIL.Image"])
    print(f"{'command':28s} {'wall ms':>8s} {'ratio':>6s} {'importtime ms':>14s} {'ratio':>6s}  target <= {TARGET}x")
    missed = False
    for name in COMMANDS:
        w, r = statistics.median(wall[name]), statistics.median(reported[name])
        ratio_w, ratio_r = w / base_wall, r / base_reported
        flag = "" if name.startswith("import numpy") else ("  met" if max(ratio_w, ratio_r) <= TARGET else "  MISSED")
        missed |= flag == "  MISSED"
        print(f"{name:28s} {w * 1e3:8.1f} {ratio_w:6.2f} {r * 1e3:14.1f} {ratio_r:6.2f}{flag}")
    heavy = subprocess.run([sys.executable, "-c", "import sys, nv12kit; print([m for m in ('onnx', 'onnxruntime', "
                            "'matplotlib', 'ipywidgets', 'nbclient', 'tqdm') if m in sys.modules])"],
                           check=True, capture_output=True, text=True).stdout.strip()
    print(f"heavy modules loaded by 'import nv12kit': {heavy}")
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())

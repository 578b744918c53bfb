"""Run every benchmark, one after another, each in its own process: `make bench` or `python -m bench`.

Each prints its figures next to the limit it is measured against; copy them into
docs/benchmarks.md with the date and the machine.
"""

import subprocess
import sys
from pathlib import Path

BENCHMARKS = [
    "bench.server_upload",
    "bench.server_save",
    "bench.save_batch",
    "bench.server_list",
    "bench.coco_export",
    "bench.coco_import",
    "bench.ml_features",
    "bench.ml_train",
    "bench.workspace_bench",
    "bench.grid_cost",
    "bench.memory_worst",
    "bench.smart_tools",
    "bench.pages",
    "bench.camera",
    "bench.scale_out",
    "bench.learning_curves",
    "bench.suspicious_labels",
]


def main() -> int:
    failed = []
    for name in BENCHMARKS:
        if not (Path(__file__).parent / f"{name.split('.')[1]}.py").exists():
            continue
        print(f"\n=== {name}", flush=True)
        if subprocess.run([sys.executable, "-m", name]).returncode != 0:
            failed.append(name)
    if failed:
        print("failed:", ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

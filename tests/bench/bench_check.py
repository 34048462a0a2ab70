"""`healthtui check` benchmark: the ratchet's cost against a plain full scan of the same work tree.

Run on demand: `python tests/bench/bench_check.py [--files 3000] [--commits 60]`.
Measured side by side in one run on this machine, each as a fresh process (what CI or a pre-commit
hook pays): `scan` (every file parsed, nothing cached), `check` on an empty database (the base is
scanned and cached), `check` again (everything cached), `check` after one file changed, and `check`
on a database a `backfill` filled. Prints a markdown table of times and ratios to the scan.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from healthtui.demo import build_demo  # noqa: E402


def timed(cmd: list[str], ok: tuple[int, ...] = (0, 1)) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode not in ok:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=3000)
    parser.add_argument("--commits", type=int, default=60)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-check-") as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        demo = build_demo(root / "demo", commits=args.commits, files=args.files, reports=False)
        repo = demo.repo
        n_py = sum(1 for _ in repo.rglob("*.py"))
        print(
            f"demo: {n_py} .py files, {args.commits} commits, built in "
            f"{time.perf_counter() - started:.1f}s"
        )

        def hc(db: Path, *rest: str) -> list[str]:
            return [sys.executable, "-m", "healthtui", "--repo", str(repo), "--db", str(db), *rest]

        empty, filled = root / "empty.db", root / "filled.db"
        rows = [("scan (full parse, no cache)", timed(hc(empty, "scan"), ok=(0,)))]
        empty.unlink(missing_ok=True)
        rows.append(("check, empty database", timed(hc(empty, "check"))))
        rows.append(("check again (cached)", timed(hc(empty, "check"))))
        target = next(p for p in sorted(repo.rglob("*.py")) if ".git" not in p.parts)
        target.write_text(target.read_text() + "\n\nasync def bench():\n    return 1\n")
        rows.append(("check, one file edited", timed(hc(empty, "check"))))
        timed(hc(filled, "backfill"), ok=(0,))
        rows.append(("check after backfill", timed(hc(filled, "check"))))
        base = rows[0][1]
        print("\n| run | seconds | vs scan |\n| --- | ---: | ---: |")
        for name, seconds in rows:
            print(f"| {name} | {seconds:.2f} | {seconds / base:.2f}x |")


if __name__ == "__main__":
    main()

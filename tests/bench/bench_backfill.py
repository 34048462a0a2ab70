"""Backfill benchmark: healthtui's diff walk against a `git grep -c` loop over the same commits.

Run on demand: `python tests/bench/bench_backfill.py [--files 10000] [--commits 300]`.
Everything is measured side by side in this one run on this machine; the script prints times and
ratios as a markdown table (also written to tests/bench/out/backfill.md).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from healthtui.config import load_config  # noqa: E402
from healthtui.demo import build_demo  # noqa: E402
from healthtui.rules.engine import BUILTIN_RULES  # noqa: E402


def timed(cmd: list[str]) -> tuple[float, int]:
    """Wall time of a child process and its own peak RSS in KiB (from wait4, not the max of all
    children so far)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {proc.stderr.read().decode()}")
    return elapsed, usage.ru_maxrss


def healthtui(repo: Path, db: Path, config: Path, *args: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "healthtui",
        "--repo",
        str(repo),
        "--db",
        str(db),
        "--config",
        str(config),
        *args,
    ]


def git_grep_loop(repo: Path, shas: list[str], patterns: list[str]) -> float:
    """What a shell loop does: `git grep -c -E PATTERN SHA -- '*.py'` for each rule at each commit."""
    start = time.perf_counter()
    for sha in shas:
        for pattern in patterns:
            subprocess.run(
                ["git", "grep", "-c", "-E", pattern, sha, "--", "*.py"],
                cwd=repo,
                capture_output=True,
            )
    return time.perf_counter() - start


def parse_floor(repo: Path, shas: list[str]) -> tuple[int, float]:
    """How many distinct Python blobs an exact backfill must parse (the first tree, then every
    changed one), and the CPU seconds `ast.parse` alone takes for them in one process: the floor
    of any backfill that parses every file, whatever else it does."""
    import ast

    listed = subprocess.run(
        ["git", "ls-tree", "-r", shas[0]], cwd=repo, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    blobs = {line.split()[2] for line in listed if line.endswith(".py")}
    log = subprocess.run(
        [
            "git",
            "log",
            "--first-parent",
            "--raw",
            "--no-renames",
            "--format=",
            "-m",
            f"{shas[0]}..{shas[-1]}",
            "--",
            "*.py",
        ],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    blobs.update(
        line.split()[3] for line in log if line.startswith(":") and line.split()[3].strip("0")
    )
    data = subprocess.run(
        ["git", "cat-file", "--batch"],
        cwd=repo,
        input="\n".join(blobs).encode() + b"\n",
        capture_output=True,
        check=True,
    ).stdout
    sources, pos = [], 0
    while pos < len(data):
        end = data.index(b"\n", pos)
        size = int(data[pos:end].split()[2])
        sources.append(data[end + 1 : end + 1 + size])
        pos = end + 1 + size + 1
    gc.disable()
    start = time.process_time()
    for src in sources:
        with contextlib.suppress(SyntaxError, ValueError):
            ast.parse(src)
    spent = time.process_time() - start
    gc.enable()
    return len(sources), spent


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=10_000)
    ap.add_argument("--commits", type=int, default=300)
    ap.add_argument("--keep", type=Path, help="build (or reuse) the repository here")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="healthtui-bench-"))
    base = args.keep or work / "demo"
    if not (base / "repo").exists():
        t = time.perf_counter()
        build_demo(base, files=args.files, commits=args.commits, reports=False)
        print(
            f"built demo ({args.files} files, {args.commits} commits) in {time.perf_counter() - t:.1f}s"
        )
    repo = base / "repo"
    shas = subprocess.run(
        ["git", "rev-list", "--first-parent", "--reverse", "HEAD"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    cfg = load_config(repo)
    patterns = [r.pattern for r in cfg.rules.regex]
    text = (repo / "healthtui.toml").read_text()
    regex_only = work / "regex-only.toml"
    regex_only.write_text(
        text.replace(
            "[rules]", "[rules]\ndisable = " + repr(sorted(BUILTIN_RULES)).replace("'", '"'), 1
        )
    )
    full = work / "full.toml"
    full.write_text(text)

    # warm the page cache for both sides
    git_grep_loop(repo, shas[-1:], patterns)
    loop = git_grep_loop(repo, shas, patterns)

    rows = []
    t_regex, rss_regex = timed(healthtui(repo, work / "regex.db", regex_only, "backfill"))
    rows.append(("backfill, regex rules only (cold)", t_regex, rss_regex))
    t_full, rss_full = timed(healthtui(repo, work / "full.db", full, "backfill"))
    rows.append(("backfill, all rules (cold)", t_full, rss_full))

    warm_db = work / "warm.db"
    shutil.copy(work / "full.db", warm_db)
    con = sqlite3.connect(warm_db)
    con.executescript(
        "DELETE FROM metric_value; DELETE FROM finding_change; DELETE FROM current_finding;"
        "DELETE FROM snapshot;"
    )
    con.commit()
    con.close()
    t_warm, _ = timed(healthtui(repo, warm_db, full, "backfill"))
    rows.append(("backfill again after snapshots were dropped (warm facts cache)", t_warm, 0))
    t_rerun, _ = timed(healthtui(repo, work / "full.db", full, "backfill"))
    rows.append(("backfill again over the same range (nothing new)", t_rerun, 0))

    subprocess.run(["git", "worktree", "list"], cwd=repo, capture_output=True)
    victim = next(p for p in sorted(repo.rglob("*.py")) if "golden" not in str(p))
    victim.write_text(victim.read_text() + "\n# TODO: one more\n")
    env = dict(os.environ, GIT_AUTHOR_NAME="b", GIT_AUTHOR_EMAIL="b@x", GIT_COMMITTER_NAME="b")
    env["GIT_COMMITTER_EMAIL"] = "b@x"
    subprocess.run(["git", "commit", "-qam", "one more"], cwd=repo, env=env, check=True)
    t_collect, _ = timed(healthtui(repo, work / "full.db", full, "collect", "--quiet"))
    rows.append(("collect after one new commit", t_collect, 0))
    parsed, parse_cpu = parse_floor(repo, shas)

    lines = [
        f"Backfill benchmark: {args.files} files, {len(shas)} first-parent commits, "
        f"{len(patterns)} regex rule(s); {os.cpu_count()} cores.",
        "",
        f"Baseline: a `git grep -c -E` loop over every commit for the regex rules: {loop:.2f}s",
        "",
        "| what | seconds | vs git grep loop | peak RSS (MiB) |",
        "| --- | ---: | ---: | ---: |",
    ]
    for name, secs, rss in rows:
        ratio = f"{loop / secs:.1f}x faster" if secs else "-"
        lines.append(
            f"| {name} | {secs:.2f} | {ratio} | {rss / 1024:.0f} |"
            if rss
            else f"| {name} | {secs:.2f} | {ratio} | - |"
        )
    cores = os.cpu_count() or 1
    lines.append("")
    lines.append(
        f"Floor of an exact backfill: `ast.parse` alone of the {parsed:,} Python blobs it must "
        f"read takes {parse_cpu:.2f} s of CPU; on {cores} cores at best {parse_cpu / cores:.2f} s, "
        f"so no backfill that parses every file can beat {loop / (parse_cpu / cores):.0f}x here."
    )
    lines.append("")
    lines.append(
        f"Warm re-runs / cold: {t_rerun / t_full:.1%} (same range), {t_warm / t_full:.1%} "
        "(recomputed from the facts cache); target < 10%"
    )
    report = "\n".join(lines)
    print(report)
    out = HERE / "out"
    out.mkdir(exist_ok=True)
    (out / "backfill.md").write_text(report + "\n")
    record = {
        "files": args.files,
        "commits": len(shas),
        "grep_loop": loop,
        "regex": t_regex,
        "full": t_full,
        "warm": t_warm,
        "rerun": t_rerun,
        "collect": t_collect,
        "rss_regex_kib": rss_regex,
        "rss_full_kib": rss_full,
        "parsed": parsed,
        "parse_cpu": parse_cpu,
    }
    print("RESULT " + json.dumps(record))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

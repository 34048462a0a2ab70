"""Report ingest benchmark: `ingest_reports` on a 10,000-test pytest-json-report file against a
bare `json.load` of the same file. Target: ingest <= 3x json.load.

Run on demand: `python tests/bench/bench_ingest.py [--tests 10000] [--repeat 7]`.
The report is synthetic but shaped like pytest-json-report 1.5 output (keywords, three stages with
full-precision durations, crash/traceback/longrepr on failures, collectors listing every item,
warnings) over a real git repository holding the test files. Both sides are timed alternately in
this one run, each after a full `gc.collect()`; ingest pauses the cyclic collector while it
builds rows, so json.load is also shown with the collector paused. The next commit's run is the
second ingest into its database: its commit takes the WAL past SQLite's 1,000-page auto-checkpoint,
so its wall time includes the checkpoint's I/O. The script prints a markdown table (also written
to tests/bench/out/ingest.md).
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

import store  # noqa: E402
from healthtui.collect.gitrepo import GitRepo  # noqa: E402
from healthtui.collect.reports import ingest_reports, parse_report  # noqa: E402
from healthtui.config import Config  # noqa: E402
from healthtui.demo import RepoBuilder  # noqa: E402

FILES = 400
AREAS = ("orders", "payments", "accounts", "catalog", "shipping", "notifications", "search")
TOPICS = ("service", "models", "api", "views", "tasks", "handlers", "validation", "repository")
VERBS = ("creates", "rejects", "updates", "returns", "ignores", "retries", "sends", "lists")
NOUNS = ("order", "refund", "invoice", "customer", "address", "coupon", "webhook", "report")
CURRENCIES = ("eur", "usd", "gbp", "jpy")


def test_path(index: int) -> str:
    """Paths shaped like a real project's: unit and integration trees, a golden path."""
    area, topic = AREAS[index % len(AREAS)], TOPICS[index // len(AREAS) % len(TOPICS)]
    if index % 10 == 0:
        return f"tests/integration/golden_path/test_{area}_{topic}_flow_{index}.py"
    kind = "integration" if index % 4 == 0 else "unit"
    return f"tests/{kind}/{area}/test_{area}_{topic}_{index}.py"


def test_names(index: int, count: int) -> list[tuple[str, str | None, str | None]]:
    """(function name, parametrize id, class) of a file's tests: every other file uses a class,
    one test in five is parametrized."""
    cls = f"Test{TOPICS[index % len(TOPICS)].title()}"
    out = []
    for i in range(count):
        name = f"test_{VERBS[i % len(VERBS)]}_{NOUNS[(i + index) % len(NOUNS)]}_{i}"
        param = CURRENCIES[i % len(CURRENCIES)] if i % 5 == 4 else None
        out.append((name, param, cls if index % 2 else None))
    return out


def test_file(index: int, count: int) -> tuple[str, str]:
    body = ["import pytest", f"from app import mod{index % 20}", ""]
    for name, _, cls in test_names(index, count):
        indent = "    " if cls else ""
        body += [f"{indent}def {name}({'self' if cls else ''}):", f"{indent}    assert True", ""]
    return test_path(index), "\n".join(body)


def build_repo(path: Path, tests: int) -> tuple[Path, list[tuple[str, int]], list[str]]:
    """A repository with FILES test files (sharing `tests` tests) and the app they import, and a
    second commit that changes the app: the next CI run's commit."""
    builder = RepoBuilder(path, branch="main")
    per_file = [tests // FILES + (1 if i < tests % FILES else 0) for i in range(FILES)]
    files: dict[str, str] = {"app/__init__.py": ""}
    for k in range(20):
        files[f"app/mod{k}.py"] = (
            "".join(f"def value{j}(x):\n    return x\n\n" for j in range(50))
            + "def value(x):\n    if x % 97 == 13:\n        raise ValueError(f'bad value {x}')\n"
        )
    layout = []
    for i, n in enumerate(per_file):
        rel, text = test_file(i, n)
        files[rel] = text
        layout.append((rel, n))
    with builder.bulk():
        first = builder.commit(files, message="tests")
        second = builder.commit({"app/mod0.py": files["app/mod0.py"] + "\n"}, message="app")
    return path, layout, [first, second]


def make_report(root: Path, layout: list[tuple[str, int]], commit: str, seed: int = 0) -> dict:
    """The report of one run at `commit`; runs with another `seed` differ in durations and in
    about one failure in twenty. Keywords are listed as pytest lists them: the test's name, its
    markers, parametrize id and class, then its file and directories (nearest first)."""
    rnd = random.Random(seed)
    fails = random.Random(0)
    tests, collectors = [], []
    base = root.name

    def stage(outcome: str) -> dict:
        return {"duration": rnd.random() / 997, "outcome": outcome}

    for index, (rel, n) in enumerate(layout):
        folder, name = rel.rsplit("/", 1)
        parents = [name, *reversed(folder.split("/")), base, ""]
        items = []
        line = 3
        for fn, param, cls in test_names(index, n):
            own = f"{fn}[{param}]" if param else fn
            nodeid = f"{rel}::{cls}::{own}" if cls else f"{rel}::{own}"
            line += 3
            items.append({"nodeid": nodeid, "type": "Function", "lineno": line})
            marks = ["parametrize", "pytestmark", param] if param else []
            kw = [own, *marks, *([cls] if cls else []), *parents]
            t = {"nodeid": nodeid, "lineno": line, "outcome": "passed", "keywords": kw}
            t["setup"], t["call"], t["teardown"] = stage("passed"), stage("passed"), stage("passed")
            r = fails.random()
            if r < 0.05 and seed and rnd.random() < 0.05:
                r = 0.5
            if r < 0.05:
                mod = f"app/mod{rnd.randrange(20)}.py"
                t["outcome"] = t["call"]["outcome"] = "failed"
                t["call"]["crash"] = {
                    "path": f"{root}/{mod}",
                    "lineno": 153,
                    "message": f"ValueError: bad value {line} at 0x7f{rnd.randrange(1 << 40):x}",
                }
                t["call"]["traceback"] = [
                    {"path": rel, "lineno": line + 1, "message": ""},
                    {"path": mod, "lineno": 153, "message": "ValueError"},
                ]
                t["call"]["longrepr"] = (
                    f"    def {fn}():\n>       assert value({line}) == {line}\n\n{rel}:{line + 1}: "
                    "\n_ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _\n\n"
                    f"x = {line}\n\n    def value(x):\n        if x % 97 == 13:\n"
                    f">           raise ValueError(f'bad value {{x}}')\nE           ValueError: bad "
                    f"value {line}\n\n{mod}:153: ValueError"
                )
            elif r < 0.07:
                t["outcome"] = "skipped"
                t["keywords"] = [own, "skip", "pytestmark", *kw[1:]]
                t["setup"] = stage("skipped")
                t["setup"]["longrepr"] = f"('{root}/{rel}', {line}, 'Skipped: not on CI')"
                del t["call"]
            elif r < 0.08:
                t["outcome"] = "xfailed"
                t["keywords"] = [own, "xfail", "pytestmark", *kw[1:]]
                t["call"]["outcome"] = "skipped"
                t["call"]["longrepr"] = "E   assert False"
            tests.append(t)
        collectors.append({"nodeid": rel, "outcome": "passed", "result": items})
    summary: dict[str, int] = {}
    for t in tests:
        summary[t["outcome"]] = summary.get(t["outcome"], 0) + 1
    summary["total"] = summary["collected"] = len(tests)
    warnings = [
        {
            "message": f"legacy.api{k} is deprecated",
            "category": "DeprecationWarning",
            "when": "runtest",
            "filename": f"{root}/app/mod{k}.py",
            "lineno": 10 + k,
        }
        for k in range(20)
    ]
    return {
        "created": 1_800_000_000.0 + seed,
        "duration": 93.25,
        "exitcode": 1,
        "root": str(root),
        "environment": {
            "Python": "3.11.7",
            "Platform": "Linux",
            "Plugins": {"json-report": "1.5", "metadata": "3.1"},
            "GIT_COMMIT": commit,
        },
        "summary": summary,
        "collectors": collectors,
        "tests": tests,
        "warnings": warnings,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tests", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="healthtui-bench-ingest-"))
    repo_path, layout, commits = build_repo(work / "repo", args.tests)
    repo = GitRepo.open(repo_path, search_parents=False)
    report_path = work / "report.json"
    first = make_report(repo_path, layout, commits[0])
    report_path.write_text(json.dumps(first), encoding="utf-8")
    second_path = work / "report-2.json"
    second = make_report(repo_path, layout, commits[1], seed=1)
    second_path.write_text(json.dumps(second), encoding="utf-8")
    size = report_path.stat().st_size
    config = Config()

    samples: dict[str, list[tuple[float, float]]] = {k: [] for k in STEPS}

    def timed(step: str, fn) -> None:
        gc.collect()
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        samples[step].append((time.perf_counter() - wall, time.process_time() - cpu))

    def load() -> None:
        with report_path.open(encoding="utf-8") as fh:
            json.load(fh)

    def load_paused() -> None:
        gc.disable()
        try:
            load()
        finally:
            gc.enable()

    for k in range(args.repeat):
        timed("load", load)
        timed("load_paused", load_paused)
        timed("parse", lambda: parse_report(report_path.read_bytes()))
        engine = store.open_engine(work / f"bench-{k}.db")
        for step, path in (("fresh", report_path), ("next", second_path)):
            gc.collect()
            wall, cpu = time.perf_counter(), time.process_time()
            result = ingest_reports(engine, config, [path], repo=repo)
            samples[step].append((time.perf_counter() - wall, time.process_time() - cpu))
            assert len(result.ingested) == 1 and not result.errors, result.errors
        engine.dispose()

    def best(step: str, which: int) -> float:
        return min(s[which] for s in samples[step])

    def median(step: str, which: int) -> float:
        return statistics.median(s[which] for s in samples[step])

    lines = [
        f"# Report ingest: {args.tests:,} tests, {size / 1e6:.1f} MB, {args.repeat} rounds",
        "",
        "Wall and CPU (process) time, best and median; ratios of the bests against json.load.",
        "",
        "| step | wall best / median ms | CPU best / median ms | wall ratio | CPU ratio |",
        "|---|---:|---:|---:|---:|",
    ]
    for step, label in STEPS.items():
        lines.append(
            f"| {label} | {best(step, 0) * 1000:.0f} / {median(step, 0) * 1000:.0f} "
            f"| {best(step, 1) * 1000:.0f} / {median(step, 1) * 1000:.0f} "
            f"| {best(step, 0) / best('load', 0):.2f}x | {best(step, 1) / best('load', 1):.2f}x |"
        )
    wall = max(best("fresh", 0), best("next", 0)) / best("load", 0)
    cpu = max(best("fresh", 1), best("next", 1)) / best("load", 1)
    strict = max(best("fresh", 1), best("next", 1)) / best("load_paused", 1)
    verdict = "met" if max(wall, cpu) <= 3 else "MISSED"
    lines += [
        "",
        f"target: ingest <= 3x json.load: {verdict} (wall {wall:.2f}x, CPU {cpu:.2f}x; "
        f"{strict:.2f}x CPU against json.load with the collector paused too)",
    ]
    text = "\n".join(lines)
    print(text)
    out = HERE / "out"
    out.mkdir(exist_ok=True)
    (out / "ingest.md").write_text(text + "\n", encoding="utf-8")


STEPS = {
    "load": "bare `json.load`",
    "load_paused": "`json.load`, cyclic GC paused",
    "parse": "`parse_report` (validated, reduced)",
    "fresh": "ingest into an empty database",
    "next": "ingest the next commit's run",
}


if __name__ == "__main__":
    main()

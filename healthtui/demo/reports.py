"""Real pytest-json-report files for commits of the demo history.

Each job exports one commit's tree (`git archive`) into a temporary directory and runs pytest on
it in a subprocess, the way a CI job would. Plugin autoloading is off so that only
pytest-metadata and pytest-json-report take part, whatever else is installed.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from .builder import BuildError, git_env

PYTEST_TIMEOUT = 120.0
RUN_ENV = "HEALTHTUI_DEMO_RUN"
# Environment that would change how the child pytest behaves or what it imports.
_DROPPED_ENV = ("PYTHONPATH", "PYTHONWARNINGS", "PYTHONSTARTUP", "COV_CORE_SOURCE")


@dataclass(frozen=True)
class DemoReport:
    """One pytest-json-report file and the commit (and run number) it was produced on."""

    path: Path
    commit: str
    run: int = 1


@dataclass(frozen=True)
class ReportJob:
    """A pytest run to make: first-parent position, commit sha, run number and, if given, the
    time (epoch seconds) to record as the report's `created`."""

    index: int
    commit: str
    run: int = 1
    created: float | None = None

    @property
    def filename(self) -> str:
        suffix = "" if self.run == 1 else f"-run{self.run}"
        return f"{self.index:03d}-{self.commit}{suffix}.json"


def _pytest_env(run: int) -> dict[str, str]:
    env = {
        key: value
        for key, value in git_env().items()
        if not key.startswith("PYTEST_") and key not in _DROPPED_ENV
    }
    env |= {
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",
        RUN_ENV: str(run),
    }
    return env


def export_tree(repo: Path, commit: str, dest: Path) -> None:
    """Write the files of `commit` into `dest` without touching the repository's work tree."""
    proc = subprocess.run(
        ["git", "archive", "--format=tar", commit],
        cwd=repo,
        capture_output=True,
        env=git_env(),
        check=False,
    )
    if proc.returncode != 0:
        raise BuildError(f"git archive {commit} failed: {proc.stderr.decode(errors='replace')}")
    with tarfile.open(fileobj=io.BytesIO(proc.stdout)) as archive:
        archive.extractall(dest, filter="data")


def run_pytest_report(repo: Path, job: ReportJob, out: Path, *, timeout: float) -> DemoReport:
    """Run pytest with pytest-json-report on one commit's tree; returns the written report."""
    with tempfile.TemporaryDirectory(prefix="healthtui-demo-") as tmp:
        tree = Path(tmp)
        export_tree(repo, job.commit, tree)
        command = [sys.executable, "-m", "pytest", "-p", "pytest_metadata.plugin"]
        command += ["-p", "pytest_jsonreport.plugin", "--json-report"]
        command += [f"--json-report-file={out}", "--metadata", "commit", job.commit]
        command += ["--metadata", "run", str(job.run), "-p", "no:cacheprovider", "-q"]
        command += ["--continue-on-collection-errors"]
        try:
            proc = subprocess.run(
                command,
                cwd=tree,
                env=_pytest_env(job.run),
                capture_output=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise BuildError(f"pytest on {job.commit} took more than {timeout:.0f}s") from exc
    if not out.is_file():
        output = (proc.stdout + proc.stderr).decode(errors="replace").strip()[-2000:]
        raise BuildError(
            f"pytest on {job.commit} wrote no report (exit {proc.returncode}): {output}"
        )
    if job.created is not None:
        report = json.loads(out.read_bytes())
        report["created"] = job.created
        out.write_text(json.dumps(report), encoding="utf-8")
    return DemoReport(path=out, commit=job.commit, run=job.run)


def run_reports(
    repo: Path,
    out_dir: Path,
    jobs: Sequence[ReportJob],
    *,
    workers: int | None = None,
    timeout: float = PYTEST_TIMEOUT,
) -> tuple[DemoReport, ...]:
    """Run every job, a few at a time, and return the reports in the order of `jobs`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    workers = workers or max(1, min(4, os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [
            pool.submit(run_pytest_report, repo, job, out_dir / job.filename, timeout=timeout)
            for job in jobs
        ]
        return tuple(future.result() for future in futures)

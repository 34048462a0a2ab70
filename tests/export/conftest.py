"""A real SQLite database filled through the store's own write functions, for the export tests."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pytest

import store
from store.readmodels import CommitInfo

DAY = 86_400
T0 = 1_790_000_000  # 2026-09-21 ~14:13 UTC
XSS = "<script>alert(1)</script> [click](javascript:alert(2)) \x1b[31mred\x1b[0m *bold*"


@dataclass
class Commit:
    subject: str = "change"
    author: str = "Ada Lovelace"
    code: Mapping[str, float] | None = None  # code snapshot metrics
    tests: Mapping[str, float] | None = None  # tests snapshot metrics
    changes: Sequence[store.ChangeInput] = ()


class StandupDB:
    """Writes a branch line commit by commit, one commit per `step` seconds starting at T0."""

    def __init__(self, engine, *, name: str = "shop", branch: str = "main", step: int = DAY):
        self.engine = engine
        self.step = step
        self.shas: list[str] = []
        self.times: list[int] = []
        with store.write_session(engine) as s:
            self.rid = store.ensure_repository(s, root=f"/src/{name}", name=name, branch=branch)

    Commit = Commit

    def add(
        self, commits: Sequence[Commit], *, findings: Sequence[store.FindingInput] = ()
    ) -> None:
        infos = []
        for c in commits:
            n = len(self.shas)
            sha = hashlib.sha1(f"commit {n}".encode()).hexdigest()
            at = T0 + n * self.step
            infos.append(
                CommitInfo(
                    sha=sha,
                    parents=(self.shas[-1],) if self.shas else (),
                    author_name=c.author,
                    author_email="a@example.com",
                    authored_at=at,
                    author_offset=0,
                    committed_at=at,
                    committer_offset=0,
                    subject=c.subject,
                    seq=n,
                )
            )
            self.shas.append(sha)
            self.times.append(at)
        with store.write_session(self.engine) as s:
            ids = store.upsert_commits(s, repository_id=self.rid, commits=infos)
            for i, (info, c) in enumerate(zip(infos, commits, strict=True)):
                last = i == len(infos) - 1
                if c.code is not None:
                    store.record_snapshot(
                        s,
                        commit_id=ids[info.sha],
                        metrics=c.code,
                        kind="code",
                        ruleset="rules1",
                        changes=c.changes,
                        current=list(findings) if last else None,
                        at=info.committed_at,
                    )
                if c.tests is not None:
                    store.record_snapshot(
                        s,
                        commit_id=ids[info.sha],
                        metrics=c.tests,
                        kind="tests",
                        ruleset="",
                        at=info.committed_at,
                    )
            store.touch_collect(s, repository_id=self.rid, head=self.shas[-1], at=self.times[-1])


@pytest.fixture
def history(engine) -> StandupDB:
    """An empty branch line to add commits to: `history.add([Commit(...), ...])`."""
    return StandupDB(engine)


@pytest.fixture
def standup(engine) -> StandupDB:
    return build_standup(engine)


def build_standup(engine) -> StandupDB:
    """Ten days of a migration: await misuse falls, deprecated imports rise once, with an XSS-ish
    subject on the commit that made things worse."""
    db = StandupDB(engine)
    commits = []
    for day in range(10):
        code = {"await_misuse": 30 - 2 * day, "deprecated_imports": 12, "await_misuse.files": 5}
        subject = f"migrate batch {day}"
        author = "Ada Lovelace"
        if day >= 7:
            code["deprecated_imports"] = 15
        if day == 7:
            subject, author = XSS, "Mallory <b>evil</b>"
        tests = {
            "marker_errors": 4 if day < 9 else 2,
            "suite.golden_path.pass_rate": 0.5 + 0.02 * day,
            "suite.golden_path.passed": 50 + 2 * day,
            "suite.golden_path.failed": 50 - 2 * day,
            "suite.golden_path.expected": 120,
        }
        commits.append(Commit(subject=subject, author=author, code=code, tests=tests))
    findings = [
        store.FindingInput(
            rule="await_misuse", path="app/db.py", line=10, col=4, text="await conn.close()"
        ),
        store.FindingInput(
            rule="await_misuse", path="app/db.py", line=3, col=4, text="await pool.drain()"
        ),
        store.FindingInput(
            rule="deprecated_imports", path="app/<odd>.py", line=1, text="import old.mod"
        ),
    ]
    db.add(commits, findings=findings)
    return db

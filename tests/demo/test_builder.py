"""RepoBuilder on real git: determinism, bulk == one by one, merges, odd paths, bare, dates."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from healthtui.demo.builder import DEFAULT_START, BuildError, RepoBuilder

WHEN = datetime(2026, 2, 2, 9, 30, tzinfo=UTC)


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True
    ).stdout


def git_bytes(repo: Path, *args: str) -> bytes:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, check=True).stdout


def tree(repo: Path, rev: str = "HEAD") -> dict[bytes, bytes]:
    """Every file of `rev` with its content, read through git itself."""
    listing = git_bytes(repo, "ls-tree", "-r", "-z", "--full-tree", rev)
    files = {}
    for entry in listing.split(b"\0"):
        if entry:
            meta, path = entry.split(b"\t", 1)
            files[path] = git_bytes(repo, "cat-file", "blob", meta.split()[2].decode())
    return files


def story(b: RepoBuilder) -> list[str]:
    """A small history with a branch, a merge and a deletion, at fixed times."""
    shas = [
        b.commit({"a.py": "x = 1\n", "b.py": "y = 2\n"}, message="first", when=WHEN),
        b.commit({"a.py": "x = 3\n"}, message="second", when=WHEN + timedelta(hours=1)),
    ]
    b.create_branch("feature/one", shas[-1])
    shas.append(
        b.commit(
            {"c.py": "z = 4\n"},
            message="on the branch",
            branch="feature/one",
            author=("Grace Hopper", "grace@example.com"),
            when=WHEN + timedelta(hours=2),
        )
    )
    shas.append(b.commit({"b.py": None}, message="drop b", when=WHEN + timedelta(hours=3)))
    shas.append(
        b.commit({}, message="Merge feature/one", merge=["feature/one"], when=WHEN + timedelta(4))
    )
    return shas


def test_same_calls_give_the_same_shas_on_every_build(tmp_path: Path):
    first = story(RepoBuilder(tmp_path / "one"))
    second = story(RepoBuilder(tmp_path / "two"))
    assert first == second
    assert git(tmp_path / "one", "rev-parse", "HEAD").strip() == first[-1]


def test_a_different_author_or_time_gives_a_different_sha(tmp_path: Path):
    a = RepoBuilder(tmp_path / "a").commit({"f": "1"}, when=WHEN)
    b = RepoBuilder(tmp_path / "b").commit({"f": "1"}, when=WHEN + timedelta(seconds=1))
    c = RepoBuilder(tmp_path / "c").commit({"f": "1"}, when=WHEN, author=("Other", "o@x.org"))
    assert len({a, b, c}) == 3


def test_bulk_gives_the_same_commits_as_one_at_a_time(tmp_path: Path):
    single = story(RepoBuilder(tmp_path / "single"))
    bulk_builder = RepoBuilder(tmp_path / "bulk")
    with bulk_builder.bulk():
        bulk = story(bulk_builder)
    assert bulk == single
    assert tree(tmp_path / "bulk") == tree(tmp_path / "single")
    assert git(tmp_path / "bulk", "rev-parse", "feature/one").strip() == single[2]


def test_bulk_commits_appear_when_the_block_ends(tmp_path: Path):
    b = RepoBuilder(tmp_path)
    with b.bulk():
        sha = b.commit({"f.py": "1\n"}, when=WHEN)
        visible = subprocess.run(
            ["git", "-C", str(tmp_path), "cat-file", "-e", sha], capture_output=True
        )
        assert visible.returncode != 0
        assert b.tip() == sha
    assert git(tmp_path, "rev-parse", "main").strip() == sha
    assert (tmp_path / "f.py").read_text() == "1\n"


def test_a_merge_carries_the_merged_branch_changes(tmp_path: Path):
    b = RepoBuilder(tmp_path)
    shas = story(b)
    merge = shas[-1]
    assert git(tmp_path, "rev-list", "--parents", "-n1", merge).split() == [
        merge,
        shas[3],
        shas[2],
    ]
    assert tree(tmp_path, merge) == {b"a.py": b"x = 3\n", b"c.py": b"z = 4\n"}
    # the first-parent diff of the merge is what the branch brought
    changed = git(tmp_path, "diff-tree", "--no-commit-id", "--name-only", "-r", shas[3], merge)
    assert changed.split() == ["c.py"]
    assert (tmp_path / "c.py").read_text() == "z = 4\n"


def test_merge_conflicts_theirs_wins_and_files_win_over_both(tmp_path: Path):
    b = RepoBuilder(tmp_path)
    base = b.commit({"conf.py": "A\n", "other.py": "o\n"}, when=WHEN)
    b.create_branch("topic", base)
    b.commit({"conf.py": "THEIRS\n", "other.py": "theirs\n"}, branch="topic", when=WHEN)
    b.commit({"conf.py": "OURS\n"}, when=WHEN + timedelta(minutes=1))
    merge = b.commit({"other.py": "resolved\n"}, merge=["topic"], when=WHEN + timedelta(hours=1))
    assert tree(tmp_path, merge) == {b"conf.py": b"THEIRS\n", b"other.py": b"resolved\n"}


def test_merge_of_a_branch_that_merged_main_back(tmp_path: Path):
    """Only the branch's own changes since it forked come in, not main's older state."""
    b = RepoBuilder(tmp_path)
    base = b.commit({"a": "1\n", "b": "1\n"}, when=WHEN)
    b.create_branch("topic", base)
    b.commit({"t": "topic\n"}, branch="topic", when=WHEN)
    b.commit({"a": "2\n"}, when=WHEN + timedelta(minutes=1))
    b.commit({"b": "2\n"}, when=WHEN + timedelta(minutes=2))
    merge = b.commit({}, merge=["topic"], when=WHEN + timedelta(minutes=3))
    assert tree(tmp_path, merge) == {b"a": b"2\n", b"b": b"2\n", b"t": b"topic\n"}


def test_merging_into_an_empty_branch_is_refused(tmp_path: Path):
    b = RepoBuilder(tmp_path)
    b.commit({"f": "1"}, branch="topic", when=WHEN)
    with pytest.raises(ValueError, match="no commits to merge into"):
        b.commit({}, branch="main", merge=["topic"])


ODD_PATHS = [
    "with space/file name.py",
    'quote"and\\backslash.py',
    "new\nline.py",
    "tab\there.py",
    "ünïcödé/日本語.py",
    "[bold]red[/bold].py",
    "-starts-with-dash.py",
]


def test_odd_paths_survive_byte_for_byte(tmp_path: Path):
    b = RepoBuilder(tmp_path)
    latin1 = "café.py".encode("latin-1")
    files: dict[str | bytes, bytes | str] = {p: f"# {i}\n" for i, p in enumerate(ODD_PATHS)}
    files[latin1] = b"\xe9t\xe9 = 1\n"
    b.commit(files, when=WHEN)
    stored = tree(tmp_path)
    expected = {p.encode(): f"# {i}\n".encode() for i, p in enumerate(ODD_PATHS)}
    expected[latin1] = b"\xe9t\xe9 = 1\n"
    assert stored == expected
    assert (tmp_path / "with space" / "file name.py").read_text() == "# 0\n"


@pytest.mark.parametrize(
    "bad", ["", "/abs.py", "a/../b.py", "./a.py", "a//b.py", ".git/config", "a/.git/x", "nul\0.py"]
)
def test_paths_git_cannot_store_are_refused(tmp_path: Path, bad: str):
    b = RepoBuilder(tmp_path)
    with pytest.raises(ValueError, match="path"):
        b.commit({bad: "x"}, when=WHEN)
    assert b.branches() == {}


def test_none_deletes_and_unnamed_paths_are_kept(tmp_path: Path):
    b = RepoBuilder(tmp_path)
    b.commit({"keep.py": "k", "gone.py": "g", "dir/x.py": "x"}, when=WHEN)
    b.commit({"gone.py": None, "dir/x.py": None, "new.py": b"\x00\x01"}, when=WHEN)
    assert tree(tmp_path) == {b"keep.py": b"k", b"new.py": b"\x00\x01"}
    assert not (tmp_path / "gone.py").exists()
    assert not (tmp_path / "dir").exists()


def test_bare_repository_has_no_work_tree(tmp_path: Path):
    b = RepoBuilder(tmp_path / "bare.git", bare=True)
    sha = b.commit({"a.py": "1\n"}, when=WHEN)
    assert git(tmp_path / "bare.git", "rev-parse", "--is-bare-repository").strip() == "true"
    assert git(tmp_path / "bare.git", "rev-parse", "main").strip() == sha
    assert (tmp_path / "bare.git" / "HEAD").is_file()
    assert not (tmp_path / "bare.git" / "a.py").exists()
    assert not (tmp_path / "bare.git" / ".git").exists()
    assert tree(tmp_path / "bare.git") == {b"a.py": b"1\n"}


def test_work_tree_follows_the_main_branch_only(tmp_path: Path):
    b = RepoBuilder(tmp_path)
    b.commit({"a.py": "1\n"}, when=WHEN)
    b.commit({"side.py": "s\n"}, branch="side", when=WHEN)
    assert not (tmp_path / "side.py").exists()
    assert git(tmp_path, "status", "--porcelain") == ""


def test_dates_keep_their_offset_and_naive_means_utc(tmp_path: Path):
    b = RepoBuilder(tmp_path)
    india = timezone(timedelta(hours=5, minutes=30))
    b.commit({"a": "1"}, when=datetime(2026, 1, 7, 10, 0, tzinfo=india))
    b.commit({"a": "2"}, when=datetime(2026, 1, 8, 10, 0))
    b.commit({"a": "3"})
    dates = git(tmp_path, "log", "--format=%ai|%ci", "--reverse").splitlines()
    assert dates[0] == "2026-01-07 10:00:00 +0530|2026-01-07 10:00:00 +0530"
    assert dates[1].startswith("2026-01-08 10:00:00 +0000")
    default = DEFAULT_START + timedelta(hours=2)
    assert dates[2].startswith(default.strftime("%Y-%m-%d %H:%M:%S +0000"))


def test_branches_reset_and_lookup(tmp_path: Path):
    b = RepoBuilder(tmp_path)
    first = b.commit({"a": "1"}, when=WHEN)
    second = b.commit({"a": "2"}, when=WHEN + timedelta(hours=1))
    b.create_branch("topic", "main")
    assert b.branches() == {"main": second, "topic": second}
    b.reset_branch("main", first)
    assert git(tmp_path, "rev-parse", "main").strip() == first
    assert (tmp_path / "a").read_text() == "1"
    with pytest.raises(LookupError, match="nope"):
        b.tip("nope")


def test_reopening_an_existing_repository_continues_its_branches(tmp_path: Path):
    first = RepoBuilder(tmp_path).commit({"a": "1"}, when=WHEN)
    again = RepoBuilder(tmp_path)
    assert again.tip() == first
    second = again.commit({"b": "2"}, when=WHEN + timedelta(hours=1))
    assert git(tmp_path, "rev-parse", "main~1").strip() == first
    assert tree(tmp_path, second) == {b"a": b"1", b"b": b"2"}


def test_git_failures_raise_build_error_with_gits_message(tmp_path: Path):
    b = RepoBuilder(tmp_path)
    b.commit({"a": "1"}, when=WHEN)
    with pytest.raises(BuildError, match="rev-parse"):
        b.commit({}, merge=["no-such-branch"])


def test_git_environment_variables_do_not_redirect_the_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    elsewhere = tmp_path / "elsewhere"
    RepoBuilder(elsewhere).commit({"x": "x"}, when=WHEN)
    monkeypatch.setenv("GIT_DIR", str(elsewhere / ".git"))
    monkeypatch.setenv("GIT_WORK_TREE", str(elsewhere))
    monkeypatch.setenv("GIT_INDEX_FILE", str(elsewhere / ".git" / "index"))
    sha = RepoBuilder(tmp_path / "here").commit({"y": "y"}, when=WHEN)
    monkeypatch.delenv("GIT_DIR")
    monkeypatch.delenv("GIT_WORK_TREE")
    monkeypatch.delenv("GIT_INDEX_FILE")
    assert git(tmp_path / "here", "rev-parse", "HEAD").strip() == sha
    assert tree(elsewhere) == {b"x": b"x"}
    assert not (elsewhere / "y").exists()

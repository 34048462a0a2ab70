"""Opening repositories with plain git plumbing: work trees, subdirectories, bare repositories."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from healthtui.collect.gitrepo import GitRepo, find_repo_root
from healthtui.demo.builder import RepoBuilder
from healthtui.errors import RepoError


@pytest.fixture
def work(tmp_path: Path) -> RepoBuilder:
    b = RepoBuilder(tmp_path / "work")
    b.commit({"pkg/mod.py": "x = 1\n"}, message="one")
    return b


def test_a_work_tree_opens_from_itself_a_subdirectory_or_its_git_directory(work):
    top = work.path.resolve()
    for where in (work.path, work.path / "pkg", work.path / ".git"):
        with GitRepo.open(where) as repo:
            assert (repo.root.resolve(), repo.bare) == (top, False), where
            assert repo.git_dir.resolve() == top / ".git"
            assert repo.resolve("HEAD") == work.tip()
    assert find_repo_root(work.path / "pkg").resolve() == top


def test_without_searching_parents_a_subdirectory_is_refused(work):
    with pytest.raises(RepoError, match=r"pkg: not a git repository \(it lies inside "):
        GitRepo.open(work.path / "pkg", search_parents=False)


def test_a_bare_repository_is_its_own_root(tmp_path: Path, work):
    bare = tmp_path / "mirror.git"
    subprocess.run(["git", "clone", "-q", "--mirror", str(work.path), str(bare)], check=True)
    with GitRepo.open(bare, search_parents=False) as repo:
        assert (repo.root, repo.bare, repo.name) == (bare, True, "mirror")
        assert [e.path for e in repo.list_tree("HEAD")] == ["pkg/mod.py"]
        (entry,) = repo.list_tree("HEAD", sizes=True)
        assert repo.read_blob(entry.blob) == b"x = 1\n" and entry.size == 6
        assert repo.blob_sizes([entry.blob]) == {entry.blob: 6}


def test_not_a_repository_and_no_such_directory(tmp_path: Path):
    with pytest.raises(RepoError, match=r"not a git repository$"):
        GitRepo.open(tmp_path)
    with pytest.raises(RepoError, match="no such directory"):
        GitRepo.open(tmp_path / "missing")
    assert find_repo_root(tmp_path) is None


def test_collect_loads_neither_sqlalchemy_nor_gitpython(work, tmp_path: Path):
    """The cron path stays cheap: a collect that finds one new commit imports neither."""
    code = (
        "import sys\n"
        "from healthtui.cli import main\n"
        "code = main(['--repo', sys.argv[1], '--db', sys.argv[2], 'collect', '--quiet'])\n"
        "print(sorted(m for m in ('sqlalchemy', 'sqlmodel', 'git') if m in sys.modules))\n"
        "sys.exit(code)\n"
    )
    db = tmp_path / "h.db"
    run = [sys.executable, "-c", code, str(work.path), str(db)]
    subprocess.run(run, check=True, capture_output=True)  # creates the database
    work.commit({"pkg/mod.py": "x = 2  # TODO\n"}, message="two")
    out = subprocess.run(run, check=True, capture_output=True, text=True)
    assert out.stdout.strip() == "[]"


def test_list_tree_gives_regular_files_only_with_odd_paths_intact(tmp_path: Path):
    repo_dir = tmp_path / "odd"
    subprocess.run(["git", "init", "-q", str(repo_dir)], check=True)
    (repo_dir / "tab\there.py").write_text("a = 1\n")
    (repo_dir / "run.sh").write_text("#!/bin/sh\n")
    (repo_dir / "run.sh").chmod(0o755)
    odd = b"caf\xe9 100644 blob " + b"a" * 40 + b" 9\tx.py"  # Latin-1, and a fake ls-tree record
    (repo_dir / odd.decode("utf-8", "surrogateescape")).write_bytes(b"")
    (repo_dir / ("link " + odd.decode("utf-8", "surrogateescape"))).symlink_to("run.sh")
    git = ["git", "-C", str(repo_dir), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "add", "-A"], check=True)
    gitlink = "160000," + "b" * 40 + ",sub"
    subprocess.run([*git, "update-index", "--add", "--cacheinfo", gitlink], check=True)
    subprocess.run([*git, "commit", "-qm", "odd"], check=True)
    with GitRepo.open(repo_dir) as repo:
        listed = {(e.path, e.mode, e.size) for e in repo.list_tree("HEAD", sizes=True)}
        plain = [e.size for e in repo.list_tree("HEAD")]
    assert listed == {
        ("tab\there.py", 0o100644, 6),
        ("run.sh", 0o100755, 10),
        (odd.decode("utf-8", "surrogateescape"), 0o100644, 0),
    }
    assert plain == [-1, -1, -1]


def test_reads_under_way_side_by_side_each_get_their_own_blobs(tmp_path: Path):
    b = RepoBuilder(tmp_path / "r")
    b.commit({f"m{i}.py": f"x = {i}\n" for i in range(6)}, message="six")
    with GitRepo.open(b.path) as repo:
        blobs = {e.blob: e.path for e in repo.list_tree("HEAD")}
        shas = list(blobs)
        first, second = repo.read_blobs(shas[:3]), repo.read_blobs(shas[3:])
        got = [next(first), next(second), next(first), next(second)]
        got += list(first) + list(second)
        assert len(got) == 6
        for sha, data in got:
            assert data == f"x = {blobs[sha][1:-3]}\n".encode()
        assert [data for _, data in repo.read_blobs(shas)] == [
            f"x = {blobs[s][1:-3]}\n".encode() for s in shas
        ]

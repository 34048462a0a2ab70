"""`healthtui scan`: linter-style findings of a work tree or a revision, on real repositories."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from healthtui.__main__ import plain_scan
from healthtui.collect import scanning
from healthtui.collect.gitrepo import GitRepo
from healthtui.config import load_config
from healthtui.demo.builder import RepoBuilder
from healthtui.errors import RepoError
from healthtui.rules import RuleEngine

CONFIG = """\
[rules]
deprecated_modules = ["app.legacy"]
known_sync = ["get_manager"]
ssot_classes = ["Manager"]
max_file_size = 5000

[[rules.regex]]
id = "todo"
pattern = "#\\\\s*TODO"
message = "TODO left in code"
"""

FILES = {
    "healthtui.toml": CONFIG,
    "pyproject.toml": '[tool.pytest.ini_options]\nmarkers = ["slow: slow"]\n',
    "app/__init__.py": "",
    "app/legacy.py": "X = 1\n",
    "app/ws.py": "def get_manager():\n    return 1\n\n\nclass Manager:\n    pass\n",
    "app/handler.py": (
        "from app.ws import get_manager\nimport app.legacy  # TODO drop\n\n\n"
        "async def handle(client):\n    await get_manager()\n    await client.get_manager()\n"
    ),
    "app/second_ws.py": "class Manager:\n    pass\n",
    "app/broken.py": 'print "py2"\n',
    "app/huge.py": "import app.legacy\n" + "# TODO\n" * 1000,
    "tests/test_a.py": (
        "import pytest\n\n\n@pytest.mark.slow\n@pytest.mark.nightly\ndef test_a():\n    pass\n"
    ),
}

EXPECTED = [
    "app/broken.py:1:1: unparseable_files syntax error: Missing parentheses in call to 'print'."
    " Did you mean print(...)? (read line by line)",
    "app/handler.py:2:1: deprecated_imports import of deprecated module app.legacy",
    "app/handler.py:2:20: todo TODO left in code",
    "app/handler.py:6:5: await_misuse await on sync function app.ws.get_manager [resolved]",
    "app/handler.py:7:5: await_misuse await on known-sync client.get_manager [name-only]",
    "app/second_ws.py:1:1: duplicate_classes SSOT class Manager is defined in 2 modules"
    " (also in app.ws)",
    "app/ws.py:5:1: duplicate_classes SSOT class Manager is defined in 2 modules"
    " (also in app.second_ws)",
    "tests/test_a.py:5:2: unregistered_markers unregistered marker 'nightly'",
]


def expected(*words: str) -> list[str]:
    return [line for line in EXPECTED if any(f" {w} " in line for w in words)]


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "healthtui", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        errors="surrogateescape",
        timeout=60,
    )


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> RepoBuilder:
    """Two commits: the first without the await misuse, the second as FILES."""
    b = RepoBuilder(tmp_path_factory.mktemp("scan") / "repo")
    first = dict(FILES)
    first["app/handler.py"] = "import app.legacy\n"
    b.commit(first, message="first")
    b.commit(FILES, message="second")
    return b


def test_text_output_is_one_line_per_finding_sorted(repo: RepoBuilder):
    out = run("--repo", str(repo.path), "scan")
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == EXPECTED
    assert out.stderr == ""
    assert not (repo.path / ".git" / "healthtui.db").exists()  # scan writes nothing


def test_json_output_lists_the_same_findings(repo: RepoBuilder):
    out = run("--repo", str(repo.path), "scan", "--format", "json")
    assert out.returncode == 0, out.stderr
    items = json.loads(out.stdout)
    assert len(items) == len(EXPECTED)
    assert set(items[0]) == {"path", "line", "col", "rule", "message", "detail", "text"}
    await_item = next(i for i in items if i["detail"] == "name-only")
    assert await_item == {
        "path": "app/handler.py",
        "line": 7,
        "col": 5,
        "rule": "await_misuse",
        "message": "await on known-sync client.get_manager",
        "detail": "name-only",
        "text": "await client.get_manager()",
    }


def test_rev_reads_git_objects_not_the_work_tree(repo: RepoBuilder, tmp_path: Path):
    head = run("--repo", str(repo.path), "scan", "--rev", "HEAD")
    assert head.stdout.splitlines() == EXPECTED
    older = run("--repo", str(repo.path), "scan", "--rev", "HEAD~1", "--rule", "await_misuse")
    assert older.returncode == 0, older.stderr
    assert older.stdout == ""
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(repo.path), str(clone)], check=True)
    (clone / "app" / "handler.py").write_text("import app.legacy\n")
    edited = run("--repo", str(clone), "scan", "--rule", "await_misuse")
    assert edited.stdout == ""
    committed = run("--repo", str(clone), "scan", "--rev", "HEAD", "--rule", "await_misuse")
    assert len(committed.stdout.splitlines()) == 2


def test_rule_selects_rules_and_unknown_ids_exit_2(repo: RepoBuilder):
    out = run("--repo", str(repo.path), "scan", "--rule", "todo", "--rule", "markers")
    assert out.stdout.splitlines() == expected("todo", "unregistered_markers")
    bad = run("--repo", str(repo.path), "scan", "--rule", "nope")
    assert bad.returncode == 2
    assert bad.stderr.startswith("healthtui: error: unknown rule id: nope (known: await_misuse")
    assert bad.stderr.count("\n") == 1


def test_config_disable_is_honored_and_rule_can_still_ask(repo: RepoBuilder, tmp_path: Path):
    config = tmp_path / "h.toml"
    config.write_text(CONFIG.replace("[rules]", '[rules]\ndisable = ["todo", "suites"]'))
    out = run("--repo", str(repo.path), "--config", str(config), "scan")
    assert out.stdout.splitlines() == [line for line in EXPECTED if " todo " not in line]
    asked = run("--repo", str(repo.path), "--config", str(config), "scan", "--rule", "todo")
    assert asked.stdout.splitlines() == expected("todo")
    config.write_text(CONFIG.replace("[rules]", '[rules]\ndisable = ["tod"]'))
    bad = run("--repo", str(repo.path), "--config", str(config), "scan")
    assert bad.returncode == 2
    assert "rules.disable: unknown rule id: tod" in bad.stderr


def test_a_path_or_a_subdirectory_as_working_directory(repo: RepoBuilder):
    one = run("scan", str(repo.path / "app" / "handler.py"))
    assert one.returncode == 0, one.stderr
    assert one.stdout.splitlines() == [line for line in EXPECTED if "handler.py" in line]
    tests_dir = run("scan", "tests", cwd=repo.path)
    assert tests_dir.stdout.splitlines() == EXPECTED[-1:]
    inside = run("scan", cwd=repo.path / "app")
    assert inside.stdout.splitlines() == EXPECTED
    plain = repo.path.parent / "plain"
    (plain / "pkg").mkdir(parents=True, exist_ok=True)
    (plain / "pkg" / "m.py").write_text("def f(:\n")
    outside = run("scan", str(plain / "pkg" / "m.py"), cwd=plain)
    assert outside.stdout.splitlines() == [
        "m.py:1:7: unparseable_files syntax error: invalid syntax (read line by line)"
    ]


def test_candidates_are_notes_on_stderr(tmp_path: Path):
    b = RepoBuilder(tmp_path / "repo")
    b.commit({f"pkg{i}/records.py": "class TeamRecord:\n    pass\n" for i in range(4)})
    out = run("--repo", str(b.path), "scan")
    assert out.returncode == 0
    assert out.stdout == ""
    assert out.stderr == (
        "note: candidate SSOT class: TeamRecord is defined in 4 modules "
        "(pkg0.records, pkg1.records, pkg2.records and 1 more)\n"
    )


def test_bare_repositories_need_rev_and_non_repositories_exit_2(repo: RepoBuilder, tmp_path):
    bare = tmp_path / "bare.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(repo.path), str(bare)], check=True)
    out = run("--repo", str(bare), "scan")
    assert out.returncode == 2
    assert "a bare repository has no work tree; use --rev" in out.stderr
    rev = run("--repo", str(bare), "scan", "--rev", "HEAD")
    assert rev.stdout.splitlines() == EXPECTED
    nothing = run("--repo", str(tmp_path), "scan")
    assert nothing.returncode == 2
    assert nothing.stderr.strip() == f"healthtui: error: {tmp_path}: not a git repository"
    both = run("--repo", str(repo.path), "scan", str(repo.path), "--rev", "HEAD")
    assert both.returncode == 2


def test_odd_file_names_and_bytes(tmp_path: Path):
    b = RepoBuilder(tmp_path / "repo")
    b.commit(
        {
            b"caf\xe9.py": b"# TODO latin-1 name\n",
            "spaced name.py": b"\xef\xbb\xbfx = 1  # TODO\r\n",
            "nul.py": b"\x00# TODO\n",
            "healthtui.toml": '[[rules.regex]]\nid = "todo"\npattern = "TODO"\n',
        }
    )
    out = run("--repo", str(b.path), "scan", "--rule", "todo")
    assert out.returncode == 0, out.stderr
    assert len(out.stdout.splitlines()) == 2
    assert "spaced name.py:1:10: todo" in out.stdout
    rev = run("--repo", str(b.path), "scan", "--rev", "HEAD", "--rule", "todo", "--format", "json")
    assert rev.returncode == 0, rev.stderr
    paths = sorted(f["path"] for f in json.loads(rev.stdout))
    assert paths == ["caf\\xe9.py", "spaced name.py"]  # valid Unicode: no lone surrogates


def test_work_tree_and_revision_and_process_pool_agree(repo: RepoBuilder, monkeypatch):
    config = load_config(repo.path)
    rules = RuleEngine(config.rules, config.suites)
    serial = scanning.scan_worktree(repo.path, rules)
    monkeypatch.setattr(scanning, "MIN_PARALLEL_ITEMS", 2)
    monkeypatch.setattr(scanning, "workers", lambda: 2)
    pooled = scanning.scan_worktree(repo.path, rules)
    with GitRepo.open(repo.path) as git_repo:
        from_objects = scanning.scan_revision(git_repo, "HEAD", rules)
    for other in (pooled, from_objects):
        assert other.metrics == serial.metrics
        assert other.findings == serial.findings
    assert serial.metrics["skipped_files"] == 1  # app/huge.py is over max_file_size
    assert serial.metrics["unparseable_files"] == 1


def test_the_work_tree_is_the_files_git_sees(tmp_path: Path):
    b = RepoBuilder(tmp_path / "repo")
    b.commit(
        {
            ".gitignore": "generated/\n",
            "app/a.py": "# TODO tracked\n",
            "app/gone.py": "# TODO deleted from the work tree\n",
            "healthtui.toml": '[[rules.regex]]\nid = "todo"\npattern = "TODO"\n'
            '[[rules.regex]]\nid = "blank_todo"\npattern = "^\\\\s*#\\\\s*[A-Z]+$"\n',
        }
    )
    (b.path / "app" / "gone.py").unlink()
    (b.path / "app" / "new.py").write_text("# TODO untracked\n#\n# TODO\n")
    (b.path / "generated").mkdir()
    (b.path / "generated" / "out.py").write_text("# TODO ignored\n")
    (b.path / "app" / "link.py").symlink_to(b.path / "app" / "a.py")
    config = load_config(b.path)
    for only in (["todo"], ["blank_todo"], None):  # a literal prefilter, none, every rule
        rules = RuleEngine(config.rules, config.suites, only=only)
        ev = scanning.scan_worktree(b.path, rules)
        got = {(f.path, f.line, f.rule) for fs in ev.findings.values() for f in fs}
        want = {("app/a.py", 1, "todo"), ("app/new.py", 1, "todo"), ("app/new.py", 3, "todo")}
        want |= {("app/new.py", 3, "blank_todo")}
        assert got == {w for w in want if only is None or w[2] in only}, only


@pytest.mark.parametrize(
    ("args", "want"),
    [
        (["scan"], (None, None, None, [])),
        (["-v", "--repo", "r", "--config=c.toml", "--db", "x", "scan"], ("r", "c.toml", None, [])),
        (
            ["scan", "src", "--rule", "a", "--rule=b", "--format", "json"],
            (None, None, "src", ["a", "b"]),
        ),
        (["--repo=r", "--repo", "s", "scan"], ("s", None, None, [])),
    ],
)
def test_a_plain_scan_command_line_is_recognised(args, want):
    assert plain_scan(args) == want


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["tui"],
        ["backfill"],
        ["scan", "--rev", "HEAD"],
        ["scan", "a", "b"],
        ["scan", "--help"],
        ["--help", "scan"],
        ["--version"],
        ["scan", "-v"],
        ["--repo"],
        ["scan", "--rule"],
        ["--", "scan"],
        ["scan", "--", "src"],
        ["scan", "-"],
        ["-vx", "scan"],
        ["collect", "scan"],
    ],
)
def test_anything_else_is_left_to_the_cli(args):
    assert plain_scan(args) is None


def test_a_grep_started_early_is_taken_by_the_same_scan_or_stopped(tmp_path: Path, monkeypatch):
    b = RepoBuilder(tmp_path / "repo")
    b.commit(
        {
            "a.py": "# TODO one\n# FIXME two\n",
            "healthtui.toml": '[[rules.regex]]\nid = "todo"\npattern = "TODO"\n'
            '[[rules.regex]]\nid = "fixme"\npattern = "FIXME"\n',
        }
    )
    rules = load_config(b.path).rules
    started: list = []
    init = scanning.Grep.__init__
    monkeypatch.setattr(
        scanning.Grep, "__init__", lambda self, *a: (started.append(a), init(self, *a))[1]
    )
    scanning.start_early(str(b.path), None, None, ["todo"])
    early = scanning._early
    assert early is not None and early.needles == (b"TODO",)
    with monkeypatch.context() as m:  # the scan's own question is answered without git, once
        m.setenv("PATH", str(tmp_path / "nowhere"))
        assert scanning.work_tree_root(b.path, search_parents=False) == b.path
        with pytest.raises(RepoError, match="cannot run git"):
            scanning.work_tree_root(b.path, search_parents=False)
    with scanning.start_grep(b.path, rules, ["todo"]) as grep:
        assert grep is early and scanning._early is None
        ev = scanning.scan_worktree(b.path, RuleEngine(rules, only=["todo"]), grep)
    assert [(f.path, f.line) for f in ev.findings["a.py"]] == [("a.py", 1)]
    assert len(started) == 1

    scanning.start_early(None, None, str(b.path / "a.py"), ["todo"])  # the scan PATH form
    early = scanning._early
    assert early is not None and early.root == b.path
    with scanning.start_grep(b.path, rules, ["fixme"]) as grep:  # not the search it wants
        assert grep is not None and grep is not early and grep.needles == (b"FIXME",)
    assert early.grep.returncode is not None and early.listing.returncode is not None
    assert len(started) == 3

    bad = tmp_path / "bad.toml"
    bad.write_bytes(b"[rules]\nmax_file_size = \xff\n")
    for args in [
        (str(tmp_path), None, None, ["todo"]),  # not a repository
        (str(b.path), str(bad), None, ["todo"]),  # a broken config
        (str(b.path), None, None, ["nope"]),  # not a regex rule: no grep
        (str(b.path), None, str(tmp_path / "missing" / "x.py"), []),
    ]:
        scanning.start_early(*args)
        assert scanning._early is None, args
    assert len(started) == 3


def test_without_git_the_root_is_an_error_and_a_tree_is_walked(tmp_path: Path, monkeypatch):
    b = RepoBuilder(tmp_path / "repo")
    b.commit({"a.py": "# TODO\n", "healthtui.toml": CONFIG})
    rules = load_config(b.path).rules
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))
    with pytest.raises(RepoError, match=r"^cannot run git: "):
        scanning.work_tree_root(b.path)
    assert scanning.start_grep(b.path, rules, ["todo"]).grep.error is not None
    ev = scanning.scan_worktree(b.path, RuleEngine(rules, only=["todo"]))
    assert [(f.path, f.line) for f in ev.findings["a.py"]] == [("a.py", 1)]


def test_a_search_stopped_while_its_output_is_read_ends_once(repo: RepoBuilder, recwarn):
    grep = scanning.Grep(repo.path, (b"TODO",))
    chunks = grep.grep.chunks()
    assert next(chunks)
    grep.close()
    assert grep.grep.returncode is not None and grep.listing.returncode is not None
    chunks.close()  # the generator's own clean-up finds git ended already
    assert list(grep.grep.chunks()) == [] and not grep.grep.ok
    assert not recwarn.list


def test_a_plain_scan_in_process_leaves_garbage_collection_as_it_was(repo: RepoBuilder, capsys):
    import gc

    from healthtui.__main__ import main

    assert gc.isenabled()
    assert main(["--repo", str(repo.path), "scan", "--rule", "todo"]) == 0
    assert capsys.readouterr().out.splitlines() == expected("todo")
    assert gc.isenabled()

"""Regex rules: matching lines counted like `grep -c`, over the files their globs select."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from healthtui.collect.scanning import scan_worktree
from healthtui.config import RegexRule
from healthtui.demo.builder import RepoBuilder
from healthtui.rules.paths import compile_globs
from healthtui.rules.regex import CompiledRegex, required_literals
from tests.rules.trees import engine, evaluate, found, lines, todo_rule

MESSY = {
    "a.py": "x = 1  # TODO one # TODO two\n# TODO\nclean\n#TODO without newline",
    "crlf.py": b"# TODO\r\nx\r\n# TODO\r\n",
    "latin1.py": b"caf\xe9 # TODO\n\xff\xfe\n",
    "pkg/deep/b.py": "    # TODO indented\n",
    "binary.py": b"\x00\x01# TODO\n",
    "notes.txt": "# TODO not python\n",
    "lone_cr.py": b"# TODO\rsame line for grep\n",
}


def test_lines_are_counted_once_like_grep_c():
    ev = evaluate(MESSY, regex=(todo_rule(),))
    assert lines(ev, "todo") == [
        ("a.py", 1),
        ("a.py", 2),
        ("a.py", 4),
        ("crlf.py", 1),
        ("crlf.py", 3),
        ("latin1.py", 1),
        ("lone_cr.py", 1),
        ("pkg/deep/b.py", 1),
    ]
    assert ev.metrics["todo"] == 8
    assert ev.metrics["todo.files"] == 5
    first = found(ev, "todo")[0]
    assert (first.col, first.text, first.message) == (
        8,
        "x = 1  # TODO one # TODO two",
        "matches /#\\s*TODO/",
    )


def test_counts_agree_with_git_grep_I_on_a_real_repository(tmp_path: Path):
    b = RepoBuilder(tmp_path / "repo")
    b.commit(dict(MESSY))
    patterns = [r"#\s*TODO", r"TODO|clean", r"^#", r"two$", r"O\b"]
    for pattern in patterns:
        rule = RegexRule(id="r", pattern=pattern, include=("**/*.py",))
        ev = scan_worktree(b.path, engine(regex=(rule,), only=["r"]))
        ours = {p: sum(1 for f in fs if f.rule == "r") for p, fs in ev.findings.items()}
        proc = subprocess.run(
            ["git", "grep", "-I", "-c", "-E", pattern, "--", "*.py"],
            cwd=b.path,
            capture_output=True,
            text=True,
        )
        theirs = {
            path: int(n) for path, n in (ln.rsplit(":", 1) for ln in proc.stdout.splitlines())
        }
        assert ours == theirs, pattern


def test_include_and_exclude_globs():
    files = {
        "app/a.py": "# TODO\n",
        "app/vendor/b.py": "# TODO\n",
        "vendor/c.py": "# TODO\n",
        "docs/guide.md": "# TODO\n",
        "docs/sub/deep.md": "# TODO\n",
        "notes.txt": "# TODO\n",
        "deep/notes.txt": "# TODO\n",
    }
    rule = todo_rule(include=("**/*.py", "docs/*.md", "*.txt"), exclude=("vendor/", "**/vendor/**"))
    ev = evaluate(files, regex=(rule,))
    assert sorted(ev.findings) == ["app/a.py", "deep/notes.txt", "docs/guide.md", "notes.txt"]
    anchored = todo_rule(include=("/notes.txt",))
    assert sorted(evaluate(files, regex=(anchored,)).findings) == ["notes.txt"]


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("*.py", "a/b/c.py", True),
        ("a/*.py", "a/b/c.py", False),
        ("a/**/*.py", "a/c.py", True),
        ("a/**/*.py", "a/b/c/d.py", True),
        ("a/", "a/b/c.py", True),
        ("/c.py", "a/c.py", False),
        ("[ab].py", "x/b.py", True),
        ("[!ab].py", "x/b.py", False),
        ("?.py", "x/ab.py", False),
    ],
)
def test_glob_semantics(pattern, path, matches):
    assert compile_globs([pattern])(path) is matches


def test_rules_are_independent_and_each_has_its_metric():
    fixme = RegexRule(id="fixme", pattern="FIXME", message="fix me")
    ev = evaluate({"a.py": "# TODO\n# FIXME\n# TODO FIXME\n"}, regex=(todo_rule(), fixme))
    assert lines(ev, "todo") == [("a.py", 1), ("a.py", 3)]
    assert lines(ev, "fixme") == [("a.py", 2), ("a.py", 3)]
    assert found(ev, "fixme")[0].message == "fix me"
    assert (ev.metrics["todo"], ev.metrics["fixme"]) == (2, 2)


def test_context_sensitive_patterns_are_searched_line_by_line():
    text = "alpha\nbeta alpha\nalphabet\n"
    rule = CompiledRegex("r", r"\Aalpha(?!bet)")
    assert [h[0] for h in rule.hits(text)] == [1]
    assert [h[0] for h in CompiledRegex("r", r"a\Z").hits("beta\nalpha\n")] == [1, 2]


def test_a_pattern_spanning_lines_never_counts():
    assert CompiledRegex("r", r"a\nb").hits("a\nb\n") == []
    assert [h[0] for h in CompiledRegex("r", r"a\s+b").hits("a\nb\na b\n")] == [3]


@pytest.mark.parametrize(
    ("pattern", "needles"),
    [
        (r"#\s*TODO", (b"TODO",)),
        ("TODO|FIXME", (b"TODO", b"FIXME")),
        ("(?i)todo", None),
        ("(?i:to)do", (b"do",)),
        ("foo(bar)?baz", (b"foo",)),
        (r"\bimport\s+legacy_ws\b", (b"legacy_ws",)),
        ("(abc)+x", (b"abc",)),
        ("[ab]", None),
        ("x|.", None),
        ("café", ("café".encode(),)),
    ],
)
def test_required_literals_prefilter(pattern, needles):
    assert required_literals(pattern) == needles


def test_prefilter_skips_files_without_the_literal():
    rule = CompiledRegex("r", r"#\s*TODO")
    assert rule.may_match(b"x = 1\n# TODO\n")
    assert not rule.may_match(b"x = 1\n# todo\n")
    assert CompiledRegex("r", r"(?i)todo").may_match(b"anything")

"""The regex-only work-tree scan through `git grep -F` agrees with reading every file and running
the incremental evaluator, on messy real repositories (binary, oversized, untracked, ignored,
assume-unchanged, skip-worktree, symlinked and oddly named files, git attributes)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from healthtui.collect import scanning
from healthtui.config import BUILTIN_RULE_IDS, RULE_ALIASES, RegexRule, RulesConfig
from healthtui.demo.builder import RepoBuilder
from healthtui.rules import Evaluation, RuleEngine
from healthtui.rules.paths import compile_globs
from healthtui.rules.regex import CompiledRegex, _path_test, line_hits, regex_hits

TODO = RegexRule(id="todo", pattern=r"#\s*TODO")
FIXME = RegexRule(id="fixme", pattern=r"FIXME|TODO\(\w+\)", include=("*.py", "*.md"))
DOCS = RegexRule(id="docs", pattern=r"^TODO\b", include=("docs/**",), exclude=("docs/old/",))
RULE_SETS = [(TODO,), (TODO, FIXME, DOCS), (FIXME,)]

TRACKED = {
    ".gitignore": "generated/\n",
    ".gitattributes": "forced_text.py diff\nforced_binary.py -diff\n",
    "app/a.py": "x = 1  # TODO one # TODO two\n# TODO\nclean\n#TODO without newline",
    "app/crlf.py": b"# TODO\r\nx\r\n# TODO(ann) FIXME\r\n",
    "app/bom.py": b"\xef\xbb\xbf# TODO first line\n",
    "app/latin1.py": b"caf\xe9 # TODO\n\xff\xfe TODO(bob)\n",
    "app/binary.py": b"\x00\x01# TODO\n",
    "app/late_nul.py": b"# TODO\n" + b"x" * 9000 + b"\x00# TODO\n",
    "app/forced_text.py": b"\x00# TODO forced text still has a NUL\n",
    "app/forced_binary.py": "# TODO git calls this binary\n",
    "app/huge.py": "# TODO\n" * 4000,
    "app/many.py": "".join(f"# TODO {i}\nx = {i}  # FIXME\n" for i in range(20)),
    "app/spanning.py": "# \nTODO\n",
    "app/assumed.py": "x = 1\n",
    "app/assumed_clean.py": "# TODO in the index only\n",
    "app/sparse_kept.py": "# TODO in the index only\n",
    "app/sparse.py": "# TODO skip-worktree, gone from disk\n",
    "app/gone.py": "# TODO deleted from the work tree\n",
    "app/caf\udce9 name.py": b"# TODO odd name\n",
    "app/new\nline.py": "# TODO newline in the name\n",
    "generated/tracked.py": "# TODO tracked, though its directory is ignored\n",
    ".venv/lib/x.py": "# TODO in a virtualenv\n",
    "docs/guide.md": "TODO write this\nnot TODO\n",
    "docs/old/guide.md": "TODO old\n",
    "notes.txt": "# TODO not python\n",
}


def regex_engine(*rules: RegexRule) -> RuleEngine:
    """An engine running only `rules`, with a 20 kB file size cap."""
    return RuleEngine(RulesConfig(regex=rules, max_file_size=20_000), only=[r.id for r in rules])


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


@pytest.fixture(scope="module")
def messy(tmp_path_factory) -> Path:
    b = RepoBuilder(tmp_path_factory.mktemp("grep") / "repo")
    b.commit({k.encode("utf-8", "surrogateescape"): v for k, v in TRACKED.items()})
    root = b.path
    (root / "app" / "gone.py").unlink()
    (root / "app" / "assumed.py").write_text("# TODO changed, but git assumes it is not\n")
    git(root, "update-index", "--assume-unchanged", "app/assumed.py")
    (root / "app" / "assumed_clean.py").write_text("clean now, git assumes it is not\n")
    (root / "app" / "sparse_kept.py").write_text("clean on disk, skip-worktree\n")
    git(root, "update-index", "--assume-unchanged", "app/assumed_clean.py")
    git(root, "update-index", "--skip-worktree", "app/sparse.py", "app/sparse_kept.py")
    (root / "app" / "sparse.py").unlink()
    (root / "app" / "untracked.py").write_text("# TODO untracked\n# FIXME too\n")
    (root / "generated" / "ignored.py").write_text("# TODO ignored\n")
    (root / "app" / "link.py").symlink_to(root / "app" / "a.py")
    return root


def reference(root: Path, engine: RuleEngine) -> Evaluation:
    """Every file git lists, read whole, through the incremental evaluator."""
    out = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=root,
        capture_output=True,
        check=True,
    ).stdout
    evaluator = engine.evaluator()
    for raw in dict.fromkeys(out.split(b"\0")):
        path = raw.decode("utf-8", "surrogateescape")
        full = root / path
        kind = engine.kind(path)
        if raw and kind is not None and full.is_file() and not full.is_symlink():
            data = full.read_bytes()
            too_big = len(data) > engine.rules.max_file_size
            facts = engine.skipped_facts() if too_big else engine.extract(kind, data)
            evaluator.update(path, facts)
    return evaluator.result()


@pytest.mark.parametrize("rules", RULE_SETS, ids=lambda rs: "+".join(r.id for r in rs))
def test_the_grep_path_agrees_with_reading_every_file(messy: Path, rules, monkeypatch):
    engine = regex_engine(*rules)
    assert scanning.RegexTally.applies(engine) and engine.regex_needles()

    def no_fallback(root):
        raise AssertionError("the git grep path gave up")

    monkeypatch.setattr(scanning, "worktree_files", no_fallback)
    got = scanning.scan_worktree(messy, engine)
    want = reference(messy, engine)
    assert got.findings == want.findings
    # Only files holding a needle are looked at: app/huge.py is skipped when it holds one.
    huge_has_needle = any(n in (messy / "app/huge.py").read_bytes() for n in engine.regex_needles())
    assert want.metrics["skipped_files"] == 1
    assert got.metrics == {**want.metrics, "skipped_files": 1 if huge_has_needle else 0}
    assert got.changed_paths == want.changed_paths
    assert got.warnings == want.warnings


def test_what_the_messy_tree_holds(messy: Path):
    engine = regex_engine(TODO)
    ev = scanning.scan_worktree(messy, engine)
    lines = {(f.path, f.line) for fs in ev.findings.values() for f in fs}
    assert ("app/assumed.py", 1) in lines  # the work tree, not the index
    assert ("app/untracked.py", 1) in lines
    assert ("generated/tracked.py", 1) in lines
    assert ("app/new\nline.py", 1) in lines
    assert ("app/caf\udce9 name.py", 1) in lines
    assert ("app/bom.py", 1, 1) in {(f.path, f.line, f.col) for f in ev.findings["app/bom.py"]}
    assert ("app/late_nul.py", 2) in lines  # the NUL is past git's 8000-byte binary test
    assert ("app/forced_binary.py", 1) in lines
    assert len(ev.findings["app/many.py"]) == 20
    # git grep reads the index for these; what it finds there does not count
    assert "app/assumed_clean.py" not in ev.findings and "app/sparse_kept.py" not in ev.findings
    for path in ("binary", "forced_text", "huge", "sparse", "gone", "link", "spanning"):
        assert f"app/{path}.py" not in ev.findings
    assert "generated/ignored.py" not in ev.findings
    assert ev.metrics["skipped_files"] == 1  # app/huge.py, over max_file_size


def test_outside_a_repository_the_files_are_walked(tmp_path: Path):
    (tmp_path / "a.py").write_text("# TODO\n")
    ev = scanning.scan_worktree(tmp_path, regex_engine(TODO))
    assert [(f.path, f.line) for f in ev.findings["a.py"]] == [("a.py", 1)]


def test_the_tally_is_what_the_evaluator_says(messy: Path):
    engine = regex_engine(TODO, FIXME, DOCS)
    tally, evaluator = scanning.RegexTally(engine), engine.evaluator()
    for path in ("app/a.py", "app/crlf.py", "app/many.py", "docs/guide.md", "docs/old/guide.md"):
        facts = engine.extract(engine.kind(path) or "text", (messy / path).read_bytes())
        tally.update(path, facts)
        evaluator.update(path, facts)
    tally.update("app/huge.py", engine.skipped_facts())
    evaluator.update("app/huge.py", engine.skipped_facts())
    assert tally.result() == evaluator.result()


def test_the_tally_is_only_for_regex_only_engines():
    assert not scanning.RegexTally.applies(RuleEngine(RulesConfig(regex=(TODO,))))
    assert scanning.RegexTally.applies(RuleEngine(RulesConfig(regex=(TODO,)), only=["todo"]))


PATTERNS = [r"#\s*TODO", r"TODO|FIXME", r"^\s*x", r"O\b", r"\ufeffTODO", "é", r"(?i)todo", r"\AT"]
LINES = st.lists(
    st.sampled_from(
        [b"# TODO", b"TODO", b"\xef\xbb\xbfTODO", b"caf\xc3\xa9", b"\xe2\x82", b"x\r", b"\x00", b""]
    ),
    max_size=4,
).map(b"".join)


@settings(max_examples=300, deadline=None)
@given(st.lists(LINES, max_size=6), st.booleans())
def test_line_hits_are_regex_hits_line_by_line(lines: list[bytes], final_newline: bool):
    rules = tuple(CompiledRegex(f"r{i}", p) for i, p in enumerate(PATTERNS))
    data = b"\n".join(lines) + (b"\n" if final_newline and lines else b"")
    want = regex_hits(data, rules)
    got: dict[str, list[list]] = {}
    for number, raw in enumerate(data.split(b"\n")[: len(lines)], 1):
        for rule_id, hit in line_hits(rules, number, raw):
            got.setdefault(rule_id, []).append(hit)
    if lines and not final_newline and lines[-1] == b"":
        got = {k: [h for h in v if h[0] != len(lines)] for k, v in got.items()}
        got = {k: v for k, v in got.items() if v}
    assert got == want


@pytest.mark.parametrize(
    "globs",
    [["*.py"], ["**/*.py"], ["*.py", "**/*.md"], ["*.tar.gz"], [], ["docs/*.md"], [" *.py"]],
)
@pytest.mark.parametrize(
    "path", ["a.py", "x/y/a.py", ".py", "a.pyc", "a.py/b", "x/a.md", "a.tar.gz", "docs/a.md"]
)
def test_suffix_globs_match_like_the_glob_matcher(globs, path):
    assert _path_test(globs)(path) == compile_globs(globs)(path)


def test_builtin_ids_are_the_engines():
    from healthtui.rules import engine

    assert set(engine.BUILTIN_RULES) == BUILTIN_RULE_IDS
    assert set(RULE_ALIASES.values()) <= BUILTIN_RULE_IDS


def test_grep_starts_from_the_config_when_the_rules_look_regex_only(messy: Path, monkeypatch):
    every = RulesConfig(regex=(TODO, FIXME), max_file_size=20_000)
    regex_only = RulesConfig(regex=(TODO, FIXME), disable=(*BUILTIN_RULE_IDS - {"suite"}, "suites"))
    assert scanning.start_grep(messy, every) is None  # built-in rules run too
    assert scanning.start_grep(None, every, ["todo"]) is None  # --rev: nothing to grep
    assert scanning.start_grep(messy, every, ["todo", "await_misuse"]) is None
    unliteral = RulesConfig(regex=(RegexRule(id="any", pattern=r"\w+"),))
    assert scanning.start_grep(messy, unliteral, ["any"]) is None
    with scanning.start_grep(messy, regex_only) as grep:
        assert grep is not None and grep.needles == (b"TODO", b"FIXME", b"TODO(")
    assert grep.grep.returncode is not None  # stopped
    started = []
    monkeypatch.setattr(scanning.Grep, "__init__", counted(scanning.Grep.__init__, started))
    with scanning.start_grep(messy, every, ["todo"]) as grep:
        assert grep is not None and grep.needles == (b"TODO",)
        engine = RuleEngine(every, only=["todo"])
        got = scanning.scan_worktree(messy, engine, grep)
    assert len(started) == 1  # the scan took the search already running
    assert got.findings == reference(messy, engine).findings


def counted(init, log: list):
    def wrapper(self, *args):
        log.append(args)
        init(self, *args)

    return wrapper


def test_a_started_grep_the_engine_does_not_want_is_stopped(messy: Path, monkeypatch):
    rules = RulesConfig(regex=(TODO, FIXME), max_file_size=20_000)
    for only, searches in ((["todo", "fixme"], 2), (["unparseable_files"], 1)):
        started: list = []
        monkeypatch.setattr(scanning.Grep, "__init__", counted(scanning.Grep.__init__, started))
        grep = scanning.start_grep(messy, rules, ["todo"])
        assert grep is not None
        engine = RuleEngine(rules, only=only)
        got = scanning.scan_worktree(messy, engine, grep)
        assert grep.grep.returncode is not None and grep.listing.returncode is not None
        assert len(started) == searches  # a search for the engine's own needles, if any
        assert got.findings == reference(messy, engine).findings
        monkeypatch.undo()


def test_findings_made_quickly_are_still_frozen_ordered_dataclasses():
    import dataclasses
    import pickle

    from healthtui.rules.base import Finding

    f = Finding("a.py", 3, 1, "todo", "# TODO", message="m")
    assert f == Finding(path="a.py", line=3, col=1, rule="todo", text="# TODO", message="m")
    assert hash(f) == hash(dataclasses.replace(f))
    assert (f.detail, pickle.loads(pickle.dumps(f))) == ("", f)
    assert sorted([Finding("a.py", 4, 1, "r", ""), f, Finding("a.py", 3, 1, "a", "")])[1] is f
    with pytest.raises(dataclasses.FrozenInstanceError):
        f.line = 4  # type: ignore[misc]
    with pytest.raises(TypeError):
        Finding("a.py", 3)  # type: ignore[call-arg]

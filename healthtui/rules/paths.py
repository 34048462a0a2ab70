"""Path-side helpers of the rules: glob matching, module names and test-file detection.

Paths are repo-relative, '/'-separated `str`. Globs follow gitignore/pathlib conventions:
`*` and `?` stay within one path segment, `**` spans any number of segments (including none),
a pattern without a '/' matches the file name at any depth, and a trailing '/' means "everything
below this directory".
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterable

# Directories whose files are never part of the project's own code (any depth), and build outputs
# (only at the repository root, where setuptools writes them).
SKIP_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        ".venv",
        "venv",
        ".tox",
        ".nox",
        "node_modules",
        "__pycache__",
        "site-packages",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".eggs",
        ".direnv",
    }
)
ROOT_SKIP_DIRS = frozenset({"build", "dist"})

DEFAULT_TEST_FILES = ("test_*.py", "*_test.py")
# The files pytest may read its config from, in the order it tries them (see `markers`).
CONFIG_NAMES = ("pytest.ini", ".pytest.ini", "pyproject.toml", "tox.ini", "setup.cfg")


def is_skipped_dir(name: str, *, at_root: bool) -> bool:
    """Whether a directory of this name is vendored/virtualenv/build output to leave alone."""
    return name in SKIP_DIRS or name.endswith(".egg-info") or (at_root and name in ROOT_SKIP_DIRS)


def is_ignored_path(path: str) -> bool:
    """True for files inside skipped directories (see `is_skipped_dir`)."""
    head, sep, _ = path.rpartition("/")
    if not sep:
        return False
    dirs = head.split("/")
    return (
        not SKIP_DIRS.isdisjoint(dirs)
        or dirs[0] in ROOT_SKIP_DIRS
        or (".egg-info" in head and any(d.endswith(".egg-info") for d in dirs))
    )


def _segment(seg: str) -> str:
    out = []
    i, n = 0, len(seg)
    while i < n:
        c = seg[i]
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            j = i + 1
            if j < n and seg[j] in "!^":
                j += 1
            if j < n and seg[j] == "]":
                j += 1
            while j < n and seg[j] != "]":
                j += 1
            if j >= n:
                out.append(re.escape(c))
            else:
                body = seg[i + 1 : j]
                neg = body[:1] in ("!", "^")
                if neg:
                    body = body[1:]
                body = body.replace("\\", "\\\\")
                out.append(f"[{'^' if neg else ''}{body}]")
                i = j
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out)


def glob_to_regex(pattern: str) -> str:
    """Translate one glob (see module docstring) into a regex for `re.fullmatch` on a path."""
    pat = pattern.strip().replace("\\", "/")
    if pat.startswith("/"):
        pat = pat.lstrip("/")
    elif "/" not in pat.rstrip("/"):
        pat = "**/" + pat
    if pat.endswith("/"):
        pat += "**"
    segs = pat.split("/")
    out = []
    for i, seg in enumerate(segs):
        last = i == len(segs) - 1
        if seg == "**":
            out.append(".*" if last else "(?:[^/]*/)*")
        else:
            out.append(_segment(seg) + ("" if last else "/"))
    return "".join(out)


class GlobMatcher:
    """Matches a path against any of some globs (an empty list matches nothing); picklable, so
    an evaluator holding matchers can be saved and restored."""

    __slots__ = ("_match", "patterns")

    def __init__(self, patterns: Iterable[str]):
        self.patterns = tuple(p for p in patterns if p.strip())
        if self.patterns:
            alts = "|".join(f"(?:{glob_to_regex(p)})" for p in self.patterns)
            self._match = re.compile(alts, re.DOTALL).fullmatch
        else:
            self._match = None

    def __call__(self, path: str) -> bool:
        return self._match is not None and self._match(path) is not None

    def __reduce__(self):
        return (GlobMatcher, (self.patterns,))


def compile_globs(patterns: Iterable[str]) -> Callable[[str], bool]:
    """One matcher for any of `patterns` (an empty list matches nothing)."""
    return GlobMatcher(patterns)


def module_parts(path: str) -> tuple[str, ...]:
    """Dotted module components a path would import as from the repository root.

    `a/b/c.py` -> (a, b, c); `a/b/__init__.py` -> (a, b). Source roots such as `src/` are kept;
    lookups match on suffixes, so `src/acme/ws.py` is found as `acme.ws` too.
    """
    parts = path.split("/")
    name = parts[-1]
    stem = name[:-3] if name.endswith(".py") else name
    if stem == "__init__":
        return tuple(parts[:-1])
    return (*parts[:-1], stem)


def display_module(path: str) -> str:
    """The module name shown in messages: dotted, without a leading `src.`."""
    parts = module_parts(path)
    if len(parts) > 1 and parts[0] == "src":
        parts = parts[1:]
    return ".".join(parts)


def package_parts(path: str) -> tuple[str, ...]:
    """The package a file's relative imports start from (its directory)."""
    return tuple(path.split("/")[:-1])


def resolve_relative(path: str, level: int, module: str) -> str | None:
    """Absolute dotted name of `from <level dots><module> import ...` in the file at `path`."""
    if level <= 0:
        return module
    pkg = package_parts(path)
    if level - 1 > len(pkg):
        return None
    base = pkg[: len(pkg) - (level - 1)]
    parts = [*base, *(module.split(".") if module else ())]
    return ".".join(parts) if parts else None


def parent_dirs(path: str) -> list[str]:
    """Ancestor directories of a file, root first: `a/b/c.py` -> ['', 'a', 'a/b']."""
    parts = path.split("/")[:-1]
    return ["", *("/".join(parts[: i + 1]) for i in range(len(parts)))]


def dir_of(path: str) -> str:
    return path.rpartition("/")[0]


def is_under(path: str, directory: str) -> bool:
    return not directory or path.startswith(directory + "/")


def basename(path: str) -> str:
    return path.rpartition("/")[2]


def is_test_file(path: str, patterns: Iterable[str] = DEFAULT_TEST_FILES) -> bool:
    """Whether pytest would collect `path` as a test module under `python_files` patterns.

    Like pytest, a pattern without '/' matches the file name, one with '/' the whole path.
    """
    if not path.endswith(".py"):
        return False
    name = basename(path)
    if patterns is DEFAULT_TEST_FILES or patterns == DEFAULT_TEST_FILES:  # fnmatch, quicker
        return name.startswith("test_") or name.endswith("_test.py")
    for pat in patterns:
        target = path if "/" in pat else name
        if fnmatch.fnmatchcase(target, pat):
            return True
    return False


def is_conftest(path: str) -> bool:
    return basename(path) == "conftest.py"

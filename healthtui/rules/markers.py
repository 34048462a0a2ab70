"""`unregistered_markers`: pytest markers used but not registered, as pytest itself decides.

Registered, for a file, is what pytest would see when run from the repository root:
- builtins (`skip`, `skipif`, `xfail`, `parametrize`, `usefixtures`, `filterwarnings`, and `tryfirst`
  / `trylast`, which pytest still registers as markers), and the configured plugin markers;
- the `markers` of the config file pytest would load. Like pytest's `locate_config`, in a
  directory the first of `pytest.ini` (always, even empty or without a `[pytest]` section),
  `.pytest.ini` (with `[pytest]`), `pyproject.toml` (with `[tool.pytest.ini_options]`, or the newer
  `[tool.pytest]`), `tox.ini` (with `[pytest]`), `setup.cfg` (with `[tool:pytest]`) wins, and the
  rootmost directory holding such a file applies (the repository root when it has one; in a
  monorepo without one, each project's own);
- names registered by `config.addinivalue_line("markers", ...)` in `conftest.py` files of the
  file's directory or any parent: a conftest registers for its own subtree (what holds whichever
  order pytest collects in); the same call in any other module (a plugin, loaded through
  `pytest_plugins`, `-p` or an entry point) registers for the whole repository. Literal strings,
  loop variables over literal lists/dicts and simple f-strings are understood.
Marker names are parsed as pytest does: `line.split(":")[0].split("(")[0].strip()`.

Uses are every `pytest.mark.NAME` expression (decorators, `pytestmark` at module or class level,
`pytest.param(..., marks=...)`, `from pytest import mark [as m]` aliases, module-level aliases
like `slow = pytest.mark.slow`): pytest checks the name when that expression is evaluated.

Metrics: `unregistered_markers` = distinct unregistered names; `.sites` = use sites; `.files` =
files with one; `.strict` = 1 when the root config turns strict markers on (`--strict-markers` or
`--strict` in `addopts`, or `strict_markers`/`strict` true); `.failing_files` = test files
(per `python_files`) and conftest files with an unregistered use, which would fail collection
under strict markers (0 when strict is off).
"""

from __future__ import annotations

import shlex
import tomllib
from dataclasses import dataclass
from typing import Any

from healthtui.rules.base import Finding
from healthtui.rules.paths import CONFIG_NAMES, DEFAULT_TEST_FILES, is_conftest, is_test_file
from healthtui.rules.pyfacts import marker_name

ID = "unregistered_markers"
VERSION = 2

BUILTIN_MARKERS = frozenset(
    {
        "skip",
        "skipif",
        "xfail",
        "parametrize",
        "usefixtures",
        "filterwarnings",
        "tryfirst",
        "trylast",
    }
)
MISSPELLED_PARAMETRIZE = frozenset({"parameterize", "parametrise", "parameterise"})
_KEYS = ("markers", "addopts", "strict_markers", "strict", "python_files")


@dataclass(frozen=True)
class PytestConfig:
    """The parts of a pytest config file that decide markers and test files."""

    markers: frozenset[str] = frozenset()
    strict: bool = False
    python_files: tuple[str, ...] = DEFAULT_TEST_FILES


NO_CONFIG = PytestConfig()


def parse_ini(text: str) -> dict[str, dict[str, str]]:
    """Sections of an INI file as pytest's `iniconfig` reads them; never raises (bad lines are
    skipped where iniconfig would refuse the whole file)."""
    sections: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    last_key: str | None = None
    for raw in text.removeprefix("\ufeff").splitlines():
        stripped = raw.lstrip()
        if not stripped or stripped[0] in "#;":
            continue
        line = raw.rstrip()
        if line[0] == "[":
            head = line
            for c in "#;":
                head = head.split(c)[0].rstrip()
            if head.endswith("]"):
                current = sections.setdefault(head[1:-1], {})
                last_key = None
            continue
        if line[0].isspace():
            if current is not None and last_key is not None:
                prev = current[last_key]
                current[last_key] = f"{prev}\n{line.strip()}" if prev else line.strip()
            continue
        if current is None:
            continue
        name, sep, value = line.partition("=")
        if not sep or ":" in name:
            name, sep, value = line.partition(":")
        if not sep:
            continue
        last_key = name.strip()
        current[last_key] = value.strip()
    return sections


def _pick(table: Any) -> dict[str, Any]:
    if not isinstance(table, dict):
        return {}
    return {k: table[k] for k in _KEYS if k in table}


def extract_config(data: bytes) -> dict[str, Any]:
    """Facts of a file that may configure pytest, read every way it might be named (the path
    decides later which reading counts): INI sections `[pytest]`/`[tool:pytest]` and TOML tables."""
    text = data.decode("utf-8", "replace")
    facts: dict[str, Any] = {"status": "ok"}
    try:
        ini = parse_ini(text)
    except Exception:  # defensive: never raise on odd bytes
        ini = {}
    picked = {s: _pick(ini[s]) for s in ("pytest", "tool:pytest") if s in ini}
    if picked:
        facts["ini"] = picked
    try:
        doc = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, ValueError, RecursionError):
        doc = None
    if isinstance(doc, dict):
        tool = doc.get("tool")
        pytest_table = tool.get("pytest") if isinstance(tool, dict) else None
        if isinstance(pytest_table, dict):
            if isinstance(pytest_table.get("ini_options"), dict):
                facts["toml"] = _pick(pytest_table["ini_options"])
            elif pytest_table:
                facts["toml"] = _pick(pytest_table)
    return facts


def _lines(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    if isinstance(value, str):
        return [t.strip() for t in value.split("\n") if t.strip()]
    return []


def _args(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    if isinstance(value, str):
        try:
            return shlex.split(value)
        except ValueError:
            return value.split()
    return []


def _true(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def config_for(basename: str, facts: dict[str, Any]) -> PytestConfig | None:
    """The pytest config a file named `basename` holds, or None if pytest would pass it over."""
    if basename == "pytest.ini":
        section: dict[str, Any] | None = facts.get("ini", {}).get("pytest", {})
    elif basename in (".pytest.ini", "tox.ini"):
        section = facts.get("ini", {}).get("pytest")
    elif basename == "setup.cfg":
        section = facts.get("ini", {}).get("tool:pytest")
    elif basename == "pyproject.toml":
        section = facts.get("toml")
    else:
        section = None
    if section is None:
        return None
    markers = frozenset(n for line in _lines(section.get("markers")) if (n := marker_name(line)))
    addopts = _args(section.get("addopts"))
    strict = (
        "--strict-markers" in addopts
        or "--strict" in addopts
        or _true(section.get("strict_markers", False))
        or _true(section.get("strict", False))
    )
    files = tuple(_args(section.get("python_files"))) or DEFAULT_TEST_FILES
    return PytestConfig(markers=markers, strict=strict, python_files=files)


def choose(configs: dict[str, PytestConfig | None]) -> PytestConfig | None:
    """The config pytest loads from one directory's candidate files (by basename)."""
    for name in CONFIG_NAMES:
        cfg = configs.get(name)
        if cfg is not None:
            return cfg
    return None


def evaluate(
    path: str,
    marks: list[list],
    registered: frozenset[str],
    cfg: PytestConfig,
) -> tuple[list[Finding], dict[str, int], bool]:
    """Findings for one file's marker uses, the unregistered names with their site counts, and
    whether the file would fail collection under strict markers."""
    found: list[Finding] = []
    names: dict[str, int] = {}
    for line, col, name, text in marks:
        if name in registered:
            continue
        names[name] = names.get(name, 0) + 1
        if name in MISSPELLED_PARAMETRIZE:
            message = f"unknown marker '{name}' (did you mean 'parametrize'?)"
        else:
            message = f"unregistered marker '{name}'"
        if cfg.strict:
            message += " (fails collection: strict markers)"
        found.append(Finding(path, line, col, ID, text, message, "strict" if cfg.strict else ""))
    failing = (
        bool(found) and cfg.strict and (is_conftest(path) or is_test_file(path, cfg.python_files))
    )
    return found, names, failing

"""Configuration: `[tool.healthtui]` in pyproject.toml or a `healthtui.toml`, validated into frozen dataclasses.

Every key is optional; with no file at all healthtui runs on the built-in defaults below. Validation
errors name the file, the dotted key and what is wrong, and surface as `ConfigError` (exit 2).
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from healthtui.errors import ConfigError

DEFAULT_SYNC_REGISTRARS = (
    "add_cleanup",
    "atexit.register",
    "signal.signal",
    "add_done_callback",
    "call_soon",
    "call_soon_threadsafe",
    "call_later",
    "addfinalizer",
    "add_signal_handler",
    "run_in_executor",
    "asyncio.to_thread",
    "threading.Thread",
    "threading.Timer",
)

DEFAULT_PLUGIN_MARKERS = (
    # pytest-asyncio, anyio, trio
    "asyncio",
    "anyio",
    "trio",
    # pytest-django
    "django_db",
    "urls",
    "ignore_template_errors",
    # pytest-timeout, pytest-xdist, pytest-rerunfailures, pytest-order, pytest-benchmark
    "timeout",
    "xdist_group",
    "flaky",
    "order",
    "benchmark",
    # pytest-dependency, pytest-randomly, pytest-mock, hypothesis, freezegun, pytest-httpx, respx
    "dependency",
    "randomly_dont_reorganize",
    "hypothesis",
    "freeze_time",
    "httpx_mock",
    "respx",
    "vcr",
    "block_network",
    "enable_socket",
    "disable_socket",
)

DEFAULT_TARGETS = {
    "await_misuse": 0.0,
    "async_callback": 0.0,
    "deprecated_imports": 0.0,
    "marker_errors": 0.0,
    "unregistered_markers": 0.0,
    "duplicate_classes": 0.0,
    "collection_errors": 0.0,
}


class _Record:
    """`__eq__`, `__hash__` and `__repr__` over the fields, as `@dataclass(frozen=True)` would write
    them, but written once here rather than compiled for each class at import: every command
    loads this module, and the compiling cost ~2 ms of a `scan`'s startup."""

    __slots__ = ()

    def _items(self) -> list[tuple[str, Any]]:
        return [(f.name, getattr(self, f.name)) for f in fields(self)]  # type: ignore[arg-type]

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._items() == other._items()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash(tuple(value for _, value in self._items()))

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={value!r}" for name, value in self._items())
        return f"{type(self).__name__}({shown})"


_record = dataclass(frozen=True, eq=False, repr=False)


@_record
class RegexRule(_Record):
    """A user rule: lines of matching files that match `pattern` (counted like `grep -c`)."""

    id: str
    pattern: str
    include: tuple[str, ...] = ("**/*.py",)
    exclude: tuple[str, ...] = ()
    message: str = ""


@_record
class RulesConfig(_Record):
    """The `[rules]` table: what the rules look for, which run, and the file size cap."""

    deprecated_modules: tuple[str, ...] = ()
    known_sync: tuple[str, ...] = ()
    sync_registrars: tuple[str, ...] = DEFAULT_SYNC_REGISTRARS
    ssot_classes: tuple[str, ...] = ()
    plugin_markers: tuple[str, ...] = DEFAULT_PLUGIN_MARKERS
    disable: tuple[str, ...] = ()
    regex: tuple[RegexRule, ...] = ()
    max_file_size: int = 2_000_000

    def key(self) -> str:
        """A stable hash of everything that changes findings: part of the cache and snapshot keys."""
        import hashlib  # here: loading it costs a scan's startup time, and only keys need it
        import json

        blob = json.dumps(asdict(self), sort_keys=True, default=list).encode()
        return hashlib.sha1(blob).hexdigest()[:16]


@_record
class Suite(_Record):
    """A named set of tests (path globs and/or markers) with a target pass rate."""

    name: str
    paths: tuple[str, ...] = ()
    markers: tuple[str, ...] = ()
    target: float = 0.9


DEFAULT_SUITES = (
    Suite(
        name="golden_path",
        paths=("**/golden_path/**", "**/golden_path/*"),
        markers=("golden_path",),
        target=0.9,
    ),
)


@_record
class Limit(_Record):
    """An absolute bound used by `healthtui check`."""

    metric: str
    max: float | None = None
    min: float | None = None


@_record
class Config(_Record):
    """A whole configuration (`source`: the file it came from, None for the defaults)."""

    source: Path | None = None
    branch: str | None = None
    database: str | None = None
    reports: tuple[str, ...] = ()
    test_command: tuple[str, ...] = ()
    test_timeout: int = 1800
    rules: RulesConfig = field(default_factory=RulesConfig)
    suites: tuple[Suite, ...] = DEFAULT_SUITES
    targets: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_TARGETS))
    limits: tuple[Limit, ...] = ()

    def target_for(self, metric: str) -> float | None:
        """The configured target of a metric; suite pass rates take their suite's target."""
        if metric in self.targets:
            return self.targets[metric]
        for suite in self.suites:
            if metric.startswith(f"suite.{suite.name}.pass_rate"):
                return suite.target
        return None

    def suite(self, name: str) -> Suite | None:
        return next((s for s in self.suites if s.name == name), None)


# The built-in rules' ids (`healthtui.rules.engine` keeps its rule modules under them; a test
# keeps the two in step) and the other names `rules.disable` and `--rule` take for them, known
# here so that a regex-only config can be told before any rule module is loaded.
BUILTIN_RULE_IDS = frozenset(
    {
        "await_misuse",
        "async_callback",
        "deprecated_imports",
        "unregistered_markers",
        "duplicate_classes",
        "unparseable_files",
        "suite",
    }
)
RULE_ALIASES = {"suites": "suite", "markers": "unregistered_markers"}

SKIPPED_FILES = "skipped_files"  # files over the size cap, counted by every rule engine
_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_RESERVED_IDS = BUILTIN_RULE_IDS | {
    "marker_errors",
    "collection_errors",
    "tests",
    "never_awaited",
    "flaky_tests",
    "failure_clusters",
    "deprecation_warnings",
}


class _Reader:
    """Walks a parsed TOML table, reporting `file: key: problem` for the first mistake."""

    def __init__(self, source: Path):
        self.source = source

    def fail(self, key: str, problem: str) -> ConfigError:
        return ConfigError(
            f"{self.source}: {key}: {problem}" if key else f"{self.source}: {problem}"
        )

    def table(self, value: Any, key: str, allowed: set[str] | None) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.fail(key, f"expected a table, got {_type(value)}")
        if allowed is not None:
            for k in value:
                if k not in allowed:
                    hint = ", ".join(sorted(allowed))
                    raise self.fail(f"{key}.{k}" if key else k, f"unknown key (known: {hint})")
        return value

    def string(self, value: Any, key: str) -> str:
        if not isinstance(value, str):
            raise self.fail(key, f"expected a string, got {_type(value)}")
        return value

    def strings(self, value: Any, key: str) -> tuple[str, ...]:
        if isinstance(value, str):
            return (value,)
        if not isinstance(value, list):
            raise self.fail(key, f"expected a list of strings, got {_type(value)}")
        for v in value:
            if not isinstance(v, str):
                raise self.fail(key, f"expected a list of strings, got a list holding {_type(v)}")
        return tuple(value)

    def number(self, value: Any, key: str) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(key, f"expected a number, got {_type(value)}")
        if value != value or value in (float("inf"), float("-inf")):
            raise self.fail(key, f"expected a finite number, got {value}")
        return float(value)

    def integer(self, value: Any, key: str, minimum: int = 0) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise self.fail(key, f"expected a whole number >= {minimum}, got {value!r}")
        return value

    def ident(self, value: Any, key: str) -> str:
        text = self.string(value, key)
        if not _ID.match(text):
            raise self.fail(key, f"{text!r} is not a valid id (letters, digits and _)")
        return text


def _type(value: Any) -> str:
    return {
        bool: "a boolean",
        int: "a number",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "a table",
    }.get(type(value), type(value).__name__)


_TOP_KEYS = {
    "branch",
    "database",
    "reports",
    "test_command",
    "test_timeout",
    "rules",
    "suites",
    "targets",
    "limits",
}
_RULE_KEYS = {
    "deprecated_modules",
    "known_sync",
    "sync_registrars",
    "ssot_classes",
    "plugin_markers",
    "disable",
    "regex",
    "max_file_size",
}


def parse_config(data: Mapping[str, Any], source: Path) -> Config:
    """Validate a `[tool.healthtui]` table (or a healthtui.toml document) into a `Config`."""
    r = _Reader(source)
    top = r.table(data, "", _TOP_KEYS)
    cfg = Config(source=source)
    updates: dict[str, Any] = {}
    if "branch" in top:
        updates["branch"] = r.string(top["branch"], "branch")
    if "database" in top:
        updates["database"] = r.string(top["database"], "database")
    if "reports" in top:
        updates["reports"] = r.strings(top["reports"], "reports")
    if "test_command" in top:
        cmd = top["test_command"]
        if isinstance(cmd, str):
            raise r.fail("test_command", "expected a list of arguments (argv), not a shell string")
        updates["test_command"] = r.strings(cmd, "test_command")
    if "test_timeout" in top:
        updates["test_timeout"] = r.integer(top["test_timeout"], "test_timeout", minimum=1)
    if "rules" in top:
        updates["rules"] = _parse_rules(r, top["rules"])
    if "suites" in top:
        updates["suites"] = _parse_suites(r, top["suites"])
    rules = updates.get("rules", cfg.rules)
    suites = updates.get("suites", cfg.suites)
    if "targets" in top:
        targets = dict(DEFAULT_TARGETS)
        for metric, value in r.table(top["targets"], "targets", None).items():
            _known_metric(r, f"targets.{metric}", metric, rules, suites)
            targets[metric] = r.number(value, f"targets.{metric}")
        updates["targets"] = targets
    if "limits" in top:
        limits = []
        for metric, value in r.table(top["limits"], "limits", None).items():
            key = f"limits.{metric}"
            _known_metric(r, key, metric, rules, suites)
            bounds = r.table(value, key, {"max", "min"})
            if not bounds:
                raise r.fail(key, "give max = N and/or min = N")
            limit = Limit(
                metric=metric,
                max=r.number(bounds["max"], f"{key}.max") if "max" in bounds else None,
                min=r.number(bounds["min"], f"{key}.min") if "min" in bounds else None,
            )
            if limit.max is not None and limit.min is not None and limit.min > limit.max:
                raise r.fail(key, f"min {limit.min:g} is above max {limit.max:g}")
            limits.append(limit)
        updates["limits"] = tuple(limits)
    return replace(cfg, **updates)


def _known_metric(
    r: _Reader, key: str, metric: str, rules: RulesConfig, suites: tuple[Suite, ...]
) -> None:
    """Refuse a target or limit on a metric nothing measures (a typo would be ignored silently):
    the part before the first dot must be a rule, regex rule or test metric, and a suite metric
    must name a configured suite."""
    head, _, rest = metric.partition(".")
    names = sorted(_RESERVED_IDS | {SKIPPED_FILES} | {rule.id for rule in rules.regex})
    if head == "suite":
        suite = rest.partition(".")[0]
        known = sorted(s.name for s in suites)
        if suite not in known:
            raise r.fail(key, f"no suite {suite!r} (suites: {', '.join(known) or 'none'})")
        return
    if head in names:
        return
    close = difflib.get_close_matches(head, names, n=1)
    hint = (
        f"did you mean {close[0] + metric[len(head) :]!r}?"
        if close
        else "known: " + ", ".join(names)
    )
    raise r.fail(key, f"no such metric ({hint})")


def _parse_rules(r: _Reader, value: Any) -> RulesConfig:
    rules = r.table(value, "rules", _RULE_KEYS)
    updates: dict[str, Any] = {}
    for key in ("deprecated_modules", "known_sync", "sync_registrars", "ssot_classes", "disable"):
        if key in rules:
            updates[key] = r.strings(rules[key], f"rules.{key}")
    if "plugin_markers" in rules:
        extra = r.strings(rules["plugin_markers"], "rules.plugin_markers")
        updates["plugin_markers"] = DEFAULT_PLUGIN_MARKERS + extra
    if "max_file_size" in rules:
        updates["max_file_size"] = r.integer(rules["max_file_size"], "rules.max_file_size", 1)
    if "regex" in rules:
        items = rules["regex"]
        if not isinstance(items, list):
            raise r.fail(
                "rules.regex", f"expected a list of tables ([[rules.regex]]), got {_type(items)}"
            )
        seen: set[str] = set()
        parsed = []
        for i, item in enumerate(items):
            key = f"rules.regex[{i}]"
            t = r.table(item, key, {"id", "pattern", "include", "exclude", "message"})
            if "id" not in t or "pattern" not in t:
                raise r.fail(key, "needs both `id` and `pattern`")
            rid = r.ident(t["id"], f"{key}.id")
            if rid in _RESERVED_IDS or rid in seen:
                raise r.fail(f"{key}.id", f"{rid!r} is already used by another rule")
            seen.add(rid)
            pattern = r.string(t["pattern"], f"{key}.pattern")
            try:
                compiled = re.compile(pattern)
            except re.error as exc:
                raise r.fail(
                    f"{key}.pattern", f"bad regular expression {pattern!r}: {exc}"
                ) from None
            if compiled.search("") is not None:
                raise r.fail(
                    f"{key}.pattern", f"{pattern!r} matches the empty string, so every line"
                )
            parsed.append(
                RegexRule(
                    id=rid,
                    pattern=pattern,
                    include=r.strings(t["include"], f"{key}.include")
                    if "include" in t
                    else RegexRule.include,
                    exclude=r.strings(t["exclude"], f"{key}.exclude") if "exclude" in t else (),
                    message=r.string(t.get("message", ""), f"{key}.message"),
                )
            )
        updates["regex"] = tuple(parsed)
    return replace(RulesConfig(), **updates)


def _parse_suites(r: _Reader, value: Any) -> tuple[Suite, ...]:
    suites = []
    for name, body in r.table(value, "suites", None).items():
        key = f"suites.{name}"
        r.ident(name, key)
        t = r.table(body, key, {"paths", "markers", "target"})
        target = r.number(t["target"], f"{key}.target") if "target" in t else 0.9
        if target > 1:
            target /= 100  # accept 90 as well as 0.9
        if not 0 <= target <= 1:
            raise r.fail(f"{key}.target", "expected a pass rate between 0 and 1 (or 0 to 100)")
        paths = r.strings(t.get("paths", []), f"{key}.paths")
        markers = r.strings(t.get("markers", []), f"{key}.markers")
        if not paths and not markers:
            raise r.fail(key, "a suite needs `paths` and/or `markers`")
        suites.append(Suite(name=name, paths=paths, markers=markers, target=target))
    return tuple(suites)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_bytes().removeprefix(b"\xef\xbb\xbf").decode())
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: not UTF-8 (byte {exc.start + 1})") from None


def find_config_file(root: Path | None) -> Path | None:
    """`healthtui.toml` at the repository root, else a pyproject.toml with `[tool.healthtui]`."""
    if root is None:
        return None
    candidate = root / "healthtui.toml"
    if candidate.is_file():
        return candidate
    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        data = _read_toml(pyproject)
        if isinstance(data.get("tool"), dict) and "healthtui" in data["tool"]:
            return pyproject
    return None


def config_from_text(text: str, name: str) -> Config:
    """Parse config from file contents (e.g. a blob at a revision); `name` says which kind of file."""
    source = Path(name)
    try:
        data = tomllib.loads(text.removeprefix("\ufeff"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from None
    return _from_document(data, source)


def _from_document(data: Mapping[str, Any], source: Path) -> Config:
    if source.name == "pyproject.toml":
        tool = data.get("tool", {})
        data = tool.get("healthtui", {}) if isinstance(tool, Mapping) else {}
        source = Path(f"{source} [tool.healthtui]")
    return parse_config(data, source)


def load_config(root: Path | None, explicit: Path | None = None) -> Config:
    """Load `explicit` if given, else the repository's config file, else the built-in defaults."""
    path = explicit if explicit is not None else find_config_file(root)
    if path is None:
        return Config()
    if explicit is not None and not explicit.is_file():
        raise ConfigError(f"{explicit}: config file not found")
    data = _read_toml(path)
    tool = data.get("tool")
    if path.name == "pyproject.toml" and not (isinstance(tool, dict) and "healthtui" in tool):
        raise ConfigError(f"{path}: no [tool.healthtui] table")
    return _from_document(data, path)

"""`RuleEngine`: which files the rules read, their facts, and an incremental `Evaluator`.

The evaluator keeps, per file, its facts and its findings per rule, plus reverse indexes so that
an update only re-evaluates what it can affect:
- resolution keys (`ws.get_manager`) -> files whose awaits/callbacks consulted them;
- class name -> modules defining it (duplicates);
- marker name -> files using it; config/conftest directories -> the files below them.
`update()` only records facts and marks (path, rule) pairs dirty; `result()` re-evaluates those.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from healthtui.config import RULE_ALIASES, SKIPPED_FILES, RulesConfig, Suite
from healthtui.errors import ConfigError
from healthtui.rules import regex as regex_rules
from healthtui.rules.base import Evaluation, Facts, Finding
from healthtui.rules.paths import (
    CONFIG_NAMES,
    basename,
    dir_of,
    is_conftest,
    is_ignored_path,
    is_test_file,
    is_under,
    module_parts,
    parent_dirs,
)
from healthtui.rules.regex import CompiledRegex, RegexSelector

if TYPE_CHECKING:
    from healthtui.rules import (
        async_callback,
        await_misuse,
        deprecated_imports,
        duplicate_classes,
        markers,
        pyfacts,
        suites,
    )
    from healthtui.rules.pyfacts import ExtractOptions
    from healthtui.rules.resolution import FileIndex, Resolver

ENGINE_VERSION = 2
UNPARSEABLE = "unparseable_files"
SKIPPED = SKIPPED_FILES

AWAIT_MISUSE = "await_misuse"
ASYNC_CALLBACK = "async_callback"
DEPRECATED_IMPORTS = "deprecated_imports"
MARKERS = "unregistered_markers"
DUPLICATE_CLASSES = "duplicate_classes"
SUITE = "suite"

# Built-in rule id -> the module that holds its VERSION (`unparseable_files`: pyfacts'
# FALLBACK_VERSION). Loaded by `_load_rules` only for an engine that runs a built-in rule, so
# that a regex-only `scan` or `backfill` does not pay for importing them.
BUILTIN_RULES: dict[str, str] = {
    AWAIT_MISUSE: "await_misuse",
    ASYNC_CALLBACK: "async_callback",
    DEPRECATED_IMPORTS: "deprecated_imports",
    MARKERS: "markers",
    DUPLICATE_CLASSES: "duplicate_classes",
    UNPARSEABLE: "pyfacts",
    SUITE: "suites",
}
_AST_RULES = frozenset(BUILTIN_RULES) - {SUITE}
ALIASES = RULE_ALIASES


def _load_rules() -> None:
    """Bind the built-in rule modules in this module's namespace (imported on first need)."""
    global async_callback, await_misuse, deprecated_imports, duplicate_classes, markers
    global pyfacts, suites, FileIndex, Resolver
    from healthtui.rules import (
        async_callback,
        await_misuse,
        deprecated_imports,
        duplicate_classes,
        markers,
        pyfacts,
        suites,
    )
    from healthtui.rules.resolution import FileIndex, Resolver


def builtin_version(rule: str) -> int:
    """The version of a built-in rule (part of the engine key)."""
    import importlib

    module = importlib.import_module(f"healthtui.rules.{BUILTIN_RULES[rule]}")
    return module.FALLBACK_VERSION if rule == UNPARSEABLE else module.VERSION


class RuleEngine:
    """The rules of one configuration. Picklable (worker processes rebuild it from config).

    Runs every rule (ids: see the package docstring) except those in `rules.disable`; `only`
    (e.g. `scan --rule`) runs exactly the rules it names instead, disabled ones included. An
    unknown id in either is a ConfigError.
    """

    def __init__(
        self,
        rules: RulesConfig,
        suites_: tuple[Suite, ...] = (),
        *,
        only: Collection[str] | None = None,
    ):
        self.rules = rules
        self.suites = tuple(suites_)
        self.only = tuple(only) if only is not None else None
        regex_ids = [r.id for r in rules.regex]
        known = [*BUILTIN_RULES, *regex_ids]
        disable = _known_ids(rules.disable, known, "rules.disable: unknown rule id")
        if self.only is not None:
            self.only = tuple(_known_ids(self.only, known, "unknown rule id"))
            enabled = [r for r in known if r in self.only]
        else:
            enabled = [r for r in known if r not in disable]
        self.enabled: frozenset[str] = frozenset(enabled)
        self.rule_ids: tuple[str, ...] = tuple(r for r in known if r in self.enabled)
        self.regex: tuple[CompiledRegex, ...] = tuple(
            CompiledRegex.from_rule(r) for r in rules.regex if r.id in self.enabled
        )
        self.selector = RegexSelector(self.regex)
        e = self.enabled
        self._tests = SUITE in e and bool(self.suites)
        self._python = bool(e & _AST_RULES) or self._tests
        self._configs = MARKERS in e or self._tests
        if self._python or self._configs:
            _load_rules()

    @cached_property
    def options(self) -> ExtractOptions:
        """What Python extraction looks for (loads `pyfacts` on first use)."""
        from healthtui.rules.pyfacts import ExtractOptions

        e = self.enabled
        return ExtractOptions(
            await_misuse=AWAIT_MISUSE in e,
            async_callback=ASYNC_CALLBACK in e,
            deprecated_imports=DEPRECATED_IMPORTS in e,
            markers=MARKERS in e,
            classes=DUPLICATE_CLASSES in e,
            tests=self._tests,
            registrars=tuple(self.rules.sync_registrars),
            deprecated_modules=tuple(self.rules.deprecated_modules),
            regex=self.regex,
            max_file_size=self.rules.max_file_size,
        )

    @cached_property
    def key(self) -> str:
        """Changes whenever a rule version or finding-relevant config changes (the facts cache key)."""
        import hashlib  # here: a plain scan needs no key, and loading hashlib is not free
        import json

        versions = {
            rid: builtin_version(rid) if rid in BUILTIN_RULES else regex_rules.VERSION
            for rid in self.rule_ids
        }
        blob = json.dumps(
            {
                "engine": ENGINE_VERSION,
                "versions": versions,
                "rules": self.rules.key(),
                "suites": [[s.name, list(s.paths), list(s.markers)] for s in self.suites],
            },
            sort_keys=True,
        )
        return hashlib.sha1(blob.encode()).hexdigest()[:16]

    def __reduce__(self):
        return (_rebuild, (self.rules, self.suites, self.only))

    def kind(self, path: str) -> str | None:
        if is_ignored_path(path):
            return None
        name = basename(path)
        if self._configs and name in CONFIG_NAMES:
            return "pytest-config"
        if name.endswith(".py"):
            if self._python or self.selector.any_includes(path):
                return "python"
            return None
        if self.regex and self.selector.any_includes(path):
            return "text"
        return None

    def extract(self, kind: str, data: bytes) -> Facts:
        try:
            return self._extract(kind, data)
        except Exception as exc:  # last line of defence: facts never raise
            return {"status": "fallback", "error": f"internal error: {type(exc).__name__}"}

    def _extract(self, kind: str, data: bytes) -> Facts:
        if len(data) > self.rules.max_file_size:
            return {"status": "skipped"}
        if kind == "python" and self._python:
            return pyfacts.extract_python(data, self.options)
        facts: Facts
        facts = markers.extract_config(data) if kind == "pytest-config" else {"status": "ok"}
        if self.regex and not regex_rules.binary_prefix(data):
            hits = regex_rules.regex_hits(data, self.regex)
            if hits:
                facts["rx"] = hits
        return facts

    @property
    def parses_python(self) -> bool:
        """Whether Python files are parsed (the costly part of extraction)."""
        return self._python

    def regex_needles(self) -> tuple[bytes, ...] | None:
        """When files are read only for regex rules: texts one of which a file must hold to have
        any finding (see `CompiledRegex.needles`). None when every file must be read."""
        if self._python or self._configs or not self.regex:
            return None
        out: list[bytes] = []
        for rule in self.regex:
            if rule.needles is None:
                return None
            out.extend(rule.needles)
        return tuple(dict.fromkeys(out))

    def skipped_facts(self) -> Facts:
        """Facts for a file known (e.g. by its size) to be over the cap, without reading it."""
        return {"status": "skipped"}

    def evaluator(self) -> Evaluator:
        return Evaluator(self)


def _known_ids(ids: Collection[str], known: list[str], problem: str) -> list[str]:
    """`ids` with aliases resolved; a ConfigError names any id that is not a rule."""
    out = [ALIASES.get(r, r) for r in ids]
    unknown = [r for r in out if r not in known]
    if unknown:
        raise ConfigError(f"{problem}: {', '.join(unknown)} (known: {', '.join(known)})")
    return out


def _rebuild(rules: RulesConfig, suites_: tuple[Suite, ...], only: tuple[str, ...] | None):
    return RuleEngine(rules, suites_, only=only)


_EMPTY: tuple[Finding, ...] = ()
_MARKER_SITES = f"{MARKERS}.sites"
_MARKER_FILES = f"{MARKERS}.files"
_MARKER_FAILING = f"{MARKERS}.failing_files"
_DUPLICATE_FILES = f"{DUPLICATE_CLASSES}.files"
_NO_DEPS: frozenset[str] = frozenset()
_PLAIN: Facts = {"status": "ok"}
_SITE = attrgetter("line", "col", "rule", "text", "message", "detail")  # Finding order in a file


@dataclass(eq=False, slots=True)
class _File:
    path: str
    facts: Facts
    kind: str  # "python", "config" or "other"
    findings: dict[str, tuple[Finding, ...]] = field(default_factory=dict)
    contrib: dict[str, float] = field(default_factory=dict)
    unreg: dict[str, int] = field(default_factory=dict)
    deps: frozenset[str] = frozenset()
    all: tuple[Finding, ...] = ()
    classes: dict[str, list[list]] = field(default_factory=dict)  # top-level name -> sites


class Evaluator:
    """Incremental evaluation of one tree (see module docstring)."""

    def __init__(self, engine: RuleEngine):
        self.engine = engine
        e = engine.enabled
        self.on_await = AWAIT_MISUSE in e
        self.on_callback = ASYNC_CALLBACK in e
        self.on_deprecated = DEPRECATED_IMPORTS in e
        self.on_markers = MARKERS in e
        self.on_dups = DUPLICATE_CLASSES in e
        self.on_unparseable = UNPARSEABLE in e
        self.on_suites = engine._tests
        self.on_configs = self.on_markers or self.on_suites  # pytest config files matter
        rules = engine.rules
        self.deprecated = frozenset(rules.deprecated_modules)
        self.known_sync = tuple(rules.known_sync)
        self.ssot = frozenset(rules.ssot_classes)
        self.files_metric = {rid: f"{rid}.files" for rid in engine.rule_ids}
        self.regex_only = not engine.parses_python and not engine._configs
        regex_only = self.regex_only  # then the built-in rule modules are not loaded
        self.plugin_markers = (
            frozenset() if regex_only else frozenset(rules.plugin_markers) | markers.BUILTIN_MARKERS
        )
        self.suite_counter = None if regex_only else suites.SuiteCounter(engine.suites)
        # The metrics suite counts add (to take back before counting again); None when another
        # contribution's name starts like them too, and they are told by that prefix instead.
        others = {SKIPPED, _MARKER_SITES, _MARKER_FILES, _MARKER_FAILING, _DUPLICATE_FILES}
        for rid in engine.rule_ids:  # the rules `set_rule` records (the suite rule is not one)
            if rid != SUITE:
                others.update((rid, self.files_metric[rid]))
        self.suite_keys: tuple[str, ...] | None = (
            None
            if regex_only or any(k.startswith("suite.") for k in others)
            else tuple(suites.metric(s.name) for s in engine.suites)
        )

        self.files: dict[str, _File] = {}
        self.plain: set[str] = set()  # files whose facts are just {"status": "ok"}
        self.resolver = None if regex_only else Resolver()
        self.dependents: dict[str, set[str]] = {}
        self.class_copies: dict[str, dict[str, list[list]]] = {}
        self.dup_extra: dict[str, int] = {}
        self.dup_candidates: dict[str, dict[str, list[list]]] = {}
        self.dirty_names: set[str] = set()
        self.marker_users: dict[str, set[str]] = {}
        self.regs: dict[str, dict[str, frozenset[str]]] = {}  # dir -> {path: names}
        self.config_files: dict[str, dict[str, markers.PytestConfig | None]] = {}
        self.chosen: dict[str, markers.PytestConfig] = {}
        self._effective: dict[str, markers.PytestConfig] = {}
        self._registered: dict[str, frozenset[str]] = {}
        self.sums: Counter[str] = Counter()
        self.unreg_names: Counter[str] = Counter()
        self.candidates: dict[str, str] = {}
        self.dirty: dict[str, set[str]] = {}
        self.changed: set[str] = set()
        self.findings: dict[str, tuple[Finding, ...]] = {}

    # checkpoints -------------------------------------------------------------------------------

    def __getstate__(self) -> dict:
        """Everything but the engine (rebuilt from config); only a settled evaluator is saved."""
        if self.dirty or self.dirty_names or self.changed:
            raise ValueError("settle the evaluator (call result()) before saving it")
        state = dict(self.__dict__)
        state["engine"] = None
        return state

    def attach(self, engine: RuleEngine) -> Evaluator:
        """Give a restored evaluator the engine it was saved with (same `engine.key`)."""
        self.engine = engine
        return self

    # updates -----------------------------------------------------------------------------------

    def _mark(self, path: str, *rules: str) -> None:
        if path in self.files:
            self.dirty.setdefault(path, set()).update(rules)

    def add_plain(self, paths: Iterable[str]) -> None:
        """`update(path, {"status": "ok"})` for many files that hold nothing any rule looks for
        (known without reading them, e.g. from `git grep`)."""
        for path in paths:
            if path in self.files or basename(path) in CONFIG_NAMES:
                self.update(path, _PLAIN)
            else:
                self.plain.add(path)

    def update(self, path: str, facts: Facts | None) -> None:
        old = self.files.get(path)
        if old is None and path in self.plain:
            if facts == _PLAIN:
                return
            self.plain.discard(path)  # it contributed nothing: nothing to undo
        if old is not None and facts is not None and old.facts == facts:
            return
        if self.regex_only and facts is not None:  # files stand alone: evaluate at once
            if old is None:
                if facts == _PLAIN:
                    self.plain.add(path)
                    return
                old = self.files[path] = _File(path, facts, "other")
            else:
                old.facts = facts
            self._evaluate_regex(old)
            return
        if old is not None:
            self._unindex(old, replaced=facts is not None)
        if facts is None:
            self.files.pop(path, None)
            self.dirty.pop(path, None)
            if old is not None:
                for metric, value in old.contrib.items():
                    self.sums[metric] -= value
                self.unreg_names.subtract(old.unreg)
                if old.all:
                    self.findings.pop(path, None)
                    self.changed.add(path)
            return
        name = basename(path)
        kind = "python" if name.endswith(".py") else "other"
        if old is None and facts == _PLAIN and name not in CONFIG_NAMES:
            self.plain.add(path)  # nothing to index or evaluate: it contributes nothing
            return
        rec = _File(path, facts, kind)
        if old is not None:
            rec.findings, rec.contrib, rec.unreg, rec.all = (
                old.findings,
                old.contrib,
                old.unreg,
                old.all,
            )
            rec.deps = old.deps
        self.files[path] = rec
        self._index(rec)
        self.dirty.setdefault(path, set()).add("*")

    def _index(self, rec: _File) -> None:
        path, facts = rec.path, rec.facts
        if rec.kind == "python":
            if self.on_await or self.on_callback:
                changed = self.resolver.set(path, FileIndex(path, module_parts(path), facts))
                self._dirty_keys(changed)
            if self.on_dups and not _is_test_module(path):
                for qual, line, col, _bases, text in facts.get("classes", ()):
                    if "." not in qual:
                        rec.classes.setdefault(qual, []).append([line, col, text])
                for name, sites in rec.classes.items():
                    self.class_copies.setdefault(name, {})[path] = sites
                    self.dirty_names.add(name)
            if self.on_markers:
                for site in facts.get("marks", ()):
                    self.marker_users.setdefault(site[2], set()).add(path)
                if facts.get("registers"):
                    self._set_registrations(path, frozenset(facts["registers"]))
        if rec.kind != "python" and basename(path) in CONFIG_NAMES and self.on_configs:
            self._set_config(path, markers.config_for(basename(path), facts))

    def _unindex(self, rec: _File, *, replaced: bool = False) -> None:
        """Undo `_index`. `replaced`: `_index` of the file's new facts follows, which replaces
        its resolution entries and marks the dependents of just those that change."""
        path = rec.path
        if rec.kind == "python":
            if (self.on_await or self.on_callback) and not replaced:
                self._dirty_keys(self.resolver.set(path, None))
            for name in rec.classes:
                copies = self.class_copies.get(name)
                if copies is not None:
                    copies.pop(path, None)
                    if not copies:
                        del self.class_copies[name]
                self.dirty_names.add(name)
            rec.classes = {}
            for site in rec.facts.get("marks", ()):
                users = self.marker_users.get(site[2])
                if users is not None:
                    users.discard(path)
            if self.on_markers and rec.facts.get("registers"):
                self._set_registrations(path, None)
        if rec.kind != "python" and basename(path) in CONFIG_NAMES and self.on_configs:
            self._set_config(path, None)
        self.candidates.pop(path, None)

    def _dirty_keys(self, keys: set[str]) -> None:
        for key in keys:
            for p in self.dependents.get(key, ()):
                self._mark(p, AWAIT_MISUSE, ASYNC_CALLBACK)

    def _set_registrations(self, path: str, names: frozenset[str] | None) -> None:
        """Markers a file registers: a conftest for its own directory and below, any other
        module (a plugin) for the whole repository."""
        d = dir_of(path) if is_conftest(path) else ""
        by_path = self.regs.setdefault(d, {})
        old = by_path.get(path, frozenset())
        new = names or frozenset()
        if names is None:
            by_path.pop(path, None)
            if not by_path:
                del self.regs[d]
        else:
            by_path[path] = new
        if old == new:
            return
        self._registered.clear()
        for name in old ^ new:
            for p in self.marker_users.get(name, ()):
                if is_under(p, d):
                    self._mark(p, MARKERS)

    def _set_config(self, path: str, cfg: markers.PytestConfig | None) -> None:
        d = dir_of(path)
        configs = self.config_files.setdefault(d, {})
        if cfg is None:
            configs.pop(basename(path), None)
        else:
            configs[basename(path)] = cfg
        new = markers.choose(configs)
        old = self.chosen.get(d)
        if new is None:
            self.chosen.pop(d, None)
        else:
            self.chosen[d] = new
        if not configs:
            self.config_files.pop(d, None)
        if old == new:
            return
        self._effective.clear()
        self._registered.clear()
        for p, f in self.files.items():  # what a config decides: marker uses, counted tests
            facts = f.facts
            marks, tests = facts.get("marks"), facts.get("tests")
            if (marks or tests) and f.kind == "python" and is_under(p, d):
                if marks:
                    self._mark(p, MARKERS)
                if tests:
                    self._mark(p, SUITE)

    # context -----------------------------------------------------------------------------------

    def effective(self, directory: str) -> markers.PytestConfig:
        """The pytest config that applies to files in `directory` (rootmost config wins)."""
        cached = self._effective.get(directory)
        if cached is not None:
            return cached
        cfg = markers.NO_CONFIG
        for d in parent_dirs(directory + "/x") if directory else [""]:
            found = self.chosen.get(d)
            if found is not None:
                cfg = found
                break
        self._effective[directory] = cfg
        return cfg

    def registered(self, directory: str) -> frozenset[str]:
        cached = self._registered.get(directory)
        if cached is not None:
            return cached
        names = set(self.plugin_markers) | self.effective(directory).markers
        for d in parent_dirs(directory + "/x") if directory else [""]:
            for regs in self.regs.get(d, {}).values():
                names |= regs
        out = frozenset(names)
        self._registered[directory] = out
        return out

    def root_strict(self) -> bool:
        if "" in self.chosen:
            return self.chosen[""].strict
        if not self.chosen:
            return False
        top = min(self.chosen, key=lambda d: (d.count("/"), d))
        return self.chosen[top].strict

    # evaluation --------------------------------------------------------------------------------

    def result(self) -> Evaluation:
        self._settle()
        changed, self.changed = frozenset(self.changed), set()
        return Evaluation(
            metrics=self._metrics(),
            findings=dict(self.findings),
            changed_paths=changed,
            warnings=(
                *sorted(self.candidates.values()),
                *(
                    duplicate_classes.candidate_warnings(self.dup_candidates)
                    if self.dup_candidates
                    else ()
                ),
            ),
        )

    def _settle(self) -> None:
        """Evaluate what the updates so far left pending."""
        for name in self.dirty_names:
            copies = self.class_copies.get(name, {})
            if name in self.ssot:
                extra = duplicate_classes.extra_copies(len(copies))
                if extra:
                    self.dup_extra[name] = extra
                else:
                    self.dup_extra.pop(name, None)
                for p in copies:
                    self._mark(p, DUPLICATE_CLASSES)
            elif len(copies) >= duplicate_classes.CANDIDATE_MIN_COPIES:
                self.dup_candidates[name] = copies
            else:
                self.dup_candidates.pop(name, None)
        self.dirty_names.clear()
        dirty, self.dirty = self.dirty, {}
        for path, which in dirty.items():
            rec = self.files.get(path)
            if rec is not None:
                self._evaluate(rec, which)

    def _evaluate_regex(self, rec: _File) -> None:
        """`_evaluate` when only regex rules run (each file stands alone)."""
        facts, path = rec.facts, rec.path
        contrib: dict[str, float] = {}
        findings: dict[str, tuple[Finding, ...]] = {}
        if facts.get("status") == "skipped":
            contrib[SKIPPED] = 1
        rx = facts.get("rx")
        if rx:
            selected = self.engine.selector.rule_ids(path)
            for rule in self.engine.regex:
                hits = rx.get(rule.id)
                if hits and rule.id in selected:
                    found = tuple(regex_rules.findings(rule, path, hits))
                    findings[rule.id] = found
                    contrib[rule.id] = len(found)
                    contrib[self.files_metric[rule.id]] = 1
        self._store(rec, contrib, findings, presorted=len(findings) < 2)

    def _evaluate(self, rec: _File, which: set[str]) -> None:
        if self.regex_only:
            self._evaluate_regex(rec)
            return
        everything = "*" in which
        facts, path = rec.facts, rec.path
        findings = dict(rec.findings)  # like rec.findings and rec.contrib: no empty entries
        contrib = dict(rec.contrib)
        status = facts.get("status")

        files_metric = self.files_metric

        def set_rule(rule: str, found: list[Finding]) -> None:
            if found:
                findings[rule] = tuple(found)
                contrib[rule] = len(found)
                contrib[files_metric[rule]] = 1
            else:
                findings.pop(rule, None)
                contrib.pop(rule, None)
                contrib.pop(files_metric[rule], None)

        def put(metric: str, value: int) -> None:
            if value:
                contrib[metric] = value
            else:
                contrib.pop(metric, None)

        if everything:
            put(SKIPPED, 1 if status == "skipped" else 0)
            if self.on_unparseable and rec.kind == "python":
                if status == "fallback":
                    why = facts.get("error", "cannot parse")
                    line, col = facts.get("line", 1), facts.get("col", 1)
                    text = facts.get("text", "")
                    site = Finding(path, line, col, UNPARSEABLE, text, f"{why} (read line by line)")
                    set_rule(UNPARSEABLE, [site])
                else:
                    set_rule(UNPARSEABLE, [])
            if self.on_deprecated and rec.kind == "python":
                imports = facts.get("imports")
                set_rule(
                    DEPRECATED_IMPORTS,
                    deprecated_imports.evaluate(path, imports, self.deprecated) if imports else [],
                )
                warn = facts.get("warns")
                cand = deprecated_imports.candidate(path, warn, self.deprecated) if warn else None
                if cand:
                    self.candidates[path] = cand
            rx = facts.get("rx")
            selected = self.engine.selector.rule_ids(path) if rx else ()
            for rule in self.engine.regex:
                hits = rx.get(rule.id) if rx else None
                if hits and rule.id in selected:
                    set_rule(rule.id, regex_rules.findings(rule, path, hits))
                else:
                    set_rule(rule.id, [])
        if rec.kind == "python":
            if (self.on_await or self.on_callback) and (
                everything or AWAIT_MISUSE in which or ASYNC_CALLBACK in which
            ):
                deps: set[str] = set()
                if self.on_await:
                    sites = facts.get("awaits")
                    set_rule(
                        AWAIT_MISUSE,
                        await_misuse.evaluate(path, sites, self.resolver, self.known_sync, deps)
                        if sites
                        else [],
                    )
                if self.on_callback:
                    sites = facts.get("callbacks")
                    set_rule(
                        ASYNC_CALLBACK,
                        async_callback.evaluate(path, sites, self.resolver, deps) if sites else [],
                    )
                self._set_deps(rec, frozenset(deps) if deps else _NO_DEPS)
            if self.on_markers and (everything or MARKERS in which):
                marks = facts.get("marks")
                if marks:
                    d = dir_of(path)
                    found, names, failing = markers.evaluate(
                        path, marks, self.registered(d), self.effective(d)
                    )
                else:  # what evaluating no uses gives, whatever the config
                    found, names, failing = [], {}, False
                if found:
                    findings[MARKERS] = tuple(found)
                else:
                    findings.pop(MARKERS, None)
                put(_MARKER_SITES, len(found))
                put(_MARKER_FILES, 1 if found else 0)
                put(_MARKER_FAILING, 1 if failing else 0)
                if rec.unreg:
                    self.unreg_names.subtract(rec.unreg)
                if names:
                    self.unreg_names.update(names)
                rec.unreg = names
            if self.on_dups and (everything or DUPLICATE_CLASSES in which):
                found = []
                for name, sites in rec.classes.items():
                    if name in self.ssot:
                        modules = self.class_copies.get(name, {})
                        found += duplicate_classes.site_findings(path, name, sites, modules)
                if found:
                    findings[DUPLICATE_CLASSES] = tuple(found)
                else:
                    findings.pop(DUPLICATE_CLASSES, None)
                put(_DUPLICATE_FILES, 1 if found else 0)
            if self.on_suites and (everything or SUITE in which):
                if self.suite_keys is None:
                    for key in [k for k in contrib if k.startswith("suite.")]:
                        del contrib[key]
                else:
                    for key in self.suite_keys:
                        contrib.pop(key, None)
                tests = facts.get("tests")
                if tests and is_test_file(path, self.effective(dir_of(path)).python_files):
                    contrib.update(self.suite_counter.counts(path, tests))
        self._store(rec, contrib, findings)

    def _store(
        self,
        rec: _File,
        contrib: dict[str, float],
        findings: dict[str, tuple[Finding, ...]],
        *,
        presorted: bool = False,
    ) -> None:
        """Record a file's new findings and metric contributions (neither with empty entries),
        updating the sums. `presorted`: the findings of at most one rule, in site order."""
        path = rec.path
        sums = self.sums
        old = rec.contrib
        if old:
            for metric, value in contrib.items():
                delta = value - old.get(metric, 0)
                if delta:
                    sums[metric] += delta
            for metric, value in old.items():
                if metric not in contrib:
                    sums[metric] -= value
        else:
            for metric, value in contrib.items():
                sums[metric] += value
        rec.contrib = contrib
        rec.findings = findings
        if not findings:
            combined = _EMPTY
        elif presorted or (len(findings) == 1 and len(next(iter(findings.values()))) == 1):
            combined = next(iter(findings.values()))
        else:
            combined = tuple(sorted((f for fs in findings.values() for f in fs), key=_SITE))
        if combined != rec.all:
            rec.all = combined
            self.changed.add(path)
            if combined:
                self.findings[path] = combined
            else:
                self.findings.pop(path, None)

    def _set_deps(self, rec: _File, deps: frozenset[str]) -> None:
        if deps == rec.deps:
            return
        for key in rec.deps - deps:
            users = self.dependents.get(key)
            if users is not None:
                users.discard(rec.path)
                if not users:
                    del self.dependents[key]
        for key in deps - rec.deps:
            self.dependents.setdefault(key, set()).add(rec.path)
        rec.deps = deps

    def _metrics(self) -> dict[str, float]:
        e = self.engine.enabled
        out: dict[str, float] = {SKIPPED: self.sums.get(SKIPPED, 0)}
        for rid in self.engine.rule_ids:
            if rid == SUITE:
                for s in self.engine.suites:
                    out[suites.metric(s.name)] = self.sums.get(suites.metric(s.name), 0)
            elif rid == UNPARSEABLE:
                out[UNPARSEABLE] = self.sums.get(UNPARSEABLE, 0)
            elif rid == MARKERS:
                out[rid] = sum(1 for n in self.unreg_names.values() if n > 0)
                for suffix in ("sites", "files", "failing_files"):
                    out[f"{rid}.{suffix}"] = self.sums.get(f"{rid}.{suffix}", 0)
                out[f"{rid}.strict"] = 1 if self.root_strict() else 0
            elif rid == DUPLICATE_CLASSES:
                out[rid] = sum(self.dup_extra.values())
                out[f"{rid}.files"] = self.sums.get(f"{rid}.files", 0)
                out[duplicate_classes.CANDIDATES] = len(self.dup_candidates)
            else:
                out[rid] = self.sums.get(rid, 0)
                out[f"{rid}.files"] = self.sums.get(f"{rid}.files", 0)
        if DEPRECATED_IMPORTS in e:
            out[deprecated_imports.CANDIDATES] = len(self.candidates)
        return {k: float(v) for k, v in out.items()}


def _is_test_module(path: str) -> bool:
    return is_conftest(path) or is_test_file(path)


def facts_summary(facts: Facts) -> dict[str, Any]:
    """Counts of what a file's facts hold (for debugging and tests)."""
    return {k: len(v) if isinstance(v, list | dict) else v for k, v in facts.items()}

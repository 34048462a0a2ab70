"""One pass over one Python file's AST -> the facts every rule needs (path-independent, JSON-able).

Facts of a Python file (keys are omitted when empty):

- `status`: "ok", "fallback" (did not parse; see `fallback.py`) or "skipped" (over the size cap).
- `defs`: {qualname: status} of module functions and methods (`f`, `Cls.m`, `Cls.Inner.m`), where
  status is "a" (async def), "s" (plain def), "w" (plain def annotated to return an awaitable),
  "u" (unknown: decorated by something that may change what it returns, or defined twice
  differently). Functions nested in functions are not importable and only resolve in-file.
- `classes`: [[qualname, line, col, [base refs], text]] for every class statement (nested ones
  dotted; a name defined twice appears twice, the last one is what the module binds).
- `exports`: {name: [dotted, level]}: module-level import bindings, followed for re-exports.
- `awaits`: [[line, col, ref, name, text]]: `await <call>` sites; `ref` says how the callee resolves:
  ["r", status, qualname] resolved in this file; ["q", dotted, level] an imported/qualified name
  to resolve across the repository; ["c", class_qualname, attr, skip_self] a method looked up on a
  class of this file and its bases (`self.m`, `cls.m`, `super().m`); ["x"] unresolvable (a local
  variable, an attribute of an instance...). `name` is the callee as written.
- `callbacks`: [[line, col, registrar, ref, name, text]]: callables handed uncalled to a registrar.
- `imports`: [[line, col, level, module|None, [names], text]]: import statements that could concern
  a configured deprecated module (`module` None for `import a.b, c`).
- `warns`: line of a module-level `warnings.warn(..., DeprecationWarning)`, if any.
- `marks`: [[line, col, name, text]]: every `pytest.mark.NAME` expression (what pytest checks).
- `registers`: marker names registered through `config.addinivalue_line("markers", ...)`.
- `tests`: [[name, line, count, [markers]]]: test functions as pytest collects them by default
  (`test*` functions; `test*` methods of `Test*` classes without `__init__`), `count` the literal
  parametrize expansion, `markers` every marker applied by decorators or `pytestmark`.
- `rx`: {rule_id: [[line, col, text]]}: regex rule hits (see `regex.py`).
"""

from __future__ import annotations

import ast
import re
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from healthtui.rules.regex import CompiledRegex, binary_prefix, regex_hits

Facts = dict[str, Any]

MAX_TEXT = 200
FALLBACK_VERSION = 2  # of the line-based method (`fallback.py`, imported only when needed)
_NEWLINE = re.compile(r"\r\n|\r|\n")
_CODING = re.compile(rb"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)")

# Decorators that leave a function's sync/async nature and return value alone.
TRANSPARENT_DECORATORS = frozenset(
    {
        "staticmethod",
        "classmethod",
        "abstractmethod",
        "abstractclassmethod",
        "abstractstaticmethod",
        "override",
        "final",
        "wraps",
        "lru_cache",
        "cache",
        "deprecated",
        "contextmanager",
        "no_type_check",
        "typing_extensions.override",
    }
)
# A plain def whose return annotation names one of these returns an awaitable: awaiting it is fine.
AWAITABLE_NAMES = frozenset(
    {
        "Awaitable",
        "Coroutine",
        "Future",
        "Task",
        "Deferred",
        "AsyncGenerator",
        "AsyncIterator",
        "CoroutineType",
        "Generator",  # @types.coroutine-style generator-based coroutines
    }
)


def _fewest_needles(needles: Iterable[bytes]) -> tuple[bytes, ...]:
    """`needles` without those holding another one: a text holds one of the result exactly when
    it holds one of `needles` (`CoroutineType` holds `Coroutine`), for fewer searches."""
    unique = sorted(set(needles))
    return tuple(n for n in unique if not any(m != n and m in n for m in unique))


_AWAITABLE_BYTES = _fewest_needles(n.encode() for n in AWAITABLE_NAMES)
DEPRECATION_CATEGORIES = frozenset({"DeprecationWarning", "PendingDeprecationWarning"})


@dataclass(frozen=True)
class ExtractOptions:
    """What the engine wants extracted (derived from config; part of the engine key)."""

    await_misuse: bool = True
    async_callback: bool = True
    deprecated_imports: bool = True
    markers: bool = True
    classes: bool = True
    tests: bool = True
    registrars: tuple[str, ...] = ()
    deprecated_modules: tuple[str, ...] = ()
    regex: tuple[CompiledRegex, ...] = ()
    max_file_size: int = 2_000_000
    _registrar_last: frozenset[str] = field(default=frozenset(), compare=False)
    _registrar_bytes: tuple[bytes, ...] = field(default=(), compare=False)
    _deprecated_last: frozenset[str] = field(default=frozenset(), compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "_registrar_last", frozenset(r.rpartition(".")[2] for r in self.registrars)
        )
        object.__setattr__(
            self, "_registrar_bytes", _fewest_needles(r.encode() for r in self._registrar_last)
        )
        object.__setattr__(
            self,
            "_deprecated_last",
            frozenset(m.rpartition(".")[2] for m in self.deprecated_modules),
        )

    @property
    def needs_ast(self) -> bool:
        return (
            self.await_misuse
            or self.async_callback
            or self.deprecated_imports
            or self.markers
            or self.classes
            or self.tests
        )

    def registrar_matches(self, dotted: str) -> str | None:
        """The configured registrar a (import-expanded) callee name matches, if any."""
        last = dotted.rpartition(".")[2]
        if last not in self._registrar_last:
            return None
        for reg in self.registrars:
            if dotted == reg or dotted.endswith("." + reg):
                return reg
            if "." not in reg and last == reg:
                return reg
        return None

    def import_may_matter(self, module: str | None, names: Iterable[str]) -> bool:
        """Cheap filter: can this import statement concern a configured deprecated module?"""
        lasts = self._deprecated_last
        if not lasts:
            return False
        if module is not None and module.rpartition(".")[2] in lasts:
            return True
        return any(n.rpartition(".")[2] in lasts for n in names)


def decode_source(data: bytes) -> str:
    """Text of a Python file for display: BOM and coding cookie honoured, never raises."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", "replace")
    encoding = "utf-8"
    for line in data.split(b"\n", 2)[:2]:
        m = _CODING.match(line)
        if m:
            encoding = m.group(1).decode("ascii", "replace")
            break
    try:
        return data.decode(encoding, "replace")
    except LookupError:
        return data.decode("utf-8", "replace")


def split_lines(text: str) -> list[str]:
    """Lines as Python's tokenizer counts them (\\r\\n, \\r and \\n end a line)."""
    if "\r" not in text:
        return text.split("\n")  # the usual case, and several times quicker than the pattern
    return _NEWLINE.split(text)


class Lines:
    """Lazy access to source lines for finding texts and character columns."""

    __slots__ = ("_ascii", "_data", "_lines")

    def __init__(self, data: bytes):
        self._data = data
        self._lines: list[str] | None = None
        self._ascii = False  # every line is ASCII: columns are byte offsets

    @property
    def lines(self) -> list[str]:
        if self._lines is None:
            text = decode_source(self._data)
            self._ascii = text.isascii()
            self._lines = split_lines(text)
        return self._lines

    def text(self, line: int) -> str:
        lines = self.lines
        if 1 <= line <= len(lines):
            return lines[line - 1].strip()[:MAX_TEXT]
        return ""

    def col(self, line: int, col_offset: int) -> int:
        """1-based character column from an AST col_offset (UTF-8 bytes)."""
        lines = self.lines
        if not self._ascii and 1 <= line <= len(lines):
            src = lines[line - 1]
            if not src.isascii():
                return len(src.encode("utf-8")[:col_offset].decode("utf-8", "replace")) + 1
        return col_offset + 1


def dotted_parts(node: ast.AST) -> list[str] | None:
    """['a', 'b', 'c'] for the expression `a.b.c`, else None."""
    parts: list[str] = []
    while type(node) is ast.Attribute:
        parts.append(node.attr)  # type: ignore[attr-defined]
        node = node.value  # type: ignore[attr-defined]
    if type(node) is ast.Name:
        parts.append(node.id)  # type: ignore[attr-defined]
        parts.reverse()
        return parts
    return None


def _awaitable_annotation(node: ast.AST | None) -> bool:
    """Whether an annotation names an awaitable type anywhere (a name, an attribute, a string)."""
    if node is None:
        return False
    stack = [node]
    while stack:
        sub = stack.pop()
        t = type(sub)
        if t is ast.Name:
            if sub.id in AWAITABLE_NAMES:  # type: ignore[attr-defined]
                return True
        elif t is ast.Subscript:
            stack.append(sub.value)  # type: ignore[attr-defined]
            stack.append(sub.slice)  # type: ignore[attr-defined]
        elif t is ast.Attribute:
            if sub.attr in AWAITABLE_NAMES:  # type: ignore[attr-defined]
                return True
            stack.append(sub.value)  # type: ignore[attr-defined]
        elif t is ast.Constant:
            value = sub.value  # type: ignore[attr-defined]
            if isinstance(value, str) and any(name in value for name in AWAITABLE_NAMES):
                return True
        elif t is ast.BinOp:
            stack.append(sub.left)  # type: ignore[attr-defined]
            stack.append(sub.right)  # type: ignore[attr-defined]
        elif sub is not None:
            push_children(sub, stack)
    return False


def _decorator_name(node: ast.AST) -> str | None:
    if type(node) is ast.Call:
        node = node.func  # type: ignore[attr-defined]
    parts = dotted_parts(node)
    return ".".join(parts) if parts else None


def def_status(
    node: ast.FunctionDef | ast.AsyncFunctionDef, returns: bool | Callable[[], bool] = True
) -> str:
    """a / s / w / u (see module docstring); `returns` False (or a function saying so, asked only
    for an annotation that names an awaitable type): the file's bytes name no awaitable type, so
    return annotations do not count."""
    for dec in node.decorator_list:
        name = _decorator_name(dec)
        if name is None:
            return "u"
        if name not in TRANSPARENT_DECORATORS and name.rpartition(".")[2] not in (
            TRANSPARENT_DECORATORS
        ):
            return "u"
    if type(node) is ast.AsyncFunctionDef:
        return "a"
    if (
        node.returns is not None
        and _awaitable_annotation(node.returns)
        and (returns() if callable(returns) else returns)
    ):
        return "w"
    return "s"


def _is_overload(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    return any(_decorator_name(d) in ("overload", "typing.overload") for d in node.decorator_list)


def _str_list(node: ast.AST | None) -> list[str] | None:
    """The strings of a literal list/tuple/set of str constants (dict: its keys)."""
    if node is None:
        return None
    t = type(node)
    if t in (ast.List, ast.Tuple, ast.Set):
        elts = node.elts  # type: ignore[attr-defined]
    elif t is ast.Dict:
        elts = node.keys  # type: ignore[attr-defined]
    else:
        return None
    out = []
    for e in elts:
        if type(e) is ast.Constant and isinstance(e.value, str):
            out.append(e.value)
        else:
            return None
    return out


def hot_lines(data: bytes, needles: Iterable[bytes]) -> list[int] | None:
    """Sorted numbers of the lines holding any of `needles`, or None when line numbers cannot be
    told from bytes (a lone '\\r' ends a line for Python)."""
    if data.find(b"\r") >= 0 and data.count(b"\r") != data.count(b"\r\n"):
        return None
    offsets: list[int] = []
    for needle in needles:
        i = data.find(needle)
        while i >= 0:
            offsets.append(i)
            i = data.find(needle, i + 1)
    offsets.sort()
    lines: list[int] = []
    line, pos = 1, 0
    for o in offsets:
        line += data.count(b"\n", pos, o)
        pos = o
        lines.append(line)
    return lines


def marker_name(line: str) -> str:
    """A marker's name from its registration line, as pytest parses it (`name(args): text`)."""
    return line.split(":")[0].split("(")[0].strip()


# Fields that never hold a node worth visiting (names, flags, operators, expression contexts).
_LEAF_FIELDS = frozenset(
    {"ctx", "op", "ops", "id", "attr", "arg", "name", "module", "level", "is_async", "kind"}
    | {"type_comment", "conversion", "simple", "tag", "asname", "rest", "kwd_attrs", "lineno"}
)
_FIELDS: dict[type, tuple[str, ...]] = {}


def _node_fields(t: type) -> tuple[str, ...]:
    fields = tuple(
        f
        for f in t._fields
        if f not in _LEAF_FIELDS and not (f == "value" and t in (ast.Constant, ast.MatchSingleton))
    )
    if t in (ast.Global, ast.Nonlocal):
        fields = ()
    _FIELDS[t] = fields
    return fields


def push_children(node: ast.AST, stack: list) -> None:
    """Push the child nodes of `node` on `stack` (a faster `ast.iter_child_nodes`; lists such as
    `Dict.keys` may push None, which callers skip)."""
    t = type(node)
    fields = _FIELDS.get(t)
    if fields is None:
        fields = _node_fields(t)
    for f in fields:
        v = getattr(node, f, None)
        if v is None:
            continue
        if type(v) is list:
            stack.extend(v)
        else:
            stack.append(v)


_COMPOUND = (ast.Try, ast.Match, *((ast.TryStar,) if hasattr(ast, "TryStar") else ()))
_BLOCKS = frozenset({ast.If, ast.For, ast.AsyncFor, ast.While, ast.With, ast.AsyncWith})
_HEADERS: dict[type, tuple[str, ...]] = {  # the expressions of a compound statement's header
    ast.If: ("test",),
    ast.While: ("test",),
    ast.For: ("target", "iter"),
    ast.AsyncFor: ("target", "iter"),
    ast.With: ("items",),
    ast.AsyncWith: ("items",),
    ast.Match: ("subject",),
}


class _Scope:
    """A function scope: its local names and directly nested defs (resolved lazily)."""

    __slots__ = ("_defs", "_imports", "_locals", "node", "parent", "returns")

    def __init__(
        self,
        node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda,
        parent,
        returns: Callable[[], bool],
    ):
        self.node = node
        self.parent: _Scope | None = parent
        self.returns = returns  # whether the file names an awaitable type (asked when needed)
        self._locals: set[str] | None = None
        self._defs: dict[str, str] = {}
        self._imports: dict[str, tuple[str, int]] = {}

    def _compute(self) -> None:
        names: set[str] = set()
        glob: set[str] = set()
        defs: dict[str, str] = {}
        imports: dict[str, tuple[str, int]] = {}
        node = self.node
        a = node.args
        for arg in (*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg):
            if arg is not None:
                names.add(arg.arg)
        body = node.body if isinstance(node.body, list) else [node.body]
        stack: list[ast.AST] = list(body)
        while stack:
            n = stack.pop()
            if n is None:
                continue
            t = type(n)
            if t is ast.Name:
                if type(n.ctx) is not ast.Load:  # type: ignore[attr-defined]
                    names.add(n.id)  # type: ignore[attr-defined]
                continue
            if t is ast.Attribute:  # the commonest nodes, without push_children
                stack.append(n.value)  # type: ignore[attr-defined]
                continue
            if t is ast.Constant:
                continue
            if t is ast.Call:
                stack.append(n.func)  # type: ignore[attr-defined]
                stack.extend(n.args)  # type: ignore[attr-defined]
                stack.extend(n.keywords)  # type: ignore[attr-defined]
                continue
            if t in (ast.FunctionDef, ast.AsyncFunctionDef):
                if n.name in defs:  # type: ignore[attr-defined]
                    defs[n.name] = "u"  # type: ignore[attr-defined]
                else:
                    defs[n.name] = def_status(n, self.returns)  # type: ignore[arg-type,attr-defined]
                stack.extend(n.decorator_list)  # type: ignore[attr-defined]
                continue
            if t is ast.ClassDef:
                names.add(n.name)  # type: ignore[attr-defined]
                continue
            if t is ast.Lambda:
                continue
            if t in (ast.Global, ast.Nonlocal):
                glob.update(n.names)  # type: ignore[attr-defined]
                continue
            if t is ast.Import:
                for al in n.names:  # type: ignore[attr-defined]
                    if al.asname:
                        imports[al.asname] = (al.name, 0)
                    else:
                        first = al.name.partition(".")[0]
                        imports[first] = (first, 0)
                continue
            if t is ast.ImportFrom:
                mod = n.module or ""  # type: ignore[attr-defined]
                for al in n.names:  # type: ignore[attr-defined]
                    if al.name != "*":
                        dotted = f"{mod}.{al.name}" if mod else al.name
                        imports[al.asname or al.name] = (dotted, n.level)  # type: ignore[attr-defined]
                continue
            if (t is ast.ExceptHandler and n.name) or (
                t in (ast.MatchAs, ast.MatchStar) and n.name
            ):  # type: ignore[attr-defined]
                names.add(n.name)  # type: ignore[attr-defined]
            elif t is ast.MatchMapping and n.rest:  # type: ignore[attr-defined]
                names.add(n.rest)  # type: ignore[attr-defined]
            push_children(n, stack)
        for name in list(defs):
            if name in names or name in imports:
                defs[name] = "u"
        names -= glob
        self._locals = names - set(imports)
        self._defs = {k: v for k, v in defs.items() if k not in glob}
        self._imports = {k: v for k, v in imports.items() if k not in glob}

    def lookup(self, name: str) -> tuple[str, Any] | None:
        """('def', status) / ('import', (dotted, level)) / ('local', None), or None if not local."""
        if self._locals is None:
            self._compute()
        if name in self._defs:
            return ("def", self._defs[name])
        if name in self._imports:
            return ("import", self._imports[name])
        if name in self._locals:  # type: ignore[operator]
            return ("local", None)
        return None


class _Ctx:
    """Where a statement sits: enclosing function scope, class, loop bindings, module level."""

    __slots__ = ("cls", "loops", "module_level", "prefix", "scope", "top")

    def __init__(self, scope, cls, prefix, module_level, loops):
        self.scope: _Scope | None = scope
        self.cls: str | None = cls  # qualname of the class whose methods we are in
        self.prefix: str = prefix  # qualname prefix for defs/classes here ("" / "Cls.")
        self.module_level: bool = module_level  # runs at import time (module or class body)
        self.loops: dict[str, ast.AST] = loops  # loop variable -> iterable expression
        self.top: bool = module_level and cls is None and not prefix  # the module's own body


_MODULE_CTX = _Ctx(None, None, "", True, {})
_OTHER = ("other",)
# The statements `module_binding` binds names of (or looks at for `pytestmark`).
_BINDING = frozenset(
    {ast.Assign, ast.AnnAssign, ast.AugAssign, ast.For, ast.AsyncFor, ast.With, ast.AsyncWith}
    | {ast.Delete}
)
_CLASS = ("class",)


class PyExtractor:
    """The single pass. Phase 1 walks statements (bindings, defs, classes, tests) and queues
    expression roots; phase 2 scans those roots once bindings and aliases are complete."""

    __slots__ = (
        "_import_lines",
        "_last_import",
        "_returns",
        "aliased_registrar",
        "aliases",
        "awaits_raw",
        "binds",
        "callbacks",
        "class_bases",
        "class_defs",
        "class_sites",
        "data",
        "deferred",
        "defs",
        "deprecated_lasts",
        "imports",
        "lines",
        "mark_names",
        "mark_vars",
        "marks",
        "may_defer",
        "module_marks",
        "opts",
        "pytest_names",
        "registers",
        "roots",
        "str_lists",
        "test_funcs",
        "want_awaits",
        "want_callbacks",
        "want_exprs",
        "want_marks",
        "want_registers",
        "want_warns",
        "warns",
    )

    def __init__(self, data: bytes, opts: ExtractOptions, lines: Lines):
        self.opts = opts
        self.lines = lines
        self.defs: dict[str, str] = {}
        self.class_sites: list[tuple[str, ast.ClassDef]] = []  # every class statement, in order
        self.class_defs: dict[str, ast.ClassDef] = {}
        self.class_bases: dict[str, list[ast.AST]] = {}
        self.binds: dict[str, tuple] = {}
        self.mark_vars: dict[str, ast.AST] = {}  # module-level `slow = pytest.mark.slow`
        self.str_lists: dict[str, ast.AST] = {}  # module-level literal assignments
        self.pytest_names: set[str] = {"pytest"}
        self.mark_names: set[str] = set()
        self.roots: list[tuple[ast.AST, _Ctx]] = []
        # Bodies of defs without imports, walked in phase 2 only if their lines hold a needle.
        # Only in ASCII files (a non-ASCII identifier may spell a needle differently), and all
        # are walked after an `import x.reg as y` of a registrar (a call `y()` names no needle).
        self.deferred: list[tuple[ast.FunctionDef | ast.AsyncFunctionDef, _Ctx]] = []
        self.may_defer = data.isascii()
        self.aliased_registrar = False
        self.test_funcs: list[tuple[str, ast.AST, list[ast.AST]]] = []  # name, node, outer marks
        self.module_marks: list[ast.AST] = []
        self.imports: list[list] = []
        self.callbacks: list[list] = []
        self.awaits_raw: list[tuple[ast.Await, _Ctx]] = []
        self.marks: list[list] = []
        self.registers: list[str] = []
        self.warns = 0
        self.data = data
        self.aliases: set[str] = set()  # `from atexit import register as reg`: reg
        # `bytes.find`, not `in`: `in` first tries its operand as an int, raising and clearing
        # a TypeError per test.
        find = data.find
        self.want_awaits = opts.await_misuse and find(b"await") >= 0
        self.want_marks = opts.markers and find(b"mark") >= 0
        self.want_registers = opts.markers and find(b"addinivalue_line") >= 0
        self.want_warns = opts.deprecated_imports and find(b"DeprecationWarning") >= 0
        self.want_callbacks = False
        if opts.async_callback:
            for r in opts._registrar_bytes:
                if find(r) >= 0:
                    self.want_callbacks = True
                    break
        self._returns: bool | None = None
        self._import_lines: list[int] | bool | None = False  # not looked for yet
        self._last_import: int | None = -1  # line of the last `import` (0: none; -1: not known)
        self.deprecated_lasts = opts._deprecated_last if opts.deprecated_imports else None
        self.want_exprs = (
            self.want_awaits
            or self.want_marks
            or self.want_registers
            or self.want_warns
            or self.want_callbacks
        )

    # phase 1 -----------------------------------------------------------------------------------

    def bind(self, name: str, value: tuple) -> None:
        old = self.binds.get(name)
        if old is None:
            self.binds[name] = value
        elif old != value:
            self.binds[name] = ("other",)

    def add_def(self, qual: str, status: str) -> None:
        old = self.defs.get(qual)
        self.defs[qual] = status if old is None or old == status else "u"

    def walk(self, stmts: list[ast.stmt], ctx: _Ctx) -> None:
        for st in stmts:
            t = type(st)
            if t is ast.FunctionDef or t is ast.AsyncFunctionDef:
                self.function(st, ctx)  # type: ignore[arg-type]
            elif t is ast.ClassDef:
                self.klass(st, ctx)  # type: ignore[arg-type]
            elif t is ast.Import or t is ast.ImportFrom:
                self.import_(st, ctx)  # type: ignore[arg-type]
            else:
                if ctx.top and t in _BINDING:
                    self.module_binding(st)
                if t not in _BLOCKS and t not in _COMPOUND:  # a simple statement
                    if self.want_exprs:
                        self.roots.append((st, ctx))
                    continue
                loops = ctx.loops
                if t is ast.For or t is ast.AsyncFor:
                    tgt = st.target  # type: ignore[attr-defined]
                    if type(tgt) is ast.Tuple and tgt.elts and type(tgt.elts[0]) is ast.Name:
                        tgt = tgt.elts[0]
                    if type(tgt) is ast.Name:
                        loops = {**ctx.loops, tgt.id: st.iter}  # type: ignore[attr-defined]
                if self.want_exprs:
                    for name in _HEADERS.get(t, ()):
                        value = getattr(st, name)
                        if type(value) is list:
                            self.roots.extend((v, ctx) for v in value)
                        elif value is not None:
                            self.roots.append((value, ctx))
                if t in _COMPOUND:
                    for child in getattr(st, "handlers", None) or getattr(st, "cases", ()):
                        self.handler(child, ctx)
                for name in ("body", "orelse", "finalbody"):
                    sub = getattr(st, name, None)
                    if sub and isinstance(sub[0], ast.stmt):
                        inner = (
                            ctx
                            if loops is ctx.loops
                            else _Ctx(ctx.scope, ctx.cls, ctx.prefix, ctx.module_level, loops)
                        )
                        self.walk(sub, inner if name == "body" else ctx)

    def handler(self, node: ast.AST, ctx: _Ctx) -> None:
        """An `except` clause or a `case`: its expressions, then its body."""
        if self.want_exprs:
            for child in ast.iter_child_nodes(node):
                if not isinstance(child, ast.stmt):
                    self.roots.append((child, ctx))
        self.walk(node.body, ctx)  # type: ignore[attr-defined]

    def module_binding(self, st: ast.stmt) -> None:
        t = type(st)
        targets: list[ast.AST] = []
        if t is ast.Assign:
            targets = st.targets  # type: ignore[attr-defined]
            value = st.value  # type: ignore[attr-defined]
            if len(targets) == 1 and type(targets[0]) is ast.Name:
                name = targets[0].id  # type: ignore[attr-defined]
                self.str_lists[name] = value
                if type(value) is ast.Attribute or type(value) is ast.Call:
                    self.mark_vars[name] = value
        elif t is ast.AnnAssign or t is ast.AugAssign or t in (ast.For, ast.AsyncFor):
            targets = [st.target]  # type: ignore[attr-defined]
        elif t in (ast.With, ast.AsyncWith):
            targets = [i.optional_vars for i in st.items if i.optional_vars]  # type: ignore[attr-defined]
        elif t is ast.Delete:
            targets = st.targets  # type: ignore[attr-defined]
        for tgt in targets:
            if type(tgt) is ast.Name:
                self.bind(tgt.id, _OTHER)  # type: ignore[attr-defined]
                continue
            stack = [tgt]  # every name in the target, as ast.walk would find them
            while stack:
                n = stack.pop()
                if type(n) is ast.Name:
                    self.bind(n.id, _OTHER)  # type: ignore[attr-defined]
                elif n is not None:
                    push_children(n, stack)
        if t is ast.Assign or t is ast.AugAssign or t is ast.AnnAssign:
            self.pytestmark(st)

    def import_(self, st: ast.Import | ast.ImportFrom, ctx: _Ctx) -> None:
        top = ctx.top
        lasts = self.deprecated_lasts
        if type(st) is ast.Import:
            for al in st.names:
                if al.name == "pytest" or al.name.startswith("pytest."):
                    self.pytest_names.add(al.asname or "pytest")
                if al.asname and al.name.rpartition(".")[2] in self.opts._registrar_last:
                    self.aliased_registrar = True
                if top:
                    if al.asname:
                        self.bind(al.asname, ("import", al.name, 0))
                    else:
                        first = al.name.partition(".")[0]
                        self.bind(first, ("import", first, 0))
            if lasts:  # what `opts.import_may_matter` says, inline
                for al in st.names:
                    if al.name.rpartition(".")[2] in lasts:
                        names = [al.name for al in st.names]
                        self.imports.append(
                            [*self.site(st), 0, None, names, self.lines.text(st.lineno)]
                        )
                        break
            return
        mod = st.module or ""
        level = st.level
        from_pytest = mod == "pytest" and level == 0
        registrars = self.opts._registrar_last
        prefix = mod + "." if mod else ""
        for al in st.names:
            name, asname = al.name, al.asname
            if name == "*":
                continue
            if from_pytest and name == "mark":
                self.mark_names.add(asname or "mark")
            if asname and name in registrars:
                self.aliases.add(asname)
            if top:
                self.bind(asname or name, ("import", prefix + name, level))
        if lasts is not None:
            names = [al.name for al in st.names if al.name != "*"]
            if (st.level and not mod) or (lasts and self.may_matter(mod, names, lasts)):
                self.imports.append(
                    [*self.site(st), st.level, mod, names, self.lines.text(st.lineno)]
                )

    @staticmethod
    def may_matter(mod: str, names: list[str], lasts: frozenset[str]) -> bool:
        """`opts.import_may_matter(mod or None, names)` for a `from` import (whose names are
        plain: `from a import b.c` does not parse)."""
        if mod and mod.rpartition(".")[2] in lasts:
            return True
        return not lasts.isdisjoint(names)

    def names_awaitable(self) -> bool:
        """Whether the file's bytes name an awaitable type (else return annotations need no
        look); found on first need."""
        r = self._returns
        if r is None:
            find = self.data.find
            r = self._returns = any(find(n) >= 0 for n in _AWAITABLE_BYTES)
        return r

    def body_may_import(self, st: ast.AST) -> bool:
        """Whether the body of a def may hold an import statement (its lines hold `import`)."""
        start = st.body[0].lineno  # type: ignore[attr-defined]
        last = self._last_import
        if last == -1:
            data = self.data
            i = data.rfind(b"import")
            if i < 0:
                last = 0
            elif data.find(b"\r") >= 0 and data.count(b"\r") != data.count(b"\r\n"):
                last = None  # a lone CR ends a line: numbers cannot be told from bytes
            else:
                last = data.count(b"\n", 0, i) + 1
            self._last_import = last
        if last is None:
            return True
        if start > last:
            return False  # the usual case: every import comes before the def
        hot = self._import_lines
        if hot is False:
            hot = self._import_lines = hot_lines(self.data, (b"import",))
        if hot is None:
            return True
        i = bisect_left(hot, start)
        return i < len(hot) and hot[i] <= st.end_lineno  # type: ignore[attr-defined]

    def site(self, node: ast.AST) -> list:
        line = node.lineno  # type: ignore[attr-defined]
        return [line, self.lines.col(line, node.col_offset)]  # type: ignore[attr-defined]

    def function(self, st: ast.FunctionDef | ast.AsyncFunctionDef, ctx: _Ctx) -> None:
        if self.want_exprs:
            for dec in st.decorator_list:
                self.roots.append((dec, ctx))
            for d in (*st.args.defaults, *st.args.kw_defaults):
                if d is not None:
                    self.roots.append((d, ctx))
        if ctx.scope is None and not (st.decorator_list and _is_overload(st)):
            status = def_status(st, self.names_awaitable)
            self.add_def(ctx.prefix + st.name, status)
            if ctx.top:
                self.bind(st.name, ("def", status))
        if self.want_callbacks and type(st) is ast.AsyncFunctionDef:
            for dec in st.decorator_list:
                parts = dotted_parts(dec)
                if parts is None:
                    continue
                dotted = self.expand(parts, ctx)
                reg = self.opts.registrar_matches(dotted)
                if reg and "." in reg:
                    self.callbacks.append(
                        [
                            *self.site(dec),
                            reg,
                            ["r", "a", ctx.prefix + st.name],
                            st.name,
                            self.lines.text(dec.lineno),
                        ]
                    )
        if self.opts.tests and st.name.startswith("test") and ctx.scope is None:
            if ctx.cls is None and not ctx.prefix:
                self.test_funcs.append((st.name, st, []))
        if not self.body_may_import(st):
            # The body could only add expressions to look into (or imports: it has none)
            if not self.want_exprs:
                return
            if self.may_defer:
                self.deferred.append((st, ctx))  # walked in phase 2 if a needle is in it
                return
        self.body(st, ctx)

    def body(self, st: ast.FunctionDef | ast.AsyncFunctionDef, ctx: _Ctx) -> None:
        scope = _Scope(st, ctx.scope, self.names_awaitable)
        inner = _Ctx(scope, ctx.cls, ctx.prefix + st.name + ".<locals>.", False, ctx.loops)
        self.walk(st.body, inner)

    def klass(self, st: ast.ClassDef, ctx: _Ctx) -> None:
        if self.want_exprs:
            for node in (*st.decorator_list, *st.bases, *(k.value for k in st.keywords)):
                self.roots.append((node, ctx))
        qual = ctx.prefix + st.name
        if ctx.scope is None:
            self.class_defs[qual] = st
            self.class_sites.append((qual, st))
            self.class_bases[qual] = list(st.bases)
            if ctx.top:
                self.bind(st.name, _CLASS)
        inner = _Ctx(ctx.scope, qual, qual + ".", ctx.module_level, ctx.loops)
        self.walk(st.body, inner)

    def pytestmark(self, st: ast.stmt) -> None:
        """A module-level `pytestmark` (a class-level one is read from the class body when
        counting tests)."""
        tgt = st.targets[0] if type(st) is ast.Assign else st.target  # type: ignore[attr-defined]
        if type(tgt) is ast.Name and tgt.id == "pytestmark" and st.value is not None:  # type: ignore[attr-defined]
            self.module_marks.append(st.value)  # type: ignore[attr-defined]

    # phase 2 -----------------------------------------------------------------------------------

    def needles(self) -> set[bytes]:
        """Texts one of which the source of every expression phase 2 looks for contains."""
        out: set[bytes] = set()
        if self.want_awaits:
            out.add(b"await")
        if self.want_marks:
            out.add(b"mark")
            out.update(n.encode() for n in self.mark_names)
        if self.want_registers:
            out.add(b"addinivalue_line")
        if self.want_warns:
            out.add(b"DeprecationWarning")
        if self.want_callbacks:
            out.update(self.opts._registrar_bytes)
            out.update(n.encode() for n in self.aliases)
        return out

    def scan(self) -> None:
        want_awaits, want_marks = self.want_awaits, self.want_marks
        want_calls = self.want_callbacks or self.want_registers or self.want_warns
        Await, Call, Attribute, Name, Constant = (
            ast.Await,
            ast.Call,
            ast.Attribute,
            ast.Name,
            ast.Constant,
        )
        deferred = self.deferred
        hot = hot_lines(self.data, self.needles()) if self.roots or deferred else None
        while deferred:
            st, ctx = deferred.pop()
            if hot is not None and not self.aliased_registrar:
                i = bisect_left(hot, st.body[0].lineno)
                if i == len(hot) or hot[i] > st.end_lineno:  # type: ignore[operator]
                    continue  # no needle in its lines: none in any root of the body either
            self.body(st, ctx)
        for root, ctx in self.roots:
            if hot is not None:
                first = getattr(root, "lineno", None)
                if first is not None:
                    i = bisect_left(hot, first)
                    if i == len(hot) or hot[i] > (root.end_lineno or first):  # type: ignore[attr-defined]
                        continue  # no needle in its source: nothing to find inside
            stack = [root]
            while stack:
                n = stack.pop()
                if n is None:
                    continue
                t = type(n)
                if t is Attribute:
                    if want_marks:
                        self.mark_attr(n)  # type: ignore[arg-type]
                    stack.append(n.value)  # type: ignore[attr-defined]
                    continue
                if t is Name or t is Constant:
                    continue  # nothing inside
                if t is Await:
                    if want_awaits:
                        self.awaits_raw.append((n, ctx))  # type: ignore[arg-type]
                elif t is Call and want_calls:
                    self.call(n, ctx)  # type: ignore[arg-type]
                push_children(n, stack)

    def mark_attr(self, n: ast.Attribute) -> None:
        v = n.value
        tv = type(v)
        if tv is ast.Attribute:
            if v.attr != "mark" or type(v.value) is not ast.Name:  # type: ignore[attr-defined]
                return
            if v.value.id not in self.pytest_names:  # type: ignore[attr-defined]
                return
        elif tv is ast.Name:
            if v.id not in self.mark_names:  # type: ignore[attr-defined]
                return
        else:
            return
        if n.attr.startswith("_"):
            return
        self.marks.append([*self.site(n), n.attr, self.lines.text(n.lineno)])

    def marker_of(self, node: ast.AST) -> str | None:
        """The marker name a `pytest.mark.X` / `pytest.mark.X(...)` / alias expression applies."""
        if type(node) is ast.Call:
            node = node.func  # type: ignore[attr-defined]
        if type(node) is ast.Name and node.id in self.mark_vars:  # type: ignore[attr-defined]
            target = self.mark_vars[node.id]  # type: ignore[attr-defined]
            if type(target) is ast.Call:
                target = target.func  # type: ignore[attr-defined]
            node = target
        if type(node) is not ast.Attribute:
            return None
        v = node.value  # type: ignore[attr-defined]
        if type(v) is ast.Attribute and v.attr == "mark" and type(v.value) is ast.Name:  # type: ignore[attr-defined]
            if v.value.id in self.pytest_names:  # type: ignore[attr-defined]
                return node.attr  # type: ignore[attr-defined]
        if type(v) is ast.Name and v.id in self.mark_names:  # type: ignore[attr-defined]
            return node.attr  # type: ignore[attr-defined]
        return None

    def marks_in(self, node: ast.AST | None) -> list[ast.AST]:
        """Mark expressions in a decorator or a `pytestmark` value (list, tuple, `+`)."""
        if node is None:
            return []
        t = type(node)
        if t in (ast.List, ast.Tuple):
            return [m for e in node.elts for m in self.marks_in(e)]  # type: ignore[attr-defined]
        if t is ast.BinOp:
            return self.marks_in(node.left) + self.marks_in(node.right)  # type: ignore[attr-defined]
        return [node] if self.marker_of(node) else []

    def expand(self, parts: list[str], ctx: _Ctx) -> str:
        """A dotted callee name with its first component expanded through imports."""
        first = parts[0]
        scope = ctx.scope
        while scope is not None:
            hit = scope.lookup(first)
            if hit is not None:
                if hit[0] == "import":
                    return ".".join([hit[1][0], *parts[1:]])
                return ".".join(parts)
            scope = scope.parent
        b = self.binds.get(first)
        if b is not None and b[0] == "import" and b[2] == 0:
            return ".".join([b[1], *parts[1:]])
        return ".".join(parts)

    def call(self, n: ast.Call, ctx: _Ctx) -> None:
        func = n.func
        if type(func) is ast.Attribute and func.attr == "addinivalue_line":
            if self.want_registers:
                self.register(n, ctx)
            return
        parts = dotted_parts(func)
        if parts is None:
            return
        dotted = None
        if self.want_warns and ctx.module_level and parts[-1] == "warn":
            dotted = self.expand(parts, ctx)
            if dotted == "warnings.warn":
                cat = n.args[1] if len(n.args) > 1 else None
                for kw in n.keywords:
                    if kw.arg == "category":
                        cat = kw.value
                cparts = dotted_parts(cat) if cat is not None else None
                if cparts and cparts[-1] in DEPRECATION_CATEGORIES and not self.warns:
                    self.warns = n.lineno
        if self.want_callbacks and (
            parts[-1] in self.opts._registrar_last or len(parts) == 1  # `reg(f)`: maybe an alias
        ):
            dotted = dotted or self.expand(parts, ctx)
            reg = self.opts.registrar_matches(dotted)
            if reg is None:
                return
            for arg in (*n.args, *(k.value for k in n.keywords)):
                self.callback_arg(n, reg, arg, ctx)

    def callback_arg(self, call: ast.Call, reg: str, arg: ast.AST, ctx: _Ctx) -> None:
        t = type(arg)
        target = arg
        if t is ast.Lambda and type(arg.body) is ast.Call:  # type: ignore[attr-defined]
            target = arg.body.func  # type: ignore[attr-defined]
        elif t is ast.Call:
            parts = dotted_parts(arg.func)  # type: ignore[attr-defined]
            if parts and parts[-1] == "partial" and arg.args:  # type: ignore[attr-defined]
                target = arg.args[0]  # type: ignore[attr-defined]
            else:
                return
        elif t is not ast.Name and t is not ast.Attribute:
            return
        parts = dotted_parts(target)
        if parts is None:
            return
        ref = self.ref(target, ctx)
        if ref[0] == "x" or (ref[0] == "r" and ref[1] != "a"):
            return
        self.callbacks.append(
            [*self.site(arg), reg, ref, ".".join(parts), self.lines.text(call.lineno)]
        )

    def strings_of(self, node: ast.AST, ctx: _Ctx, depth: int = 0) -> list[str]:
        """Literal strings an expression may evaluate to (constants, loop variables, f-strings)."""
        if depth > 3:
            return []
        t = type(node)
        if t is ast.Constant and isinstance(node.value, str):  # type: ignore[attr-defined]
            return [node.value]  # type: ignore[attr-defined]
        if t is ast.Name:
            name = node.id  # type: ignore[attr-defined]
            if name in ctx.loops:
                return self.iter_strings(ctx.loops[name], ctx, depth + 1)
            if name in self.str_lists:
                v = self.str_lists[name]
                if type(v) is ast.Constant and isinstance(v.value, str):  # type: ignore[attr-defined]
                    return [v.value]  # type: ignore[attr-defined]
            return []
        if t is ast.JoinedStr:
            values = node.values  # type: ignore[attr-defined]
            if values and type(values[0]) is ast.FormattedValue:
                heads = self.strings_of(values[0].value, ctx, depth + 1)
                rest = "".join(
                    v.value
                    for v in values[1:]
                    if type(v) is ast.Constant  # type: ignore[attr-defined]
                )
                return [h + rest for h in heads]
            if values and type(values[0]) is ast.Constant:
                return [values[0].value]
        return []

    def iter_strings(self, node: ast.AST, ctx: _Ctx, depth: int) -> list[str]:
        if type(node) is ast.Call and type(node.func) is ast.Attribute:  # type: ignore[attr-defined]
            if node.func.attr in ("items", "keys"):  # type: ignore[attr-defined]
                node = node.func.value  # type: ignore[attr-defined]
        if type(node) is ast.Name and node.id in self.str_lists:  # type: ignore[attr-defined]
            node = self.str_lists[node.id]  # type: ignore[attr-defined]
        return _str_list(node) or []

    def register(self, n: ast.Call, ctx: _Ctx) -> None:
        if len(n.args) < 2:
            return
        first = n.args[0]
        if not (type(first) is ast.Constant and first.value == "markers"):
            return
        for line in self.strings_of(n.args[1], ctx):
            name = marker_name(line)
            if name:
                self.registers.append(name)

    def ref(self, func: ast.AST, ctx: _Ctx) -> list:
        """How the callee expression `func` resolves (see module docstring)."""
        # super().m
        if type(func) is ast.Attribute and type(func.value) is ast.Call:  # type: ignore[attr-defined]
            inner = func.value.func  # type: ignore[attr-defined]
            if type(inner) is ast.Name and inner.id == "super" and ctx.cls:
                return ["c", ctx.cls, func.attr, 1]  # type: ignore[attr-defined]
            return ["x"]
        parts = dotted_parts(func)
        if parts is None:
            return ["x"]
        first = parts[0]
        if first in ("self", "cls") and ctx.cls and ctx.scope is not None:
            if len(parts) != 2:
                return ["x"]
            return self.method_ref(ctx.cls, parts[1], skip_self=False)
        scope = ctx.scope
        while scope is not None:
            hit = scope.lookup(first)
            if hit is not None:
                kind, value = hit
                if kind == "def":
                    return ["r", value, first] if len(parts) == 1 else ["x"]
                if kind == "import":
                    dotted, level = value
                    return ["q", ".".join([dotted, *parts[1:]]), level]
                return ["x"]
            scope = scope.parent
        b = self.binds.get(first)
        if b is None or b[0] == "other":
            return ["x"]
        if b[0] == "def":
            return ["r", b[1], first] if len(parts) == 1 else ["x"]
        if b[0] == "class":
            if len(parts) == 1:
                return ["r", "k", first]
            if len(parts) == 2:
                return self.method_ref(first, parts[1], skip_self=False)
            return ["x"]
        return ["q", ".".join([b[1], *parts[1:]]), b[2]]

    def method_ref(self, cls: str, attr: str, *, skip_self: bool) -> list:
        """Look a method up on a class of this file and its in-file bases; defer if a base is
        imported."""
        seen: set[str] = set()
        todo = [(cls, skip_self)]
        while todo:
            c, skip = todo.pop(0)
            if c in seen:
                continue
            seen.add(c)
            if not skip:
                status = self.defs.get(f"{c}.{attr}")
                if status is not None:
                    return ["r", status, f"{c}.{attr}"]
            for base in self.class_bases.get(c, ()):
                parts = dotted_parts(base.value if type(base) is ast.Subscript else base)  # type: ignore[attr-defined]
                if parts is None:
                    continue
                if len(parts) == 1 and self.binds.get(parts[0]) == ("class",):
                    todo.append((parts[0], False))
                elif parts != ["object"]:
                    return ["c", cls, attr, 1 if skip_self else 0]
        return ["x"]

    def base_ref(self, base: ast.AST) -> list | None:
        if type(base) is ast.Subscript:
            base = base.value  # type: ignore[attr-defined]
        parts = dotted_parts(base)
        if parts is None or parts == ["object"]:
            return None
        b = self.binds.get(parts[0])
        if b is None or b[0] in ("other", "def"):
            return None
        if b[0] == "class":
            return ["k", ".".join(parts)] if len(parts) == 1 else None
        return ["q", ".".join([b[1], *parts[1:]]), b[2]]

    # tests -------------------------------------------------------------------------------------

    def parametrize_count(self, marks: Iterable[ast.AST]) -> int:
        count = 1
        for m in marks:
            if type(m) is not ast.Call or self.marker_of(m) != "parametrize":
                continue
            values = m.args[1] if len(m.args) > 1 else None  # type: ignore[attr-defined]
            for kw in m.keywords:  # type: ignore[attr-defined]
                if kw.arg == "argvalues":
                    values = kw.value
            if type(values) in (ast.List, ast.Tuple, ast.Set):
                elts = values.elts  # type: ignore[union-attr]
                if not any(type(e) is ast.Starred for e in elts):
                    count *= max(1, len(elts))
        return count

    def test_entries(self) -> list[list]:
        classes = [
            (qual, cls)
            for qual, cls in self.class_defs.items()
            # a test class's outermost class is a `Test*` one (see is_test_class)
            if qual.startswith("Test") and "<locals>" not in qual and self.is_test_class(qual)
        ]
        if not classes and not self.test_funcs:
            return []
        module_marks = [m for v in self.module_marks for m in self.marks_in(v)]
        out: list[list] = []
        for name, node, _ in self.test_funcs:
            marks = module_marks + [m for d in node.decorator_list for m in self.marks_in(d)]  # type: ignore[attr-defined]
            out.append(self.test_entry(name, node, marks))
        for qual, cls in classes:
            marks = list(module_marks)
            chain = qual.split(".")
            for i in range(1, len(chain) + 1):
                c = self.class_defs.get(".".join(chain[:i]))
                if c is None:
                    break
                marks += [m for d in c.decorator_list for m in self.marks_in(d)]
                marks += self.class_pytestmarks(c)
            for st in cls.body:
                if type(st) in (ast.FunctionDef, ast.AsyncFunctionDef) and st.name.startswith(  # type: ignore[attr-defined]
                    "test"
                ):
                    fm = marks + [m for d in st.decorator_list for m in self.marks_in(d)]  # type: ignore[attr-defined]
                    out.append(self.test_entry(f"{qual}::{st.name}", st, fm))  # type: ignore[attr-defined]
        out.sort(key=lambda e: e[1])
        return out

    def class_pytestmarks(self, cls: ast.ClassDef) -> list[ast.AST]:
        out: list[ast.AST] = []
        for st in cls.body:
            if type(st) is ast.Assign and any(
                type(t) is ast.Name and t.id == "pytestmark" for t in st.targets
            ):
                out += self.marks_in(st.value)
            elif type(st) in (ast.AugAssign, ast.AnnAssign):
                tgt = st.target  # type: ignore[attr-defined]
                if type(tgt) is ast.Name and tgt.id == "pytestmark":
                    out += self.marks_in(st.value)  # type: ignore[attr-defined]
        return out

    def is_test_class(self, qual: str) -> bool:
        chain = qual.split(".")
        for i in range(1, len(chain) + 1):
            c = self.class_defs.get(".".join(chain[:i]))
            if c is None or not c.name.startswith("Test"):
                return False
            for st in c.body:
                if type(st) in (ast.FunctionDef, ast.AsyncFunctionDef) and st.name == "__init__":  # type: ignore[attr-defined]
                    return False
                if (
                    type(st) is ast.Assign
                    and any(type(t) is ast.Name and t.id == "__test__" for t in st.targets)
                    and type(st.value) is ast.Constant
                    and not st.value.value
                ):
                    return False
        return True

    def test_entry(self, name: str, node: ast.AST, marks: list[ast.AST]) -> list:
        names = sorted({n for m in marks if (n := self.marker_of(m))})
        return [name, node.lineno, self.parametrize_count(marks), names]  # type: ignore[attr-defined]

    # output ------------------------------------------------------------------------------------

    def facts(self) -> Facts:
        self.scan()
        out: Facts = {"status": "ok"}
        o = self.opts
        if o.await_misuse or o.async_callback:
            if self.defs:
                out["defs"] = self.defs
            exports = {k: [v[1], v[2]] for k, v in self.binds.items() if v[0] == "import"}
            if exports:
                out["exports"] = exports
        if o.await_misuse or o.async_callback or o.classes:
            classes = []
            for qual, node in self.class_sites:
                bases = [r for b in node.bases if (r := self.base_ref(b)) is not None]
                classes.append([qual, *self.site(node), bases, self.lines.text(node.lineno)])
            if classes:
                out["classes"] = classes
        if self.awaits_raw:
            awaits = []
            for node, ctx in self.awaits_raw:
                call = node.value
                if type(call) is not ast.Call:
                    continue
                parts = dotted_parts(call.func)
                if parts is None and type(call.func) is ast.Attribute:
                    name = "super()." + call.func.attr
                else:
                    name = ".".join(parts) if parts else ""
                if not name:
                    continue
                awaits.append(
                    [*self.site(node), self.ref(call.func, ctx), name, self.lines.text(node.lineno)]
                )
            if awaits:
                out["awaits"] = sorted(awaits, key=_site_key)
        if self.callbacks:
            out["callbacks"] = sorted(self.callbacks, key=_site_key)
        if self.imports:
            out["imports"] = self.imports
        if self.warns:
            out["warns"] = self.warns
        if self.marks:
            out["marks"] = sorted(self.marks, key=_site_key)
        if self.registers:
            out["registers"] = sorted(set(self.registers))
        if o.tests and (self.test_funcs or self.class_defs):
            tests = self.test_entries()
            if tests:
                out["tests"] = tests
        return out


def extract_python(data: bytes, opts: ExtractOptions) -> Facts:
    """Facts of a Python file's bytes; falls back to the line-based method if it does not parse."""
    if len(data) > opts.max_file_size:
        return {"status": "skipped"}
    out: Facts
    if opts.needs_ast:
        try:
            tree = ast.parse(data)
        except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError) as exc:
            from healthtui.rules.fallback import extract_fallback

            syntax = isinstance(exc, SyntaxError)
            line = (exc.lineno or 1) if syntax else 1  # type: ignore[attr-defined]
            col = (exc.offset or 1) if syntax else 1  # type: ignore[attr-defined]
            out = extract_fallback(data, opts, _why(exc), line, col)
        else:
            try:
                ex = PyExtractor(data, opts, Lines(data))
                ex.walk(tree.body, _MODULE_CTX)
                out = ex.facts()
            except RecursionError:
                from healthtui.rules.fallback import extract_fallback

                out = extract_fallback(data, opts, "nested too deeply to analyse")
    else:
        out = {"status": "ok"}
    if opts.regex and not binary_prefix(data):
        hits = regex_hits(data, opts.regex)
        if hits:
            out["rx"] = hits
    return out


def _site_key(site: list) -> tuple[int, int]:
    return site[0], site[1]


def _why(exc: BaseException) -> str:
    if isinstance(exc, SyntaxError):
        msg = (exc.msg or "invalid syntax").strip()
        return f"syntax error: {msg}"[:MAX_TEXT]
    if isinstance(exc, ValueError):
        return f"cannot parse: {exc}"[:MAX_TEXT]
    if isinstance(exc, RecursionError):
        return "nested too deeply to parse"
    return f"cannot parse: {type(exc).__name__}"


def iter_refs(facts: Facts) -> Iterator[list]:
    """Every resolution reference in a file's facts (for tests and debugging)."""
    for site in facts.get("awaits", ()):
        yield site[2]
    for site in facts.get("callbacks", ()):
        yield site[3]

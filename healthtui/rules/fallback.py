"""The line-based method for Python files that do not parse (syntax errors, Python 2, merge-conflict
markers, NUL bytes...): the same facts as `pyfacts`, found with regular expressions.

How it reads a file:
1. Comments and string literals are blanked out (same length, newlines kept), so nothing inside a
   comment or a string ever counts. Unterminated strings end at the end of their line (single
   quotes) or of the file (triple quotes).
2. Physical lines are joined into logical lines while brackets are open or a line ends in '\\'
   (at most 50 lines), so a multi-line `from a import (...)` is one statement.
3. Merge-conflict marker lines (`<<<<<<<`, `=======`, `>>>>>>>`) are dropped and both sides are
   read: an import present on both sides counts twice.
4. Nesting comes from indentation: `class`/`def` lines open a block that ends at the next line
   indented as much or less.

What it finds: defs (async or not, decorated -> unknown, `-> Awaitable[...]` -> awaitable), classes
and their bases, module-level imports (bindings and deprecated-import candidates), `await NAME(`
sites, `pytest.mark.NAME` uses, `addinivalue_line("markers", "...")` literals, module-level
`warnings.warn(... DeprecationWarning ...)`, and test functions (one test each: parametrize is not
expanded). Not done here: local-variable shadowing (a local named like a module-level function is
taken for that function) and async callbacks.
"""

from __future__ import annotations

import re
from typing import Any

from healthtui.rules.pyfacts import (
    AWAITABLE_NAMES,
    DEPRECATION_CATEGORIES,
    FALLBACK_VERSION,
    MAX_TEXT,
    TRANSPARENT_DECORATORS,
    ExtractOptions,
    decode_source,
    marker_name,
    split_lines,
)

Facts = dict[str, Any]

ID = "unparseable_files"
VERSION = FALLBACK_VERSION

_MASK = re.compile(
    r"""(?P<c>\#[^\r\n]*)
    |(?P<s>[rRbBuUfF]{0,2}(?:'''[\s\S]*?(?:'''|\Z)|\"\"\"[\s\S]*?(?:\"\"\"|\Z)
        |'(?:\\.|[^'\\\r\n])*(?:'|(?=[\r\n])|\Z)|"(?:\\.|[^"\\\r\n])*(?:"|(?=[\r\n])|\Z)))""",
    re.VERBOSE,
)
_BLANK = re.compile(r"[^\r\n]")
_CONFLICT = re.compile(r"^(?:<{7}|={7}|>{7})(?:\s|$)")
_DEF = re.compile(r"^(async\s+)?def\s+([A-Za-z_]\w*)\s*\(")
_CLASS = re.compile(r"^class\s+([A-Za-z_]\w*)\s*(?:\((.*)\))?\s*:")
_IMPORT = re.compile(r"^import\s+(.+)$", re.S)
_FROM = re.compile(r"^from\s+(\.*)\s*([\w.]*)\s+import\s+(.+)$", re.S)
_AWAIT = re.compile(r"\bawait\s+((?:super\(\s*\)\.)?[A-Za-z_][\w.]*)\s*\(")
_MARK = re.compile(r"(?<![\w.])([A-Za-z_]\w*)\.mark\.([A-Za-z]\w*)")
_MARK_ALIAS = re.compile(r"(?<![\w.])([A-Za-z_]\w*)\.([A-Za-z]\w*)")
_REGISTER = re.compile(
    r"addinivalue_line\(\s*[rRuU]?(['\"])markers\1\s*,\s*[rRuU]?(['\"])((?:\\.|(?!\2).)*)\2"
)
_RETURNS = re.compile(r"->\s*(.+?)\s*:\s*$", re.S)
_DOTTED = re.compile(r"^[A-Za-z_][\w.]*$")


def _mask(text: str) -> str:
    def blank(m: re.Match) -> str:
        s = m.group(0)
        if m.lastgroup == "c":
            return " " * len(s)
        inner = _BLANK.sub(" ", s[1:-1]) if len(s) >= 2 else ""
        return s[:1] + inner + s[-1:] if len(s) >= 2 else " "

    return _MASK.sub(blank, text)


def _logical_lines(masked: list[str], original: list[str]):
    """(first line number, indent, masked text, original text) of each logical line."""
    i, n = 0, len(masked)
    while i < n:
        line = masked[i]
        if _CONFLICT.match(original[i]):
            i += 1
            continue
        stripped = line.strip()
        if not stripped:
            i += 1
            continue
        indent = len(line) - len(line.lstrip())
        start = i
        parts, orig = [line], [original[i]]
        depth = _depth(line)
        while (depth > 0 or parts[-1].rstrip().endswith("\\")) and i + 1 < n and i - start < 50:
            i += 1
            if _CONFLICT.match(original[i]) or _starts_statement(masked[i], indent):
                i -= 1
                break
            parts.append(masked[i])
            orig.append(original[i])
            depth += _depth(masked[i])
        i += 1
        joined = " ".join(p.rstrip().rstrip("\\") for p in parts).strip()
        yield start + 1, indent, joined, " ".join(o.strip() for o in orig)


_STATEMENT = re.compile(r"(?:def|class|import|from|async\s+def|return|@)\b")


def _starts_statement(line: str, indent: int) -> bool:
    """A line that cannot continue an open bracket: it starts a statement at the same or an
    outer indentation (so an unclosed bracket does not swallow the rest of the file)."""
    stripped = line.lstrip()
    return len(line) - len(stripped) <= indent and bool(_STATEMENT.match(stripped))


def _depth(line: str) -> int:
    return sum(line.count(c) for c in "([{") - sum(line.count(c) for c in ")]}")


def _split_top(text: str) -> list[str]:
    out, depth, cur = [], 0, []
    for ch in text:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == "," and depth == 0:
            out.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
    out.append("".join(cur).strip())
    return [p for p in out if p]


def _def_status(is_async: bool, decorators: list[str], header: str) -> str:
    for dec in decorators:
        name = dec.split("(")[0].strip()
        if not _DOTTED.match(name):
            return "u"
        if name not in TRANSPARENT_DECORATORS and name.rpartition(".")[2] not in (
            TRANSPARENT_DECORATORS
        ):
            return "u"
    if is_async:
        return "a"
    m = _RETURNS.search(header)
    if m and any(name in m.group(1) for name in AWAITABLE_NAMES):
        return "w"
    return "s"


def extract_fallback(
    data: bytes, opts: ExtractOptions, why: str, line: int = 1, col: int = 1
) -> Facts:
    """Facts of an unparseable Python file (see module docstring); `why`, `line` and `col` say
    what stopped the parser. Never raises."""
    text = decode_source(data).replace("\x00", " ")
    original = split_lines(text)
    masked = split_lines(_mask(text))
    if len(masked) != len(original):  # cannot happen: masking keeps line breaks; stay safe
        masked = original
    defs: dict[str, str] = {}
    classes: list[list] = []
    class_bases: dict[str, list[str]] = {}
    binds: dict[str, tuple] = {}
    pytest_names = {"pytest"}
    mark_names: set[str] = set()
    imports: list[list] = []
    raw_awaits: list[tuple[int, int, str, str | None, bool, str]] = []
    raw_marks: list[tuple[int, int, str, str, str]] = []
    registers: list[str] = []
    tests: list[tuple[str, int, list[str]]] = []
    warns = 0
    stack: list[tuple[int, str, str]] = []  # (indent, "class"/"def", qualname)
    decorators: list[str] = []
    module_marks: list[str] = []
    class_marks: dict[str, list[str]] = {}

    def bind(name: str, value: tuple) -> None:
        old = binds.get(name)
        binds[name] = value if old is None or old == value else ("other",)

    for lineno, indent, code, orig in _logical_lines(masked, original):
        while stack and stack[-1][0] >= indent:
            stack.pop()
        in_def = any(kind == "def" for _, kind, _ in stack)
        cls = next((q for _, kind, q in reversed(stack) if kind == "class"), None)
        top = not stack
        text_of = orig.strip()[:MAX_TEXT]
        if opts.markers and "mark" in code:
            for mm in _MARK.finditer(code):
                raw_marks.append((lineno, indent + 1, mm.group(1), mm.group(2), text_of))
        if opts.markers and mark_names and "." in code:
            for mm in _MARK_ALIAS.finditer(code):
                raw_marks.append((lineno, indent + 1, "", mm.group(1) + "." + mm.group(2), text_of))
        if code.startswith("@"):
            decorators.append(code[1:].strip())
            continue
        m = _DEF.match(code)
        if m:
            name = m.group(2)
            status = _def_status(bool(m.group(1)), decorators, code)
            marks_here = [mm for d in decorators for mm in _marks_in(d)]
            prefix = ".".join(q.rpartition(".")[2] for _, _, q in stack)
            if not in_def:
                qual = f"{cls}.{name}" if cls else name
                old = defs.get(qual)
                defs[qual] = status if old is None or old == status else "u"
                if top:
                    bind(name, ("def", status))
                if name.startswith("test") and (
                    top or (cls and all(p.startswith("Test") for p in cls.split(".")))
                ):
                    tests.append((f"{cls}::{name}" if cls else name, lineno, marks_here))
            stack.append((indent, "def", f"{prefix}.{name}" if prefix else name))
            decorators = []
            continue
        m = _CLASS.match(code)
        if m:
            name = m.group(1)
            qual = f"{cls}.{name}" if cls and not in_def else name
            if not in_def:
                classes.append([qual, lineno, indent + 1, [], text_of])
                class_marks.setdefault(qual, []).extend(m for d in decorators for m in _marks_in(d))
                class_bases[qual] = _split_top(m.group(2) or "")
                if top:
                    bind(name, ("class",))
            stack.append((indent, "class", qual))
            decorators = []
            continue
        decorators = []
        m = _IMPORT.match(code)
        if m:
            names = []
            for item in _split_top(m.group(1)):
                mod, _, alias = item.partition(" as ")
                mod, alias = mod.strip(), alias.strip()
                if not _DOTTED.match(mod):
                    continue
                names.append(mod)
                if mod == "pytest":
                    pytest_names.add(alias or "pytest")
                if top:
                    first = mod.partition(".")[0]
                    bind(alias or first, ("import", mod if alias else first, 0))
            if opts.deprecated_imports and names and opts.import_may_matter(None, names):
                imports.append([lineno, indent + 1, 0, None, names, text_of])
            continue
        m = _FROM.match(code)
        if m:
            level, mod = len(m.group(1)), m.group(2)
            names = []
            for item in _split_top(m.group(3).strip().strip("()")):
                name, _, alias = item.partition(" as ")
                name, alias = name.strip(), alias.strip()
                if not name.isidentifier():
                    continue
                names.append(name)
                if mod == "pytest" and not level and name == "mark":
                    mark_names.add(alias or "mark")
                if top:
                    dotted = f"{mod}.{name}" if mod else name
                    bind(alias or name, ("import", dotted, level))
            if opts.deprecated_imports and (
                opts.import_may_matter(mod or None, names)
                or (level and not mod and opts._deprecated_last)
            ):
                imports.append([lineno, indent + 1, level, mod, names, text_of])
            continue
        if top and opts.deprecated_imports and not warns and "warn(" in code:
            if any(c in code for c in DEPRECATION_CATEGORIES):
                warns = lineno
        if opts.await_misuse and "await" in code:
            for am in _AWAIT.finditer(code):
                raw_awaits.append((lineno, indent + 1, am.group(1), cls, in_def, text_of))
        if opts.markers and "addinivalue_line" in orig:
            for rm in _REGISTER.finditer(orig):
                name = marker_name(rm.group(3))
                if name:
                    registers.append(name)
        if code.startswith("pytestmark") and not in_def:
            if top:
                module_marks.extend(_marks_in(code))
            elif cls:
                class_marks.setdefault(cls, []).extend(_marks_in(code))

    line = max(1, min(line, len(original)))
    out: Facts = {"status": "fallback", "error": why, "line": line}
    if 1 < col <= len(original[line - 1]) + 1:
        out["col"] = col
    if original[line - 1].strip():
        out["text"] = original[line - 1].strip()[:MAX_TEXT]
    if opts.await_misuse or opts.async_callback:
        if defs:
            out["defs"] = defs
        exports = {k: [v[1], v[2]] for k, v in binds.items() if v[0] == "import"}
        if exports:
            out["exports"] = exports
    if opts.await_misuse or opts.async_callback or opts.classes:
        for entry in classes:
            entry[3] = [r for b in class_bases.get(entry[0], ()) if (r := _base_ref(b, binds))]
        if classes:
            out["classes"] = classes
    awaits = []
    for lineno, col, target, cls, in_def, text_of in raw_awaits:
        if not in_def:
            continue
        awaits.append([lineno, col, _ref(target, cls, binds, defs, class_bases), target, text_of])
    if awaits:
        out["awaits"] = awaits
    if imports:
        out["imports"] = imports
    if warns:
        out["warns"] = warns
    marks = []
    for lineno, col, owner, name, text_of in raw_marks:
        if owner:
            if owner in pytest_names:
                marks.append([lineno, col, name, text_of])
        else:
            alias, _, attr = name.partition(".")
            if alias in mark_names and not attr.startswith("_"):
                marks.append([lineno, col, attr, text_of])
    if marks:
        out["marks"] = sorted(marks)
    if registers:
        out["registers"] = sorted(set(registers))
    if opts.tests and tests:
        out["tests"] = []
        for name, line, mk in tests:
            owner = name.partition("::")[0] if "::" in name else ""
            chain = owner.split(".") if owner else []
            inherited = [
                m for i in range(len(chain)) for m in class_marks.get(".".join(chain[: i + 1]), ())
            ]
            out["tests"].append([name, line, 1, sorted(set(mk + module_marks + inherited))])
    return out


def _marks_in(code: str) -> list[str]:
    return [m.group(2) for m in _MARK.finditer(code)]


def _base_ref(base: str, binds: dict[str, tuple]) -> list | None:
    base = base.split("[")[0].strip()
    if "=" in base or not _DOTTED.match(base) or base == "object":
        return None
    parts = base.split(".")
    b = binds.get(parts[0])
    if b is None or b[0] in ("other", "def"):
        return None
    if b[0] == "class":
        return ["k", base] if len(parts) == 1 else None
    return ["q", ".".join([b[1], *parts[1:]]), b[2]]


def _ref(
    target: str,
    cls: str | None,
    binds: dict[str, tuple],
    defs: dict[str, str],
    class_bases: dict[str, list[str]],
) -> list:
    if target.startswith("super("):
        attr = target.rpartition(".")[2]
        return ["c", cls, attr, 1] if cls else ["x"]
    parts = target.split(".")
    if parts[0] in ("self", "cls") and cls:
        if len(parts) != 2:
            return ["x"]
        status = defs.get(f"{cls}.{parts[1]}")
        if status is not None:
            return ["r", status, f"{cls}.{parts[1]}"]
        return ["c", cls, parts[1], 0] if class_bases.get(cls) else ["x"]
    b = binds.get(parts[0])
    if b is None or b[0] == "other":
        return ["x"]
    if b[0] == "def":
        return ["r", b[1], parts[0]] if len(parts) == 1 else ["x"]
    if b[0] == "class":
        if len(parts) == 1:
            return ["r", "k", parts[0]]
        if len(parts) == 2:
            status = defs.get(f"{parts[0]}.{parts[1]}")
            if status is not None:
                return ["r", status, target]
            return ["c", parts[0], parts[1], 0] if class_bases.get(parts[0]) else ["x"]
        return ["x"]
    return ["q", ".".join([b[1], *parts[1:]]), b[2]]

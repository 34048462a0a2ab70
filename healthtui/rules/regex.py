"""Regex rules from config: lines of matching files that match, counted like `grep -c`.

A line is a run of bytes ending in '\\n' (a '\\r' before it stays part of the line, as in grep); a
line with several matches counts once; the finding's column is the first match's. Files are
decoded as UTF-8 (undecodable bytes replaced), and files that look binary (a NUL byte in the first
8000 bytes, git's own test) are skipped, as `git grep -I` skips them. Which files a rule looks at is
decided by its `include`/`exclude` globs (see `paths.py`) when findings are evaluated, so the hits
themselves only depend on the bytes.

Speed: a bytes prefilter first: when every match of a pattern must contain some literal text
(`TODO` in `#\\s*TODO`; one of `TODO`/`FIXME` in `TODO|FIXME`), files whose bytes hold none of
those literals are never decoded or searched (and `line_hits` searches just the lines holding one,
when `git grep -F` found them). Then one search over the whole text (MULTILINE) finds candidate
lines; each candidate line is confirmed with a per-line search, so patterns that would match across
a newline never count. Patterns whose meaning depends on the start/end of the searched string
(`\\A`, `\\Z`, lookaround) are searched line by line instead.
"""

from __future__ import annotations

import re
import re._constants as sre
import re._parser as sre_parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from healthtui.config import RegexRule
from healthtui.rules.base import Finding
from healthtui.rules.paths import compile_globs

VERSION = 1
MAX_TEXT = 200
_CONTEXT_SENSITIVE = re.compile(r"\\[AZz]|\(\?<?[=!]")


@dataclass(frozen=True)
class CompiledRegex:
    """A regex rule ready to search: its pattern compiled, its required literals (`needles`)."""

    id: str
    pattern: str
    include: tuple[str, ...] = ("**/*.py",)
    exclude: tuple[str, ...] = ()
    message: str = ""
    _line: re.Pattern = field(init=False, compare=False, repr=False)
    _text: re.Pattern | None = field(init=False, compare=False, repr=False)
    needles: tuple[bytes, ...] | None = field(init=False, compare=False, repr=False)
    finding_message: str = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_line", re.compile(self.pattern))
        object.__setattr__(self, "finding_message", self.message or f"matches /{self.pattern}/")
        object.__setattr__(self, "needles", required_literals(self.pattern))
        whole = (
            None
            if _CONTEXT_SENSITIVE.search(self.pattern)
            else re.compile(self.pattern, re.MULTILINE)
        )
        object.__setattr__(self, "_text", whole)

    @classmethod
    def from_rule(cls, rule: RegexRule) -> CompiledRegex:
        return cls(rule.id, rule.pattern, tuple(rule.include), tuple(rule.exclude), rule.message)

    def may_match(self, data: bytes) -> bool:
        """False only when no line of `data` can match (none of the required literals occurs)."""
        needles = self.needles
        if needles is None:
            return True
        return any(data.find(n) >= 0 for n in needles)  # `in` on bytes raises inside first

    def line_hit(self, line_no: int, raw: bytes) -> list | None:
        """[line, col, text] when line `line_no` of a text file, given as its bytes without the
        newline, matches (see `line_hits`)."""
        line = raw.decode("utf-8", "replace")
        if line_no == 1 and line.startswith("\ufeff"):
            line = line[1:]
        m = self._line.search(line)
        return None if m is None else [line_no, m.start() + 1, line.strip()[:MAX_TEXT]]

    def hits(self, text: str) -> list[list]:
        """[[line, col, text]] of the lines of `text` that match."""
        out: list[list] = []
        search = self._line.search
        if self._text is None:
            lines = text.split("\n")
            if lines and lines[-1] == "":
                lines.pop()  # text after the final newline is not a line
            for i, line in enumerate(lines, 1):
                m = search(line)
                if m:
                    out.append([i, m.start() + 1, line.strip()[:MAX_TEXT]])
            return out
        whole = self._text.search
        find, rfind, count = text.find, text.rfind, text.count
        n = len(text)
        pos, line_no, counted_to = 0, 1, 0
        while pos <= n:
            m = whole(text, pos)
            if m is None:
                break
            start = rfind("\n", 0, m.start()) + 1
            if start >= n:  # after the final newline: not a line
                break
            end = find("\n", start)
            if end < 0:
                end = n
            line_no += count("\n", counted_to, start)
            counted_to = start
            line = text[start:end]
            lm = search(line)
            if lm:  # else the match spanned lines: it does not count, later lines still might
                out.append([line_no, lm.start() + 1, line.strip()[:MAX_TEXT]])
            pos = end + 1
        return out


def binary_prefix(data: bytes) -> bool:
    """git's binary test: a NUL byte in the first 8000 bytes."""
    return data.find(b"\x00", 0, 8000) >= 0


def regex_hits(data: bytes, rules: tuple[CompiledRegex, ...]) -> dict[str, list[list]]:
    """{rule id: [[line, col, text]]} of the rules matching some line of a text file's bytes."""
    out: dict[str, list[list]] = {}
    live = [rule for rule in rules if rule.may_match(data)]
    if not live:
        return out
    text = data.decode("utf-8", "replace")
    if text.startswith("\ufeff"):  # a BOM is not a character of the first line
        text = text[1:]
    for rule in live:
        hits = rule.hits(text)
        if hits:
            out[rule.id] = hits
    return out


def line_hits(rules: tuple[CompiledRegex, ...], line_no: int, raw: bytes) -> list[tuple[str, list]]:
    """[(rule id, [line, col, text])] of the rules matching one line of a text file, given as its
    bytes without the newline: what `regex_hits` finds on that line."""
    out: list[tuple[str, list]] = []
    for rule in rules:
        needles = rule.needles
        if needles is not None:
            for needle in needles:
                if raw.find(needle) >= 0:
                    break
            else:
                continue
        hit = rule.line_hit(line_no, raw)
        if hit is not None:
            out.append((rule.id, hit))
    return out


_REPEATS = (sre.MAX_REPEAT, sre.MIN_REPEAT, getattr(sre, "POSSESSIVE_REPEAT", None))


def required_literals(pattern: str) -> tuple[bytes, ...] | None:
    """UTF-8 texts one of which every match of `pattern` contains, or None when no such set is
    known (then every file is searched). Case-insensitive patterns get None."""
    try:
        parsed = sre_parse.parse(pattern)
    except (re.error, RecursionError, OverflowError):  # pragma: no cover - validated by config
        return None
    if parsed.state.flags & re.IGNORECASE:
        return None
    best = _required(list(parsed), 0)
    if not best:
        return None
    if any("\ufffd" in s or not s for s in best):
        return None
    try:
        return tuple(s.encode("utf-8") for s in best)
    except UnicodeEncodeError:
        return None


def _score(alts: list[str] | None) -> int:
    return min(len(a) for a in alts) if alts else 0


def _required(items: list, depth: int) -> list[str] | None:
    """The best any-of set of literals that a match of the sequence `items` must contain."""
    if depth > 20:
        return None
    best: list[str] | None = None
    run: list[str] = []

    def consider(alts: list[str] | None) -> None:
        nonlocal best
        if alts and _score(alts) > _score(best):
            best = alts

    for op, arg in items:
        if op is sre.LITERAL:
            run.append(chr(arg))
            continue
        consider(["".join(run)] if run else None)
        run = []
        if op is sre.SUBPATTERN:
            _group, add_flags, _del_flags, sub = arg
            if not add_flags & re.IGNORECASE:
                consider(_required(list(sub), depth + 1))
        elif op in _REPEATS and op is not None:
            low, _high, sub = arg
            if low >= 1:
                consider(_required(list(sub), depth + 1))
        elif op is sre.BRANCH:
            branches = [_required(list(b), depth + 1) for b in arg[1]]
            if all(branches):
                consider([a for b in branches for a in b])  # type: ignore[union-attr]
    consider(["".join(run)] if run else None)
    return best


# `*.py` and `**/*.py` match exactly the paths ending in `.py` (`*` spans no '/', `**/` any dirs).
_NAME_SUFFIX = re.compile(r"(?:\*\*/)?\*(\.[^*?\[\]/\\\s]+)")


class _Suffixes:
    """`compile_globs` for globs that only ask for a file name suffix: a plain `endswith`."""

    __slots__ = ("suffixes",)

    def __init__(self, suffixes: tuple[str, ...]):
        self.suffixes = suffixes

    def __call__(self, path: str) -> bool:
        return path.endswith(self.suffixes)


def _path_test(globs: tuple[str, ...] | list[str]) -> Callable[[str], bool]:
    suffixes = [m.group(1) for m in map(_NAME_SUFFIX.fullmatch, globs) if m is not None]
    return _Suffixes(tuple(suffixes)) if len(suffixes) == len(globs) else compile_globs(globs)


class RegexSelector:
    """Which regex rules look at a path (include/exclude globs)."""

    def __init__(self, rules: tuple[CompiledRegex, ...]):
        self.rules = rules
        self._matchers = [
            (r.id, _path_test(r.include), _path_test(r.exclude) if r.exclude else None)
            for r in rules
        ]
        self._any = _path_test([p for r in rules for p in r.include])
        # The usual case, one rule (or all alike) selected by suffixes alone: no calls per path.
        self._suffixes: tuple[str, ...] | None = None
        self._ids = tuple(r.id for r in rules)
        if isinstance(self._any, _Suffixes) and all(
            not r.exclude and tuple(r.include) == tuple(rules[0].include) for r in rules
        ):
            self._suffixes = self._any.suffixes

    def any_includes(self, path: str) -> bool:
        if self._suffixes is not None:
            return path.endswith(self._suffixes)
        return self._any(path)

    def rule_ids(self, path: str) -> Sequence[str]:
        """The ids of the rules that look at `path`, in rule order."""
        if self._suffixes is not None:
            return self._ids if path.endswith(self._suffixes) else ()
        return [
            rid for rid, inc, exc in self._matchers if inc(path) and (exc is None or not exc(path))
        ]


def findings(rule: CompiledRegex, path: str, hits: list[list]) -> list[Finding]:
    message, rid = rule.finding_message, rule.id
    return [Finding(path, line, col, rid, text, message) for line, col, text in hits]

"""Regex rules from config: lines of matching files that match, counted like `grep -c`.

A line is a run of bytes ending in '\\n' (a '\\r' before it stays part of the line, as in grep); a
line with several matches counts once; the finding's column is the first match's. Files are
decoded as UTF-8 (undecodable bytes replaced), and files that look binary (a NUL byte in the first
8000 bytes, git's own test) are skipped, as `git grep` skips them. Which files a rule looks at is
decided by its `include`/`exclude` globs (see `paths.py`) when findings are evaluated, so the hits
themselves only depend on the bytes.

Speed: one search over the whole text (MULTILINE) finds candidate lines; each candidate line is
confirmed with a per-line search, so patterns that would match across a newline never count.
Patterns whose meaning depends on the start/end of the searched string (`\\A`, `\\Z`, lookaround)
are searched line by line instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from healthtui.config import RegexRule
from healthtui.rules.base import Finding
from healthtui.rules.paths import compile_globs

VERSION = 1
MAX_TEXT = 200
_CONTEXT_SENSITIVE = re.compile(r"\\[AZz]|\(\?<?[=!]")


@dataclass(frozen=True)
class CompiledRegex:
    id: str
    pattern: str
    include: tuple[str, ...] = ("**/*.py",)
    exclude: tuple[str, ...] = ()
    message: str = ""
    _line: re.Pattern = field(init=False, compare=False, repr=False)
    _text: re.Pattern | None = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_line", re.compile(self.pattern))
        whole = (
            None
            if _CONTEXT_SENSITIVE.search(self.pattern)
            else re.compile(self.pattern, re.MULTILINE)
        )
        object.__setattr__(self, "_text", whole)

    @classmethod
    def from_rule(cls, rule: RegexRule) -> CompiledRegex:
        return cls(rule.id, rule.pattern, tuple(rule.include), tuple(rule.exclude), rule.message)

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
    return b"\x00" in data[:8000]


def regex_hits(data: bytes, rules: tuple[CompiledRegex, ...]) -> dict[str, list[list]]:
    text = data.decode("utf-8", "replace")
    out: dict[str, list[list]] = {}
    for rule in rules:
        hits = rule.hits(text)
        if hits:
            out[rule.id] = hits
    return out


class RegexSelector:
    """Which regex rules look at a path (include/exclude globs)."""

    def __init__(self, rules: tuple[CompiledRegex, ...]):
        self.rules = rules
        self._matchers = [(r.id, compile_globs(r.include), compile_globs(r.exclude)) for r in rules]
        self._any = compile_globs([p for r in rules for p in r.include])

    def any_includes(self, path: str) -> bool:
        return self._any(path)

    def rule_ids(self, path: str) -> list[str]:
        return [rid for rid, inc, exc in self._matchers if inc(path) and not exc(path)]


def findings(rule: CompiledRegex, path: str, hits: list[list]) -> list[Finding]:
    message = rule.message or f"matches /{rule.pattern}/"
    return [Finding(path, h[0], h[1], rule.id, h[2], message) for h in hits]

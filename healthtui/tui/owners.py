"""CODEOWNERS: who owns a path (the last matching pattern wins), for grouping findings by owner."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

LOCATIONS = (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS")
UNOWNED = "(no owner)"


@dataclass(frozen=True)
class OwnerRule:
    pattern: str
    regex: re.Pattern[str]
    owners: tuple[str, ...]


def _compile(pattern: str) -> re.Pattern[str]:
    """Translate a gitignore-style CODEOWNERS pattern into a regex over repository paths."""
    anchored = pattern.startswith("/") or "/" in pattern.rstrip("/")
    directory = pattern.endswith("/")
    body = pattern.strip("/")
    out = []
    i = 0
    while i < len(body):
        ch = body[i]
        if body.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if body.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if ch == "*":
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        else:
            out.append(re.escape(ch))
        i += 1
    core = "".join(out)
    prefix = "" if anchored else "(?:.*/)?"
    suffix = "/.*" if directory else "(?:/.*)?"
    return re.compile(f"^{prefix}{core}{suffix}$")


def parse(text: str) -> tuple[OwnerRule, ...]:
    rules = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip() if not raw.lstrip().startswith("\\#") else raw.strip()
        if not line:
            continue
        parts = line.split()
        pattern, owners = parts[0], tuple(parts[1:])
        if pattern.startswith("[") or pattern.startswith("^["):
            continue  # GitLab section headers
        try:
            rules.append(OwnerRule(pattern, _compile(pattern), owners))
        except re.error:
            continue
    return tuple(rules)


class CodeOwners:
    def __init__(self, rules: tuple[OwnerRule, ...], source: str = ""):
        self.rules = rules
        self.source = source

    @classmethod
    def load(cls, root: Path | None) -> CodeOwners | None:
        """The work tree's CODEOWNERS file, or None when there is none (or no work tree)."""
        if root is None:
            return None
        for rel in LOCATIONS:
            path = root / rel
            try:
                if path.is_file():
                    return cls(parse(path.read_text(encoding="utf-8", errors="replace")), rel)
            except OSError:
                continue
        return None

    def owners(self, path: str) -> tuple[str, ...]:
        for rule in reversed(self.rules):
            if rule.regex.match(path):
                return rule.owners
        return ()

    def owner(self, path: str) -> str:
        """One label for grouping: the owners joined, or `(no owner)`."""
        found = self.owners(path)
        return " ".join(found) if found else UNOWNED

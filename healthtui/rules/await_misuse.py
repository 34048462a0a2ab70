"""`await_misuse`: `await` applied to a call of a synchronous callable.

The callee is resolved with the AST (see `pyfacts` and `resolution`): the repository's own defs,
`import x` / `from x import f as g` / relative imports, `self.m` / `cls.m` / `super().m` through
the class and its bases, `module.func`, and re-exports through `__init__` modules.

- Resolved to a plain `def` -> a finding with detail "resolved".
- Resolved to an `async def`, to a def annotated to return an awaitable (`Awaitable`,
  `Coroutine`, `Future`, `Task`...), or to a class -> not a finding.
- Unresolved (external, a local variable, an attribute of an instance, ambiguous, or a def whose
  decorators may change what it returns) -> a finding with detail "name-only" only when the callee
  matches a configured known-sync name: a bare name matches the last component (`get_manager`
  matches `self.ws.get_manager()`), a dotted one the end of the qualified name.
"""

from __future__ import annotations

from healthtui.rules.base import Finding
from healthtui.rules.resolution import Resolver

ID = "await_misuse"
VERSION = 1


def known_sync(entries: tuple[str, ...], written: str, qualified: str) -> bool:
    last = written.rpartition(".")[2]
    for entry in entries:
        if "." not in entry:
            if last == entry:
                return True
        elif qualified == entry or qualified.endswith("." + entry) or written == entry:
            return True
    return False


def evaluate(
    path: str, sites: list[list], resolver: Resolver, known: tuple[str, ...], deps: set[str]
) -> list[Finding]:
    out: list[Finding] = []
    for line, col, ref, written, text in sites:
        status, qualified = resolver.resolve_ref(path, ref, deps)
        if status == "s":
            out.append(
                Finding(
                    path, line, col, ID, text, f"await on sync function {qualified}", "resolved"
                )
            )
        elif status in ("a", "w", "k"):
            continue
        elif known_sync(known, written, qualified or written):
            out.append(
                Finding(
                    path,
                    line,
                    col,
                    ID,
                    text,
                    f"await on known-sync {qualified or written}",
                    "name-only",
                )
            )
    return out

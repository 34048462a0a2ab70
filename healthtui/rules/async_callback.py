"""`async_callback`: an `async def` passed uncalled to a synchronous registrar.

A registrar calls its callback without awaiting it, so the coroutine is created and dropped:
"coroutine ... was never awaited". Registrars come from config (`sync_registrars`; defaults include
`add_cleanup`, `atexit.register`, `signal.signal`, `add_done_callback`, `call_soon`,
`addfinalizer`). A registrar without a dot matches any call whose last name is it
(`self.add_cleanup(...)`, `loop.call_soon(...)`); a dotted one matches the callee's name with its
imports expanded (`from atexit import register; register(f)` is `atexit.register`).

Flagged arguments (positional or keyword): a name or attribute that resolves (as in
`await_misuse`) to an `async def`; `lambda: f()` and `functools.partial(f, ...)` of one; and an
`async def` decorated with a dotted registrar (`@atexit.register`). Unresolved callables are never
flagged.
"""

from __future__ import annotations

from healthtui.rules.base import Finding
from healthtui.rules.resolution import Resolver

ID = "async_callback"
VERSION = 2


def evaluate(path: str, sites: list[list], resolver: Resolver, deps: set[str]) -> list[Finding]:
    out: list[Finding] = []
    for line, col, registrar, ref, written, text in sites:
        status, qualified = resolver.resolve_ref(path, ref, deps)
        if status == "a":
            message = f"async function {qualified or written} passed to {registrar} (never awaited)"
            out.append(Finding(path, line, col, ID, text, message))
    return out

"""Cross-file name resolution for `await_misuse` and `async_callback`.

Every Python file contributes, under keys `<last module component>.<qualname>`:
- its defs (`ws.get_manager` -> "s"), its classes (`ws.Manager` -> bases) and its module-level
  import bindings (`acme.get_manager` -> `.ws.get_manager`, followed as re-exports).

A qualified name `a.b.C.m` is tried split as module `a.b.C` + `m`, then `a.b` + `C.m`, then `a` +
`b.C.m`; a candidate file matches when its module path (from its repo path) ends with the module
part, so `src/acme/ws.py` answers for `acme.ws`. When several files match, the ones with the
fewest extra leading components win; if those disagree the name is ambiguous (unresolved).
Methods missing on a class are looked up on its bases (in-file or imported), depth-limited.

Each resolution records the keys it consulted, so the evaluator re-resolves a file only when an
entry under one of those keys changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from healthtui.rules.paths import display_module, resolve_relative

MAX_DEPTH = 8


class FileIndex:
    """What one file contributes to resolution, keyed as in the module docstring."""

    __slots__ = ("bases", "defs", "exports", "module", "path", "tail")

    def __init__(self, path: str, module: tuple[str, ...], facts: Mapping[str, Any]):
        self.path = path
        self.module = module
        self.tail = module[-1] if module else ""
        self.defs: dict[str, str] = facts.get("defs", {})
        self.bases: dict[str, list] = {c[0]: c[3] for c in facts.get("classes", ())}
        self.exports: dict[str, list] = facts.get("exports", {})


_EMPTY: Mapping[str, Any] = {}
_PARTS = (("d", "defs"), ("c", "bases"), ("e", "exports"))  # index kind -> FileIndex attribute


class Resolver:
    def __init__(self) -> None:
        self.files: dict[str, FileIndex] = {}
        # kind -> key -> the paths with an entry under it (a dict for a stable order)
        self.index: dict[str, dict[str, dict[str, None]]] = {"d": {}, "c": {}, "e": {}}

    def set(self, path: str, new: FileIndex | None) -> set[str]:
        """Replace a file's entries; return the keys whose entries changed."""
        old = self.files.pop(path, None)
        if new is not None:
            self.files[path] = new
        if old is None:  # a new file: every entry is
            changed: set[str] = set()
            t = new.tail if new is not None else ""
            if t:
                for kind, attr in _PARTS:
                    index = self.index[kind]
                    for qual in getattr(new, attr):
                        key = f"{t}.{qual}"
                        changed.add(key)
                        index.setdefault(key, {})[path] = None
            return changed
        o_tail = old.tail if old is not None else ""
        n_tail = new.tail if new is not None else ""
        same = o_tail == n_tail
        changed = set()
        for kind, attr in _PARTS:
            index = self.index[kind]
            o = getattr(old, attr) if o_tail else _EMPTY
            n = getattr(new, attr) if n_tail else _EMPTY
            for qual, value in o.items():
                if not same or n.get(qual, _MISSING) != value:
                    key = f"{o_tail}.{qual}"
                    changed.add(key)
                    bucket = index.get(key)
                    if bucket is not None:
                        bucket.pop(path, None)
                        if not bucket:
                            del index[key]
            for qual, value in n.items():
                if not same or o.get(qual, _MISSING) != value:
                    key = f"{n_tail}.{qual}"
                    changed.add(key)
                    index.setdefault(key, {})[path] = None
        return changed

    # lookups -----------------------------------------------------------------------------------

    def _best(self, bucket: dict[str, Any] | None, mod: list[str]) -> list[str]:
        if not bucket:
            return []
        n = len(mod)
        best: list[str] = []
        best_extra = 1 << 30
        for path in bucket:
            m = self.files[path].module
            if len(m) < n or list(m[len(m) - n :]) != mod:
                continue
            extra = len(m) - n
            if extra < best_extra:
                best, best_extra = [path], extra
            elif extra == best_extra:
                best.append(path)
        return best

    def resolve(self, qname: str, deps: set[str], depth: int = 0) -> tuple[str, Any] | None:
        """("def", status) or ("class", [(path, qualname)]) for an absolute dotted name, or None
        (unknown or ambiguous)."""
        if depth > MAX_DEPTH:
            return None
        parts = qname.split(".")
        for k in range(len(parts) - 1, 0, -1):
            mod, rest = parts[:k], parts[k:]
            tail = mod[-1]
            key = f"{tail}.{'.'.join(rest)}"
            deps.add(key)
            paths = self._best(self.index["d"].get(key), mod)
            if paths:
                statuses = {self.files[p].defs.get(".".join(rest)) for p in paths}
                return ("def", statuses.pop()) if len(statuses) == 1 else None
            paths = self._best(self.index["c"].get(key), mod)
            if paths:
                return ("class", [(p, ".".join(rest)) for p in paths])
            if len(rest) >= 2:
                ckey = f"{tail}.{'.'.join(rest[:-1])}"
                deps.add(ckey)
                paths = self._best(self.index["c"].get(ckey), mod)
                if paths:
                    cls = ".".join(rest[:-1])
                    found = {self.method(p, cls, rest[-1], False, deps, depth + 1) for p in paths}
                    if len(found) == 1:
                        status = found.pop()
                        return ("def", status) if status else None
                    return None
            ekey = f"{tail}.{rest[0]}"
            deps.add(ekey)
            paths = self._best(self.index["e"].get(ekey), mod)
            if paths:
                results = []
                for p in paths:
                    dotted, level = self.files[p].exports[rest[0]]
                    base = resolve_relative(p, level, dotted)
                    if base is None:
                        return None
                    target = ".".join([base, *rest[1:]])
                    if target == qname:
                        return None
                    results.append(self.resolve(target, deps, depth + 1))
                first = results[0]
                return first if all(r == first for r in results) else None
        return None

    def method(
        self,
        path: str,
        cls: str,
        attr: str,
        skip_self: bool,
        deps: set[str],
        depth: int = 0,
        seen: set[tuple[str, str]] | None = None,
    ) -> str | None:
        """Status of `cls.attr` defined in `path` or inherited from its bases."""
        seen = set() if seen is None else seen
        if depth > MAX_DEPTH or (path, cls) in seen:
            return None
        seen.add((path, cls))
        f = self.files.get(path)
        if f is None:
            return None
        if f.tail:
            deps.add(f"{f.tail}.{cls}")
        if not skip_self:
            if f.tail:
                deps.add(f"{f.tail}.{cls}.{attr}")
            status = f.defs.get(f"{cls}.{attr}")
            if status is not None:
                return status
        for base in f.bases.get(cls, ()):
            if base[0] == "k":
                status = self.method(path, base[1], attr, False, deps, depth + 1, seen)
            else:
                qname = resolve_relative(path, base[2], base[1])
                target = self.resolve(qname, deps, depth + 1) if qname else None
                status = None
                if target is not None and target[0] == "class":
                    found = {
                        self.method(p, q, attr, False, deps, depth + 1, seen) for p, q in target[1]
                    }
                    status = found.pop() if len(found) == 1 else None
            if status is not None:
                return status
        return None

    def resolve_ref(self, path: str, ref: list, deps: set[str]) -> tuple[str | None, str]:
        """(status, qualified display name) of a reference from a file's facts; status None when
        unresolved. Status "k" means a class (instantiation)."""
        kind = ref[0]
        if kind == "r":
            return ref[1], f"{display_module(path)}.{ref[2]}"
        if kind == "q":
            qname = resolve_relative(path, ref[2], ref[1])
            if qname is None:
                return None, ref[1]
            target = self.resolve(qname, deps)
            if target is None:
                return None, qname
            return (target[1] if target[0] == "def" else "k"), qname
        if kind == "c":
            status = self.method(path, ref[1], ref[2], bool(ref[3]), deps)
            return status, f"{display_module(path)}.{ref[1]}.{ref[2]}"
        return None, ""


_MISSING = object()

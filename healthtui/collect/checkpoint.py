"""Evaluator checkpoints: the rule evaluator as it stood at a commit, saved in the database so the
next `collect` starts from it instead of re-reading and re-evaluating the whole tree.

A checkpoint is a cache and is only ever trusted when it is certainly ours: it is a pickle, so it
carries an HMAC made with a key that lives in the user's cache directory, never in the database.
A database copied from elsewhere, written by other code (`FORMAT` hashes the rule sources and the
Python version) or damaged just has its checkpoint ignored and rebuilt.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import hmac
import os
import pickle
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path

from healthtui.rules import Finding, RuleEngine
from healthtui.rules.engine import Evaluator

KEY_ENV = "HEALTHTUI_CACHE_DIR"
_DIGEST = 32


@dataclass
class State:
    """What a history walk holds at one commit."""

    evaluator: Evaluator
    tree: dict[str, str]  # path -> blob, for paths the rules read
    known: dict[str, tuple[Finding, ...]]  # path -> current findings


def _format() -> str:
    h = hashlib.sha1(f"{sys.version_info[:2]}".encode())
    rules_dir = Path(__file__).resolve().parents[1] / "rules"
    for src in sorted(rules_dir.glob("*.py")):
        h.update(src.name.encode())
        h.update(src.read_bytes())
    return h.hexdigest()[:16]


FORMAT = _format()


def cache_dir() -> Path:
    if os.environ.get(KEY_ENV):
        return Path(os.environ[KEY_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "healthtui"


def _key() -> bytes | None:
    """This user's checkpoint key, made on first use; None when it can't be read or written."""
    path = cache_dir() / "checkpoint.key"
    with contextlib.suppress(OSError):
        key = path.read_bytes()
        if len(key) == 32:
            return key
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        key = os.urandom(32)
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(key)
        os.replace(tmp, path)
        return path.read_bytes()
    except OSError:
        return None


def dump(state: State) -> bytes | None:
    """The state as signed, compressed bytes; None when there is no key to sign with."""
    key = _key()
    if key is None:
        return None
    body = zlib.compress(pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL), 1)
    return hmac.digest(key, body, "sha256") + body


def load(data: bytes, engine: RuleEngine) -> State | None:
    """The state saved by `dump`, or None when it is not certainly ours or does not load."""
    key = _key()
    if key is None or len(data) <= _DIGEST:
        return None
    mac, body = data[:_DIGEST], data[_DIGEST:]
    if not hmac.compare_digest(mac, hmac.digest(key, body, "sha256")):
        return None
    enabled = gc.isenabled()
    gc.disable()  # millions of small objects: the collector would run again and again
    try:
        state = pickle.loads(zlib.decompress(body))
    except Exception:  # signed by us, but written by code that no longer loads: rebuild
        return None
    finally:
        if enabled:
            gc.enable()
    if not isinstance(state, State):
        return None
    state.evaluator.attach(engine)
    return state

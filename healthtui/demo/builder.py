"""Build real git repositories commit by commit through `git fast-import`, without a work tree.

The demo writes a whole history through one long-lived stream (`RepoBuilder.bulk()`); tests use
`RepoBuilder.commit()` one commit at a time between other actions. Dates, authors and contents are
all explicit, so the same calls give the same commit shas on every machine.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

DEFAULT_START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
DEFAULT_AUTHOR = ("Ada Lovelace", "ada@example.com")

_SHA = re.compile(r"[0-9a-f]{40}")
_PLAIN_PATH = re.compile(rb"[\x20\x21\x23-\x5b\x5d-\x7e]*")  # needs no escapes inside quotes
# Variables that would point git at another repository, index or work tree than the one we build.
_REDIRECTING_ENV = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_COMMON_DIR",
    "GIT_NAMESPACE",
    "GIT_PREFIX",
)


class BuildError(RuntimeError):
    """A git command run by the builder failed; carries git's own message."""


def git_env() -> dict[str, str]:
    """The environment for git subprocesses: ours, minus anything redirecting git elsewhere."""
    return {key: value for key, value in os.environ.items() if key not in _REDIRECTING_ENV}


def _run_git(git_dir: Path, *args: str, stdin: bytes | None = None) -> bytes:
    proc = subprocess.run(
        ["git", f"--git-dir={git_dir}", *args],
        input=stdin,
        capture_output=True,
        env=git_env(),
        check=False,
    )
    if proc.returncode != 0:
        message = proc.stderr.decode("utf-8", "replace").strip()
        raise BuildError(f"git {' '.join(args)} failed: {message}")
    return proc.stdout


def _path_bytes(path: str | bytes) -> bytes:
    raw = path.encode("utf-8") if isinstance(path, str) else bytes(path)
    parts = raw.split(b"/")
    if not raw or raw.startswith(b"/") or any(part in (b"", b".", b"..") for part in parts):
        raise ValueError(f"not a relative file path inside the repository: {path!r}")
    if b".git" in parts or b"\0" in raw:
        raise ValueError(f"path cannot be stored in git: {path!r}")
    return raw


def _quote_path(raw: bytes) -> bytes:
    """C-style quote a path for fast-import, so any byte (space, newline, non-UTF-8) survives."""
    if _PLAIN_PATH.fullmatch(raw):
        return b'"' + raw + b'"'
    out = bytearray(b'"')
    for byte in raw:
        if byte in (0x22, 0x5C):
            out += b"\\" + bytes([byte])
        elif byte < 0x20 or byte >= 0x7F:
            out += b"\\%03o" % byte
        else:
            out.append(byte)
    out += b'"'
    return bytes(out)


def _data(payload: bytes) -> bytes:
    return b"data %d\n%s\n" % (len(payload), payload)


def _raw_date(when: datetime) -> bytes:
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    offset = when.utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    hours, mins = divmod(abs(minutes), 60)
    return f"{int(when.timestamp())} {sign}{hours:02d}{mins:02d}".encode()


class _FastImport:
    """One running `git fast-import`; commits become visible to other git commands on close()."""

    def __init__(self, git_dir: Path) -> None:
        # A file, not a pipe: nobody reads stderr while the stream runs, so a pipe could fill up.
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115  (closed in close() / _fail())
        command = ["git", f"--git-dir={git_dir}", "fast-import", "--quiet", "--force", "--done"]
        self._proc = subprocess.Popen(
            [*command, "--date-format=raw"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=git_env(),
        )
        self.marks: dict[str, int] = {}
        self._next_mark = 1

    def ref(self, sha: str) -> bytes:
        """How this stream names a commit: its mark if the stream wrote it, else its sha."""
        mark = self.marks.get(sha)
        return b":%d" % mark if mark is not None else sha.encode()

    def commit(self, chunks: list[bytes]) -> str:
        """Write one `commit` command (without its `mark` line) and return the new commit's sha."""
        mark = self._next_mark
        self._next_mark += 1
        chunks.insert(1, b"mark :%d\n" % mark)
        chunks.append(b"\nget-mark :%d\n" % mark)
        assert self._proc.stdin is not None and self._proc.stdout is not None
        try:
            self._proc.stdin.write(b"".join(chunks))
            self._proc.stdin.flush()
            line = self._proc.stdout.readline().decode().strip()
        except BrokenPipeError:
            line = ""
        if not _SHA.fullmatch(line):
            self._fail()
        self.marks[line] = mark
        return line

    def close(self) -> None:
        assert self._proc.stdin is not None
        try:
            self._proc.stdin.write(b"done\n")
            self._proc.stdin.close()
        except BrokenPipeError:
            pass
        if self._proc.wait() != 0:
            self._fail()
        self._stderr.close()

    def _fail(self) -> None:
        self._proc.kill()
        self._proc.wait()
        self._stderr.seek(0)
        message = self._stderr.read().decode("utf-8", "replace").strip()
        self._stderr.close()
        raise BuildError(f"git fast-import failed: {message or 'no message'}")


class RepoBuilder:
    """Builds a real git repository commit by commit, without a work tree checkout.

    Commits go through `git fast-import`: one process per `commit()` call, or one stream for
    everything inside `with builder.bulk():` (fast: thousands of files and hundreds of commits in
    seconds). In a non-bare repository the work tree is brought to the tip of `branch` after each
    commit made outside bulk mode and when bulk mode ends (`checkout()`).
    """

    def __init__(
        self,
        path: Path,
        *,
        branch: str = "main",
        bare: bool = False,
        start: datetime | None = None,
    ) -> None:
        self.path = Path(path)
        self.branch = branch
        self.bare = bare
        self.git_dir = self.path if bare else self.path / ".git"
        self._start = start if start is not None else DEFAULT_START
        self._count = 0
        self._stream: _FastImport | None = None
        self._moved: set[str] = set()
        # What each commit built here changed, and its parents: merges carry the merged branch's
        # changes into their tree (fast-import only records the extra parent).
        self._changes: dict[str, dict[bytes, bytes | None]] = {}
        self._parents: dict[str, list[str]] = {}
        self.path.mkdir(parents=True, exist_ok=True)
        init = ["git", "init", "--quiet", f"--initial-branch={branch}"]
        if bare:
            init.append("--bare")
        proc = subprocess.run([*init, str(self.path)], capture_output=True, env=git_env())
        if proc.returncode != 0:
            raise BuildError(f"git init failed: {proc.stderr.decode('utf-8', 'replace').strip()}")
        self._git("symbolic-ref", "HEAD", f"refs/heads/{branch}")
        self._tips: dict[str, str] = {}
        listing = self._git("for-each-ref", "--format=%(objectname) %(refname)", "refs/heads/")
        for line in listing.decode("utf-8", "surrogateescape").splitlines():
            sha, ref = line.split(" ", 1)
            self._tips[ref.removeprefix("refs/heads/")] = sha

    def commit(
        self,
        files: Mapping[str | bytes, bytes | str | None],
        *,
        message: str = "change",
        author: tuple[str, str] = DEFAULT_AUTHOR,
        when: datetime | None = None,
        branch: str | None = None,
        merge: Sequence[str] = (),
    ) -> str:
        """Commit `files` on top of the tip of `branch` and return the new commit's sha.

        A value of None deletes the path; paths not named are kept. `merge` adds parents (shas or
        branch names) after the tip, and brings in what the merged commits changed since they
        forked (theirs wins on conflicts; `files` wins over both). `when` defaults to `start`
        plus one hour per commit built so far and keeps its UTC offset (a naive datetime is UTC).
        """
        branch = branch or self.branch
        when = when if when is not None else self._start + timedelta(hours=self._count)
        parents = [self._resolve(ref) for ref in merge]
        name, email = author
        signature = b"%s <%s> %s\n" % (name.encode(), email.encode(), _raw_date(when))
        text = message if message.endswith("\n") else message + "\n"
        with self._stream_for_one() as stream:
            chunks = [f"commit refs/heads/{branch}\n".encode()]
            chunks += [b"author " + signature, b"committer " + signature, _data(text.encode())]
            tip = self._tips.get(branch)
            if tip is not None:
                chunks.append(b"from " + stream.ref(tip) + b"\n")
            elif parents:
                raise ValueError(f"branch {branch!r} has no commits to merge into")
            chunks += [b"merge " + stream.ref(parent) + b"\n" for parent in parents]
            changes: dict[bytes, bytes | None] = {}
            for parent in parents:
                changes.update(self._changes_since_fork(parent, tip))
            for path, content in files.items():
                payload = content.encode("utf-8") if isinstance(content, str) else content
                changes[_path_bytes(path)] = payload
            for raw, payload in changes.items():
                quoted = _quote_path(raw)
                if payload is None:
                    chunks.append(b"D " + quoted + b"\n")
                else:
                    chunks.append(b"M 100644 inline " + quoted + b"\n" + _data(payload))
            sha = stream.commit(chunks)
        self._changes[sha] = changes
        self._parents[sha] = ([tip] if tip else []) + parents
        self._tips[branch] = sha
        self._count += 1
        if self._stream is None and branch == self.branch:
            self.checkout()
        return sha

    def _changes_since_fork(self, head: str, base: str | None) -> dict[bytes, bytes | None]:
        """The file changes of the commits reachable from `head` but not from `base`, in order."""
        seen: set[str] = set()
        stack = [base] if base else []
        while stack:
            sha = stack.pop()
            if sha not in seen:
                seen.add(sha)
                stack.extend(self._parents.get(sha, ()))
        line: list[str] = []
        sha: str | None = head
        while sha is not None and sha not in seen and sha in self._changes:
            line.append(sha)
            parents = self._parents.get(sha) or [None]
            sha = parents[0]
        merged: dict[bytes, bytes | None] = {}
        for sha in reversed(line):
            merged.update(self._changes[sha])
        return merged

    def create_branch(self, name: str, at: str) -> None:
        """Create (or move) branch `name` to `at`, a sha or another branch's name."""
        self._set_tip(name, self._resolve(at))

    def reset_branch(self, branch: str, to: str) -> None:
        """Point `branch` at `to` even if that drops commits, as a force-push would."""
        self._set_tip(branch, self._resolve(to))

    def tip(self, branch: str | None = None) -> str:
        """The sha at the tip of `branch` (default: the builder's branch)."""
        branch = branch or self.branch
        try:
            return self._tips[branch]
        except KeyError:
            raise LookupError(f"branch {branch!r} has no commits") from None

    def branches(self) -> dict[str, str]:
        """Every branch the builder knows, with its tip."""
        return dict(self._tips)

    @contextmanager
    def bulk(self) -> Iterator[RepoBuilder]:
        """Send every commit made inside the block through one fast-import stream.

        Commits are invisible to other git commands until the block ends; `commit()` still
        returns their shas at once, and they can be used as `merge` parents or branch targets.
        """
        if self._stream is not None:
            yield self
            return
        self._stream = _FastImport(self.git_dir)
        try:
            yield self
        finally:
            stream, self._stream = self._stream, None
            stream.close()
            self._write_moved_refs()
            self.checkout()

    def checkout(self) -> None:
        """Make the index and work tree match the tip of `branch` (non-bare repositories only)."""
        if self.bare or self._stream is not None or self.branch not in self._tips:
            return
        subprocess.run(
            [
                "git",
                "-c",
                "checkout.workers=0",
                "read-tree",
                "-u",
                "--reset",
                self._tips[self.branch],
            ],
            cwd=self.path,
            capture_output=True,
            env=git_env(),
            check=True,
        )

    @contextmanager
    def _stream_for_one(self) -> Iterator[_FastImport]:
        if self._stream is not None:
            yield self._stream
            return
        stream = _FastImport(self.git_dir)
        yield stream
        stream.close()

    def _set_tip(self, branch: str, sha: str) -> None:
        self._tips[branch] = sha
        self._moved.add(branch)
        if self._stream is None:
            self._write_moved_refs()
            if branch == self.branch:
                self.checkout()

    def _write_moved_refs(self) -> None:
        if not self._moved:
            return
        lines = "".join(
            f"update refs/heads/{name} {self._tips[name]}\n" for name in sorted(self._moved)
        )
        self._git("update-ref", "--stdin", stdin=lines.encode())
        self._moved.clear()

    def _resolve(self, ref: str) -> str:
        if ref in self._tips:
            return self._tips[ref]
        if _SHA.fullmatch(ref):
            return ref
        return self._git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").decode().strip()

    def _git(self, *args: str, stdin: bytes | None = None) -> bytes:
        return _run_git(self.git_dir, *args, stdin=stdin)

"""Read-only access to a git repository: commits, trees, diffs and blobs, never the work tree or index.

Git plumbing runs as plain subprocesses: blobs stream through one pipelined `git cat-file --batch`,
history and changes come from `git log --raw` / `git diff-tree` streams, so a backfill needs one git
process for every commit's changes rather than one per commit. gitpython's object database serves
the odd single-object read (a blob, object sizes) and is loaded only then, keeping `collect`'s start
cheap. Paths are decoded with `surrogateescape`, so odd bytes survive the round trip.
"""

from __future__ import annotations

import os
import re
import subprocess
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from healthtui.errors import RepoError
from store.records import CommitInfo

_ISSUE_REF = re.compile(r"(?<![\w&/])#(\d+)\b")
_FIELDS = ("%H", "%P", "%an", "%ae", "%ad", "%cd", "%s")
_FORMAT = "%x1e" + "%x1f".join(_FIELDS) + "%x1f"
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"


class TreeEntry(NamedTuple):
    path: str
    blob: str
    mode: int
    size: int = -1  # bytes, when listed with sizes


# One `ls-tree -r -z [-l]` record: a regular file's mode, blob and (with -l) size, then its path;
# anything else (a symlink, a submodule's commit) is passed over by the second branch.
_TREE_RECORD = re.compile(r"(100644|100755) blob ([0-9a-f]+)(?: +(\d+))?\t([^\0]*)\0|[^\0]*\0")


@dataclass(frozen=True, slots=True)
class Change:
    """One path changed between two trees: `blob` is None when the path was deleted."""

    path: str
    blob: str | None
    mode: int


def decode_path(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def issue_refs(subject: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(f"#{n}" for n in _ISSUE_REF.findall(subject)))


def _parse_date(raw: str) -> tuple[int, int]:
    """`1700000000 +0130` -> (epoch seconds, offset seconds east of UTC)."""
    stamp, _, tz = raw.strip().partition(" ")
    sign = -1 if tz.startswith("-") else 1
    tz = tz.lstrip("+-") or "0000"
    return int(stamp), sign * (int(tz[:2]) * 3600 + int(tz[2:4]) * 60)


def _commit_from_fields(fields: list[str], seq: int | None) -> CommitInfo:
    sha, parents, an, ae, ad, cd, subject = fields[:7]
    authored, aoff = _parse_date(ad)
    committed, coff = _parse_date(cd)
    parent_shas = tuple(parents.split())
    return CommitInfo(
        sha=sha,
        parents=parent_shas,
        author_name=an,
        author_email=ae,
        authored_at=authored,
        author_offset=aoff,
        committed_at=committed,
        committer_offset=coff,
        subject=subject,
        issue_refs=issue_refs(subject),
        is_merge=len(parent_shas) > 1,
        seq=seq,
    )


class _BlobPipe:
    """A persistent `git cat-file --batch` fed from a thread, so a batch of blobs costs one round trip.

    gitpython's object database flushes and waits once per object; pipelining every request of a
    batch first and reading the answers in order is several times faster on thousands of blobs.
    """

    def __init__(self, git_dir: Path):
        self._git_dir = git_dir
        self._proc: subprocess.Popen[bytes] | None = None

    def _process(self) -> subprocess.Popen[bytes]:
        if self._proc is None or self._proc.poll() is not None:
            self._proc = subprocess.Popen(
                ["git", f"--git-dir={self._git_dir}", "cat-file", "--batch"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
        return self._proc

    def read(self, shas: list[str]) -> Iterator[tuple[str, bytes]]:
        proc = self._process()
        assert proc.stdin is not None and proc.stdout is not None
        request = "".join(f"{sha}\n" for sha in shas).encode()

        def send() -> None:
            try:
                proc.stdin.write(request)
                proc.stdin.flush()
            except (BrokenPipeError, ValueError):
                pass

        writer = threading.Thread(target=send, daemon=True)
        writer.start()
        out = proc.stdout
        try:
            for sha in shas:
                header = out.readline().split()
                if len(header) != 3:
                    raise RepoError(f"{self._git_dir}: object {sha} is missing")
                if header[0] != sha.encode():
                    raise RepoError(
                        f"{self._git_dir}: cat-file answered for {header[0]!r}, not {sha}"
                    )
                size = int(header[2])
                data = out.read(size)
                out.read(1)
                yield sha, data
        except BaseException:
            self.close()  # the stream is mid-answer: never reuse it
            raise
        finally:
            writer.join()

    def close(self) -> None:
        if self._proc is not None:
            proc, self._proc = self._proc, None
            for stream in (proc.stdin, proc.stdout):
                if stream is not None:
                    stream.close()
            proc.kill()
            proc.wait()


class GitRepo:
    """A repository opened read-only; works on clones, bare repositories, mirrors and shallow clones."""

    def __init__(self, git_dir: Path, *, bare: bool, root: Path):
        self.git_dir = git_dir
        self.bare = bare
        self.root = root
        self._pipes: list[_BlobPipe] = []  # every `cat-file` pipe opened, to close them all
        self._idle: list[_BlobPipe] = []  # those no read is using
        self._odb_repo = None  # gitpython, for single-object reads only

    @classmethod
    def open(cls, path: Path | str, *, search_parents: bool = True) -> GitRepo:
        path = Path(path)
        if not path.is_dir():
            raise RepoError(
                f"{path}: {'not a directory' if path.exists() else 'no such directory'}"
            )
        proc = _run(
            ["rev-parse", "--absolute-git-dir", "--is-bare-repository", "--show-toplevel"],
            cwd=path,
        )
        lines = proc.stdout.decode("utf-8", "surrogateescape").splitlines()
        if len(lines) < 2:  # (a bare repository or a .git directory has no top level: fine)
            err = proc.stderr.decode("utf-8", "replace").strip()
            if "not a git repository" in err or not err:
                raise RepoError(f"{path}: not a git repository")
            raise RepoError(f"{path}: git failed: {err.splitlines()[-1]}")
        git_dir, bare = Path(lines[0]), lines[1] == "true"
        top = Path(lines[2]) if len(lines) > 2 else git_dir.parent
        root = git_dir if bare else top
        if not search_parents and path.resolve() not in (root.resolve(), git_dir.resolve()):
            raise RepoError(f"{path}: not a git repository (it lies inside {root})")
        return cls(git_dir, bare=bare, root=root)

    @property
    def name(self) -> str:
        base = self.git_dir.parent if not self.bare else self.git_dir
        name = base.name
        return name[:-4] if name.endswith(".git") else name

    def close(self) -> None:
        for pipe in self._pipes:
            pipe.close()
        if self._odb_repo is not None:
            self._odb_repo.close()

    def __enter__(self) -> GitRepo:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _git(self, *args: str) -> bytes:
        proc = _run(args, cwd=self.root)
        if proc.returncode != 0:
            stderr = proc.stderr.decode("utf-8", "replace").strip()
            last = stderr.splitlines()[-1] if stderr else f"exit {proc.returncode}"
            raise RepoError(f"{self.root}: git {args[0]} failed: {last}")
        return proc.stdout

    def _try(self, *args: str) -> str | None:
        """A git command's output, or None when it fails (exit status not 0)."""
        proc = _run(args, cwd=self.root)
        return proc.stdout.decode("utf-8", "surrogateescape") if proc.returncode == 0 else None

    def has_commits(self) -> bool:
        return self._try("rev-parse", "--verify", "-q", "HEAD^{commit}") is not None

    def resolve(self, rev: str) -> str:
        """The full sha of a revision (branch, tag, sha prefix, HEAD~2...)."""
        if rev.startswith("-"):
            raise RepoError(f"{rev!r}: not a revision")
        out = self._try("rev-parse", "--verify", "-q", f"{rev}^{{commit}}")
        if out is None:
            if rev == "HEAD" and not self.has_commits():
                raise RepoError(f"{self.root}: the repository has no commits yet")
            raise RepoError(f"{rev!r}: no such revision in {self.root}")
        return out.strip()

    def head_sha(self) -> str | None:
        return self.resolve("HEAD") if self.has_commits() else None

    def branch_name(self) -> str | None:
        """The branch HEAD points at (for a bare mirror: its default branch)."""
        out = self._try("symbolic-ref", "-q", "--short", "HEAD")
        return (out or "").strip() or None

    def is_shallow(self) -> bool:
        return (self.git_dir / "shallow").is_file()

    def shallow_boundary(self) -> set[str]:
        try:
            return set((self.git_dir / "shallow").read_text().split())
        except OSError:
            return set()

    def merge_base(self, a: str, b: str) -> str | None:
        out = self._try("merge-base", a, b)
        return (out or "").strip() or None

    def commit_info(self, sha: str) -> CommitInfo:
        raw = self._git("log", "-1", "--date=raw", f"--format={_FORMAT}", sha, "--")
        fields = decode_path(raw).lstrip("\x1e").split("\x1f")
        return _commit_from_fields(fields, seq=None)

    def first_parent_line(self, rev: str) -> list[CommitInfo]:
        """Every commit on the first-parent chain of `rev`, oldest first, with `seq` = position."""
        sha = self.resolve(rev)
        raw = self._git("log", "--first-parent", "--date=raw", f"--format={_FORMAT}", sha, "--")
        records = decode_path(raw).split("\x1e")[1:]
        commits = [r.split("\x1f") for r in records]
        commits.reverse()
        return [_commit_from_fields(f, seq=i) for i, f in enumerate(commits)]

    def line_changes(
        self, rev: str, *, exclude: str | None = None
    ) -> Iterator[tuple[str, list[Change]]]:
        """For each first-parent commit of `rev` (after `exclude`, if given), oldest first: the changes
        against its first parent (the root: against the empty tree). One `git log` stream for all."""
        sha = self.resolve(rev)
        span = [f"{exclude}..{sha}"] if exclude else [sha]
        raw = self._git(
            "log",
            "--first-parent",
            "--reverse",
            "--raw",
            "-z",
            "--no-renames",
            "--no-abbrev",
            "--diff-merges=first-parent",
            "--root",
            "--format=%x1e%H",
            *span,
            "--",
        )
        for record in raw.split(b"\x1e")[1:]:
            head, _, body = record.partition(b"\x00")
            commit, _, rest = head.partition(b"\n")
            payload = (rest + b"\x00" + body) if rest else body
            yield commit.decode().strip(), _parse_raw(payload)

    def diff(self, old: str | None, new: str) -> list[Change]:
        """Changes from tree `old` (None: the empty tree) to `new`, files only, renames as delete+add."""
        raw = self._git(
            "diff-tree", "-r", "-z", "--no-renames", "--no-abbrev", old or EMPTY_TREE, new, "--"
        )
        return _parse_raw(raw)

    def list_tree(self, rev: str, *, sizes: bool = False) -> list[TreeEntry]:
        """Every file (blob) in the tree of `rev`; submodules and symlinks are skipped."""
        if rev.startswith("-"):
            raise RepoError(f"{rev!r}: not a revision")
        raw = self._git("ls-tree", "-r", "-z", "--full-tree", *(["-l"] if sizes else []), rev)
        return [
            TreeEntry(path, blob, 0o100644 if mode == "100644" else 0o100755, int(size or -1))
            for mode, blob, size, path in _TREE_RECORD.findall(decode_path(raw))
            if mode
        ]

    def files_containing(self, rev: str, needles: Iterable[bytes]) -> set[str] | None:
        """Paths of the files in `rev`'s tree that hold any of `needles` (exact bytes, as
        `git grep -F` finds them); None when git cannot say."""
        sha = self.resolve(rev)
        patterns = [arg for n in needles for arg in (b"-e", n)]
        try:
            proc = _run(
                ["grep", "-l", "-z", "-F", "--no-color", *patterns, sha, "--"], cwd=self.root
            )
        except RepoError:  # git could not be run
            return None
        if proc.returncode == 1:
            return set()
        if proc.returncode != 0:
            return None
        prefix = sha.encode() + b":"
        out = set()
        for item in proc.stdout.split(b"\x00"):
            if item.startswith(prefix):
                out.add(decode_path(item[len(prefix) :]))
        return out

    @property
    def _odb(self):
        if self._odb_repo is None:
            import git

            self._odb_repo = git.Repo(self.git_dir)
        return self._odb_repo.odb

    def read_blob(self, sha: str) -> bytes:
        return self._odb.stream(bytes.fromhex(sha)).read()

    def read_blobs(self, shas: Iterable[str]) -> Iterator[tuple[str, bytes]]:
        """Blob contents one at a time, in order, through one pipelined `cat-file --batch` round trip
        per 2,000 blobs (memory stays bounded by the caller consuming as it goes). Reads may be
        under way side by side: each has a `cat-file` of its own while it lasts."""
        pipe = self._idle.pop() if self._idle else None
        if pipe is None:
            pipe = _BlobPipe(self.git_dir)
            self._pipes.append(pipe)
        try:
            batch: list[str] = []
            for sha in shas:
                batch.append(sha)
                if len(batch) >= 2000:
                    yield from pipe.read(batch)
                    batch = []
            if batch:
                yield from pipe.read(batch)
        finally:
            self._idle.append(pipe)

    def blob_sizes(self, shas: Iterable[str]) -> dict[str, int]:
        info = self._odb.info
        return {sha: info(bytes.fromhex(sha)).size for sha in shas}


def _parse_raw(raw: bytes) -> list[Change]:
    """Parse `--raw -z` output: `:old new oldsha newsha status\\0path\\0` records."""
    out: list[Change] = []
    parts = raw.split(b"\x00")
    i = 0
    while i < len(parts):
        meta = parts[i].strip(b"\n")
        if not meta.startswith(b":"):
            i += 1
            continue
        fields = meta[1:].split(b" ")
        path = decode_path(parts[i + 1])
        i += 2
        new_mode, new_sha, status = fields[1], fields[3], fields[4][:1]
        if status == b"D" or new_mode in (b"000000", b"160000", b"120000"):
            out.append(Change(path=path, blob=None, mode=0))
        else:
            out.append(Change(path=path, blob=new_sha.decode(), mode=int(new_mode, 8)))
    return out


def find_repo_root(start: Path | None = None) -> Path | None:
    """The top level of the git repository containing `start` (default: the current directory)."""
    try:
        return GitRepo.open(start or Path(os.getcwd())).root
    except RepoError:
        return None


def _run(args: Iterable[str | bytes], *, cwd: Path) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=False)
    except OSError as exc:
        raise RepoError(f"cannot run git: {exc.strerror or exc}") from None

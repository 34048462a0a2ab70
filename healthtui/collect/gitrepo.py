"""Read-only access to a git repository: commits, trees, diffs and blobs, never the work tree or index.

Blobs come through gitpython's object database (a persistent `git cat-file --batch`); history and
changes come from `git log --raw` / `git diff-tree` streams, so a backfill needs one git process for
every commit's changes rather than one per commit. Paths are decoded with `surrogateescape`, so odd
bytes survive the round trip.
"""

from __future__ import annotations

import os
import re
import subprocess
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import git
from git.exc import GitCommandError, InvalidGitRepositoryError, NoSuchPathError

from healthtui.errors import RepoError
from store.readmodels import CommitInfo

_ISSUE_REF = re.compile(r"(?<![\w&/])#(\d+)\b")
_FIELDS = ("%H", "%P", "%an", "%ae", "%ad", "%cd", "%s")
_FORMAT = "%x1e" + "%x1f".join(_FIELDS) + "%x1f"
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"


@dataclass(frozen=True, slots=True)
class TreeEntry:
    path: str
    blob: str
    mode: int
    size: int = -1  # bytes, when listed with sizes


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

    def __init__(self, repo: git.Repo):
        self._repo = repo
        self.git_dir = Path(repo.git_dir)
        self.bare = repo.bare
        self.root = self.git_dir if repo.bare else Path(repo.working_tree_dir or repo.git_dir)
        self._blobs = _BlobPipe(Path(repo.git_dir))

    @classmethod
    def open(cls, path: Path | str, *, search_parents: bool = True) -> GitRepo:
        path = Path(path)
        if not path.exists():
            raise RepoError(f"{path}: no such directory")
        try:
            repo = git.Repo(path, search_parent_directories=search_parents)
        except (InvalidGitRepositoryError, NoSuchPathError):
            raise RepoError(f"{path}: not a git repository") from None
        except GitCommandError as exc:
            raise RepoError(f"{path}: git failed: {exc.stderr.strip() or exc}") from None
        return cls(repo)

    @property
    def name(self) -> str:
        base = self.git_dir.parent if not self.bare else self.git_dir
        name = base.name
        return name[:-4] if name.endswith(".git") else name

    def close(self) -> None:
        self._blobs.close()
        self._repo.close()

    def __enter__(self) -> GitRepo:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _git(self, *args: str) -> bytes:
        try:
            return self._repo.git.execute(["git", *args], stdout_as_string=False)
        except GitCommandError as exc:
            stderr = exc.stderr.strip() if isinstance(exc.stderr, str) else str(exc.stderr)
            raise RepoError(
                f"{self.root}: git {args[0]} failed: {stderr.splitlines()[-1:]}"
            ) from None

    def has_commits(self) -> bool:
        try:
            self._repo.git.execute(["git", "rev-parse", "--verify", "-q", "HEAD^{commit}"])
            return True
        except GitCommandError:
            return False

    def resolve(self, rev: str) -> str:
        """The full sha of a revision (branch, tag, sha prefix, HEAD~2...)."""
        if rev.startswith("-"):
            raise RepoError(f"{rev!r}: not a revision")
        try:
            out = self._repo.git.execute(
                ["git", "rev-parse", "--verify", "-q", f"{rev}^{{commit}}"]
            )
        except GitCommandError:
            if rev == "HEAD" and not self.has_commits():
                raise RepoError(f"{self.root}: the repository has no commits yet") from None
            raise RepoError(f"{rev!r}: no such revision in {self.root}") from None
        return out.strip()

    def head_sha(self) -> str | None:
        return self.resolve("HEAD") if self.has_commits() else None

    def branch_name(self) -> str | None:
        """The branch HEAD points at (for a bare mirror: its default branch)."""
        try:
            out = self._repo.git.execute(["git", "symbolic-ref", "-q", "--short", "HEAD"])
        except GitCommandError:
            return None
        return out.strip() or None

    def is_shallow(self) -> bool:
        return (self.git_dir / "shallow").is_file()

    def shallow_boundary(self) -> set[str]:
        try:
            return set((self.git_dir / "shallow").read_text().split())
        except OSError:
            return set()

    def merge_base(self, a: str, b: str) -> str | None:
        try:
            out = self._repo.git.execute(["git", "merge-base", a, b])
        except GitCommandError:
            return None
        return out.strip() or None

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

    def list_tree(self, rev: str, *, sizes: bool = False) -> Iterator[TreeEntry]:
        """Every file (blob) in the tree of `rev`; submodules and symlinks are skipped."""
        raw = self._git("ls-tree", "-r", "-z", "--full-tree", *(["-l"] if sizes else []), rev)
        for item in raw.split(b"\x00"):
            if not item:
                continue
            meta, _, path = item.partition(b"\t")
            mode, kind, blob, *size = meta.split()
            if kind == b"blob" and mode in (b"100644", b"100755"):
                yield TreeEntry(
                    path=decode_path(path),
                    blob=blob.decode(),
                    mode=int(mode, 8),
                    size=int(size[0]) if size else -1,
                )

    def files_containing(self, rev: str, needles: Iterable[bytes]) -> set[str] | None:
        """Paths of the files in `rev`'s tree that hold any of `needles` (exact bytes, as
        `git grep -F` finds them); None when git cannot say."""
        sha = self.resolve(rev)
        args = [arg for n in needles for arg in (b"-e", n)]
        cmd = ["git", f"--git-dir={self.git_dir}", "grep", "-l", "-z", "-F", "--no-color"]
        try:
            proc = subprocess.run([*cmd, *args, sha, "--"], capture_output=True, check=False)
        except OSError:
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

    def read_blob(self, sha: str) -> bytes:
        return self._repo.odb.stream(bytes.fromhex(sha)).read()

    def read_blobs(self, shas: Iterable[str]) -> Iterator[tuple[str, bytes]]:
        """Blob contents one at a time, in order, through one pipelined `cat-file --batch` round trip
        per 2,000 blobs (memory stays bounded by the caller consuming as it goes)."""
        batch: list[str] = []
        for sha in shas:
            batch.append(sha)
            if len(batch) >= 2000:
                yield from self._blobs.read(batch)
                batch = []
        if batch:
            yield from self._blobs.read(batch)

    def blob_sizes(self, shas: Iterable[str]) -> dict[str, int]:
        info = self._repo.odb.info
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
        repo = git.Repo(start or Path(os.getcwd()), search_parent_directories=True)
    except (InvalidGitRepositoryError, NoSuchPathError):
        return None
    root = Path(repo.working_tree_dir) if not repo.bare else Path(repo.git_dir)
    repo.close()
    return root

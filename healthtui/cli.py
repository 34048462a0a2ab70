"""The `healthtui` command: wires config, store, collectors, TUI and export; maps errors to exit codes.

Exit codes: 0 ok, 1 a check failed, 2 usage/config/input error. User errors are one line on stderr;
`-v` adds the traceback.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from functools import cached_property
from pathlib import Path

import click

from healthtui import __version__
from healthtui.config import Config, config_from_text, load_config
from healthtui.errors import BusyError, HealthError, RepoError, StoreError
from healthtui.wording import counted

DB_ENV = "HEALTHTUI_DB"
DB_NAME = "healthtui.db"


class Env:
    """What every command needs, resolved lazily from the global options."""

    def __init__(self, repo: Path | None, db: Path | None, config: Path | None, verbose: bool):
        self.repo_arg, self.db_arg, self.config_arg, self.verbose = repo, db, config, verbose

    @cached_property
    def repo(self):
        from healthtui.collect.gitrepo import GitRepo

        start = self.repo_arg if self.repo_arg is not None else Path.cwd()
        return GitRepo.open(start, search_parents=self.repo_arg is None)

    def repo_or_none(self):
        try:
            return self.repo
        except RepoError:
            if self.repo_arg is not None:
                raise
            return None

    @cached_property
    def config(self) -> Config:
        if self.config_arg is not None:
            return load_config(None, self.config_arg)
        repo = self.repo_or_none()
        if repo is None:
            return Config()
        if not repo.bare:
            return load_config(repo.root)
        return _config_from_tree(repo)

    @cached_property
    def db_path(self) -> Path:
        if self.db_arg is not None:
            return self.db_arg
        if os.environ.get(DB_ENV):
            return Path(os.environ[DB_ENV])
        repo = self.repo_or_none()
        if self.config.database:
            base = repo.root if repo is not None else Path.cwd()
            return base / self.config.database
        if repo is None:
            raise RepoError(
                f"{Path.cwd()}: not inside a git repository (use --repo PATH, or --db FILE to "
                "browse a database)"
            )
        return repo.git_dir / DB_NAME

    def engine(self, *, create: bool = True):
        import store

        try:
            return store.open_engine(self.db_path, create=create)
        except store.StoreError as exc:
            raise StoreError(str(exc)) from None

    def database(self):
        """The plain-sqlite3 handle the collectors write through (no SQLAlchemy import)."""
        from store.db import Database
        from store.errors import StoreError as StoreLayerError

        try:
            return Database.open(self.db_path)
        except StoreLayerError as exc:
            raise StoreError(str(exc)) from None

    def label(self) -> str:
        repo = self.repo_or_none()
        return str(repo.root) if repo is not None else str(self.db_path)


def _config_from_tree(repo) -> Config:
    """A bare repository or mirror has no work tree: read the config from HEAD's tree."""
    if not repo.has_commits():
        return Config()
    blobs = {e.path: e.blob for e in repo.list_tree("HEAD") if "/" not in e.path}
    for name in ("healthtui.toml", "pyproject.toml"):
        if name in blobs:
            text = repo.read_blob(blobs[name]).decode("utf-8", "replace")
            if name == "pyproject.toml" and "[tool.healthtui" not in text:
                continue
            return config_from_text(text, f"{repo.root}:HEAD:{name}")
    return Config()


@contextmanager
def collector_lock(db_path: Path, what: str) -> Iterator[None]:
    """One writer at a time per database: a second backfill/collect is told and stops."""
    from healthtui.locking import Busy, acquire

    try:
        lock = acquire(str(db_path) + ".lock")
    except Busy:
        raise BusyError(f"another healthtui backfill or collect is running on {db_path}") from None
    except OSError as exc:
        raise StoreError(f"{db_path}: cannot take the lock: {exc.strerror or exc}") from None
    with lock:
        yield


class Progress:
    """A one-line progress bar on a terminal, silent otherwise: first the files of the tree the
    walk starts from, then the commits (done, rate, ETA). The rate counts from the first commit,
    so the time spent on the first tree does not skew the ETA."""

    REDRAW = 0.1  # seconds between redraws, the last one always drawn

    def __init__(self, label: str, enabled: bool, clock: Callable[[], float] = time.monotonic):
        self.label, self.enabled, self.clock = label, enabled, clock
        self.shown = 0  # width of the line on screen
        self.drawn_at = -1.0
        self.first: tuple[float, int] | None = None  # (when, done) at the first commit
        self.phase = ""

    def tree(self, done: int, total: int) -> None:
        """Files of the first tree evaluated so far."""
        text = f"{self._bar(done, total)} {done:,}/{total:,} files of the first tree"
        self._draw(text, "tree", done == total)

    def __call__(self, done: int, total: int) -> None:
        now = self.clock()
        if self.first is None:
            self.first = (now, done)
        since, base = self.first
        rate = (done - base) / max(now - since, 1e-6) if done > base else 0.0
        pace = f" · {rate:.1f}/s · ETA {(total - done) / rate:.0f}s" if rate else ""
        text = f"{self._bar(done, total)} {done:,}/{total:,} commits{pace}"
        self._draw(text, "commits", done == total)

    @staticmethod
    def _bar(done: int, total: int, width: int = 24) -> str:
        filled = int(width * done / max(total, 1))
        return "█" * filled + "░" * (width - filled)

    def _draw(self, text: str, phase: str, last: bool) -> None:
        """Redraw the line, at most every REDRAW seconds but always the first frame of a phase
        and the last one."""
        if not self.enabled:
            return
        now = self.clock()
        if not last and now - self.drawn_at < self.REDRAW and phase == self.phase:
            return
        self.drawn_at, self.phase = now, phase
        line = f"{self.label} {text}"
        click.echo("\r" + line.ljust(self.shown), nl=False, err=True)
        self.shown = max(self.shown, len(line))

    def close(self) -> None:
        if self.shown:
            click.echo(err=True)


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--repo",
    type=click.Path(path_type=Path),
    help="The git repository (default: the one containing the current directory). Bare is fine.",
)
@click.option(
    "--db",
    type=click.Path(path_type=Path, dir_okay=False),
    help=f"The database file (default: ${DB_ENV}, config `database`, else <git dir>/{DB_NAME}).",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="A config file (default: healthtui.toml or [tool.healthtui] in pyproject.toml).",
)
@click.option("-v", "--verbose", is_flag=True, help="Show tracebacks for errors.")
@click.version_option(__version__, prog_name="healthtui")
@click.pass_context
def cli(ctx: click.Context, repo: Path | None, db: Path | None, config_path: Path | None, verbose):
    """Migration and test health of a Python codebase, over its git history.

    With no command, opens the dashboard. Start with `healthtui demo`, or in your own repository
    `healthtui backfill` and then `healthtui`.
    """
    ctx.obj = Env(repo, db, config_path, verbose)
    if ctx.invoked_subcommand is None:
        ctx.invoke(tui)


@cli.command()
@click.pass_obj
def tui(env: Env) -> None:
    """Open the dashboard (the default command)."""
    from healthtui.tui.app import run_app

    env.config  # noqa: B018  (validate config before the screen takes over)
    engine = env.engine()
    run_app(
        engine=engine,
        config=env.config,
        repo_label=env.label(),
        repo_root=_work_tree(env),
    )


def _work_tree(env: Env) -> Path | None:
    repo = env.repo_or_none()
    return None if repo is None or repo.bare else repo.root


@cli.command()
@click.argument("path", required=False, type=click.Path(path_type=Path, exists=True))
@click.option("--rev", help="Scan a revision from git objects instead of the work tree.")
@click.option(
    "--rule",
    "rule_ids",
    multiple=True,
    help="Only these rule ids (repeatable; runs disabled ones).",
)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.pass_obj
def scan(env: Env, path: Path | None, rev: str | None, rule_ids: Sequence[str], fmt: str) -> None:
    """Show the current findings, linter style: `path:line:col: rule-id message`. Writes nothing.

    PATH (a file or directory) limits the output to findings under it; the whole work tree holding
    it is still read, so names resolve across the project.
    """
    import atexit
    import gc

    from healthtui.collect import scanning

    # At exit, the interpreter's last garbage collections walk every object (~20 ms of a scan).
    atexit.register(gc.freeze)
    if path is not None and rev is not None:
        raise click.UsageError("give a PATH or --rev, not both")
    under = None
    if rev is not None:
        root = None
    elif path is not None:  # the work tree holding PATH (names resolve across it), shown for PATH
        root, under = scanning.scan_root(path)
    else:  # the work tree, found without the cost of opening the repository
        start = env.repo_arg if env.repo_arg is not None else Path.cwd()
        root = scanning.work_tree_root(start, search_parents=env.repo_arg is None)
    config = env.config if env.config_arg is not None or root is None else load_config(root)
    with scanning.start_grep(root, config.rules, rule_ids) or nullcontext() as grep:
        from healthtui.rules import RuleEngine  # loads every rule, while git greps

        engine = RuleEngine(config.rules, config.suites, only=tuple(rule_ids) or None)
        if root is None:
            evaluation = scanning.scan_revision(env.repo, rev, engine)
        else:
            evaluation = scanning.scan_worktree(root, engine, grep)
    for note in evaluation.warnings:
        click.echo(f"note: {_visible(note)}", err=True)
    if fmt == "json":
        click.echo(scanning.format_json(evaluation, rules=engine.rule_ids, under=under))
    else:
        lines = scanning.format_text(evaluation, rules=engine.rule_ids, under=under)
        text = "\n".join(map(_visible, lines))
        if text:
            click.echo(text)


def _visible(line: str) -> str:
    """A finding line with the control characters a file name may hold (terminal escapes, line
    breaks) shown escaped, as `\\x1b`, `\\r`, `\\n`."""
    if line.isprintable():
        return line
    import re

    short = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
    return re.sub(r"[\x00-\x1f\x7f-\x9f]", lambda m: short.get(m[0]) or f"\\x{ord(m[0]):02x}", line)


@cli.command()
@click.option("--rev", help="Walk this revision's first-parent line (default: the branch).")
@click.option(
    "--since",
    help="Only commits from this date (YYYY-MM-DD, in each commit's offset) or span ago (90d, 1y).",
)
@click.option("--until", help="Only commits up to this date (inclusive) or span ago.")
@click.option("--every", type=click.IntRange(min=1), help="Every Nth commit (plus the tip).")
@click.option("--daily", is_flag=True, help="The last commit of each day.")
@click.pass_obj
def backfill(env: Env, rev, since, until, every, daily) -> None:
    """Snapshot every metric at each commit of the branch's history (resumable, incremental)."""
    if every and daily:
        raise click.UsageError("--every and --daily cannot be combined")
    if since and until:
        _check_range(since, until)
    repo, config = env.repo, env.config
    db = env.database()
    from healthtui.collect.history import backfill as run_backfill

    with collector_lock(env.db_path, "backfill"):
        progress = Progress("backfill", sys.stderr.isatty())
        try:
            result = run_backfill(
                repo,
                db,
                config,
                rev=rev,
                since=since,
                until=until,
                every=every,
                daily=daily,
                progress=progress,
            )
        finally:
            progress.close()
    for note in result.notes:
        click.echo(f"note: {note}", err=True)
    rate = result.written / result.seconds if result.seconds else 0
    click.echo(
        f"backfill: {counted(result.written, 'snapshot')} written, {result.already} already current, "
        f"{result.seconds:.1f}s ({rate:.1f} commits/s) -> {env.db_path}"
    )


def _check_range(since: str, until: str) -> None:
    """Refuse a --since after --until (a date-only --until takes in its whole day)."""
    from healthtui.collect.history import parse_until, parse_when

    start, end = parse_when(since), parse_until(until)
    if (start.tzinfo is None) == (end.tzinfo is None) and start > end:
        raise click.UsageError(f"--since {since} is after --until {until}")


@cli.command()
@click.option(
    "--report",
    "reports",
    multiple=True,
    type=click.Path(path_type=Path),
    help="A pytest-json-report file to ingest (repeatable; config `reports` globs are added).",
)
@click.option(
    "--commit", help="Link the reports to this revision (default: their metadata, else HEAD)."
)
@click.option(
    "--run-tests", is_flag=True, help="Run the configured test_command and ingest its report."
)
@click.option(
    "--quiet", "-q", is_flag=True, help="Print nothing unless something is wrong (for cron)."
)
@click.pass_obj
def collect(env: Env, reports: Sequence[Path], commit: str | None, run_tests: bool, quiet: bool):
    """The cron step: snapshot new commits on the branch, then ingest new test reports."""
    repo, config = env.repo, env.config
    db = env.database()
    from healthtui.collect.history import collect_commits

    try:
        lock = collector_lock(env.db_path, "collect")
        lock.__enter__()
    except BusyError as exc:
        if not quiet:
            click.echo(f"healthtui: {exc}; nothing to do", err=True)
        return
    bad: list[tuple[Path, str]] = []
    progress = Progress("collect", sys.stderr.isatty() and not quiet)
    try:
        try:
            result = collect_commits(repo, db, config, progress=progress)
        finally:
            progress.close()
        paths = list(reports) + _report_globs(repo, config)
        ingested = 0
        if paths:
            from healthtui.collect.reports import ingest_reports

            outcome = ingest_reports(env.engine(), config, paths, repo=repo, commit=commit)
            ingested += len(outcome.ingested)
            bad.extend(outcome.errors)
        if run_tests:
            from healthtui.collect.reports import run_tests as run_test_command

            outcome = run_test_command(env.engine(), config, repo=repo)
            ingested += len(outcome.ingested)
            bad.extend(outcome.errors)
    finally:
        lock.__exit__(None, None, None)
    for path, reason in bad:
        click.echo(f"healthtui: {path}: {reason}", err=True)
    if not quiet:
        for note in result.notes:
            click.echo(f"note: {note}", err=True)
        click.echo(
            f"collect: {counted(result.written, 'new snapshot')}, "
            f"{counted(ingested, 'report')} ingested"
            + (
                f", {counted(result.unreachable, 'commit')} left the branch"
                if result.unreachable
                else ""
            )
        )
    if bad:
        raise SystemExit(2)


def _report_globs(repo, config: Config) -> list[Path]:
    if not config.reports or repo.bare:
        return []
    import glob

    found: list[Path] = []
    for pattern in config.reports:  # relative to the work tree, or absolute
        names = glob.glob(pattern, root_dir=repo.root, recursive=True, include_hidden=True)
        found.extend(sorted(p for p in map(repo.root.joinpath, names) if p.is_file()))
    return found


@cli.command()
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["md", "txt", "html", "json", "svg"]),
    default="md",
    show_default=True,
)
@click.option(
    "--since",
    default="last",
    show_default=True,
    help="last, a revision, a date, or a span (3d, 24h, 2w).",
)
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), help="Write here.")
@click.pass_obj
def export(env: Env, fmt: str, since: str, output: Path | None) -> None:
    """A short, true standup summary of what changed (markdown by default)."""
    engine = env.engine(create=False)
    from healthtui.export import run_export

    def show(text: str) -> None:
        click.echo(text, nl=not text.endswith("\n"))

    run_export(
        engine=engine,
        config=env.config,
        fmt=fmt,
        since=since,
        repo=env.repo_or_none(),
        output=output,
        warn=lambda note: click.echo(f"note: {note}", err=True),
        show=show if output is None else None,
    )


@cli.command()
@click.option("--against", help="Compare with this revision (default: merge-base with the branch).")
@click.option("--rev", help="Check this revision instead of the work tree.")
@click.option(
    "--metric",
    "metrics",
    multiple=True,
    help="Only these metrics: ids or globs such as 'suite.*' (repeatable).",
)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.pass_obj
def check(env: Env, against, rev, metrics, fmt) -> None:
    """The ratchet for CI: exit 1 if a metric got worse than --against or breaks a limit."""
    import store
    from healthtui.ratchet import run_check

    engine = env.engine()
    with store.translate_errors(env.db_path):
        outcome = run_check(
            repo=env.repo,
            engine=engine,
            config=env.config,
            against=against,
            rev=rev,
            metrics=tuple(metrics),
            fmt=fmt,
        )
    for note in outcome.notes:
        click.echo(f"note: {note}", err=True)
    if outcome.output:
        click.echo(outcome.output)
    if outcome.exit_code:
        raise SystemExit(outcome.exit_code)


@cli.command()
@click.option(
    "--path",
    type=click.Path(path_type=Path, file_okay=False),
    help="Where to build the demo (default: the user cache, e.g. ~/.cache/healthtui/demo). "
    "An earlier demo there is replaced.",
)
@click.option("--no-tui", is_flag=True, help="Build and collect, print where things are, and stop.")
@click.option(
    "--commits",
    type=click.IntRange(min=10),
    default=60,
    show_default=True,
    help="Commits on main's first-parent line.",
)
@click.option(
    "--files",
    type=click.IntRange(min=0),
    default=150,
    show_default=True,
    help="Extra generated modules, to try a big tree.",
)
@click.pass_obj
def demo(env: Env, path: Path | None, no_tui: bool, commits: int, files: int) -> None:
    """Build a realistic demo migration, backfill it, ingest its reports and open the dashboard."""
    import shlex

    from healthtui.demo import workspace

    if path is None:
        path = workspace.default_dir()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError:
            path = workspace.fallback_dir()
    started = time.monotonic()
    with workspace.demo_lock(path):
        click.echo(f"demo: building a {commits}-commit migration in {path} …", err=True)
        if env.db_arg is not None:
            workspace.claim_database(env.db_arg, workspace.repo_dir(path))
        built = workspace.rebuild(path, commits=commits, files=files)
        # The demo never writes into $HEALTHTUI_DB: only an explicit --db moves its database.
        db_path = env.db_arg or built.repo / ".git" / DB_NAME
        repo_env = Env(built.repo, db_path, None, env.verbose)
        engine = repo_env.engine()
        result, ingested, note = _collect_demo(repo_env, engine, [r.path for r in built.reports])
    repo, db = str(built.repo), str(db_path)
    prefix = "healthtui --repo " + shlex.quote(repo)
    if env.db_arg is not None or os.environ.get(DB_ENV):
        prefix += " --db " + shlex.quote(db)
    commands = [
        ("", "the dashboard"),
        (" export --since 7d", "this week's standup summary (markdown)"),
        (" export --format html -o standup.html", "the same as a web page"),
        (" scan", "the findings at the tip, linter style"),
    ]
    width = max(len(prefix + args) for args, _ in commands)
    lines = [
        f"demo: {len(built.commits)} commits, {result.written} snapshots, "
        f"{ingested} test reports ingested, {time.monotonic() - started:.1f}s",
        *([f"  note: {note}"] if note else []),
        f"  repository: {repo}",
        f"  database:   {db}",
        f"  reports:    {built.repo.parent / 'reports'}",
        "next, try:",
        *(f"  {(prefix + args).ljust(width)}  # {what}" for args, what in commands),
    ]
    click.echo("\n".join(lines))
    if not no_tui:
        from healthtui.tui.app import run_app

        run_app(
            engine=engine,
            config=repo_env.config,
            repo_label=repo,
            repo_root=built.repo,
        )


def _collect_demo(env: Env, engine, reports: list[Path]):
    """Backfill the demo repository and ingest its reports; returns (backfill result, reports
    ingested, a note when reports could not be ingested)."""
    import importlib.util

    from healthtui.collect.history import backfill as run_backfill

    with collector_lock(env.db_path, "demo"):
        progress = Progress("backfill", sys.stderr.isatty())
        try:
            result = run_backfill(env.repo, engine, env.config, progress=progress)
        finally:
            progress.close()
        if importlib.util.find_spec("healthtui.collect.reports") is None:
            return result, 0, "test reports not ingested: this build has no report ingestion yet"
        from healthtui.collect.reports import ingest_reports

        outcome = ingest_reports(engine, env.config, reports, repo=env.repo)
    for bad_path, reason in outcome.errors:
        click.echo(f"healthtui: {bad_path}: {reason}", err=True)
    return result, len(outcome.ingested), None


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point: run the CLI, turning domain errors into one line and an exit code."""
    verbose = "-v" in (argv or sys.argv[1:]) or "--verbose" in (argv or sys.argv[1:])
    try:
        cli.main(args=list(argv) if argv is not None else None, standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("healthtui: aborted", err=True)
        return 130
    except click.ClickException as exc:
        exc.show()
        return 2
    except BusyError as exc:
        click.echo(f"healthtui: {exc}", err=True)
        return 2
    except HealthError as exc:
        if verbose:
            import traceback

            traceback.print_exc()
        click.echo(f"healthtui: error: {exc}", err=True)
        return exc.exit_code
    except KeyboardInterrupt:
        click.echo("healthtui: interrupted", err=True)
        return 130
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 0
    except Exception as exc:  # store errors and anything unexpected: one line, never a traceback
        from store.errors import StoreError as StoreLayerError

        if isinstance(exc, StoreLayerError):
            if verbose:
                import traceback

                traceback.print_exc()
            click.echo(f"healthtui: error: {exc}", err=True)
            return 2
        if verbose:
            raise
        click.echo(
            f"healthtui: internal error: {type(exc).__name__}: {exc} (run with -v)", err=True
        )
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())

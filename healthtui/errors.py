"""Domain exceptions; `healthtui.cli` turns them into one-line messages and exit codes."""


class HealthError(Exception):
    """Base class: a problem the user can fix, reported in one line (exit 2)."""

    exit_code = 2


class ConfigError(HealthError):
    """The configuration file is invalid (names the file, the key and what is wrong)."""


class RepoError(HealthError):
    """The repository path is missing, not a git repository, or has no commits."""


class StoreError(HealthError):
    """The database cannot be opened or written (not SQLite, newer schema, read-only, full)."""


class ReportError(HealthError):
    """A test report could not be ingested."""


class BusyError(HealthError):
    """Another healthtui process holds the database lock."""

    exit_code = 0


class CheckFailed(HealthError):
    """A ratchet or limit check failed."""

    exit_code = 1

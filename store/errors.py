"""Errors the store raises, each with a one-line message fit to show a user."""


class StoreError(Exception):
    """The database cannot be opened, read or written."""


def explain(message: str) -> str:
    """What an SQLite error message means for the user, in one line."""
    low = message.lower()
    if "readonly" in low or "read-only" in low:
        return "the database is read-only (check the file's and directory's permissions)"
    if "full" in low:
        return "the disk is full; nothing was half-written, free space and run again"
    if "locked" in low or "busy" in low:
        return "the database is busy (another healthtui is writing); try again shortly"
    if "not a database" in low or "malformed" in low:
        return "not a healthtui database (the file is not SQLite, or is damaged)"
    if "unable to open" in low:
        return "cannot open the database file (missing directory or no permission)"
    return f"database error: {message}"

"""Errors the store raises, each with a one-line message fit to show a user."""


class StoreError(Exception):
    """The database cannot be opened, read or written."""

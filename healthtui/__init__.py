"""healthtui: a codebase's migration and test health, tracked over git history."""

__version__ = "0.1.0"

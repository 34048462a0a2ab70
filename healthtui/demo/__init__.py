"""A deterministic demo repository: a migration's git history plus pytest reports.

`RepoBuilder` writes real git repositories commit by commit (also the tests' fixture);
`build_demo()` tells the demo story with it.
"""

from .builder import BuildError, RepoBuilder
from .reports import DemoReport
from .scenario import Demo, build_demo

__all__ = ["BuildError", "Demo", "DemoReport", "RepoBuilder", "build_demo"]

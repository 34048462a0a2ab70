"""`deprecated_imports`: import statements of configured deprecated modules, and candidates."""

from __future__ import annotations

from tests.rules.trees import evaluate, found, lines

LEGACY = ("acme.legacy",)


def scan(files: dict[str, str], modules=LEGACY):
    return evaluate({"acme/__init__.py": "", **files}, deprecated_modules=modules)


def test_absolute_forms_count_once_per_statement():
    mod = """\
import acme.legacy
import acme.legacy as old
import os, acme.legacy
from acme.legacy import thing
from acme import legacy
from acme import legacy as old2, other
from acme import (
    other,
    legacy,
)
from acme.legacy import (
    a,
    b,
    c,
)
"""
    ev = scan({"acme/m.py": mod})
    assert lines(ev, "deprecated_imports") == [("acme/m.py", n) for n in (1, 2, 3, 4, 5, 6, 7, 11)]
    assert ev.metrics["deprecated_imports"] == 8
    assert ev.metrics["deprecated_imports.files"] == 1
    first = found(ev, "deprecated_imports")[0]
    assert first.message == "import of deprecated module acme.legacy"
    assert first.text == "import acme.legacy"


def test_lookalikes_parents_and_submodules_do_not_count():
    mod = """\
import acme
import acme.legacy_v2
import acme.legacy.sub
from acme.legacy.sub import x
from acme import legacy_v2
from other.acme import legacy
import legacy
"""
    assert found(scan({"acme/m.py": mod}), "deprecated_imports") == []


def test_submodules_count_when_configured_themselves():
    mod = "import acme.legacy.sub\nfrom acme.legacy import sub\nfrom acme.legacy.sub import x\n"
    ev = scan({"acme/m.py": mod}, modules=("acme.legacy.sub",))
    assert lines(ev, "deprecated_imports") == [("acme/m.py", 1), ("acme/m.py", 2), ("acme/m.py", 3)]


def test_relative_imports_resolve_from_the_files_package():
    files = {
        "acme/m.py": "from . import legacy\nfrom .legacy import x\nfrom .other import legacy\n",
        "acme/sub/n.py": "from .. import legacy\nfrom ..legacy import x\nfrom . import legacy\n",
        "acme/sub/deep/k.py": "from ... import legacy\nfrom .... import legacy\n",
        "src/acme/s.py": "from .legacy import x\n",
    }
    ev = scan(files)
    assert lines(ev, "deprecated_imports") == [
        ("acme/m.py", 1),
        ("acme/m.py", 2),
        ("acme/sub/deep/k.py", 1),
        ("acme/sub/n.py", 1),
        ("acme/sub/n.py", 2),
        ("src/acme/s.py", 1),
    ]


def test_comments_strings_and_docstrings_never_count_imports_anywhere_do():
    mod = '''\
"""Docs: import acme.legacy"""
# import acme.legacy
TEXT = "from acme.legacy import x"
CODE = """
from acme import legacy
"""


def late():
    import acme.legacy
    return acme.legacy


try:
    from acme.legacy import thing
except ImportError:
    thing = None

if TYPE_CHECKING:
    from acme import legacy
'''
    ev = scan({"acme/m.py": mod})
    assert lines(ev, "deprecated_imports") == [
        ("acme/m.py", 10),
        ("acme/m.py", 15),
        ("acme/m.py", 20),
    ]


def test_several_deprecated_modules_in_one_statement_are_one_finding():
    mod = "from acme import legacy, oldstuff\n"
    ev = scan({"acme/m.py": mod}, modules=("acme.legacy", "acme.oldstuff"))
    (f,) = found(ev, "deprecated_imports")
    assert f.message == "import of deprecated module acme.legacy, acme.oldstuff"


def test_modules_warning_deprecation_at_import_are_candidates():
    files = {
        "acme/old.py": "import warnings\nwarnings.warn('gone', DeprecationWarning, stacklevel=2)\n",
        "acme/older.py": (
            "from warnings import warn\n\n"
            "if True:\n    warn('soon', category=PendingDeprecationWarning)\n"
        ),
        "acme/in_function.py": "import warnings\n\ndef f():\n    warnings.warn('x', DeprecationWarning)\n",
        "acme/user_warning.py": "import warnings\nwarnings.warn('x', UserWarning)\n",
        "acme/legacy.py": "import warnings\nwarnings.warn('x', DeprecationWarning)\n",
        "src/acme/gone.py": "import warnings as w\nw.warn('x', DeprecationWarning)\n",
    }
    ev = scan(files)
    assert ev.metrics["deprecated_imports.candidates"] == 3
    assert list(ev.warnings) == [
        "candidate deprecated module: acme.gone "
        "(src/acme/gone.py:2 warns DeprecationWarning at import)",
        "candidate deprecated module: acme.old (acme/old.py:2 warns DeprecationWarning at import)",
        "candidate deprecated module: acme.older "
        "(acme/older.py:4 warns DeprecationWarning at import)",
    ]


def test_no_configured_modules_no_findings():
    ev = evaluate({"m.py": "import acme.legacy\n"})
    assert found(ev, "deprecated_imports") == []
    assert ev.metrics["deprecated_imports"] == 0

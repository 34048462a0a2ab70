"""The `healthtui` command (`python -m healthtui`, and the console script).

Before the CLI loads (click alone takes ~45 ms), a plain work-tree `scan` starts the `git grep` it
will want, so git searches meanwhile (see `healthtui.collect.scanning.start_early`); it runs
without garbage collections.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

_GLOBAL_OPTIONS = {"--repo", "--db", "--config"}  # each takes a value
_GLOBAL_FLAGS = {"-v", "--verbose"}
_SCAN_OPTIONS = {"--rule", "--format"}


def plain_scan(args: Sequence[str]) -> tuple[str | None, str | None, str | None, list[str]] | None:
    """(--repo, --config, PATH, --rule ids) of `[global options] scan [options] [PATH]` with only
    the options above; None for any other command line (the CLI parses it alone)."""
    values: dict[str, str] = {}
    rule_ids: list[str] = []
    path = None
    in_scan = False
    it = iter(args)
    for arg in it:
        if arg.startswith("-"):
            name, eq, value = arg.partition("=")
            if not in_scan and not eq and name in _GLOBAL_FLAGS:
                continue
            if name not in (_SCAN_OPTIONS if in_scan else _GLOBAL_OPTIONS):
                return None
            if not eq:
                following = next(it, None)
                if following is None:
                    return None
                value = following
            if name == "--rule":
                rule_ids.append(value)
            else:
                values[name] = value
        elif not in_scan:
            if arg != "scan":
                return None
            in_scan = True
        elif path is None:
            path = arg
        else:
            return None
    if not in_scan:
        return None
    return values.get("--repo"), values.get("--config"), path, rule_ids


def main(argv: Sequence[str] | None = None) -> int:
    scan = plain_scan(sys.argv[1:] if argv is None else argv)
    if scan is None:
        from healthtui.cli import main as cli_main

        return cli_main(argv)
    import gc

    from healthtui.collect.scanning import start_early

    collecting = gc.isenabled()
    gc.disable()  # a scan is short and leaves next to no cyclic garbage: collecting only costs time
    try:
        start_early(*scan)
        from healthtui.cli import main as cli_main

        return cli_main(argv)
    finally:
        if collecting:
            gc.enable()


if __name__ == "__main__":
    sys.exit(main())

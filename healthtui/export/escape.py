"""Making repository-derived strings (subjects, author names, paths, finding text) safe to show.

Every string that came from a repository or a report is untrusted: it may carry terminal escapes,
bidi overrides, newlines, markdown or HTML. Renderers pass each one through these functions.
"""

from __future__ import annotations

import re
import unicodedata

_ANSI = re.compile(
    r"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)?|[PX^_][^\x1b]*(\x1b\\)?|[@-Z\\-_])"
)
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~&])")


def clean(text: str) -> str:
    """One line of printable text: terminal escape sequences and control or format characters
    (including bidi overrides) removed, whitespace runs collapsed to one space."""
    text = _ANSI.sub("", text)
    out = []
    for ch in text:
        cat = unicodedata.category(ch)
        if ch in "\t\n\r\v\f" or cat in ("Zl", "Zp"):
            out.append(" ")
        elif cat in ("Cc", "Cf", "Cs", "Co"):
            continue
        else:
            out.append(ch)
    return re.sub(r" {2,}", " ", "".join(out)).strip()


def md_text(text: str) -> str:
    """Plain text inside markdown: nothing in it can become a link, emphasis, HTML or a table cell."""
    return _MD_SPECIAL.sub(r"\\\1", clean(text))


def md_code(text: str) -> str:
    """A markdown code span holding `text` verbatim (paths, test ids, source lines)."""
    body = clean(text)
    longest = max((len(m) for m in re.findall(r"`+", body)), default=0)
    fence = "`" * (longest + 1)
    if body.startswith("`") or body.endswith("`") or not body.strip():
        body = f" {body} "
    return f"{fence}{body}{fence}"

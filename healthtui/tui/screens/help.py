"""`?`: the keys of the screen underneath, the navigation and what the colours mean."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Markdown

GENERAL = """\
## Everywhere

| Key | Action |
| --- | --- |
| `ctrl+p` | command palette: jump to any metric, commit (sha prefix or subject words) or file |
| `g` | back to the overview |
| `t` | tests |
| `f` | findings (of the metric or rule you are looking at) |
| `escape` | back (the previous screen keeps its selection) |
| `enter` | open the highlighted row or card |
| `r` | re-read the database (it also refreshes by itself when a collect writes) |
| `d` | light / dark theme |
| `?` | this help |
| `q` | quit |

## Colours

- **target met**: the metric is at or past its target
- **improving**: not there yet, but better than 7 days ago (or than the previous snapshot)
- **regressed**: worse than 7 days ago
- **steady**: unchanged

Δ prev is the change since the previous snapshot, Δ 7d the change since 7 days ago.

Mouse: click a card or a row to open it, click a column header to sort, click a tab.
"""


def screen_keys(screen: Screen[object]) -> str:
    rows = []
    seen = set()
    for binding in getattr(screen, "BINDINGS", []):
        if not isinstance(binding, Binding) or binding.action in seen:
            continue
        seen.add(binding.action)
        key = binding.key_display or binding.key
        rows.append(f"| `{key}` | {binding.description or binding.action} |")
    if not rows:
        return ""
    name = type(screen).__name__.removesuffix("Screen")
    return (
        f"## This screen ({name})\n\n| Key | Action |\n| --- | --- |\n" + "\n".join(rows) + "\n\n"
    )


class HelpScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape", "dismiss", "Close"),
        Binding("question_mark", "dismiss", "Close", key_display="?"),
        Binding("q", "dismiss", "Close", show=False),
    ]

    def __init__(self, under: Screen[object]) -> None:
        super().__init__()
        self.under = under

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help"):
            yield Markdown("# healthtui help\n\n" + screen_keys(self.under) + GENERAL)

"""The demo: a service's migration told as a git history, plus pytest reports along the way.

`build_demo()` writes the repository through `RepoBuilder` in one fast-import stream. The story
(see `KEY_EVENTS`): `get_manager()` turns from async to sync, leaving `await get_manager()` call
sites behind; a merged feature branch adds dozens more; they are fixed gradually. Alongside: a
deprecated module being migrated away from, a class defined in three places, markers used before
they are registered, and a golden-path suite whose pass rate climbs.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone
from pathlib import Path

from .builder import RepoBuilder
from .reports import DemoReport, ReportJob, run_reports
from .sources import (
    FILLER_AREAS,
    FILLER_DOMAINS,
    FILLER_KINDS,
    FILLER_NOUNS,
    FLOW_STEPS,
    FLOWS,
    GITIGNORE,
    HANDLER_TESTS,
    HEALTHTUI_TOML,
    LATIN1_LABELS,
    LIFECYCLE,
    LIFECYCLE_TEST,
    LOGIN_TEST,
    PRESENCE_SERVICE,
    PRESENCE_TEST,
    PROTOCOL,
    README,
    SCALABILITY_TEST,
    SETTINGS,
    SETTINGS_TEST,
    WEBSOCKET_INIT,
    CallSite,
    FillerModule,
    LegacyImport,
    ServiceModule,
    render_app,
    render_bridge,
    render_conftest,
    render_connections,
    render_export_script,
    render_filler,
    render_flow_module,
    render_flow_test,
    render_legacy_core,
    render_manager,
    render_models_test,
    render_package_init,
    render_protocol_test,
    render_pyproject,
    render_service_module,
    stable_hash,
)

__all__ = ["MIN_COMMITS", "Demo", "DemoReport", "build_demo"]

MIN_COMMITS = 10
WORKING_DAYS = 30
COMMITS_PER_DAY = 12
LAST_DAY_HOURS = timedelta(hours=10)
LAST_DAY_MIN_SPAN = timedelta(hours=2)
QUIET_BEFORE_END = timedelta(minutes=20)
UNSCHEDULED = datetime.min.replace(tzinfo=UTC)
CI_DELAY_MINUTES = (4, 10)  # CI reports arrive 4 to 13 minutes after their commit
RERUN_AFTER = timedelta(minutes=35)

AUTHORS = (
    ("Maya Chen", "maya.chen@example.com", 60),
    ("Jonas Berg", "jonas.berg@example.com", 60),
    ("Priya Raman", "priya.raman@example.com", 330),
    ("Tomás Ortega", "tomas.ortega@example.com", -180),
    ("Ada Okafor", "ada.okafor@example.com", 0),
)
MAINTAINERS = (0, 1)

# (position in the history as a fraction of the first-parent commits, event)
KEY_EVENTS: tuple[tuple[float, str], ...] = (
    (0.04, "latin1_labels"),
    (0.06, "bridge_duplicate"),
    (0.10, "golden_flows"),
    (0.10, "golden_handlers"),
    (0.13, "scalability_test"),
    (0.16, "presence_test"),
    (0.20, "syntax_error"),
    (0.25, "refactor"),
    (0.30, "edge_case_test"),
    (0.34, "spike_widgets"),
    (0.34, "spike_feeds"),
    (0.40, "presence_module"),
    (0.40, "pinned_fix_0"),
    (0.45, "register_scalability"),
    (0.50, "syntax_fixed"),
    (0.55, "bridge_consolidated"),
    (0.55, "pinned_fix_1"),
    (0.60, "atexit_fixed"),
    (0.60, "smoke_test"),
    (0.64, "conflict"),
    (0.67, "conflict_resolved"),
    (0.70, "register_edge_case"),
    (0.70, "pinned_fix_2"),
    (0.80, "legacy_consolidated"),
    (0.85, "cleanup_fixed"),
    (0.90, "register_smoke"),
)
REFACTOR_AT = 0.25
MIGRATION_FROM = 0.30
FLOW_FIXES = 12
# Events that recur at a steady pace whatever the random draws: (how many, first, last fraction).
# Random slots add more of the same, so the burn-downs look steady but not mechanical.
RECURRING_EVENTS = {
    "fix_flow": (FLOW_FIXES, 0.12, 0.95),
    "fix_sites": (6, 0.37, 0.97),
    "migrate": (4, 0.33, 0.93),
}
INITIALLY_BUGGY = 15
MERGE_EVENTS = {
    "golden_flows": "test/golden-path-suite",
    "spike_widgets": "feature/live-dashboards",
}
EVENT_AUTHORS = {"refactor": 0, "spike_widgets": 1, "spike_feeds": 1, "golden_flows": 2}
EVENT_AUTHORS |= {"golden_handlers": 2, "bridge_duplicate": 3, "syntax_error": 3, "conflict": 4}

EARLY_WEIGHTS = {
    "add_sites": 8,
    "add_legacy": 2,
    "filler_edit": 1,
    "docs": 1,
    "extend_tests": 1,
    "todo": 1,
}
LATE_WEIGHTS = {
    "fix_sites": 5,
    "migrate": 3,
    "filler_edit": 2,
    "docs": 1,
    "extend_tests": 1,
    "todo": 1,
    "misuse_add": 0.5,
}
MERGE_ODDS = 0.14
RECURRING_MERGE_ODDS = 0.3  # fixes often come in through a pull request

# (path, docstring, sites, legacy import forms, TODO): the modules of the first commit. The
# golden path tests call chat.on_message, presence.count_join_listeners,
# notifications.close_user_session and ChatService.push_direct.
INITIAL_MODULES = (
    (
        "acme_service/handlers/chat.py",
        "Chat message handlers.",
        (("message", "plain", 0), ("typing", "plain", 1), ("direct", "method", 0)),
        ("from",),
        "rate-limit typing events per client (#133)",
    ),
    (
        "acme_service/handlers/presence.py",
        "Presence events: who joined, who left.",
        (("join", "alias", 0), ("leave", "plain", 0)),
        ("multiline",),
        None,
    ),
    (
        "acme_service/services/notifications.py",
        "User notifications pushed over the socket.",
        (("notify", "plain", 0), ("user", "module", 0), ("alert", "plain", 1)),
        ("module", "relative"),
        None,
    ),
    (
        "acme_service/routes/status.py",
        "Status endpoints: who is connected and how busy we are.",
        (("status", "plain", 2), ("load", "alias", 0)),
        ("from",),
        None,
    ),
)
PINNED_SITES = (
    ("acme_service/handlers/chat.py", "message"),
    ("acme_service/handlers/presence.py", "join"),
    ("acme_service/services/notifications.py", "user"),
    ("acme_service/handlers/chat.py", "direct"),  # never fixed: the tip keeps one failing test
)
GROWTH_MODULES = (
    ("acme_service/handlers/rooms.py", "Room membership and room-wide announcements."),
    ("acme_service/handlers/reactions.py", "Emoji reactions on messages."),
    ("acme_service/services/alerts.py", "Operational alerts sent to admin dashboards."),
    ("acme_service/services/audit.py", "Audit events mirrored to connected admins."),
    ("acme_service/routes/admin.py", "Admin endpoints that act on live connections."),
    ("acme_service/agents/dispatcher.py", "Dispatches agent replies to waiting clients."),
    ("acme_service/services/digest.py", "Daily digests pushed to clients that opted in."),
    ("acme_service/handlers/uploads.py", "Upload progress events."),
    ("acme_service/handlers/calls.py", "Call signalling: ring, accept, hang up."),
    ("acme_service/services/moderation.py", "Moderation actions applied to live sessions."),
    ("acme_service/routes/webhooks.py", "Inbound webhooks relayed to subscribers."),
    ("acme_service/agents/handoff.py", "Hand-off from agents to human operators."),
)
SPIKE_MODULES = (
    ("widgets", "Dashboard widgets that stream live numbers."),
    ("feeds", "Activity feeds on the live dashboard."),
    ("alerts_panel", "The alerts panel of the live dashboard."),
    ("timeline", "Per-room timelines on the dashboard."),
    ("sessions", "Live session list for support staff."),
    ("exports", "Dashboard exports, streamed while they build."),
    ("filters", "Saved dashboard filters, synced across tabs."),
    ("layouts", "Dashboard layouts shared between team members."),
    ("summary", "The summary strip at the top of every dashboard."),
    ("metrics_panel", "Charts of connection metrics."),
)
EVENT_NOUNS = [
    "message",
    "typing",
    "join",
    "leave",
    "notify",
    "alert",
    "mention",
    "reaction",
    "invite",
    "kick",
    "mute",
    "pin",
    "edit",
    "delete",
    "read",
    "receipt",
    "snapshot",
    "refresh",
    "subscribe",
    "unsubscribe",
    "heartbeat",
    "resume",
    "presence",
    "status",
    "digest",
    "upload",
    "call",
    "ring",
    "topic",
    "room",
    "thread",
    "poll",
    "vote",
    "badge",
    "archive",
    "rename",
    "handoff",
    "queue",
    "ticket",
    "escalation",
    "widget",
    "feed",
    "panel",
    "chart",
    "layout",
    "filter",
    "session",
    "summary",
    "export",
]
TODO_TEXTS = (
    "batch these sends once the manager supports it (#204)",
    "drop the legacy payload shape after the mobile release",
    "move the retry policy into settings",
    "log the client id once we have structured logging",
    "cover the reconnect race with a test (#266)",
)
DOC_TOPICS = (
    ("docs/runbook.md", "Reconnect storms", "Scale out before raising the backoff cap."),
    (
        "docs/runbook.md",
        "Draining a node",
        "Send a restart close code, then wait the grace period.",
    ),
    (
        "docs/architecture.md",
        "Manager",
        "One `WebSocketManager` per process, from `get_manager()`.",
    ),
    (
        "docs/architecture.md",
        "Legacy module",
        "`legacy.websocket_core` only re-exports, and warns.",
    ),
    ("docs/migration.md", "get_manager()", "It is synchronous: call it, do not await it."),
    ("docs/migration.md", "Imports", "Import from `acme_service.websocket`, not the legacy path."),
    ("docs/runbook.md", "Stuck dashboards", "Check the feeds worker before restarting the node."),
)


@dataclass(frozen=True)
class Demo:
    """A built demo: the repository (work tree at the tip), the reports run on its history and
    the first-parent commits of main, oldest first."""

    repo: Path
    reports: tuple[DemoReport, ...]
    commits: tuple[str, ...] = ()


@dataclass
class Slot:
    """One first-parent commit of `main`, as planned: its events and whether it is a merge."""

    index: int
    events: list[str] = field(default_factory=list)
    keyed: bool = False
    branch: str | None = None
    forks_early: bool = False
    time: datetime = UNSCHEDULED


def _scaled(fraction: float, commits: int) -> int:
    return min(commits - 1, max(1, round(fraction * (commits - 1))))


def _free_slot(slots: list[Slot], target: int, reach: int = 3) -> Slot:
    """The slot at `target` or the nearest one after (else before) it without planned events,
    so that recurring events get commits of their own; `target` itself if all are taken."""
    near = [target + step for step in range(reach + 1)]
    near += [target - step for step in range(1, reach + 1)]
    for index in near:
        if 0 < index < len(slots) and not slots[index].events:
            return slots[index]
    return slots[target]


def _weighted(rng: random.Random, weights: dict[str, float]) -> str:
    names = list(weights)
    return rng.choices(names, weights=[weights[name] for name in names])[0]


def plan_history(commits: int, rng: random.Random, end: datetime) -> list[Slot]:
    """Lay the story's events out over `commits` first-parent commits, the last just before `end`."""
    slots = [Slot(index) for index in range(commits)]
    slots[0].events.append("initial")
    for fraction, event in KEY_EVENTS:
        slot = slots[_scaled(fraction, commits)]
        slot.events.append(event)
        slot.keyed = True
        if event in MERGE_EVENTS and slot.branch is None:
            slot.branch = MERGE_EVENTS[event]
    recurring = [
        (first + (last - first) * j / (count - 1), event)
        for event, (count, first, last) in RECURRING_EVENTS.items()
        for j in range(count)
    ]
    for fraction, event in sorted(recurring, key=lambda item: item[0]):
        slot = _free_slot(slots, _scaled(fraction, commits))
        slot.events.append(event)
        slot.keyed = True
    recurring_events = set(RECURRING_EVENTS)
    refactor = _scaled(REFACTOR_AT, commits)
    for slot in slots[1:]:
        if slot.keyed:
            if slot.index > 2 and set(slot.events) <= recurring_events and slot.branch is None:
                if rng.random() < RECURRING_MERGE_ODDS:
                    slot.branch = ""
            continue
        weights = dict(EARLY_WEIGHTS if slot.index < refactor else LATE_WEIGHTS)
        if slot.index < _scaled(MIGRATION_FROM, commits):
            weights.pop("migrate", None)
        event = _weighted(rng, weights)
        slot.events.append(event)
        if event != "docs" and slot.index > 2 and rng.random() < MERGE_ODDS:
            slot.branch = ""
            if rng.random() < 0.6:
                slot.events.append(event if event != "extend_tests" else "filler_edit")
    for slot in slots[2:]:
        before = slots[slot.index - 1]
        if slot.branch is not None and before.branch is None and not before.keyed:
            before.events = ["docs"]
            slot.forks_early = True
    _schedule(slots, rng, end)
    return slots


def history_days(end: date, count: int) -> list[date]:
    """`count` dates ending on `end`: the last one whatever its weekday, the others working days."""
    days = [end]
    while len(days) < count:
        day = days[-1] - timedelta(days=1)
        while day.weekday() >= 5:
            day -= timedelta(days=1)
        days.append(day)
    return days[::-1]


def _schedule(slots: list[Slot], rng: random.Random, end: datetime) -> None:
    """Spread the commits over the working days up to `end`, strictly increasing in time.

    Commits fall between 07:00 and 18:30 UTC; those of the last day between 07:00 (or up to
    `LAST_DAY_HOURS` earlier if `end` is early in the day) and `QUIET_BEFORE_END` before `end`,
    so that "today" and "last 24 h" have commits.
    """
    count = max(WORKING_DAYS, math.ceil(len(slots) / COMMITS_PER_DAY))
    days = history_days(end.astimezone(UTC).date(), count)
    per_day: dict[int, list[Slot]] = {}
    for slot in slots:
        per_day.setdefault(slot.index * (count - 1) // max(1, len(slots) - 1), []).append(slot)
    for day, members in per_day.items():
        midnight = datetime.combine(days[day], time(), tzinfo=UTC)
        if day < count - 1:
            first, minutes = midnight + timedelta(hours=7), 11 * 60 + 30
        else:
            last = end.astimezone(UTC).replace(microsecond=0) - QUIET_BEFORE_END
            first = midnight + timedelta(hours=7)
            if last - first < LAST_DAY_MIN_SPAN:
                previous = datetime.combine(days[day - 1], time(18, 31), tzinfo=UTC)
                first = max(previous, last - LAST_DAY_HOURS)
            minutes = int((last - first).total_seconds()) // 60
        offsets = sorted(rng.sample(range(minutes), len(members)))
        for slot, minute in zip(members, offsets, strict=True):
            slot.time = first + timedelta(minutes=minute, seconds=rng.randrange(60))


class Story:
    """The demo codebase's state; events change it and `flush()` says which files changed."""

    def __init__(self, rng: random.Random, *, files: int, commits: int) -> None:
        self.rng = rng
        self.commits = commits
        self.tree: dict[str, bytes] = {}
        self.dirty: set[str] = set()
        self.modules: dict[str, ServiceModule] = {}
        self.filler: dict[str, FillerModule] = {}
        self.issue = 118
        self.sync_manager = False
        self.cleanup_fixed = False
        self.atexit_fixed = False
        self.legacy_duplicate = True
        self.bridge: str | None = None  # None, "duplicate" or "consolidated"
        self.latin1 = False
        self.golden = False
        self.handler_tests = False
        self.buggy: frozenset[str] = frozenset()
        self.fixable_bugs: list[str] = []
        self.presence_test = False
        self.presence_module = False
        self.scalability_test = False
        self.scalability_registered = False
        self.edge_case_test = False
        self.smoke_test = False
        self.markers: tuple[str, ...] = ("slow", "integration", "golden_path")
        self.export_script: bool | None = None  # None absent, False Python 2, True fixed
        self.dashboards = False
        self.extra_model_tests = 0
        self.docs: dict[str, list[tuple[str, str]]] = {}
        self.changelog: list[str] = []
        self.fix_events_left = 0
        self.unfixed_filler: list[str] = []
        self.growth_events_left = 0
        self.legacy_events_left = 0
        self.migrate_events_left = 0
        # Filler modules that gain their await call sites / legacy import during the early weeks.
        self.pending_awaits: list[tuple[str, int]] = []
        self.pending_legacy: list[str] = []
        self.filler_sites = 0  # await sites ever given to filler modules
        self.filler_legacy = 0  # filler modules ever given a legacy import
        self.unmigrated_filler: list[str] = []
        self.todo_filler: list[str] = []
        self.growth_pool = list(GROWTH_MODULES)
        self._static = self._static_files()
        self._add_filler(files)

    def _static_files(self) -> dict[str, Callable[[], str | bytes | None]]:
        websocket = "acme_service/websocket"
        static: dict[str, Callable[[], str | bytes | None]] = {
            "healthtui.toml": lambda: HEALTHTUI_TOML,
            "README.md": lambda: README,
            ".gitignore": lambda: GITIGNORE,
            "CHANGELOG.md": self._render_changelog,
            "pyproject.toml": lambda: render_pyproject(markers=self.markers, version="0.4.0"),
            "acme_service/__init__.py": lambda: render_package_init(
                "Real-time notifications over WebSockets."
            ),
            "acme_service/settings.py": lambda: SETTINGS,
            "acme_service/lifecycle.py": lambda: LIFECYCLE,
            "acme_service/app.py": lambda: render_app(atexit_fixed=self.atexit_fixed),
            f"{websocket}/__init__.py": lambda: WEBSOCKET_INIT,
            f"{websocket}/protocol.py": lambda: PROTOCOL,
            f"{websocket}/manager.py": lambda: render_manager(sync=self.sync_manager),
            f"{websocket}/connections.py": lambda: render_connections(
                sync_manager=self.sync_manager, cleanup_fixed=self.cleanup_fixed
            ),
            "acme_service/legacy/__init__.py": lambda: render_package_init(
                "Modules kept for old callers; each one says where its names moved."
            ),
            "acme_service/legacy/websocket_core.py": lambda: render_legacy_core(
                duplicate=self.legacy_duplicate
            ),
            "acme_service/handlers/__init__.py": lambda: render_package_init(
                "Handlers for messages clients send over the socket."
            ),
            "acme_service/services/__init__.py": lambda: render_package_init(
                "Domain services that push to connected clients."
            ),
            "acme_service/routes/__init__.py": lambda: render_package_init(
                "HTTP routes next to the socket server."
            ),
            "acme_service/agents/__init__.py": lambda: render_package_init(
                "The agent runtime's side of the socket."
            ),
            "acme_service/agents/bridge.py": lambda: (
                None
                if self.bridge is None
                else render_bridge(
                    duplicate=self.bridge == "duplicate", sync_manager=self.sync_manager
                )
            ),
            "acme_service/i18n/__init__.py": lambda: render_package_init("Client-facing labels."),
            "acme_service/i18n/legacy_charset.py": lambda: LATIN1_LABELS if self.latin1 else None,
            "acme_service/services/presence.py": lambda: (
                PRESENCE_SERVICE if self.presence_module else None
            ),
            "acme_service/flows/__init__.py": lambda: (
                render_package_init("The steps of the flows every release must get right.")
                if self.golden
                else None
            ),
            "acme_service/dashboards/__init__.py": lambda: (
                render_package_init("Live dashboards fed over the socket.")
                if self.dashboards
                else None
            ),
            "scripts/export_stats.py": lambda: (
                None
                if self.export_script is None
                else render_export_script(python3=self.export_script)
            ),
            "tests/conftest.py": lambda: render_conftest(
                scalability_registered=self.scalability_registered
            ),
            "tests/unit/test_protocol.py": lambda: render_protocol_test(
                edge_cases=self.edge_case_test
            ),
            "tests/unit/test_models.py": lambda: render_models_test(self.extra_model_tests),
            "tests/unit/test_lifecycle.py": lambda: LIFECYCLE_TEST,
            "tests/unit/test_login.py": lambda: LOGIN_TEST if self.handler_tests else None,
            "tests/unit/test_presence.py": lambda: PRESENCE_TEST if self.presence_test else None,
            "tests/unit/test_settings.py": lambda: SETTINGS_TEST if self.smoke_test else None,
            "tests/integration/test_scalability.py": lambda: (
                SCALABILITY_TEST if self.scalability_test else None
            ),
            "tests/integration/golden_path/test_handlers_flow.py": lambda: (
                HANDLER_TESTS if self.handler_tests else None
            ),
        }
        for flow in FLOWS:
            static[f"acme_service/flows/{flow}.py"] = lambda flow=flow: (
                render_flow_module(flow, self.buggy) if self.golden else None
            )
            static[f"tests/integration/golden_path/test_{flow}_flow.py"] = lambda flow=flow: (
                render_flow_test(flow) if self.golden else None
            )
        for page in dict.fromkeys(path for path, _, _ in DOC_TOPICS):
            static[page] = lambda page=page: self._render_doc(page)
        return static

    def _add_filler(self, count: int) -> None:
        if count <= 0:
            return
        dirs = max(min(count, 6), math.ceil(count / 80))
        combos = len(FILLER_NOUNS) * len(FILLER_KINDS)
        seen_dirs: list[str] = []
        for index in range(count):
            directory, slot = index % dirs, index // dirs
            domain = FILLER_DOMAINS[directory % len(FILLER_DOMAINS)]
            area = directory // len(FILLER_DOMAINS)
            folder = f"acme_service/{domain}"
            if area:
                folder += f"/{FILLER_AREAS[(area - 1) % len(FILLER_AREAS)]}"
                if area > len(FILLER_AREAS):
                    folder += str((area - 1) // len(FILLER_AREAS) + 1)
            if slot == 0:
                seen_dirs.append(folder)
            combo = (slot * 7919 + directory * 104729) % combos
            noun = FILLER_NOUNS[combo % len(FILLER_NOUNS)]
            kind = FILLER_KINDS[combo // len(FILLER_NOUNS)]
            suffix = "" if slot < combos else f"_{slot // combos + 1}"
            path = f"{folder}/{noun}_{kind}{suffix}.py"
            h = stable_hash(path)
            module = FillerModule(path, noun, kind, domain)
            sites = (1 + (h >> 8) % 2) if h % 100 < 12 else 0
            from_start = (h >> 20) % 100 < 35
            if sites and not from_start:
                self.pending_awaits.append((path, sites))
            elif sites:
                module.await_sites = sites
            if (h >> 4) % 100 < 7:
                if from_start:
                    module.legacy = True
                else:
                    self.pending_legacy.append(path)
            module.todo = (h >> 12) % 100 < 18
            module.revision = (h >> 16) % 3
            self.filler[path] = module
            if module.await_sites:
                self.unfixed_filler.append(path)
                self.filler_sites += module.await_sites
            if module.legacy:
                self.unmigrated_filler.append(path)
                self.filler_legacy += 1
            if module.todo:
                self.todo_filler.append(path)
        for folder in seen_dirs:
            parts = folder.split("/")
            for depth in range(2, len(parts) + 1):
                init = "/".join(parts[:depth]) + "/__init__.py"
                doc = (
                    f"The {parts[1]} domain." if depth == 2 else f"{parts[-1]} code of {parts[1]}."
                )
                self._static.setdefault(init, lambda doc=doc: render_package_init(doc))

    def render(self, path: str) -> bytes | None:
        if path in self._static:
            content = self._static[path]()
        elif path in self.modules:
            content = render_service_module(self.modules[path])
        elif path in self.filler:
            content = render_filler(self.filler[path])
        else:
            content = None
        return content.encode("utf-8") if isinstance(content, str) else content

    def flush(self) -> dict[str, bytes | None]:
        """The files whose content changed since the last flush (None: deleted)."""
        changes: dict[str, bytes | None] = {}
        for path in sorted(self.dirty):
            content = self.render(path)
            if content == self.tree.get(path):
                continue
            changes[path] = content
            if content is None:
                del self.tree[path]
            else:
                self.tree[path] = content
        self.dirty.clear()
        return changes

    def touch(self, *paths: str) -> None:
        self.dirty.update(paths)

    def ref(self) -> str:
        self.issue += self.rng.randint(1, 7)
        return f"#{self.issue}"

    def maybe_ref(self) -> str:
        return f" ({self.ref()})" if self.rng.random() < 0.45 else ""

    def apply(self, event: str) -> str:
        """Apply one event to the state and return its commit subject."""
        return getattr(self, f"_event_{event}")()

    def sites_total(self) -> tuple[int, int]:
        """(all await call sites, those still awaiting) in the story modules and filler."""
        total = unfixed = 0
        for module in self.modules.values():
            total += len(module.sites)
            unfixed += sum(not site.fixed for site in module.sites)
        total += self.filler_sites
        unfixed += sum(self.filler[path].await_sites for path in self.unfixed_filler)
        return total, unfixed

    def _new_module(self, path: str, title: str) -> ServiceModule:
        module = ServiceModule(path, title)
        self.modules[path] = module
        self.touch(path)
        return module

    def _add_sites(self, module: ServiceModule, count: int, *, styles: tuple[str, ...]) -> None:
        used = {site.noun for site in module.sites}
        nouns = [noun for noun in EVENT_NOUNS if noun not in used]
        for noun in self.rng.sample(nouns, min(count, len(nouns))):
            style = self.rng.choice(styles)
            module.sites.append(CallSite(noun, style, self.rng.randrange(3)))
        self.touch(module.path)

    def _pinned(self, module: ServiceModule, site: CallSite) -> bool:
        return (module.path, site.noun) in PINNED_SITES

    def _event_initial(self) -> str:
        for path, title, sites, forms, todo in INITIAL_MODULES:
            module = self._new_module(path, title)
            module.sites = [CallSite(noun, style, variant) for noun, style, variant in sites]
            module.legacy = [LegacyImport(form) for form in forms]
            module.todo = todo
        self.touch(*self._static, *self.filler)
        return "Initial import of the notification service"

    def _event_latin1_labels(self) -> str:
        self.latin1 = True
        self.touch("acme_service/i18n/legacy_charset.py")
        return "Add fallback labels for latin-1 kiosk clients (#142)"

    def _event_bridge_duplicate(self) -> str:
        self.bridge = "duplicate"
        self.touch("acme_service/agents/bridge.py")
        return "Agents: bridge agent replies to client sockets"

    def _event_golden_flows(self) -> str:
        self.golden = True
        keys = [step.key for step in FLOW_STEPS]
        buggy = self.rng.sample(keys, INITIALLY_BUGGY)
        self.buggy = frozenset(buggy)
        self.fixable_bugs = buggy[: FLOW_FIXES if len(buggy) > FLOW_FIXES else len(buggy)]
        self.touch("acme_service/flows/__init__.py")
        for flow in FLOWS:
            self.touch(
                f"acme_service/flows/{flow}.py",
                f"tests/integration/golden_path/test_{flow}_flow.py",
            )
        return "Golden path: flows and the end-to-end suite every release must pass"

    def _event_golden_handlers(self) -> str:
        self.handler_tests = True
        self.touch(
            "tests/integration/golden_path/test_handlers_flow.py", "tests/unit/test_login.py"
        )
        return "Golden path: drive the real chat, presence and notification handlers"

    def _event_scalability_test(self) -> str:
        self.scalability_test = True
        self.touch("tests/integration/test_scalability.py")
        return f"Add fan-out test with a thousand clients ({self.ref()})"

    def _event_presence_test(self) -> str:
        self.presence_test = True
        self.touch("tests/unit/test_presence.py")
        return "Tests for the presence tracker"

    def _event_syntax_error(self) -> str:
        self.export_script = False
        self.touch("scripts/export_stats.py")
        return "Bring over the room export script from the ops repo"

    def _event_refactor(self) -> str:
        self.sync_manager = True
        self.touch(
            "acme_service/websocket/manager.py",
            "acme_service/websocket/connections.py",
            "acme_service/agents/bridge.py",
        )
        return f"Make get_manager() synchronous: it never awaited anything ({self.ref()})"

    def _event_edge_case_test(self) -> str:
        self.edge_case_test = True
        self.touch("tests/unit/test_protocol.py")
        return "Round-trip test for odd payloads"

    def _spike(self, part: slice) -> str:
        self.dashboards = True
        self.touch("acme_service/dashboards/__init__.py")
        for name, title in SPIKE_MODULES[part]:
            module = self._new_module(f"acme_service/dashboards/{name}.py", title)
            self._add_sites(
                module,
                self.rng.randint(3, 5),
                styles=("plain", "plain", "alias", "module", "method"),
            )
            if self.rng.random() < 0.3:
                module.legacy.append(LegacyImport("from"))
        return "Live dashboards: widgets, alerts and session views"

    def _event_spike_widgets(self) -> str:
        return self._spike(slice(0, 5))

    def _event_spike_feeds(self) -> str:
        self._spike(slice(5, 10))
        return "Live dashboards: feeds, exports and layouts"

    def _event_presence_module(self) -> str:
        self.presence_module = True
        self.touch("acme_service/services/presence.py")
        return f"Presence tracker service ({self.ref()})"

    def _pinned_fix(self, number: int) -> str:
        path, noun = PINNED_SITES[number]
        module = self.modules[path]
        for site in module.sites:
            if site.noun == noun:
                site.fixed = True
        self.touch(path)
        return f"Fix golden path: {module.stem} awaited the sync get_manager() ({self.ref()})"

    def _event_pinned_fix_0(self) -> str:
        return self._pinned_fix(0)

    def _event_pinned_fix_1(self) -> str:
        return self._pinned_fix(1)

    def _event_pinned_fix_2(self) -> str:
        return self._pinned_fix(2)

    def _event_register_scalability(self) -> str:
        self.scalability_registered = True
        self.touch("tests/conftest.py")
        return f"Register the scalability marker in conftest ({self.ref()})"

    def _event_syntax_fixed(self) -> str:
        self.export_script = True
        self.touch("scripts/export_stats.py")
        return "Port export_stats.py to Python 3"

    def _event_bridge_consolidated(self) -> str:
        self.bridge = "consolidated"
        self.touch("acme_service/agents/bridge.py")
        return f"Agents: use the shared WebSocketManager instead of a copy ({self.ref()})"

    def _event_atexit_fixed(self) -> str:
        self.atexit_fixed = True
        self.touch("acme_service/app.py")
        return "Run the async metrics flush to completion at exit"

    def _event_smoke_test(self) -> str:
        self.smoke_test = True
        self.touch("tests/unit/test_settings.py")
        return "Smoke tests for settings"

    def _event_conflict(self) -> str:
        module = self.modules["acme_service/routes/status.py"]
        module.conflict = True
        self.touch(module.path)
        return "Status: take the longer TTL from fix/status-ttl"

    def _event_conflict_resolved(self) -> str:
        module = self.modules["acme_service/routes/status.py"]
        module.conflict = False
        self.touch(module.path)
        return "Remove leftover conflict markers in routes/status.py"

    def _event_register_edge_case(self) -> str:
        self.markers = (*self.markers, "edge_case")
        self.touch("pyproject.toml")
        return "Register the edge_case marker"

    def _event_legacy_consolidated(self) -> str:
        self.legacy_duplicate = False
        self.touch("acme_service/legacy/websocket_core.py")
        return f"legacy.websocket_core re-exports WebSocketManager instead of defining it ({self.ref()})"

    def _event_cleanup_fixed(self) -> str:
        self.cleanup_fixed = True
        self.touch("acme_service/websocket/connections.py")
        return f"Register a sync wrapper for close_connections ({self.ref()})"

    def _event_register_smoke(self) -> str:
        self.markers = (*self.markers, "smoke")
        self.touch("pyproject.toml")
        return "Register the smoke marker"

    def _event_fix_flow(self) -> str:
        if not self.fixable_bugs:
            return self._event_filler_edit()
        key = self.fixable_bugs.pop(0)
        self.buggy = self.buggy - {key}
        flow, name = key.split(".")
        self.touch(f"acme_service/flows/{flow}.py")
        return self.rng.choice(
            (
                f"Fix {name} in the {flow} flow ({self.ref()})",
                f"{flow}: {name} got the edge case wrong{self.maybe_ref()}",
                f"Golden path: correct {name}{self.maybe_ref()}",
            )
        )

    def _event_add_sites(self) -> str:
        if self.growth_pool and (self.rng.random() < 0.55 or len(self.modules) < 6):
            path, title = self.growth_pool.pop(0)
            module = self._new_module(path, title)
            if self.rng.random() < 0.5:
                form = self.rng.choice(("from", "module", "multiline", "relative"))
                module.legacy.append(LegacyImport(form))
        else:
            candidates = [m for m in self.modules.values() if "dashboards" not in m.path]
            module = self.rng.choice(candidates)
        self._add_sites(
            module, self.rng.randint(2, 4), styles=("plain", "plain", "alias", "module", "method")
        )
        self.growth_events_left -= 1
        share = math.ceil(len(self.pending_awaits) / max(1, self.growth_events_left + 1))
        for path, sites in self.pending_awaits[:share]:
            self.filler[path].await_sites = sites
            self.unfixed_filler.append(path)
            self.filler_sites += sites
            self.touch(path)
        del self.pending_awaits[:share]
        area = module.stem.replace("_", " ")
        return self.rng.choice(
            (
                f"Push {area} updates to connected clients{self.maybe_ref()}",
                f"Handle more {area} events{self.maybe_ref()}",
                f"Wire {area} to the websocket manager{self.maybe_ref()}",
            )
        )

    def _event_misuse_add(self) -> str:
        candidates = [m for m in self.modules.values() if "dashboards" not in m.path]
        module = self.rng.choice(candidates)
        self._add_sites(module, 1, styles=("plain", "alias"))
        return f"Notify clients on {module.stem.replace('_', ' ')} changes{self.maybe_ref()}"

    def _event_add_legacy(self) -> str:
        forms = ("from", "module", "multiline", "relative")
        candidates = [
            (module, form)
            for module in self.modules.values()
            for form in forms
            if form not in {imp.form for imp in module.legacy}
        ]
        if not candidates:
            return self._event_todo()
        module, form = self.rng.choice(candidates)
        module.legacy.append(LegacyImport(form))
        self.touch(module.path)
        self.legacy_events_left -= 1
        share = math.ceil(len(self.pending_legacy) / max(1, self.legacy_events_left + 1))
        for path in self.pending_legacy[:share]:
            self.filler[path].legacy = True
            self.unmigrated_filler.append(path)
            self.filler_legacy += 1
            self.touch(path)
        del self.pending_legacy[:share]
        return f"Show connection state in {module.stem.replace('_', ' ')}"

    def _portion(self, spare: int, events_left: int) -> int:
        """This event's share of `spare` items spread over the `events_left` events of its kind
        (this one included), rounded up or down at random so that the total comes out right."""
        share = spare / max(1, events_left)
        whole = math.floor(share)
        return whole + (self.rng.random() < share - whole)

    def _event_fix_sites(self) -> str:
        total, unfixed = self.sites_total()
        keep = math.ceil(0.2 * total) + 1
        left = self.fix_events_left
        self.fix_events_left -= 1
        budget = self._portion(unfixed - keep, left) if unfixed > keep else 0
        if not budget:
            return self._event_filler_edit()
        touched: list[str] = []
        while budget > 0 and len(touched) < 4:
            story = [
                module
                for module in self.modules.values()
                if module.path not in touched
                and any(not s.fixed and not self._pinned(module, s) for s in module.sites)
            ]
            if story and (self.rng.random() < 0.6 or not self.unfixed_filler):
                module = self.rng.choice(story)
                for site in module.sites:
                    if budget > 0 and not site.fixed and not self._pinned(module, site):
                        site.fixed = True
                        budget -= 1
                touched.append(module.path)
            elif self.unfixed_filler:
                path = self.unfixed_filler.pop(self.rng.randrange(len(self.unfixed_filler)))
                self.filler[path].awaits_fixed = True
                budget -= self.filler[path].await_sites
                touched.append(path)
            else:
                break
        if not touched:
            return self._event_filler_edit()
        self.touch(*touched)
        name = touched[0].rsplit("/", 1)[-1].removesuffix(".py")
        return self.rng.choice(
            (
                f"Stop awaiting get_manager() in {name}{self.maybe_ref()}",
                f"Fix await misuse in {name} and {len(touched) - 1} more"
                if len(touched) > 1
                else f"Fix await misuse in {name} ({self.ref()})",
                f"get_manager() is sync now: update {name}",
            )
        )

    def _event_migrate(self) -> str:
        story = [m for m in self.modules.values() if any(not i.migrated for i in m.legacy)]
        total = sum(len(m.legacy) for m in self.modules.values())
        total += self.filler_legacy
        remaining = sum(1 for m in story for i in m.legacy if not i.migrated)
        remaining += len(self.unmigrated_filler)
        left = self.migrate_events_left
        self.migrate_events_left -= 1
        keep = math.ceil(0.15 * total)
        budget = self._portion(remaining - keep, left) if remaining > keep else 0
        touched: list[str] = []
        while budget > 0 and len(touched) < 4:
            if story and (self.rng.random() < 0.6 or not self.unmigrated_filler):
                module = story.pop(self.rng.randrange(len(story)))
                for imp in module.legacy:
                    budget -= not imp.migrated
                    imp.migrated = True
                touched.append(module.path)
            elif self.unmigrated_filler:
                path = self.unmigrated_filler.pop(self.rng.randrange(len(self.unmigrated_filler)))
                self.filler[path].legacy_migrated = True
                budget -= 1
                touched.append(path)
            else:
                break
        if not touched:
            return self._event_todo()
        self.touch(*touched)
        name = touched[0].rsplit("/", 1)[-1].removesuffix(".py")
        return self.rng.choice(
            (
                f"Import websocket names from acme_service.websocket in {name}",
                f"Move {name} off legacy.websocket_core (#187)",
                f"Migrate {name} away from the deprecated websocket_core{self.maybe_ref()}",
            )
        )

    def _event_filler_edit(self) -> str:
        if not self.filler:
            return self._event_todo()
        paths = sorted(
            self.rng.sample(list(self.filler), min(len(self.filler), self.rng.randint(1, 4)))
        )
        for path in paths:
            module = self.filler[path]
            module.revision += 1
            if module.todo and self.rng.random() < 0.3:
                module.todo = False
            elif not module.todo and self.rng.random() < 0.1:
                module.todo = True
        self.touch(*paths)
        first = self.filler[paths[0]]
        return self.rng.choice(
            (
                f"Tidy {first.domain} {first.kind}",
                f"Add helpers to {first.noun}_{first.kind}{self.maybe_ref()}",
                f"Raise {first.domain} page size{self.maybe_ref()}",
                f"Refactor {first.domain} {first.kind}",
            )
        )

    def _event_todo(self) -> str:
        modules = list(self.modules.values())
        module = self.rng.choice(modules)
        self.touch(module.path)
        if module.todo:
            module.todo = None
            return f"Resolve TODO in {module.stem}"
        module.todo = self.rng.choice(TODO_TEXTS)
        return f"Note follow-up in {module.stem}"

    def _event_extend_tests(self) -> str:
        self.extra_model_tests += 1
        self.touch("tests/unit/test_models.py")
        return "More manager tests" if self.rng.random() < 0.5 else "Test close_all() bookkeeping"

    def _event_docs(self) -> str:
        page, heading, text = self.rng.choice(DOC_TOPICS)
        self.docs.setdefault(page, []).append((heading, text))
        self.changelog.append(heading)
        self.touch(page, "CHANGELOG.md")
        return self.rng.choice(
            (f"Docs: {heading.lower()}", f"Update {page.rsplit('/', 1)[-1]}", "Changelog")
        )

    def _render_doc(self, page: str) -> str | None:
        sections = self.docs.get(page)
        if not sections:
            return None
        title = page.rsplit("/", 1)[-1].removesuffix(".md").title()
        body = "".join(f"\n## {heading}\n\n{text}\n" for heading, text in sections)
        return f"# {title}\n{body}"

    def _render_changelog(self) -> str:
        entries = "".join(f"- {entry}\n" for entry in reversed(self.changelog))
        return "# Changelog\n\n## Unreleased\n\n" + (entries or "- Nothing yet.\n")


def _author(index: int) -> tuple[tuple[str, str], timezone]:
    name, email, offset = AUTHORS[index]
    return (name, email), timezone(timedelta(minutes=offset))


def _subject(subjects: list[str]) -> str:
    first, rest = subjects[0], dict.fromkeys(subjects[1:])
    rest.pop(first, None)
    return first if not rest else first + "\n\n" + "".join(f"- {line}\n" for line in rest)


def build_history(
    builder: RepoBuilder, *, commits: int, files: int, seed: int, end: datetime
) -> tuple[list[str], list[Slot]]:
    """Write the demo history into `builder`; returns the first-parent shas and the plan."""
    rng = random.Random(seed)
    slots = plan_history(commits, rng, end)
    story = Story(rng, files=files, commits=commits)
    story.fix_events_left = sum(slot.events.count("fix_sites") for slot in slots)
    story.growth_events_left = sum(slot.events.count("add_sites") for slot in slots)
    story.legacy_events_left = sum(slot.events.count("add_legacy") for slot in slots)
    story.migrate_events_left = sum(slot.events.count("migrate") for slot in slots)
    first_parent: list[str] = []
    tips: list[str] = []
    with builder.bulk():
        for slot in slots:
            tips.append(first_parent[-1] if first_parent else "")
            who = next((EVENT_AUTHORS[e] for e in slot.events if e in EVENT_AUTHORS), None)
            who = who if who is not None else rng.randrange(len(AUTHORS))
            author, tz = _author(who)
            if slot.branch is None:
                subjects = [story.apply(event) for event in slot.events]
                sha = builder.commit(
                    story.flush(),
                    message=_subject(subjects),
                    author=author,
                    when=slot.time.astimezone(tz),
                )
            else:
                sha = _merge(builder, story, slot, tips, author, tz, rng)
            first_parent.append(sha)
    return first_parent, slots


def _merge(
    builder: RepoBuilder,
    story: Story,
    slot: Slot,
    tips: list[str],
    author: tuple[str, str],
    tz: timezone,
    rng: random.Random,
) -> str:
    """A feature branch with one commit per event, merged into main with a merge commit."""
    fork = tips[slot.index - 1] if slot.forks_early else tips[slot.index]
    touched: dict[str, bytes | None] = {}
    subjects: list[str] = []
    start = slot.time - timedelta(hours=rng.randint(20, 60))
    steps = len(slot.events)
    first_subject = ""
    for number, event in enumerate(slot.events):
        subject = story.apply(event)
        first_subject = first_subject or subject
        subjects.append(subject)
        if number == 0:
            name = slot.branch or _branch_name(event, subject, story)
            builder.create_branch(name, fork)
        changes = story.flush()
        touched.update(changes)
        when = start + (slot.time - start) * (number + 1) / (steps + 1)
        builder.commit(
            changes,
            message=subject,
            author=author,
            when=when.replace(microsecond=0).astimezone(tz),
            branch=name,
        )
    maintainer, maintainer_tz = _author(
        rng.choice([m for m in MAINTAINERS if AUTHORS[m][:2] != author])
    )
    if rng.random() < 0.7:
        message = (
            f"Merge pull request {story.ref()} from {author[1].split('.')[0]}/{name.split('/')[-1]}"
        )
        message += f"\n\n{first_subject}"
    else:
        message = f"Merge branch '{name}'"
    return builder.commit(
        {path: story.tree.get(path) for path in touched},
        message=message,
        author=maintainer,
        when=slot.time.astimezone(maintainer_tz),
        merge=[name],
    )


def _branch_name(event: str, subject: str, story: Story) -> str:
    prefix = {"fix_sites": "fix", "migrate": "chore", "fix_flow": "fix", "misuse_add": "feature"}
    words = [w.lower() for w in subject.replace("(", " ").split() if w.isalnum()][:4]
    return f"{prefix.get(event, 'feature')}/{'-'.join(words) or event}-{story.issue}"


def build_demo(
    path: Path,
    *,
    commits: int = 60,
    files: int = 150,
    seed: int = 0,
    reports: bool = True,
    report_every: int = 8,
    end: datetime | None = None,
    bare: bool = False,
) -> Demo:
    """Build the demo under `path`: `path/repo` (work tree at the tip) and `path/reports/`.

    `commits` is the number of first-parent commits on main, `files` pads the tree with generated
    modules. The history spans six weeks of working days (longer for big `commits`) and ends a
    little before `end` (default: now, so "today" and "last 7 days" mean something). With a fixed
    `end` the build is deterministic: the same arguments give the same commit shas. Reports come
    from real pytest runs on every `report_every`-th first-parent commit and on the tip, plus a
    second run of one commit where a flaky test changes its outcome; each report's `created` is
    set to a few minutes after its commit, as if CI had run it then.
    """
    if commits < MIN_COMMITS:
        raise ValueError(f"the demo story needs at least {MIN_COMMITS} commits, got {commits}")
    if files < 0 or report_every < 1:
        raise ValueError("files must be >= 0 and report_every >= 1")
    if end is None:
        end = datetime.now(UTC)
    elif end.tzinfo is None:
        end = end.replace(tzinfo=UTC)
    path = Path(path)
    repo = path / "repo"
    if repo.exists() and any(repo.iterdir()):
        raise FileExistsError(f"{repo} exists and is not empty")
    builder = RepoBuilder(repo, branch="main", bare=bare)
    first_parent, slots = build_history(builder, commits=commits, files=files, seed=seed, end=end)
    shas = tuple(first_parent)
    if not reports:
        return Demo(repo=repo, reports=(), commits=shas)
    positions = [k for k in range(commits) if (k + 1) % report_every == 0]
    if commits - 1 not in positions:
        positions.append(commits - 1)
    golden = next(slot.index for slot in slots if "golden_flows" in slot.events)
    with_suite = [k for k in positions if k >= golden]
    flaky = with_suite[(len(with_suite) - 1) // 2]
    runs = [(k, 1) for k in positions] + [(flaky, 2)]
    jobs = [
        ReportJob(
            k, first_parent[k], run=run, created=_ci_time(slots[k], first_parent[k], run, end)
        )
        for k, run in runs
    ]
    return Demo(repo=repo, reports=run_reports(repo, path / "reports", jobs), commits=shas)


def _ci_time(slot: Slot, sha: str, run: int, end: datetime) -> float:
    """When CI "ran" a report: a few minutes after the commit, a re-run half an hour later;
    never after `end`."""
    delay = timedelta(minutes=CI_DELAY_MINUTES[0] + stable_hash(sha) % CI_DELAY_MINUTES[1])
    when = min(slot.time + delay + (run - 1) * RERUN_AFTER, end - timedelta(minutes=1))
    return when.timestamp() + run

"""Source files of the demo service, rendered from the story's state at one commit.

Every function here is pure: the same state gives the same bytes, so the demo history (and its
commit shas) is reproducible. The code is small but real: the tip's tests run under pytest.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from functools import cached_property

PACKAGE = "acme_service"
LEGACY_MODULE = "acme_service.legacy.websocket_core"
NEW_MODULE = "acme_service.websocket"

HEALTHTUI_TOML = """\
branch = "main"

[rules]
deprecated_modules = ["acme_service.legacy.websocket_core"]
known_sync = ["get_manager"]
ssot_classes = ["WebSocketManager"]

[[rules.regex]]
id = "todo_comments"
pattern = "#\\\\s*TODO"
include = ["**/*.py"]
message = "TODO left in code"

[suites.golden_path]
paths = ["tests/integration/golden_path/**"]
markers = ["golden_path"]
target = 0.9

[targets]
await_misuse = 0
deprecated_imports = 0
"""


@dataclass
class CallSite:
    """One `await get_manager()` in a service module; `fixed` once the await is dropped."""

    noun: str
    style: str  # "plain", "alias" (gm), "module" (wm.get_manager) or "method" (self.manager)
    variant: int = 0
    fixed: bool = False

    @property
    def name(self) -> str:
        if self.style == "alias":
            return f"count_{self.noun}_listeners"
        if self.style == "module":
            return f"close_{self.noun}_session"
        if self.style == "method":
            return f"push_{self.noun}"
        return (f"on_{self.noun}", f"broadcast_{self.noun}", f"ensure_{self.noun}_channel")[
            self.variant % 3
        ]


@dataclass
class LegacyImport:
    """One import of the deprecated websocket module, in one of the forms real code uses."""

    form: str  # "from", "module" (import ... as wc), "multiline" (parenthesised), "relative"
    migrated: bool = False


@dataclass
class ServiceModule:
    """A hand-written-looking module of the service: handlers calling the websocket manager."""

    path: str
    title: str
    sites: list[CallSite] = field(default_factory=list)
    legacy: list[LegacyImport] = field(default_factory=list)
    todo: str | None = None
    conflict: bool = False

    @property
    def stem(self) -> str:
        return self.path.rsplit("/", 1)[-1].removesuffix(".py")

    @property
    def class_name(self) -> str:
        return "".join(part.title() for part in self.stem.split("_")) + "Service"


@dataclass
class FillerModule:
    """A generated module padding the tree to a realistic size; some share the story's smells."""

    path: str
    noun: str
    kind: str
    domain: str
    await_sites: int = 0
    awaits_fixed: bool = False
    legacy: bool = False
    legacy_migrated: bool = False
    todo: bool = False
    revision: int = 0

    @cached_property
    def class_name(self) -> str:
        """Unique in the tree: qualified by the module's folder, so filler never looks duplicated."""
        relative = self.path.removeprefix(f"{PACKAGE}/").removesuffix(".py")
        folder, _, stem = relative.rpartition("/")
        copy = stem.removeprefix(f"{self.noun}_{self.kind}").removeprefix("_")
        words = [*folder.split("/"), self.noun, FILLER_CLASS_SUFFIX[self.kind], copy]
        return "".join(_camel(word) for word in words if word)


def _camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


@dataclass(frozen=True)
class FlowStep:
    """One golden-path behaviour: a function with a known bug and the test that catches it."""

    flow: str
    name: str
    signature: str
    doc: str
    correct: str
    buggy: str
    test: str
    marked: bool = False

    @property
    def key(self) -> str:
        return f"{self.flow}.{self.name}"


def stable_hash(text: str) -> int:
    """A hash that does not change between runs (unlike `hash()` on str)."""
    return zlib.crc32(text.encode())


def _module_header(doc: str) -> list[str]:
    return [f'"""{doc}"""', "", "from __future__ import annotations", ""]


def render_manager(*, sync: bool) -> str:
    getter = (
        [
            "def get_manager() -> WebSocketManager:",
            '    """Return the process-wide manager, creating it on first use.',
            "",
            "    A plain function since #231: it never awaited anything, and sync code needs it.",
            '    """',
        ]
        if sync
        else [
            "async def get_manager() -> WebSocketManager:",
            '    """Return the process-wide manager, creating it on first use."""',
        ]
    )
    doc = "The process-wide WebSocket manager: tracks live connections and fans messages out."
    return "\n".join(
        [
            *_module_header(doc),
            "from collections.abc import Iterable",
            "",
            "from .protocol import ConnectionState, encode_message",
            "",
            "",
            "class WebSocketManager:",
            '    """Owns every live client connection of this process and what was sent to each."""',
            "",
            "    def __init__(self) -> None:",
            "        self.state = ConnectionState.OPEN",
            "        self._outbox: dict[str, list[bytes]] = {}",
            "",
            "    async def connect(self, client_id: str) -> None:",
            "        self._outbox.setdefault(client_id, [])",
            "",
            "    async def disconnect(self, client_id: str) -> None:",
            "        self._outbox.pop(client_id, None)",
            "",
            "    async def send(self, client_id: str, payload: dict) -> None:",
            "        self._outbox.setdefault(client_id, []).append(encode_message(payload))",
            "",
            "    async def broadcast(self, payload: dict, *, exclude: Iterable[str] = ()) -> int:",
            "        skipped = set(exclude)",
            "        targets = [client for client in self._outbox if client not in skipped]",
            "        for client in targets:",
            "            await self.send(client, payload)",
            "        return len(targets)",
            "",
            "    async def close_all(self) -> int:",
            "        closed = len(self._outbox)",
            "        self._outbox.clear()",
            "        self.state = ConnectionState.CLOSED",
            "        return closed",
            "",
            "    def connected(self) -> list[str]:",
            "        return sorted(self._outbox)",
            "",
            "    def sent_to(self, client_id: str) -> list[bytes]:",
            "        return list(self._outbox.get(client_id, ()))",
            "",
            "",
            "_manager: WebSocketManager | None = None",
            "",
            "",
            *getter,
            "    global _manager",
            "    if _manager is None:",
            "        _manager = WebSocketManager()",
            "    return _manager",
            "",
        ]
    )


PROTOCOL = '''\
"""Wire format shared by server and clients: connection states and message framing."""

from __future__ import annotations

import json
from enum import StrEnum


class ConnectionState(StrEnum):
    CONNECTING = "connecting"
    OPEN = "open"
    CLOSING = "closing"
    CLOSED = "closed"


def encode_message(payload: dict) -> bytes:
    """Frame one message as compact, key-sorted JSON."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()


def broadcast_json(payload: dict) -> str:
    """The text frame every client receives for a broadcast."""
    return json.dumps({"broadcast": True, **payload}, sort_keys=True)
'''

WEBSOCKET_INIT = '''\
"""Real-time delivery to connected clients."""

# Callers of acme_service.legacy.websocket_core get the same names from there until #187 is done.
from .manager import WebSocketManager, get_manager
from .protocol import ConnectionState, broadcast_json, encode_message

__all__ = ["ConnectionState", "WebSocketManager", "broadcast_json", "encode_message", "get_manager"]
'''

LIFECYCLE = '''\
"""Shutdown hooks: callbacks the service runs, newest first, when it stops."""

from __future__ import annotations

from collections.abc import Callable


class CleanupRegistry:
    """Holds plain callables; `run_cleanups()` calls each one synchronously."""

    def __init__(self) -> None:
        self._callbacks: list[Callable[[], object]] = []

    def add_cleanup(self, callback: Callable[[], object]) -> None:
        self._callbacks.append(callback)

    def run_cleanups(self) -> list[object]:
        return [callback() for callback in reversed(self._callbacks)]


registry = CleanupRegistry()
'''

SETTINGS = '''\
"""Service settings and their defaults."""

SERVICE_NAME = "acme-service"
MAX_CONNECTIONS = 5000
HEARTBEAT_SECONDS = 25

# Modules callers must stop importing, and where their names live now; the old
# acme_service.legacy.websocket_core warns when imported.
DEPRECATED_IMPORTS = {"acme_service.legacy.websocket_core": "acme_service.websocket"}
'''

PRESENCE_SERVICE = '''\
"""Who is online: a tracker fed by join and leave events."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class PresenceTracker:
    online: dict[str, float] = field(default_factory=dict)

    def join(self, client_id: str, at: float) -> None:
        self.online[client_id] = at

    def leave(self, client_id: str) -> None:
        self.online.pop(client_id, None)

    def idle_since(self, cutoff: float) -> list[str]:
        return sorted(client for client, seen in self.online.items() if seen < cutoff)
'''

LATIN1_LABELS = (
    "# -*- coding: latin-1 -*-\n"
    '"""Fallback labels for kiosk clients that still send latin-1 (#142)."""\n'
    "\n"
    "# Libellés d'origine : « Déconnecté », « Reconnexion en cours » (ancienne app, café-kiosque)\n"
    "LABELS = {\n"
    '    "disconnected": "Disconnected",\n'
    '    "reconnecting": "Reconnecting",\n'
    "}\n"
).encode("latin-1")


def render_connections(*, sync_manager: bool, cleanup_fixed: bool) -> str:
    lines = _module_header("What happens to live connections when the service stops.")
    if cleanup_fixed:
        lines += ["import asyncio", ""]
    lines += [
        "from acme_service.lifecycle import registry",
        "",
        "from .manager import get_manager",
        "",
        "",
        "async def close_connections() -> int:",
        '    """Close every live connection and return how many there were."""',
        f"    manager = {'' if sync_manager else 'await '}get_manager()",
        "    return await manager.close_all()",
        "",
        "",
    ]
    if cleanup_fixed:
        lines += [
            "def close_connections_blocking() -> int:",
            '    """The registry calls plain functions: run the async close to completion (#318)."""',
            "    return asyncio.run(close_connections())",
            "",
            "",
            "registry.add_cleanup(close_connections_blocking)",
        ]
    else:
        lines.append("registry.add_cleanup(close_connections)")
    return "\n".join([*lines, ""])


def render_app(*, atexit_fixed: bool) -> str:
    lines = [
        *_module_header("Process entry point: logging, and what must run at exit."),
        "import asyncio",
        "import atexit",
        "import logging",
        "",
        "from acme_service.settings import SERVICE_NAME",
        "",
        "log = logging.getLogger(SERVICE_NAME)",
        "",
        "",
        "async def flush_metrics() -> None:",
        '    """Push buffered counters before the process exits."""',
        "    await asyncio.sleep(0)",
        '    log.info("metrics flushed")',
        "",
        "",
    ]
    if atexit_fixed:
        lines += [
            "def flush_metrics_at_exit() -> None:",
            '    """atexit calls plain functions: drive the async flush to completion."""',
            "    asyncio.run(flush_metrics())",
            "",
            "",
            "atexit.register(flush_metrics_at_exit)",
        ]
    else:
        lines.append("atexit.register(flush_metrics)")
    lines += [
        "",
        "",
        "def main() -> None:",
        "    logging.basicConfig(level=logging.INFO)",
        '    log.info("%s starting", SERVICE_NAME)',
        "",
    ]
    return "\n".join(lines)


def render_legacy_core(*, duplicate: bool) -> str:
    doc = "Deprecated home of the websocket layer: import from `acme_service.websocket` instead."
    lines = [*_module_header(doc), "import warnings", ""]
    if duplicate:
        lines.append(
            "from acme_service.websocket.protocol import ConnectionState, broadcast_json, "
            "encode_message"
        )
    else:
        lines += [
            "from acme_service.websocket.manager import WebSocketManager",
            "from acme_service.websocket.protocol import ConnectionState, broadcast_json, "
            "encode_message",
        ]
    lines += [
        "",
        "warnings.warn(",
        '    "acme_service.legacy.websocket_core is deprecated; import from acme_service.websocket",',
        "    DeprecationWarning,",
        "    stacklevel=2,",
        ")",
        "",
        '__all__ = ["ConnectionState", "WebSocketManager", "broadcast_json", "encode_message"]',
        "",
    ]
    if duplicate:
        lines += [
            "",
            "class WebSocketManager:",
            '    """The manager as it was before the websocket package (#187); being retired."""',
            "",
            "    def __init__(self) -> None:",
            "        self.connections: dict[str, bytes] = {}",
            "",
            "    def connected(self) -> list[str]:",
            "        return sorted(self.connections)",
            "",
            "    async def send(self, client_id: str, payload: dict) -> None:",
            "        self.connections[client_id] = encode_message(payload)",
            "",
        ]
    return "\n".join(lines)


def render_bridge(*, duplicate: bool, sync_manager: bool) -> str:
    lines = _module_header("Bridge between the agent runtime and client sockets.")
    if duplicate:
        return "\n".join(
            [
                *lines,
                "",
                "class WebSocketManager:",
                '    """Trimmed copy of the websocket manager for the agent runtime."""',
                "",
                "    def __init__(self) -> None:",
                "        self._clients: dict[str, list[dict]] = {}",
                "",
                "    async def send(self, client_id: str, payload: dict) -> None:",
                "        self._clients.setdefault(client_id, []).append(payload)",
                "",
                "    def connected(self) -> list[str]:",
                "        return sorted(self._clients)",
                "",
                "",
                "bridge_manager = WebSocketManager()",
                "",
                "",
                "async def relay(client_id: str, payload: dict) -> None:",
                "    await bridge_manager.send(client_id, payload)",
                "",
            ]
        )
    manager = "get_manager()" if sync_manager else "(await get_manager())"
    return "\n".join(
        [
            *lines,
            "from acme_service.websocket import get_manager",
            "",
            "",
            "async def relay(client_id: str, payload: dict) -> None:",
            '    """Forward an agent message to one client through the shared manager."""',
            f"    await {manager}.send(client_id, payload)",
            "",
        ]
    )


def _legacy_import(imp: LegacyImport) -> tuple[list[str], list[str]]:
    """The import lines and the helper using them, for one legacy import."""
    absolute = NEW_MODULE if imp.migrated else LEGACY_MODULE
    if imp.form == "from":
        return [f"from {absolute} import WebSocketManager"], [
            "def describe_manager(manager: WebSocketManager) -> str:",
            '    """One-line summary for logs and the admin page."""',
            '    return f"{type(manager).__name__} with {len(manager.connected())} live clients"',
        ]
    if imp.form == "module":
        return [f"import {absolute} as wc"], [
            "def is_open(state: str) -> bool:",
            "    return state == wc.ConnectionState.OPEN",
        ]
    if imp.form == "multiline":
        return [f"from {absolute} import (", "    ConnectionState,", "    broadcast_json,", ")"], [
            "def closing_frame(reason: str) -> str:",
            '    return broadcast_json({"state": ConnectionState.CLOSING, "reason": reason})',
        ]
    relative = "..websocket" if imp.migrated else "..legacy.websocket_core"
    return [f"from {relative} import encode_message"], [
        "def frame(payload: dict) -> bytes:",
        "    return encode_message(payload)",
    ]


def _site(site: CallSite, *, indent: str = "") -> list[str]:
    aw = "" if site.fixed else "await "
    noun = site.noun
    if site.style == "method":
        body = [
            f"async def {site.name}(self, client_id: str, data: dict) -> int:",
            f'    """Send one `{noun}` payload to `client_id`; returns how many this sent so far."""',
            f"    self.manager = {aw}get_manager()",
            f'    await self.manager.send(client_id, {{"type": "{noun}", "data": data}})',
            "    self.sent += 1",
            "    return self.sent",
        ]
    elif site.style == "alias":
        body = [
            f"async def {site.name}() -> int:",
            f'    """How many clients currently receive `{noun}` updates."""',
            f"    manager = {aw}gm()",
            "    return len(manager.connected())",
        ]
    elif site.style == "module":
        body = [
            f'async def {site.name}(client_id: str, reason: str = "{noun} ended") -> None:',
            '    """Tell `client_id` why, then drop its connection."""',
            f"    manager = {aw}wm.get_manager()",
            '    await manager.send(client_id, {"type": "bye", "reason": reason})',
            "    await manager.disconnect(client_id)",
        ]
    elif site.variant % 3 == 0:
        body = [
            f"async def {site.name}(client_id: str, payload: dict) -> dict:",
            f'    """Acknowledge a `{noun}` message from one client."""',
            f"    manager = {aw}get_manager()",
            f'    await manager.send(client_id, {{"type": "{noun}.ack", "id": payload.get("id")}})',
            f'    log.debug("acknowledged {noun} from %s", client_id)',
            f'    return {{"ok": True, "event": "{noun}"}}',
        ]
    elif site.variant % 3 == 1:
        body = [
            f"async def {site.name}(payload: dict, *, exclude: tuple[str, ...] = ()) -> int:",
            f'    """Fan `{noun}` updates out to every connected client but `exclude`."""',
            f"    manager = {aw}get_manager()",
            f'    return await manager.broadcast({{"type": "{noun}", **payload}}, exclude=exclude)',
        ]
    else:
        body = [
            f"async def {site.name}(client_id: str) -> bool:",
            f'    """Connect `client_id` for `{noun}` updates unless it already is."""',
            f"    manager = {aw}get_manager()",
            "    if client_id in manager.connected():",
            "        return False",
            "    await manager.connect(client_id)",
            "    return True",
        ]
    return [indent + line if line else line for line in body]


def render_service_module(module: ServiceModule) -> str:
    styles = {site.style for site in module.sites}
    imports: list[str] = ["import logging", ""]
    first_party: list[str] = []
    helpers: list[list[str]] = []
    if "module" in styles:
        first_party.append("import acme_service.websocket.manager as wm")
    for imp in module.legacy:
        lines, helper = _legacy_import(imp)
        if imp.form == "module":
            first_party += lines
        helpers.append(helper)
    if styles & {"plain", "method"}:
        first_party.append("from acme_service.websocket.manager import get_manager")
    if "alias" in styles:
        first_party.append("from acme_service.websocket.manager import get_manager as gm")
    for imp in module.legacy:
        if imp.form not in ("module", "relative"):
            first_party += _legacy_import(imp)[0]
    relative = [_legacy_import(imp)[0][0] for imp in module.legacy if imp.form == "relative"]
    lines = _module_header(module.title) + imports + first_party
    if relative:
        lines += ["", *relative]
    lines += ["", "log = logging.getLogger(__name__)", ""]
    if module.conflict:
        lines += [
            "<<<<<<< HEAD",
            "STATUS_TTL_SECONDS = 30",
            "=======",
            "STATUS_TTL_SECONDS = 60",
            ">>>>>>> fix/status-ttl",
            "",
        ]
    if module.todo:
        lines += [f"# TODO: {module.todo}"]
    blocks: list[list[str]] = [*helpers]
    blocks += [_site(site) for site in module.sites if site.style != "method"]
    methods = [site for site in module.sites if site.style == "method"]
    if methods:
        cls = [
            f"class {module.class_name}:",
            '    """Sends for one feature and keeps the manager it used last (handy in tests)."""',
            "",
            "    def __init__(self) -> None:",
            "        self.manager = None",
            "        self.sent = 0",
        ]
        for site in methods:
            cls += ["", *_site(site, indent="    ")]
        blocks.append(cls)
    for block in blocks:
        lines += ["", *block, ""]
    return "\n".join(lines).replace("\n\n\n\n", "\n\n\n") + "\n"


FILLER_NOUNS = [
    "invoice",
    "ledger",
    "order",
    "refund",
    "coupon",
    "product",
    "price",
    "stock",
    "warehouse",
    "parcel",
    "carrier",
    "customer",
    "account",
    "profile",
    "session",
    "token",
    "report",
    "chart",
    "metric",
    "event",
    "schedule",
    "slot",
    "reminder",
    "payment",
    "payout",
    "subscription",
    "plan",
    "quota",
    "tenant",
    "team",
    "member",
    "role",
    "permission",
    "webhook",
    "batch",
    "audit_entry",
    "tag",
    "note",
    "comment",
    "attachment",
]
FILLER_KINDS = [
    "sync",
    "export",
    "rules",
    "cache",
    "queries",
    "models",
    "views",
    "tasks",
    "api",
    "client",
    "schema",
    "filters",
    "jobs",
    "hooks",
    "policies",
    "metrics",
    "forms",
    "serializers",
    "validators",
    "store",
]
FILLER_DOMAINS = [
    "billing",
    "catalog",
    "accounts",
    "search",
    "inventory",
    "shipping",
    "analytics",
    "reporting",
    "scheduling",
    "payments",
]
FILLER_AREAS = [
    "core",
    "admin",
    "internal",
    "public",
    "batch",
    "partners",
    "mobile",
    "legacy_api",
    "v2",
    "ops",
]
_KIND_VERBS = {
    "sync": "sync",
    "export": "export",
    "rules": "apply",
    "cache": "warm",
    "queries": "load",
    "models": "build",
    "views": "render",
    "tasks": "run",
    "api": "list",
    "client": "fetch",
    "schema": "validate",
    "filters": "filter",
    "jobs": "schedule",
    "hooks": "dispatch",
    "policies": "check",
    "metrics": "count",
    "forms": "clean",
    "serializers": "serialize",
    "validators": "validate",
    "store": "save",
}
# What the record class of each kind of filler module is called (distinct per kind).
FILLER_CLASS_SUFFIX = {
    "sync": "SyncState",
    "export": "ExportRow",
    "rules": "Rule",
    "cache": "CacheEntry",
    "queries": "Row",
    "models": "Model",
    "views": "ViewModel",
    "tasks": "Task",
    "api": "Resource",
    "client": "Payload",
    "schema": "Schema",
    "filters": "Filter",
    "jobs": "Job",
    "hooks": "Event",
    "policies": "Policy",
    "metrics": "Sample",
    "forms": "FormData",
    "serializers": "Data",
    "validators": "Input",
    "store": "StoredItem",
}
_FILLER_HELPERS = (
    (
        "def summarize_{nouns}(items: list[{cls}]) -> dict[str, int]:",
        '    """Counts per tag, for the {domain} dashboard."""',
        "    counts: dict[str, int] = {{}}",
        "    for item in items:",
        "        for tag in item.tags:",
        "            counts[tag] = counts.get(tag, 0) + 1",
        "    return counts",
    ),
    (
        "def find_{noun}(items: list[{cls}], name: str) -> {cls} | None:",
        "    return next((item for item in items if item.name == name), None)",
    ),
    (
        "def {noun}_names(items: list[{cls}]) -> list[str]:",
        '    """Names in display order, duplicates dropped."""',
        "    return sorted({{item.name for item in items}})",
    ),
    (
        "def group_{nouns}_by_tag(items: list[{cls}]) -> dict[str, list[int]]:",
        "    groups: dict[str, list[int]] = {{}}",
        "    for item in items:",
        "        for tag in item.tags or ['untagged']:",
        "            groups.setdefault(tag, []).append(item.id)",
        "    return groups",
    ),
)


def _plural(noun: str) -> str:
    if noun.endswith("y"):
        return noun[:-1] + "ies"
    return noun + ("es" if noun.endswith(("ch", "sh", "s", "x")) else "s")


def render_filler(module: FillerModule) -> str:
    noun, kind, domain = module.noun, module.kind, module.domain
    nouns = _plural(noun)
    cls = module.class_name
    verb = _KIND_VERBS[kind]
    lines = _module_header(f"{noun.replace('_', ' ').title()} {kind} for the {domain} domain.")
    lines += ["import logging", "from dataclasses import dataclass, field", ""]
    if module.legacy:
        source = NEW_MODULE if module.legacy_migrated else LEGACY_MODULE
        lines.append(f"from {source} import ConnectionState")
    if module.await_sites:
        lines.append("from acme_service.websocket.manager import get_manager")
    if module.legacy or module.await_sites:
        lines.append("")
    page = 50 + 25 * (module.revision % 4)
    lines += [
        "log = logging.getLogger(__name__)",
        "",
        f"PAGE_SIZE = {page}",
        "",
        "",
        "@dataclass",
        f"class {cls}:",
        f'    """One {noun.replace("_", " ")} as the {domain} {kind} code sees it."""',
        "",
        "    id: int",
        "    name: str",
        "    tags: list[str] = field(default_factory=list)",
        "",
        "",
        f"def {verb}_{nouns}(items: list[{cls}], *, limit: int = PAGE_SIZE) -> list[{cls}]:",
        f'    """{verb.title()} {nouns.replace("_", " ")}, newest first."""',
    ]
    if module.todo:
        lines.append(f"    # TODO: page through {domain} results instead of slicing")
    lines += [
        "    ordered = sorted(items, key=lambda item: item.id, reverse=True)",
        f'    log.debug("{verb} %d {nouns}", len(ordered))',
        "    return ordered[:limit]",
    ]
    if module.legacy:
        lines += [
            "",
            "",
            f"def {noun}_channel_state(is_open: bool) -> str:",
            "    return ConnectionState.OPEN if is_open else ConnectionState.CLOSED",
        ]
    aw = "" if module.awaits_fixed else "await "
    if module.await_sites >= 1:
        lines += [
            "",
            "",
            f"async def notify_{noun}_changed(item: {cls}) -> None:",
            f'    """Tell connected dashboards that a {noun.replace("_", " ")} changed."""',
            f"    manager = {aw}get_manager()",
            f'    await manager.broadcast({{"type": "{noun}.changed", "id": item.id}})',
        ]
    if module.await_sites >= 2:
        lines += [
            "",
            "",
            f"async def notify_{noun}_removed(item_id: int) -> int:",
            f"    manager = {aw}get_manager()",
            f'    return await manager.broadcast({{"type": "{noun}.removed", "id": item_id}})',
        ]
    for index in range(module.revision):
        helper = _FILLER_HELPERS[index % len(_FILLER_HELPERS)]
        text = "\n".join(helper).format(noun=noun, nouns=nouns, cls=cls, domain=domain)
        if index >= len(_FILLER_HELPERS):
            text = text.replace("(", f"_v{index // len(_FILLER_HELPERS) + 1}(", 1)
        lines += ["", "", text]
    return "\n".join([*lines, ""])


def render_package_init(doc: str) -> str:
    return f'"""{doc}"""\n'


FLOW_DOCS = {
    "connect": "Accepting a client: ids, handshake headers, origins and limits.",
    "subscribe": "Topic subscriptions of connected clients.",
    "messaging": "Text messages: framing, chunking and ordering.",
    "reconnect": "Reconnecting clients: backoff, retry policy and resuming.",
    "auth": "Bearer tokens on the socket handshake.",
    "shutdown": "Draining connections when the service stops.",
}
FLOW_CONSTANTS = {"connect": ['PROTOCOL = "acme.v2"']}

FLOW_STEPS = (
    FlowStep(
        "connect",
        "normalize_client_id",
        "(raw: str) -> str",
        "Client ids are case-insensitive and sent with stray whitespace.",
        "return raw.strip().lower()",
        "return raw.strip()",
        'assert normalize_client_id("  Alice-01 ") == "alice-01"',
        marked=True,
    ),
    FlowStep(
        "connect",
        "handshake_headers",
        "(token: str) -> dict[str, str]",
        "Headers the client must send on the upgrade request.",
        'return {"Authorization": f"Bearer {token}", "Sec-WebSocket-Protocol": PROTOCOL}',
        'return {"Authorization": token}',
        'headers = handshake_headers("t0k")\n'
        'assert headers["Authorization"] == "Bearer t0k"\n'
        'assert headers["Sec-WebSocket-Protocol"] == "acme.v2"',
    ),
    FlowStep(
        "connect",
        "accept_origin",
        "(origin: str, allowed: list[str]) -> bool",
        "Browsers may send the origin with a trailing slash.",
        'return origin.rstrip("/") in allowed',
        "return origin in allowed",
        'assert accept_origin("https://app.example.com/", ["https://app.example.com"])',
    ),
    FlowStep(
        "connect",
        "connection_limit_reached",
        "(current: int, limit: int) -> bool",
        "Whether a new client must be turned away.",
        "return current >= limit",
        "return current > limit",
        "assert connection_limit_reached(100, 100)",
    ),
    FlowStep(
        "subscribe",
        "topic_key",
        "(room: str, kind: str) -> str",
        "The key a room's topic is stored under.",
        'return f"{room}:{kind}".lower()',
        'return f"{room}/{kind}"',
        'assert topic_key("Lobby", "Chat") == "lobby:chat"',
        marked=True,
    ),
    FlowStep(
        "subscribe",
        "add_subscription",
        "(subs: dict[str, set[str]], topic: str, client_id: str) -> int",
        "Subscribe a client; returns the topic's subscriber count.",
        "subs.setdefault(topic, set()).add(client_id)\nreturn len(subs[topic])",
        "subs[topic] = {client_id}\nreturn 1",
        'subs: dict[str, set[str]] = {}\nadd_subscription(subs, "news", "a")\n'
        'assert add_subscription(subs, "news", "b") == 2',
    ),
    FlowStep(
        "subscribe",
        "remove_subscription",
        "(subs: dict[str, set[str]], topic: str, client_id: str) -> bool",
        "Unsubscribe a client; False if it was not subscribed.",
        "members = subs.get(topic, set())\nif client_id not in members:\n    return False\n"
        "members.discard(client_id)\nif not members:\n    subs.pop(topic)\nreturn True",
        "subs[topic].remove(client_id)\nreturn True",
        'assert remove_subscription({}, "news", "a") is False',
    ),
    FlowStep(
        "subscribe",
        "subscribers",
        "(subs: dict[str, set[str]], topic: str) -> list[str]",
        "Subscribers of a topic in a stable order.",
        "return sorted(subs.get(topic, ()))",
        "return list(subs.get(topic, ()))[:1]",
        'assert subscribers({"news": {"b", "a"}}, "news") == ["a", "b"]',
    ),
    FlowStep(
        "messaging",
        "encode_text",
        "(text: str) -> dict",
        "The payload of a text message.",
        'return {"type": "text", "body": text.strip()}',
        'return {"type": "text", "body": text}',
        'assert encode_text(" hi ")["body"] == "hi"',
        marked=True,
    ),
    FlowStep(
        "messaging",
        "chunk_payload",
        "(data: bytes, size: int) -> list[bytes]",
        "Split a payload into frames of at most `size` bytes.",
        "return [data[i : i + size] for i in range(0, len(data), size)]",
        "return [data[i : i + size] for i in range(0, len(data) - size, size)]",
        'assert b"".join(chunk_payload(b"abcdefg", 3)) == b"abcdefg"',
    ),
    FlowStep(
        "messaging",
        "sequence_ok",
        "(previous: int, current: int) -> bool",
        "Whether a message arrived in order.",
        "return current == previous + 1",
        "return current >= previous",
        "assert not sequence_ok(4, 4)",
    ),
    FlowStep(
        "messaging",
        "truncate_preview",
        "(text: str, limit: int = 20) -> str",
        "The notification preview of a long message.",
        'return text if len(text) <= limit else text[: limit - 1] + "…"',
        "return text[:limit]",
        'assert truncate_preview("x" * 30, 10) == "x" * 9 + "…"',
    ),
    FlowStep(
        "reconnect",
        "backoff_delay",
        "(attempt: int, base: float = 0.5, cap: float = 30.0) -> float",
        "Seconds to wait before reconnect attempt `attempt`.",
        "return min(cap, base * 2**attempt)",
        "return base * 2**attempt",
        "assert backoff_delay(10) == 30.0",
        marked=True,
    ),
    FlowStep(
        "reconnect",
        "should_retry",
        "(status: int) -> bool",
        "Whether a close code is worth reconnecting after.",
        "return status in (1001, 1006, 1011, 1012, 1013)",
        "return status != 1000",
        "assert not should_retry(1008)",
    ),
    FlowStep(
        "reconnect",
        "resume_token",
        "(session_id: str, last_seq: int) -> str",
        "What a client sends to resume where it left off.",
        'return f"{session_id}:{last_seq}"',
        "return session_id",
        'assert resume_token("s1", 42) == "s1:42"',
    ),
    FlowStep(
        "reconnect",
        "missed_messages",
        "(log: list[int], last_seq: int) -> list[int]",
        "Messages to replay after a resume.",
        "return [seq for seq in log if seq > last_seq]",
        "return [seq for seq in log if seq >= last_seq]",
        "assert missed_messages([1, 2, 3, 4], 2) == [3, 4]",
    ),
    FlowStep(
        "auth",
        "parse_bearer",
        "(header: str) -> str | None",
        "The token of an Authorization header, None unless it is a bearer token.",
        'scheme, _, token = header.partition(" ")\n'
        'if scheme.lower() != "bearer" or not token:\n    return None\nreturn token.strip()',
        'return header.removeprefix("Bearer ")',
        'assert parse_bearer("Basic abc") is None',
        marked=True,
    ),
    FlowStep(
        "auth",
        "token_expired",
        "(expires_at: float, now: float, leeway: float = 30.0) -> bool",
        "Expiry with some leeway for clock skew between services.",
        "return now > expires_at + leeway",
        "return now > expires_at",
        "assert not token_expired(1000.0, 1010.0)",
    ),
    FlowStep(
        "auth",
        "scopes_allow",
        "(granted: set[str], needed: str) -> bool",
        "Whether granted scopes cover `needed`; admin covers everything.",
        'return needed in granted or "admin" in granted',
        "return needed in granted",
        'assert scopes_allow({"admin"}, "rooms:write")',
    ),
    FlowStep(
        "auth",
        "mask_token",
        "(token: str) -> str",
        "A token as it may appear in logs.",
        'return token[:4] + "*" * max(0, len(token) - 4)',
        "return token",
        'assert mask_token("abcdefgh") == "abcd****"',
    ),
    FlowStep(
        "shutdown",
        "drain_order",
        "(clients: dict[str, int]) -> list[str]",
        "Close the least busy clients first.",
        "return sorted(clients, key=lambda client: (clients[client], client))",
        "return list(clients)",
        'assert drain_order({"a": 3, "b": 1, "c": 2}) == ["b", "c", "a"]',
        marked=True,
    ),
    FlowStep(
        "shutdown",
        "close_code",
        "(reason: str) -> int",
        "The close code sent to clients for a shutdown reason.",
        'return {"restart": 1012, "overload": 1013}.get(reason, 1001)',
        "return 1000",
        'assert close_code("restart") == 1012',
    ),
    FlowStep(
        "shutdown",
        "grace_period",
        "(active: int, per_client: float = 0.05, cap: float = 10.0) -> float",
        "Seconds to wait for clients to leave on their own.",
        "return min(cap, active * per_client)",
        "return active * per_client",
        "assert grace_period(1000) == 10.0",
    ),
    FlowStep(
        "shutdown",
        "farewell",
        "(reason: str) -> dict",
        "The last message every client receives.",
        'return {"type": "server.closing", "reason": reason, "reconnect": reason == "restart"}',
        'return {"type": "server.closing"}',
        'assert farewell("restart")["reconnect"] is True',
    ),
)
FLOWS = tuple(dict.fromkeys(step.flow for step in FLOW_STEPS))


def _indent(text: str, prefix: str = "    ") -> list[str]:
    return [prefix + line for line in text.splitlines()]


def render_flow_module(flow: str, buggy: frozenset[str]) -> str:
    lines = _module_header(FLOW_DOCS[flow])
    constants = FLOW_CONSTANTS.get(flow, [])
    if constants:
        lines += [*constants, ""]
    for step in FLOW_STEPS:
        if step.flow != flow:
            continue
        body = step.buggy if step.key in buggy else step.correct
        lines += ["", f"def {step.name}{step.signature}:", f'    """{step.doc}"""']
        lines += [*_indent(body), ""]
    return "\n".join(lines)


def render_flow_test(flow: str) -> str:
    steps = [step for step in FLOW_STEPS if step.flow == flow]
    names = ", ".join(step.name for step in steps)
    lines = [f'"""Golden path: the {flow} flow, end to end."""', ""]
    if flow == "reconnect":
        lines += ["import os", "import random", ""]
    lines += ["import pytest", "", f"from acme_service.flows.{flow} import {names}", ""]
    for step in steps:
        lines.append("")
        if step.marked:
            lines.append("@pytest.mark.golden_path")
        lines += [f"def test_{step.name}():", *_indent(step.test), ""]
    if flow == "reconnect":
        lines += [
            "",
            "def test_backoff_with_jitter_stays_under_budget():",
            '    run = int(os.environ.get("HEALTHTUI_DEMO_RUN", "1"))',
            "    jitter = random.Random(run).random()",
            "    assert backoff_delay(3) * (1 + jitter) < 6.0",
            "",
        ]
    return "\n".join(lines)


HANDLER_TESTS = '''\
"""Golden path: a client message goes through the real handlers to the manager."""

import asyncio

import pytest

from acme_service.handlers import chat, presence
from acme_service.services import notifications


@pytest.mark.golden_path
def test_chat_message_is_acknowledged():
    result = asyncio.run(chat.on_message("client-1", {"id": 7, "text": "hi"}))
    assert result == {"ok": True, "event": "message"}


def test_presence_counts_listeners():
    assert asyncio.run(presence.count_join_listeners()) >= 0


def test_notification_session_closes():
    asyncio.run(notifications.close_user_session("client-1"))


def test_chat_service_sends_direct_message():
    assert asyncio.run(chat.ChatService().push_direct("client-2", {"text": "hi"})) == 1
'''

LOGIN_TEST = '''\
"""Login frames survive the wire format."""

import json

import pytest

from acme_service.websocket.protocol import encode_message


@pytest.mark.golden_path
def test_login_frame_round_trips():
    frame = encode_message({"type": "login", "token": "t0k"})
    assert json.loads(frame) == {"type": "login", "token": "t0k"}


def test_login_frame_is_compact():
    assert b" " not in encode_message({"type": "login", "token": "t0k"})
'''

LIFECYCLE_TEST = '''\
"""The cleanup registry runs every shutdown hook."""

import acme_service.websocket.connections  # noqa: F401  (registers its cleanup)
from acme_service.lifecycle import registry


def test_cleanups_run():
    results = registry.run_cleanups()
    assert len(results) >= 1
'''

PRESENCE_TEST = '''\
"""Presence tracking."""

from acme_service.services.presence import PresenceTracker


def test_join_then_leave():
    tracker = PresenceTracker()
    tracker.join("a", at=10.0)
    tracker.leave("a")
    assert tracker.online == {}


def test_idle_clients_are_listed_in_order():
    tracker = PresenceTracker()
    tracker.join("b", at=1.0)
    tracker.join("a", at=2.0)
    tracker.join("c", at=50.0)
    assert tracker.idle_since(10.0) == ["a", "b"]
'''

SCALABILITY_TEST = '''\
"""Fan-out with many simulated clients."""

import asyncio

import pytest

from acme_service.websocket.manager import WebSocketManager


@pytest.mark.scalability
def test_broadcast_reaches_a_thousand_clients():
    manager = WebSocketManager()

    async def scenario() -> int:
        for n in range(1000):
            await manager.connect(f"client-{n}")
        return await manager.broadcast({"type": "ping"})

    assert asyncio.run(scenario()) == 1000
'''

SETTINGS_TEST = '''\
"""Settings sanity checks, run first in CI."""

import pytest

from acme_service import settings


class TestSettings:
    pytestmark = pytest.mark.smoke

    def test_connection_limit_is_positive(self):
        assert settings.MAX_CONNECTIONS > 0

    def test_deprecations_name_their_replacement(self):
        for old, new in settings.DEPRECATED_IMPORTS.items():
            assert old != new
'''


def render_protocol_test(*, edge_cases: bool) -> str:
    lines = [
        '"""Message framing and connection states."""',
        "",
        "import json",
        "",
        "import pytest",
        "",
        "from acme_service.websocket.protocol import ConnectionState, broadcast_json, "
        "encode_message",
        "",
        "",
        "def test_encode_is_compact_and_sorted():",
        """    assert encode_message({"b": 1, "a": 2}) == b'{"a":2,"b":1}'""",
        "",
        "",
        "def test_broadcast_frame_is_flagged():",
        '    assert json.loads(broadcast_json({"type": "ping"}))["broadcast"] is True',
        "",
        "",
        "def test_states_are_wire_strings():",
        '    assert ConnectionState.OPEN == "open"',
        "",
    ]
    if edge_cases:
        lines += [
            "",
            "@pytest.mark.parametrize(",
            '    "payload",',
            "    [",
            '        {"type": "ping"},',
            '        pytest.param({"text": "ünïcödé"}, id="unicode"),',
            '        pytest.param({"deep": {"er": [1, 2, 3]}}, marks=pytest.mark.edge_case, id="nested"),',
            "    ],",
            ")",
            "def test_encode_round_trips(payload):",
            "    assert json.loads(encode_message(payload)) == payload",
            "",
        ]
    return "\n".join(lines)


def render_models_test(extra: int) -> str:
    lines = [
        '"""The manager\'s bookkeeping, exercised without a network."""',
        "",
        "import asyncio",
        "",
        "import pytest",
        "",
        "from acme_service.websocket.manager import WebSocketManager",
        "",
        "pytestmark = [pytest.mark.slow]",
        "",
        "",
        "async def _connect(manager: WebSocketManager, count: int) -> None:",
        "    for n in range(count):",
        '        await manager.connect(f"client-{n}")',
        "",
        "",
        "def test_broadcast_skips_excluded_clients():",
        "    manager = WebSocketManager()",
        "    asyncio.run(_connect(manager, 2))",
        '    assert asyncio.run(manager.broadcast({"type": "ping"}, exclude=["client-1"])) == 1',
        """    assert manager.sent_to("client-0") == [b'{"type":"ping"}']""",
        "",
    ]
    for index in range(extra):
        count = 2 + 3 * index
        lines += [
            "",
            f"def test_close_all_after_{count}_clients():",
            "    manager = WebSocketManager()",
            f"    asyncio.run(_connect(manager, {count}))",
            f"    assert asyncio.run(manager.close_all()) == {count}",
            "    assert manager.connected() == []",
            "",
        ]
    return "\n".join(lines)


def render_conftest(*, scalability_registered: bool) -> str:
    lines = [
        '"""Shared fixtures and pytest configuration."""',
        "",
        "import pytest",
        "",
        "",
        "def pytest_configure(config: pytest.Config) -> None:",
        "    try:",
        "        from pytest_metadata.plugin import metadata_key",
        "    except ImportError:",
        "        pass",
        "    else:",
        "        # pytest-json-report 1.5 reads the old attribute; pytest-metadata 3 uses the stash.",
        "        config._metadata = config.stash.get(metadata_key, {})",
    ]
    if scalability_registered:
        lines += [
            "    config.addinivalue_line(",
            '        "markers", "scalability: fan-out tests with many simulated clients"',
            "    )",
        ]
    lines += [
        "",
        "",
        "@pytest.fixture",
        "def client_id() -> str:",
        '    return "client-1"',
        "",
    ]
    return "\n".join(lines)


MARKER_TEXT = {
    "slow": "tests that take more than a second",
    "integration": "tests that exercise several components together",
    "golden_path": "the end-to-end flows every release must pass",
    "edge_case": "unusual payloads and inputs",
    "smoke": "quick checks run before everything else",
}


def render_pyproject(*, markers: tuple[str, ...], version: str) -> str:
    entries = "".join(f'    "{name}: {MARKER_TEXT[name]}",\n' for name in markers)
    return (
        "[project]\n"
        'name = "acme-service"\n'
        f'version = "{version}"\n'
        'description = "Real-time notifications over WebSockets."\n'
        'requires-python = ">=3.11"\n'
        "\n"
        "[tool.pytest.ini_options]\n"
        'addopts = "--strict-markers"\n'
        'pythonpath = ["."]\n'
        'testpaths = ["tests"]\n'
        f"markers = [\n{entries}]\n"
    )


def render_export_script(*, python3: bool) -> str:
    last = (
        '    print(f"exported {len(rows)} rooms", file=sys.stderr)'
        if python3
        else '    print "exported %d rooms" % len(rows)'
    )
    return "\n".join(
        [
            '"""Dump per-room connection counts as CSV (ported from the old ops scripts)."""',
            "",
            "import csv",
            "import sys",
            "",
            "",
            "def main(rows):",
            "    writer = csv.writer(sys.stdout)",
            "    for room, count in rows:",
            "        writer.writerow([room, count])",
            last,
            "",
        ]
    )


README = """\
# acme-service

Real-time notifications over WebSockets: chat, presence and live dashboards.

```
pip install -e .
pytest
```

See `docs/` for the architecture notes and the runbook.
"""

GITIGNORE = "__pycache__/\n*.pyc\n.pytest_cache/\n.venv/\n"

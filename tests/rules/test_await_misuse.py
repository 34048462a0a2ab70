"""`await_misuse`: `await` on a call that resolves to a plain `def`, or on a known-sync name."""

from __future__ import annotations

from tests.rules.trees import engine, evaluate, found, lines

WS = """\
from typing import Awaitable
import functools


def get_manager():
    return 1


async def aget_manager():
    return 2


def future_manager() -> Awaitable[int]:
    return schedule()


def quoted_future() -> "asyncio.Future[int]":
    return schedule()


@functools.lru_cache
def cached_manager():
    return 3


@register_somewhere
def decorated_manager():
    return 4


class Manager:
    def close(self):
        pass

    async def aclose(self):
        pass

    @staticmethod
    def build():
        return Manager()
"""


def tree(handler: str, **extra: str) -> dict[str, str]:
    return {"app/__init__.py": "", "app/ws.py": WS, "app/handler.py": handler, **extra}


def test_every_import_form_resolves_to_the_sync_def():
    handler = """\
import app.ws
import app.ws as w
from app.ws import get_manager as gm
from app import ws
from . import ws as rel_ws
from .ws import get_manager


async def handle():
    await app.ws.get_manager()
    await w.get_manager()
    await gm()
    await ws.get_manager()
    await rel_ws.get_manager()
    await get_manager()
"""
    ev = evaluate(tree(handler))
    assert lines(ev, "await_misuse") == [("app/handler.py", n) for n in range(10, 16)]
    assert {f.detail for f in found(ev, "await_misuse")} == {"resolved"}
    assert found(ev, "await_misuse")[0].message == "await on sync function app.ws.get_manager"
    assert ev.metrics["await_misuse"] == 6
    assert ev.metrics["await_misuse.files"] == 1


def test_async_defs_awaitable_annotations_and_classes_are_not_findings():
    handler = """\
from app.ws import aget_manager, future_manager, quoted_future, Manager
from app import ws


async def handle():
    await aget_manager()
    await future_manager()
    await quoted_future()
    await ws.aget_manager()
    await Manager()
"""
    ev = evaluate(tree(handler))
    assert found(ev, "await_misuse") == []
    assert ev.metrics["await_misuse"] == 0


def test_transparent_decorators_keep_a_def_sync_others_make_it_unknown():
    handler = """\
from app.ws import cached_manager, decorated_manager, Manager


async def handle():
    await cached_manager()
    await decorated_manager()
    await Manager.build()
"""
    ev = evaluate(tree(handler))
    assert lines(ev, "await_misuse") == [("app/handler.py", 5), ("app/handler.py", 7)]


def test_self_cls_and_super_methods_resolve_through_in_file_and_imported_bases():
    handler = """\
from app.ws import Manager


class Local:
    def sync(self):
        pass

    async def run(self):
        await self.sync()


class Child(Manager):
    async def close(self):
        await super().close()
        await self.aclose()
        await self.close()

    @classmethod
    async def make(cls):
        await cls.build()
"""
    ev = evaluate(tree(handler))
    assert lines(ev, "await_misuse") == [
        ("app/handler.py", 9),
        ("app/handler.py", 14),
        ("app/handler.py", 20),
    ]


def test_module_function_via_reexport_in_a_package_init_and_src_layout():
    files = {
        "src/acme/__init__.py": "from .ws import get_manager\n",
        "src/acme/ws.py": "def get_manager():\n    return 1\n",
        "src/acme/views.py": (
            "import acme\nfrom acme import get_manager\n\n"
            "async def view():\n    await get_manager()\n    await acme.get_manager()\n"
        ),
    }
    ev = evaluate(files)
    assert lines(ev, "await_misuse") == [("src/acme/views.py", 5), ("src/acme/views.py", 6)]


def test_locals_parameters_and_instances_shadow_or_hide_the_callee():
    handler = """\
from app.ws import get_manager


async def param(get_manager):
    await get_manager()


async def local():
    get_manager = make()
    await get_manager()


async def instance():
    m = Manager()
    await m.close()


async def nested():
    def helper():
        return 1
    await helper()
"""
    ev = evaluate(tree(handler))
    assert lines(ev, "await_misuse") == [("app/handler.py", 21)]


def test_known_sync_names_flag_unresolved_calls_name_only():
    handler = """\
import external


async def handle(client):
    await client.get_manager()
    await external.get_manager()
    await external.other()
    await unknown_function()
"""
    ev = evaluate(tree(handler, **{"app/ws.py": ""}), known_sync=("get_manager",))
    assert lines(ev, "await_misuse") == [("app/handler.py", 5), ("app/handler.py", 6)]
    assert {f.detail for f in found(ev, "await_misuse")} == {"name-only"}
    assert found(ev, "await_misuse")[1].message == "await on known-sync external.get_manager"
    assert lines(evaluate(tree(handler, **{"app/ws.py": ""})), "await_misuse") == []


def test_dotted_known_sync_matches_the_end_of_the_qualified_name():
    handler = (
        "import ws\n\nasync def h(x):\n    await ws.get_manager()\n    await x.get_manager()\n"
    )
    ev = evaluate({"h.py": handler}, known_sync=("ws.get_manager",))
    assert lines(ev, "await_misuse") == [("h.py", 4)]


def test_resolution_wins_over_the_known_sync_list():
    handler = "from app.ws import aget_manager as get_manager\n\nasync def h():\n    await get_manager()\n"
    ev = evaluate(tree(handler), known_sync=("get_manager",))
    assert found(ev, "await_misuse") == []


def test_ambiguous_module_names_do_not_resolve():
    files = {
        "one/ws.py": "def get():\n    pass\n",
        "two/ws.py": "async def get():\n    pass\n",
        "h.py": "import ws\n\nasync def h():\n    await ws.get()\n",
    }
    assert found(evaluate(files), "await_misuse") == []
    files["two/ws.py"] = "def get():\n    pass\n"
    assert lines(evaluate(files), "await_misuse") == [("h.py", 4)]


def test_awaits_in_comments_strings_and_outside_calls_are_not_sites():
    handler = '''\
from app.ws import get_manager

# await get_manager()
DOC = "await get_manager()"


async def handle():
    """await get_manager() in a docstring"""
    x = get_manager
    await x
'''
    assert found(evaluate(tree(handler)), "await_misuse") == []


def test_awaits_inside_try_with_match_and_lambdas_defaults_are_found():
    handler = """\
from app.ws import get_manager


async def handle(value):
    try:
        await get_manager()
    except Exception:
        await get_manager()
    finally:
        await get_manager()
    async with ctx() as c:
        await get_manager()
    match value:
        case 1:
            await get_manager()
    for _ in range(2):
        await get_manager()
    while False:
        await get_manager()
    return [await get_manager() for _ in range(1)]
"""
    got = [line for _, line in lines(evaluate(tree(handler)), "await_misuse")]
    assert got == [6, 8, 10, 12, 15, 17, 19, 20]


def test_column_counts_characters_not_bytes():
    handler = "from app.ws import get_manager\n\nasync def h():\n    é = 1; await get_manager()\n"
    (f,) = found(evaluate(tree(handler)), "await_misuse")
    assert (f.line, f.col) == (4, 12)
    assert f.text == "é = 1; await get_manager()"


def test_a_change_to_the_callee_file_updates_the_callers_findings():
    eng_files = tree("from app.ws import get_manager\n\nasync def h():\n    await get_manager()\n")
    eng = engine()
    ev = eng.evaluator()
    for path, text in eng_files.items():
        ev.update(path, eng.extract("python", text.encode()))
    assert lines(ev.result(), "await_misuse") == [("app/handler.py", 4)]
    ev.update("app/ws.py", eng.extract("python", b"async def get_manager():\n    pass\n"))
    second = ev.result()
    assert found(second, "await_misuse") == []
    assert second.changed_paths == {"app/handler.py"}
    ev.update("app/ws.py", None)
    assert found(ev.result(), "await_misuse") == []

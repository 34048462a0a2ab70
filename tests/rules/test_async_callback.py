"""`async_callback`: an `async def` handed uncalled to a registrar that calls it synchronously."""

from __future__ import annotations

from tests.rules.trees import evaluate, found, lines

JOBS = """\
async def cleanup():
    pass


def sync_cleanup():
    pass


class Service:
    async def stop(self):
        pass

    def halt(self):
        pass
"""


def tree(main: str) -> dict[str, str]:
    return {"app/__init__.py": "", "app/jobs.py": JOBS, "app/main.py": main}


def test_default_registrars_flag_async_functions_only():
    main = """\
import atexit
import signal
from app.jobs import cleanup, sync_cleanup
from app import jobs

atexit.register(cleanup)
atexit.register(sync_cleanup)
signal.signal(signal.SIGTERM, cleanup)
signal.signal(signal.SIGINT, jobs.sync_cleanup)


def wire(fut, loop, request, case):
    fut.add_done_callback(jobs.cleanup)
    loop.call_soon(cleanup)
    loop.call_later(1, callback=cleanup)
    request.addfinalizer(cleanup)
    request.addfinalizer(sync_cleanup)
    case.add_cleanup(cleanup)
"""
    ev = evaluate(tree(main))
    assert lines(ev, "async_callback") == [("app/main.py", n) for n in (6, 8, 13, 14, 15, 16, 18)]
    first = found(ev, "async_callback")[0]
    assert first.message == (
        "async function app.jobs.cleanup passed to atexit.register (never awaited)"
    )
    assert first.col == 17
    assert ev.metrics["async_callback"] == 7


def test_registrar_aliases_decorators_lambdas_and_partials():
    main = """\
import atexit as ae
import functools
from atexit import register as at_exit
from app.jobs import cleanup

ae.register(cleanup)
at_exit(cleanup)
ae.register(lambda: cleanup())
ae.register(functools.partial(cleanup, 1))


@ae.register
async def on_exit():
    pass


@at_exit
def fine():
    pass
"""
    ev = evaluate(tree(main))
    assert lines(ev, "async_callback") == [("app/main.py", n) for n in (6, 7, 8, 9, 12)]


def test_bound_methods_through_self_and_inherited_from_imported_classes():
    main = """\
from app.jobs import Service


class Case(Service):
    def setUp(self):
        self.add_cleanup(self.stop)
        self.add_cleanup(self.halt)

    def fixture(self, request):
        request.addfinalizer(self.stop)
"""
    assert lines(evaluate(tree(main)), "async_callback") == [
        ("app/main.py", 6),
        ("app/main.py", 10),
    ]


def test_called_coroutines_unresolved_names_and_unlisted_registrars_are_not_findings():
    main = """\
import atexit
from app.jobs import cleanup


def wire(loop, thing, callback):
    loop.call_soon(cleanup())
    atexit.register(callback)
    atexit.register(thing.cleanup)
    thing.subscribe(cleanup)
    thing.register(cleanup)
"""
    assert found(evaluate(tree(main)), "async_callback") == []


def test_registrars_are_configurable():
    main = "from app.jobs import cleanup\n\ndef wire(bus):\n    bus.subscribe(cleanup)\n"
    ev = evaluate(tree(main), sync_registrars=("subscribe",))
    assert lines(ev, "async_callback") == [("app/main.py", 4)]
    ev = evaluate(tree(main), sync_registrars=("other.subscribe",))
    assert found(ev, "async_callback") == []


def test_threads_and_executors_call_their_target_synchronously():
    main = """\
import asyncio
import threading
from app.jobs import cleanup


def run(loop):
    threading.Thread(target=cleanup).start()
    loop.run_in_executor(None, cleanup)
    asyncio.to_thread(cleanup)
"""
    assert lines(evaluate(tree(main)), "async_callback") == [
        ("app/main.py", 7),
        ("app/main.py", 8),
        ("app/main.py", 9),
    ]


def test_a_registrar_imported_under_another_name_is_found_in_a_with_inside_a_def():
    """`y(...)` names no registrar, and a def holding only it is still looked into."""
    src = (
        "import call_soon as cs\nimport atexit.register as r\n\n"
        "async def g():\n    pass\n\n"
        "def f():\n    with cs(g):\n        pass\n\n"
        "def h():\n    with r(g):\n        pass\n"
    )
    assert lines(evaluate({"app/m.py": src}), "async_callback") == [
        ("app/m.py", 8),
        ("app/m.py", 12),
    ]

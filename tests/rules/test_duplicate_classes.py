"""`duplicate_classes`: configured SSOT classes defined in several modules; others are candidates."""

from __future__ import annotations

from tests.rules.trees import engine, evaluate, found, lines

MANAGER = "class WebSocketManager:\n    pass\n"


def filler(*names: str) -> str:
    return "".join(f"class {n}:\n    pass\n\n" for n in names)


def test_configured_names_count_extra_definitions_and_every_site_is_a_finding():
    files = {
        "acme/ws.py": MANAGER,
        "acme/legacy/ws.py": "import x\n\n\nclass WebSocketManager(x.Base):\n    pass\n",
        "acme/other.py": MANAGER + MANAGER,  # one module, however often
        "acme/solo.py": "class OnlyOnce:\n    pass\n",
    }
    ev = evaluate(files, ssot_classes=("WebSocketManager", "OnlyOnce"))
    assert lines(ev, "duplicate_classes") == [
        ("acme/legacy/ws.py", 4),
        ("acme/other.py", 1),
        ("acme/other.py", 3),
        ("acme/ws.py", 1),
    ]
    assert ev.metrics["duplicate_classes"] == 2  # three modules: two extra definitions
    assert ev.metrics["duplicate_classes.files"] == 3
    assert found(ev, "duplicate_classes")[0].message == (
        "SSOT class WebSocketManager is defined in 3 modules (also in acme.other, acme.ws)"
    )


def test_nested_classes_test_modules_and_functions_are_not_copies():
    files = {
        "acme/ws.py": MANAGER,
        "acme/holder.py": "class Holder:\n    class WebSocketManager:\n        pass\n",
        "acme/factory.py": "def make():\n    class WebSocketManager:\n        pass\n",
        "tests/test_ws.py": MANAGER,
        "tests/conftest.py": MANAGER,
        "acme/ws_test.py": MANAGER,
    }
    ev = evaluate(files, ssot_classes=("WebSocketManager",))
    assert found(ev, "duplicate_classes") == []
    assert ev.metrics["duplicate_classes"] == 0


def test_unconfigured_copies_are_candidates_not_findings():
    files = {f"acme/d{i}/records.py": filler("TeamRecord", "Pair") for i in range(4)}
    files["acme/d0/extra.py"] = filler("Pair", "Trio")
    files["acme/d1/extra.py"] = filler("Trio")
    files["acme/d2/extra.py"] = filler("Trio")
    files["acme/ws.py"] = MANAGER
    ev = evaluate(files, ssot_classes=("WebSocketManager",))
    assert found(ev, "duplicate_classes") == []
    assert ev.metrics["duplicate_classes"] == 0
    assert ev.metrics["duplicate_classes.candidates"] == 3
    assert list(ev.warnings) == [
        "candidate SSOT class: Pair is defined in 5 modules "
        "(acme.d0.extra, acme.d0.records, acme.d1.records and 2 more)",
        "candidate SSOT class: TeamRecord is defined in 4 modules "
        "(acme.d0.records, acme.d1.records, acme.d2.records and 1 more)",
        "candidate SSOT class: Trio is defined in 3 modules "
        "(acme.d0.extra, acme.d1.extra, acme.d2.extra)",
    ]


def test_two_copies_of_an_unconfigured_name_are_not_even_a_candidate():
    ev = evaluate({"a.py": filler("Config"), "b.py": filler("Config")})
    assert ev.metrics["duplicate_classes.candidates"] == 0
    assert ev.warnings == ()


def test_without_configured_names_the_metric_is_zero_and_candidates_still_show():
    files = {f"m{i}.py": filler("Record") for i in range(3)}
    ev = evaluate(files)
    assert ev.metrics["duplicate_classes"] == 0
    assert ev.metrics["duplicate_classes.candidates"] == 1


def test_removing_a_copy_updates_the_remaining_sites():
    eng = engine(ssot_classes=("WebSocketManager",))
    ev = eng.evaluator()
    for path in ("a/ws.py", "b/ws.py"):
        ev.update(path, eng.extract("python", MANAGER.encode()))
    first = ev.result()
    assert first.metrics["duplicate_classes"] == 1
    assert set(first.findings) == {"a/ws.py", "b/ws.py"}
    ev.update("b/ws.py", None)
    second = ev.result()
    assert second.metrics["duplicate_classes"] == 0
    assert second.findings == {}
    assert second.changed_paths == {"a/ws.py", "b/ws.py"}
    ev.update("b/ws.py", eng.extract("python", b"class Renamed:\n    pass\n"))
    ev.update("c/ws.py", eng.extract("python", MANAGER.encode()))
    assert ev.result().metrics["duplicate_classes"] == 1


def test_candidates_follow_updates():
    eng = engine()
    ev = eng.evaluator()
    for path in ("a.py", "b.py", "c.py"):
        ev.update(path, eng.extract("python", filler("Pair").encode()))
    assert ev.result().metrics["duplicate_classes.candidates"] == 1
    ev.update("c.py", eng.extract("python", filler("Other").encode()))
    second = ev.result()
    assert second.metrics["duplicate_classes.candidates"] == 0
    assert second.warnings == ()
    ev.update("d.py", eng.extract("python", filler("Pair").encode()))
    assert ev.result().warnings == ("candidate SSOT class: Pair is defined in 3 modules (a, b, d)",)

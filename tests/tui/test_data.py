"""The TUI's read layer on a real database: what each screen is given to show."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

import store
from healthtui import metrics as m
from healthtui.config import Config, RegexRule, RulesConfig
from healthtui.tui import data
from healthtui.tui.app import editor_command
from healthtui.tui.downsample import bucket_last, min_max
from healthtui.tui.owners import CodeOwners, parse
from healthtui.tui.screens.first_run import advice, command_for
from healthtui.tui.text import clean, fmt_delta, metric_title, shorten_path
from healthtui.tui.widgets.chart import nice_ticks
from tests.tui.history import FLAKY, HOSTILE_PATH, build_history, code_metrics, sha_of


def week_index(history) -> int:
    return max(i for i, t in enumerate(history.times) if t <= history.now - data.WEEK)


def test_overview_cards_give_value_previous_week_ago_target_and_status(history, history_engine):
    overview = data.load_overview(history_engine, Config(), history.now)
    assert not overview.empty
    assert [s.id for s in overview.headline] == list(m.HEADLINE)
    await_card = overview.headline[0]
    n = len(history.shas)
    assert await_card.value == code_metrics(n - 1, n)["await_misuse"]
    assert await_card.previous == code_metrics(n - 2, n)["await_misuse"]
    assert await_card.week_ago == code_metrics(week_index(history), n)["await_misuse"]
    assert await_card.delta_week == await_card.value - await_card.week_ago < 0
    assert await_card.target == 0
    assert await_card.status == data.STATUS_IMPROVING
    assert await_card.sha == history.shas[-1]
    assert len(await_card.spark) > 20
    rate = overview.headline[3]
    assert rate.info.unit == "ratio" and rate.target == 0.9
    assert 0 < rate.value <= 1


def test_overview_table_lists_totals_and_every_regex_rule_but_not_detail_counts(
    history, history_engine
):
    config = Config(rules=RulesConfig(regex=(RegexRule(id="print_calls", pattern="print"),)))
    overview = data.load_overview(history_engine, config, history.now)
    ids = [s.id for s in overview.others]
    assert ids[: len(data.OTHER_METRICS)] == list(data.OTHER_METRICS)
    assert "print_calls" in ids  # configured, never stored: listed without data
    assert "todo_comments" in ids and "tests.total" in ids
    assert not [x for x in ids if x.endswith((".files", ".sites", ".candidates", ".expected"))]
    assert not set(ids) & set(m.HEADLINE)
    by_id = {s.id: s for s in overview.others}
    assert by_id["print_calls"].status == data.STATUS_NODATA
    assert by_id["todo_comments"].status == data.STATUS_REGRESSED  # 12 -> 15, no target


def test_overview_works_with_only_code_snapshots(tmp_path):
    history = build_history(tmp_path / "code.db", commits=12, kinds=("code",))
    engine = store.open_engine(history.path)
    try:
        overview = data.load_overview(engine, Config(), history.now)
        tests = data.complete_tests(engine, data.load_tests(engine, Config()))
    finally:
        engine.dispose()
    statuses = {s.id: s.status for s in overview.headline}
    assert statuses[m.MARKER_ERRORS] == statuses[m.GOLDEN_PATH_PASS_RATE] == data.STATUS_NODATA
    assert statuses[m.AWAIT_MISUSE] != data.STATUS_NODATA
    assert not tests.available and tests.complete and tests.pass_rate == ()


def test_an_empty_database_is_the_first_run(engine):
    overview = data.load_overview(engine, Config(), 0)
    assert overview.empty and overview.headline == ()
    assert data.load_repository(engine) == (None, False)


def test_the_overview_samples_a_long_history_and_keeps_the_newest_values(tmp_path):
    history = build_history(
        tmp_path / "long.db",
        commits=600,
        step=3600,
        runs=40,
        findings=False,
        tests_snapshot_every_commit=True,
    )
    engine = store.open_engine(history.path)
    try:
        overview = data.load_overview(engine, Config(), history.now)
    finally:
        engine.dispose()
    card = overview.headline[0]
    assert card.value == code_metrics(599, 600)["await_misuse"]
    assert card.previous == code_metrics(598, 600)["await_misuse"]
    assert card.week_ago == code_metrics(599 - 168 - 1, 600)["await_misuse"]
    assert data.SPARK_POINTS <= len(card.spark) <= data.SPARK_POINTS + 3
    rate = overview.headline[3]
    assert rate.value is not None and rate.previous is not None
    engine = store.open_engine(history.path)
    try:
        noisy = data.load_metric(engine, Config(), "tests.total")  # moves at every commit
        later = data.load_commits(engine, [mv.point.sha for mv in noisy.moves])
    finally:
        engine.dispose()
    assert len(noisy.moves) == 600
    known = [mv for mv in noisy.moves if mv.commit is not None]
    assert data.COMMITS_UPFRONT <= len(known) <= 2 * data.COMMITS_UPFRONT
    assert all(mv.commit is not None for mv in noisy.moves[-data.COMMITS_UPFRONT :])
    assert set(later) == {mv.point.sha for mv in noisy.moves}


def test_metric_data_lists_every_move_with_its_commit(history, history_engine):
    metric = data.load_metric(history_engine, Config(), "await_misuse")
    n = len(history.shas)
    values = [code_metrics(i, n)["await_misuse"] for i in range(n)]
    assert [p.value for p in metric.points] == values
    moved = [i for i in range(n) if i == 0 or values[i] != values[i - 1]]
    assert [mv.point.sha for mv in metric.moves] == [history.shas[i] for i in moved]
    assert all(mv.commit is not None and mv.commit.sha == mv.point.sha for mv in metric.moves)
    spike = max(metric.moves[1:], key=lambda mv: mv.delta)
    assert spike.delta > 5  # the spike half-way through
    week = metric.since(metric.points[-1].at - data.WEEK)
    assert 0 < len(week[0]) < len(metric.points)


@pytest.mark.parametrize("index", [0, 1, 30, 57, 59])
def test_commit_data_matches_the_store_commit_detail(history, history_engine, index):
    sha = history.shas[index]
    mine = data.load_commit(history_engine, sha[:10])
    with store.read_session(history_engine) as s:
        theirs = store.commit_detail(s, sha=sha)
    assert mine is not None and theirs is not None
    assert mine.commit == theirs.commit
    assert {(d.metric, d.before, d.after) for d in mine.deltas} == {
        (d.metric, d.before, d.after) for d in theirs.deltas
    }
    assert mine.changes == theirs.changes


def test_commit_data_for_an_unknown_sha_is_none(history_engine):
    assert data.load_commit(history_engine, "0000000") is None


def test_findings_pick_the_rule_and_group_by_file_directory_and_owner(
    history, history_engine, tmp_path
):
    (tmp_path / "CODEOWNERS").write_text("*.py @everyone\n/app/payments/ @payments-team\n")
    findings = data.load_findings(history_engine, Config(), None, tmp_path)
    tip = history.tip_findings
    biggest = max(tip, key=lambda r: len(tip[r]))
    assert findings.rule == biggest
    assert len(findings.findings) == len(tip[biggest])
    assert {r.rule: r.sites for r in findings.rules} == {r: len(v) for r, v in tip.items() if v}
    assert findings.owners is not None and findings.owners.source == "CODEOWNERS"
    by_file = data.group_findings(findings.findings, "file", findings.owners)
    counts = [g.count for g in by_file]
    assert counts == sorted(counts, reverse=True) and sum(counts) == len(findings.findings)
    by_dir = data.group_findings(findings.findings, "directory", findings.owners)
    assert all(g.key.endswith("/") for g in by_dir)
    by_owner = {g.key for g in data.group_findings(findings.findings, "owner", findings.owners)}
    assert by_owner <= {"@everyone", "@payments-team"}


def test_findings_for_a_path_keep_the_asked_rule_or_take_the_path_s_biggest(
    history, history_engine
):
    tip = history.tip_findings
    rule, found = next((r, v) for r, v in tip.items() if v)
    path = found[0].path
    kept = data.load_findings(history_engine, Config(), rule, None, path)
    assert kept.rule == rule
    elsewhere = data.load_findings(history_engine, Config(), rule, None, "no/such/file.py")
    assert elsewhere.rule == rule and elsewhere.findings == kept.findings
    chosen = data.load_findings(history_engine, Config(), None, None, path)
    in_path = {r: sum(f.path == path for f in v) for r, v in tip.items()}
    assert in_path[chosen.rule] == max(in_path.values())
    assert data.load_findings(history_engine, Config(), None, None, HOSTILE_PATH).rule


def test_tests_data_from_runs_written_through_the_store(history, history_engine):
    partial = data.load_tests(history_engine, Config())
    assert partial.available and not partial.complete
    assert len(partial.runs) == history.runs
    assert partial.runs[0].sha == history.shas[-1]
    assert FLAKY in {f.nodeid for f in partial.failures}  # it fails on odd commits
    kinds = {e.kind: e.cause for e in partial.collection_errors}
    assert kinds["import"] == "legacy.http" and kinds["marker"].startswith("slow_")
    assert partial.pass_rate is None and not partial.counted  # read by the next two parts
    rates = data.read_pass_rates(history_engine, partial.suite)
    with store.read_session(history_engine) as s:
        series = store.metric_series(s, metric=m.GOLDEN_PATH_PASS_RATE)
    assert rates["pass_rate"] == series and rates["pass_rate_excl_flaky"]
    assert rates["rate_xy"][0] == (
        tuple(float(p.at) for p in series),
        tuple(p.value for p in series),
    )
    pass_rate = data.load_metric(history_engine, Config(), m.GOLDEN_PATH_PASS_RATE)
    assert data.read_pass_rates(history_engine, partial.suite, pass_rate) == rates
    full = data.complete_tests(history_engine, partial)
    assert full.complete and full.summary is not None
    assert full.pass_rate == series and full.rate_xy == rates["rate_xy"]
    assert full == data.complete_tests(history_engine, replace(partial, **rates))
    assert full.summary.suite == "golden_path"
    assert [f.nodeid for f in full.flaky] == [FLAKY]
    assert {c.signature for c in full.clusters} >= {"sig-flaky", "sig-keyerror"}
    history_points = data.load_test_history(history_engine, FLAKY)
    outcomes = {p.outcome for p in history_points}
    assert outcomes == {"passed", "failed"} and len(history_points) == history.runs


def test_rule_of_and_table_metrics():
    assert data.rule_of("await_misuse.files") == "await_misuse"
    assert data.rule_of("todo_comments") == "todo_comments"
    assert data.rule_of("suite.golden_path.pass_rate") is None
    assert data.rule_of(m.FLAKY_TESTS) is None
    assert data.is_table_metric("tests.failed")
    assert data.is_table_metric("suite.smoke.pass_rate")
    assert not data.is_table_metric("suite.smoke.pass_rate_excl_flaky")
    assert not data.is_table_metric("unregistered_markers.strict")
    assert not data.is_table_metric(m.AWAIT_MISUSE)


def test_status_needs_a_target_for_met_and_a_reference_for_the_trend():
    ratio = m.info(m.GOLDEN_PATH_PASS_RATE)
    sites = m.info(m.AWAIT_MISUSE)
    assert data.status_of(sites, 0, 0, 5) == data.STATUS_MET
    assert data.status_of(sites, 3, 0, 5) == data.STATUS_IMPROVING
    assert data.status_of(sites, 7, 0, 5) == data.STATUS_REGRESSED
    assert data.status_of(sites, 5, None, 5) == data.STATUS_STEADY
    assert data.status_of(ratio, 0.8, 0.9, 0.7) == data.STATUS_IMPROVING
    assert data.status_of(ratio, 0.95, 0.9, 0.99) == data.STATUS_MET
    assert data.status_of(sites, None, 0, 5) == data.STATUS_NODATA


def test_downsampling_keeps_spikes_and_the_last_point():
    xs = list(range(10_000))
    ys = [0.0] * 10_000
    ys[4321] = 99.0
    ys[-1] = 5.0
    dx, dy = min_max(xs, ys, 100)
    assert len(dx) <= 201
    assert 99.0 in dy and dx[-1] == 9_999 and dy[-1] == 5.0
    assert dx == sorted(dx)
    assert min_max([1, 2], [3, 4], 100) == ([1, 2], [3, 4])
    assert bucket_last(list(range(100)), 10) == [9, 19, 29, 39, 49, 59, 69, 79, 89, 99]


def test_nice_ticks_are_round_and_cover_the_range():
    assert nice_ticks(0, 45, 6) == [0, 10, 20, 30, 40]
    assert nice_ticks(0.62, 1.0, 5) == [0.7, 0.8, 0.9, 1.0]
    assert nice_ticks(3, 3) == [3]


def test_codeowners_last_matching_pattern_wins():
    owners = CodeOwners(
        parse(
            "# comment\n*.py @py\n/app/payments/ @pay @lead\ndocs/ @docs\n"
            "[Section]\n**/test_*.py @qa\n"
        )
    )
    assert owners.owner("app/payments/client.py") == "@pay @lead"
    assert owners.owner("lib/x.py") == "@py"
    assert owners.owner("tests/unit/test_orders.py") == "@qa"
    assert owners.owner("docs/index.md") == "@docs"
    assert owners.owner("README") == "(no owner)"
    assert CodeOwners.load(None) is None


def test_editor_command_puts_the_line_where_each_editor_wants_it():
    path = Path("/w/app.py")
    assert editor_command("vim", path, 12) == ["vim", "+12", "/w/app.py"]
    assert editor_command("code --wait", path, 3) == ["code", "--wait", "-g", "/w/app.py:3"]
    assert editor_command("/usr/bin/hx", path, 9) == ["/usr/bin/hx", "/w/app.py:9"]
    assert editor_command("", path, 1) == ["vi", "+1", "/w/app.py"]


def test_first_run_names_the_exact_command(tmp_path):
    assert command_for("backfill", None, None) == "healthtui backfill"
    default = str(tmp_path / ".git" / "healthtui.db")
    assert command_for("backfill", tmp_path, default) == f"healthtui --repo {tmp_path} backfill"
    assert command_for("collect", tmp_path, "/x/h.db") == (
        f"healthtui --repo {tmp_path} --db /x/h.db collect"
    )
    command, why = advice(None, None, "h.db")
    assert command == "healthtui --db h.db backfill" and "healthtui demo" in why
    repo = store.RepositoryInfo(
        root=str(tmp_path), name="[b]x", branch="main", head=None, last_collect_at=None
    )
    command, why = advice(repo, None, default)
    assert command == f"healthtui --repo {tmp_path} collect" and "[b]x" in why


def test_text_helpers_show_repository_strings_literally():
    assert clean("a\x1b[31mb\tc\nd") == "a␛[31mb    c⏎d"
    assert shorten_path("app/orders/service.py", 12) == "…/service.py"
    assert metric_title("deprecated_imports.candidates") == "Deprecated imports (candidates)"
    assert metric_title("await_misuse.files") == "Await misuse (files)"
    assert metric_title("suite.golden_path.pass_rate") == "Golden path pass rate"
    assert fmt_delta(m.info(m.GOLDEN_PATH_PASS_RATE), 0.012) == "+1.2 pp"
    assert fmt_delta(m.info(m.AWAIT_MISUSE), -3) == "−3"


def test_the_fixture_is_deterministic(tmp_path):
    a = build_history(tmp_path / "a.db", commits=8)
    b = build_history(tmp_path / "b.db", commits=8)
    assert a.shas == b.shas == [sha_of(i) for i in range(8)]
    engines = [store.open_engine(x.path) for x in (a, b)]
    try:
        loaded = [data.load_overview(e, Config(), a.now) for e in engines]
    finally:
        for e in engines:
            e.dispose()
    assert loaded[0] == loaded[1]

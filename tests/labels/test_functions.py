"""Labeling functions: applying, voting, statistics, loading by dotted path, the label model."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from pipeline_support import spec
from typer.testing import CliRunner

import lifelong.cli  # noqa: F401  # registers every command
from lifelong.cli.app import app
from lifelong.config import parse_config
from lifelong.errors import ConfigError, DataError
from lifelong.events import ParquetEventStore
from lifelong.labels import (
    ABSTAIN,
    FunctionLabeler,
    Row,
    lf_summary,
    load_function,
    majority_vote,
    window_stats,
)
from lifelong.runtime import build_labeler

T0 = datetime(2024, 5, 1, tzinfo=UTC)
HAS_SNORKEL = importlib.util.find_spec("snorkel") is not None


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ParquetEventStore]:
    with ParquetEventStore(tmp_path / "events", fsync=False) as opened:
        yield opened


def _events(store: ParquetEventStore, prices: list[float], *, stream: str = "events") -> None:
    store.append(
        stream,
        pd.DataFrame(
            {
                "event_id": [f"e{i}" for i in range(len(prices))],
                "event_time": pd.Series(
                    [T0 + timedelta(hours=i) for i in range(len(prices))],
                    dtype="datetime64[us, UTC]",
                ),
                "price": prices,
                "brand": ["acme" if i % 2 else "zeta" for i in range(len(prices))],
            }
        ),
    )


def expensive(row: Row) -> Any:
    return 1 if row.price > 100 else ABSTAIN


def cheap(row: Row) -> Any:
    return 0 if row["price"] < 50 else None


def acme_is_good(row: Row) -> Any:
    return 1 if row.brand == "acme" else ABSTAIN


def test_majority_vote_labels_rows_and_ties_abstain(store: ParquetEventStore) -> None:
    # e0 200 zeta: expensive=1                  -> 1
    # e1  20 acme: cheap=0, acme=1 (tie)        -> abstain
    # e2  80 zeta: nobody                       -> abstain
    # e3 150 acme: expensive=1, acme=1          -> 1
    # e4  10 zeta: cheap=0                      -> 0
    _events(store, [200.0, 20.0, 80.0, 150.0, 10.0])
    labeler = FunctionLabeler([expensive, cheap, acme_is_good])
    window = labeler.label(store, None, None, now=T0 + timedelta(days=1))
    assert dict(zip(window.frame["event_id"], window.frame["label"], strict=True)) == {
        "e0": 1,
        "e3": 1,
        "e4": 0,
    }
    assert window.frame["label"].dtype == "int64"
    assert set(window.frame["label_source"]) == {"function"}
    assert (window.frame["label_time"] == window.frame["event_time"]).all()
    assert (
        window.stats["abstained"] == 2
        and window.stats["rows"] == 3
        and window.stats["pending"] == 0
    )
    assert window.stats["lf.expensive.coverage"] == pytest.approx(2 / 5)
    assert window.stats["lf.acme_is_good.overlap"] == pytest.approx(2 / 5)
    assert window.stats["lf.cheap.conflict"] == pytest.approx(1 / 5)
    assert window.stats["lf.expensive.conflict"] == 0.0
    assert window.stats["label_coverage"] == pytest.approx(4 / 5)
    assert window.stats["label_conflict"] == pytest.approx(1 / 5)


def test_events_after_now_wait_and_the_window_selects_by_time(store: ParquetEventStore) -> None:
    _events(store, [200.0, 300.0, 400.0])
    labeler = FunctionLabeler([expensive])
    early = labeler.label(store, None, None, now=T0 + timedelta(minutes=90))
    assert early.frame["event_id"].tolist() == ["e0", "e1"] and early.stats["pending"] == 1
    sliced = labeler.label(
        store, T0 + timedelta(hours=1), T0 + timedelta(hours=2), now=T0 + timedelta(days=1)
    )
    assert sliced.frame["event_id"].tolist() == ["e1"]


def test_string_classes_and_an_empty_stream(store: ParquetEventStore) -> None:
    def spammy(row: Row) -> Any:
        return "spam" if row.price > 1.5 else "ham"

    empty = FunctionLabeler([spammy], classes=("spam", "ham")).label(store, None, None, now=T0)
    assert empty.frame.empty and empty.stats["rows"] == 0 and empty.stats["label_coverage"] is None
    _events(store, [1.0, 2.0])

    window = FunctionLabeler([spammy], classes=("spam", "ham")).label(
        store, None, None, now=T0 + timedelta(days=1)
    )
    assert window.frame["label"].tolist() == ["ham", "spam"]


def test_a_label_outside_the_classes_names_the_function_and_the_row(
    store: ParquetEventStore,
) -> None:
    _events(store, [200.0, 20.0])

    def sloppy(row: Row) -> Any:
        return "yes" if row.price < 50 else ABSTAIN

    with pytest.raises(
        DataError,
        match=r"labeling function 'sloppy' on row 'e1': expected one of \[0, 1\] or ABSTAIN, got 'yes'",
    ):
        FunctionLabeler([sloppy]).label(store, None, None, now=T0 + timedelta(days=1))


def test_a_failing_function_names_itself_and_the_row(store: ParquetEventStore) -> None:
    _events(store, [200.0])

    def broken(row: Row) -> Any:
        return 1 if row.colour == "red" else ABSTAIN

    with pytest.raises(
        DataError,
        match=r"'broken' on row 'e0'.*AttributeError: row: expected a column named 'colour'",
    ):
        FunctionLabeler([broken]).label(store, None, None, now=T0 + timedelta(days=1))


@pytest.mark.parametrize(
    ("functions", "options", "message"),
    [
        ([], {}, "functions: expected at least one labeling function"),
        ([lambda row: 1], {}, r"expected functions with identifier names \(def, not lambda\)"),
        (
            [expensive, expensive],
            {},
            r"expected distinct function names, got \['expensive'\] twice",
        ),
        ([expensive], {"classes": (0,)}, "classes: expected at least two distinct labels"),
        ([expensive], {"classes": (-1, 1)}, r"classes: expected labels other than -1 \(ABSTAIN\)"),
        (
            [expensive],
            {"combine": "vote"},
            "combine: expected 'majority' or 'label_model', got 'vote'",
        ),
        (
            [expensive, cheap],
            {"combine": "label_model"},
            "'label_model' expected at least 3 functions, got 2",
        ),
        ([expensive], {"stream": "../x"}, "stream: expected letters"),
    ],
)
def test_bad_options_are_refused(
    functions: list[Any], options: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        FunctionLabeler(functions, **options)


def test_analysis_matches_the_lfanalysis_definitions_on_random_votes() -> None:
    rng = np.random.default_rng(3)
    L = rng.integers(-1, 3, size=(400, 4))
    summary = lf_summary(L, ["a", "b", "c", "d"])
    labeled = L != -1
    for j, name in enumerate("abcd"):
        others = np.delete(L, j, axis=1)
        other_labeled = others != -1
        overlap = labeled[:, j] & other_labeled.any(axis=1)
        conflict = labeled[:, j] & (other_labeled & (others != L[:, [j]])).any(axis=1)
        assert summary.loc[name, "coverage"] == pytest.approx(labeled[:, j].mean())
        assert summary.loc[name, "overlap"] == pytest.approx(overlap.mean())
        assert summary.loc[name, "conflict"] == pytest.approx(conflict.mean())
    assert window_stats(L)["label_overlap"] == pytest.approx((labeled.sum(axis=1) >= 2).mean())
    if HAS_SNORKEL:  # the reference implementation, when the optional package is there
        import warnings

        from snorkel.labeling import LFAnalysis

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reference = LFAnalysis(L).lf_summary()
        assert np.allclose(reference["Coverage"], summary["coverage"])
        assert np.allclose(reference["Overlaps"], summary["overlap"])
        assert np.allclose(reference["Conflicts"], summary["conflict"])


def test_majority_vote_matrix_rules() -> None:
    L = np.array([[0, 1, 1], [2, 2, -1], [0, 1, 2], [-1, -1, -1]])
    assert majority_vote(L, cardinality=3).tolist() == [1, 2, -1, -1]
    with pytest.raises(DataError, match=r"expected class indices in \[-1, 1\], got 2"):
        majority_vote(L, cardinality=2)


def _write_module(folder: Path, name: str = "shop_lfs") -> None:
    (folder / f"{name}.py").write_text(
        textwrap.dedent(
            """
            ABSTAIN = -1

            def expensive(row):
                return 1 if row.price > 100 else ABSTAIN

            def cheap(row):
                return 0 if row.price < 50 else ABSTAIN

            def mid(row):
                return 1 if 50 <= row.price <= 100 else ABSTAIN

            NOT_A_FUNCTION = 3
            """
        )
    )


def test_functions_named_by_dotted_path_in_the_spec(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store: ParquetEventStore
) -> None:
    _write_module(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    data = spec(
        tmp_path,
        labels={"kind": "functions", "functions": ["shop_lfs.expensive", "shop_lfs:cheap"]},
    )
    data["features"] = {"kind": "tabular", "numeric": ["price"]}
    labeler = build_labeler(parse_config(data))
    assert isinstance(labeler, FunctionLabeler) and labeler.names == ("expensive", "cheap")
    _events(store, [200.0, 20.0, 80.0])
    window = labeler.label(store, None, None, now=T0 + timedelta(days=1))
    assert window.frame["label"].tolist() == [1, 0]
    assert load_function("shop_lfs.mid")(Row({"price": 70.0})) == 1
    with pytest.raises(ConfigError, match="expected an importable module for 'nowhere_lfs.x'"):
        load_function("nowhere_lfs.x")
    with pytest.raises(
        ConfigError, match="expected 'shop_lfs' to define a function 'NOT_A_FUNCTION', got int"
    ):
        load_function("shop_lfs.NOT_A_FUNCTION")
    with pytest.raises(
        ConfigError, match="expected 'shop_lfs' to define a function 'missing', got nothing"
    ):
        load_function("shop_lfs.missing")


def test_the_spec_refuses_bad_function_sections(tmp_path: Path) -> None:
    cases = [
        (
            {"kind": "functions", "functions": []},
            "labels.functions: Tuple should have at least 1 item",
        ),
        (
            {"kind": "functions", "functions": ["not a path"]},
            "labels.functions.0: expected a string matching",
        ),
        (
            {"kind": "functions", "functions": ["m.f"], "combine": "vote"},
            "labels.combine: expected 'majority' or 'label_model'",
        ),
        (
            {"kind": "functions", "functions": ["m.f"], "classes": [0, 0]},
            "labels.classes: expected distinct classes",
        ),
    ]
    for labels, message in cases:
        with pytest.raises(ConfigError, match=message):
            parse_config(spec(tmp_path, labels=labels))
    text = yaml.safe_dump(
        spec(tmp_path, labels={"kind": "functions", "functions": ["m.f"], "human": {}})
    )
    parsed = parse_config(yaml.safe_load(text))
    assert parsed.labels.rows_stream == "events" and parsed.labels.human is not None


def test_label_model_when_snorkel_is_installed_else_a_clear_error(store: ParquetEventStore) -> None:
    rng = np.random.default_rng(0)
    prices = rng.uniform(0, 200, size=300).round(2).tolist()
    _events(store, prices)
    truth = (np.asarray(prices) > 100).astype(int)

    def noisy(seed: int) -> Any:
        flips = np.random.default_rng(seed).random(len(prices)) < 0.15
        votes = {f"e{i}": int(truth[i] ^ flips[i]) for i in range(len(prices))}

        def vote(row: Row) -> Any:
            return votes[row.event_id] if row.price % 3 < 2 else ABSTAIN

        vote.__name__ = f"noisy_{seed}"
        return vote

    functions = [noisy(seed) for seed in (1, 2, 3)]
    if not HAS_SNORKEL:
        with pytest.raises(ConfigError, match="'label_model' needs the optional package 'snorkel'"):
            FunctionLabeler(functions, combine="label_model")
        return
    labeler = FunctionLabeler(functions, combine="label_model", epochs=200, seed=0)
    first = labeler.label(store, None, None, now=T0 + timedelta(days=30))
    again = labeler.label(store, None, None, now=T0 + timedelta(days=30))
    assert first.frame["label"].tolist() == again.frame["label"].tolist()  # seeded
    decided = first.frame["event_id"].str[1:].astype(int).to_numpy()
    accuracy = float((first.frame["label"].to_numpy() == truth[decided]).mean())
    assert accuracy > 0.9 and first.stats["rows"] > 200


def test_labels_stats_from_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write_module(tmp_path)
    functions = ["shop_lfs.expensive", "shop_lfs.cheap", "shop_lfs.mid"]
    data = spec(tmp_path, labels={"kind": "functions", "functions": functions})
    data["features"] = {"kind": "tabular", "numeric": ["price"]}
    config = tmp_path / "lifelong.yaml"
    config.write_text(yaml.safe_dump(data))
    with ParquetEventStore(tmp_path / "home" / "events", fsync=False) as events:
        _events(events, [200.0, 20.0, 80.0, 120.0])
    monkeypatch.syspath_prepend(str(tmp_path))
    arguments = ["labels", "stats", "--now", "2024-06-01T00:00:00", "-c", str(config)]
    shown = CliRunner().invoke(app, [*arguments, "--json"])
    assert shown.exit_code == 0, shown.stderr
    report = json.loads(shown.stdout)
    assert report["stats"]["rows"] == 4 and report["label_sources"] == {"function": 4}
    assert report["functions"]["expensive"] == {"coverage": 0.5, "overlap": 0.0, "conflict": 0.0}
    # As a user runs it, from a folder where the functions' module cannot be imported.
    clean_env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    missing = subprocess.run(
        [sys.executable, "-c", "from lifelong.cli import main; main()", *arguments],
        cwd=tmp_path.parent,
        env=clean_env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert missing.returncode == 2, missing.stderr
    assert "expected an importable module for 'shop_lfs.expensive'" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_stats_tables_render_per_function_rows() -> None:
    from rich.console import Console

    from lifelong.cli.labels import stats_tables

    console = Console(record=True, width=120)
    for table in stats_tables(
        {
            "rows": 3,
            "label_coverage": 0.75,
            "lf.expensive.coverage": 0.5,
            "lf.expensive.overlap": None,
        }
    ):
        console.print(table)
    text = console.export_text()
    assert (
        "labeling functions" in text and "expensive" in text and "0.500" in text and "0.75" in text
    )

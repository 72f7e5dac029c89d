"""The demo runs the real loop and shows the continually updated model winning after the shift."""

from __future__ import annotations

from pathlib import Path

from lifelong.demo import run_demo
from lifelong.registry import Registry


def test_demo_adapts_after_the_shift_and_records_lineage(tmp_path: Path) -> None:
    summary = run_demo(tmp_path, days=9, impressions_per_day=900, shift_day=5, seed=3).to_dict()
    assert set(summary) >= {"versions", "daily", "promotions", "rejections"}
    after = [row for row in summary["daily"] if row["day"] >= 7]  # days after the shift day (6)
    assert after and all(row["higher_is_better"] for row in after)
    for row in after:
        assert row["lifelong_metric"] > row["static_metric"] + 0.02, row

    versions = summary["versions"]
    data_iterations = [v for v in versions if v["iteration"] == "data" and v["parent"]]
    assert len(data_iterations) >= 3
    names = {v["version"] for v in versions}
    assert all(v["parent"] in names for v in data_iterations)
    assert versions[0]["version"] == "1.0" and versions[0]["parent"] is None
    assert all(v["mode"] == "stateful" for v in data_iterations)
    assert all(v["trigger"] == "cron" for v in versions)

    registry = Registry.open(Path(summary["home"]))
    try:
        champion = registry.alias_version("ctr", "champion")
        assert champion is not None
        chain = registry.lineage("ctr", champion)
        assert chain[-1].version == "1.0"
        assert all(v.lineage.snapshot is not None and v.lineage.snapshot.rows > 0 for v in chain)
        promoted = [c.to_version for c in registry.alias_history("ctr", "champion")]
        assert promoted == [row["version"] for row in sorted(summary["promotions"], key=lambda r: r["day"])]
    finally:
        registry.close()

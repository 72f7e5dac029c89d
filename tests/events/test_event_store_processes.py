"""Two processes appending the same event ids: each id is stored exactly once."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from events_support import make_events

from lifelong.events import ParquetEventStore

IDS = [f"e{index:03d}" for index in range(120)]


def _append_all(root: str, reverse: bool, results: multiprocessing.Queue[int]) -> None:
    store = ParquetEventStore(root, fsync=False)
    ids = IDS[::-1] if reverse else IDS
    written = 0
    for start in range(0, len(ids), 8):
        chunk = ids[start : start + 8]
        times = [
            "2024-01-01 23:59:59" if int(name[1:]) % 2 else "2024-01-02 00:00:00" for name in chunk
        ]
        written += store.append(
            "clicks", make_events(chunk, times, source=[str(reverse)] * len(chunk))
        ).written
    store.close()
    results.put(written)


def test_two_processes_store_each_id_exactly_once(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    results: multiprocessing.Queue[int] = context.Queue()
    workers = [
        context.Process(target=_append_all, args=(str(tmp_path), reverse, results))
        for reverse in (False, True)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert [worker.exitcode for worker in workers] == [0, 0]
    written = [results.get(timeout=5) for _ in workers]
    frame = ParquetEventStore(tmp_path).window("clicks")
    assert sum(written) == len(IDS)
    assert sorted(frame["event_id"]) == IDS
    assert frame["event_id"].is_unique

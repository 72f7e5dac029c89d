"""Events from a CSV or Parquet file, or from a folder that receives new files.

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> folder = Path(tempfile.mkdtemp())
>>> _ = (folder / "a.csv").write_text("ts,x\\n2024-01-01T00:00:00,1\\n2024-01-01T00:01:00,2\\n")
>>> source = FileSource(folder, timestamp="ts", batch_size=1)
>>> [batch.frame["event_id"].tolist() for batch in source.read()]
[['a.csv:0'], ['a.csv:1']]
>>> _ = (folder / "b.csv").write_text("ts,x\\n2024-01-01T00:02:00,3\\n")
>>> [(batch.frame["x"].tolist(), batch.checkpoint.position) for batch in source.read()]
[([3], {'file': 'b.csv', 'row': 1})]
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from lifelong.clock import Clock, utc
from lifelong.errors import ConfigError
from lifelong.events.batch import EVENT_ID, Batch, Checkpoint, DeadLetter
from lifelong.events.normalize import check_stream_name
from lifelong.events.schema import EventSchema
from lifelong.sources.base import Source
from lifelong.sources.file_reader import (
    CUT,
    FIELD,
    INTERNAL,
    PAYLOAD,
    REASON,
    ROW,
    SUFFIXES,
    FileReader,
    file_kind,
)

_MIN_SLEEP = 1e-6
READ_ROWS = 4096  # rows read from a file at a time, at least


@dataclass(frozen=True)
class _NotDue:
    """The next row exists but its time has not come: ``due`` in UTC microseconds."""

    due: int


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _micros(value: datetime) -> int:
    """``value`` (naive taken as UTC) in microseconds since the epoch, exactly."""
    return int((utc(value) - _EPOCH) // timedelta(microseconds=1))


class FileSource(Source):
    """Replay of events stored in files, in file-name order then row order.

    Parameters
    ----------
    path
        A ``.csv``, ``.parquet`` or ``.pq`` file, or a folder of them. A folder is listed
        again at each read, so files dropped into it later are picked up; files should
        appear whole (written under another name, then renamed) and keep their content.
        Names starting with ``.`` or ``_`` are ignored.
    timestamp
        Column of event times (ISO-8601 text or datetimes, naive taken as UTC); it becomes
        ``event_time``. Rows must be in time order within a file.
    id_column
        Column of event ids, copied to ``event_id``; None makes deterministic ids
        ``<file name>:<row>`` (rows numbered from 0 after the header).
    stream
        Stream name put on every batch.
    batch_size
        Largest number of rows in one batch. Rows are read and prepared at least
        ``READ_ROWS`` at a time (whole chunks cost far less per row than small ones).
    schema
        Checks each batch; failing rows go to ``Batch.dead_letters``. Rows without a
        usable time or id go there in any case (listed first in their batch).
    clock
        With a clock, :meth:`read` releases a row only once ``clock.now()`` has reached its
        time, sleeping on the clock in between (accelerated replay with ``ReplayClock``).

    Notes
    -----
    A checkpoint position is ``{"file": name, "row": next row}``. :meth:`read` without
    ``since`` goes on from the last batch it yielded; with ``since`` it starts there.
    """

    def __init__(
        self,
        path: Path | str,
        *,
        timestamp: str,
        id_column: str | None = None,
        stream: str = "events",
        batch_size: int = 1000,
        schema: EventSchema | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._path = Path(path)
        if self._path.is_file():
            file_kind(self._path)
        elif not self._path.is_dir():
            raise ConfigError(
                f"path: expected an existing CSV or Parquet file or a folder, got '{self._path}'"
            )
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ConfigError(f"batch_size: expected an integer >= 1, got {batch_size!r}")
        if not isinstance(timestamp, str) or not timestamp:
            raise ConfigError(f"timestamp: expected a column name, got {timestamp!r}")
        self._timestamp = timestamp
        self._id_column = id_column
        self._stream = check_stream_name(stream)
        self._batch_size = batch_size
        self._schema = schema
        self._clock = clock
        self._position: tuple[str, int] | None = None
        self._finished: str | None = None
        self._reader: FileReader | None = None
        self._buffer: pd.DataFrame | None = None
        self._committed: Checkpoint | None = None

    @property
    def stream(self) -> str:
        """Stream name of the batches."""
        return self._stream

    @property
    def position(self) -> Checkpoint | None:
        """Where reading stands: just after the last batch yielded (None before any)."""
        if self._position is None:
            return None
        return Checkpoint({"file": self._position[0], "row": self._position[1]})

    @property
    def committed(self) -> Checkpoint | None:
        """The last checkpoint passed to :meth:`commit`."""
        return self._committed

    # -- protocol --------------------------------------------------------------------------

    def read(self, since: Checkpoint | None = None) -> Generator[Batch, None, None]:
        """Batches in file and time order; with a clock, each row once its time has come.

        Returns once every file is read (a folder is listed again at each call).
        """
        if since is not None:
            self._seek(since)
        while True:
            now = self._clock.now() if self._clock is not None else None
            result = self._take(None if now is None else _micros(now), inclusive=True)
            if result is None:
                return
            if isinstance(result, _NotDue):
                if self._clock is None or now is None:
                    return
                wait = (result.due - _micros(now)) / 1e6
                self._clock.sleep(max(wait, _MIN_SLEEP))
                continue
            yield result

    def read_until(self, until: datetime) -> Generator[Batch, None, None]:
        """Every batch of rows with ``event_time < until``, without waiting; the rest stays."""
        limit = _micros(until)
        while True:
            result = self._take(limit, inclusive=False)
            if result is None or isinstance(result, _NotDue):
                return
            yield result

    def commit(self, checkpoint: Checkpoint) -> None:
        """Remember ``checkpoint`` as stored (files are not changed)."""
        self._parse(checkpoint)
        self._committed = checkpoint

    def close(self) -> None:
        """Close the open file."""
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        self._buffer = None

    # -- internals -------------------------------------------------------------------------

    def _parse(self, checkpoint: Checkpoint) -> tuple[str, int]:
        name = checkpoint.position.get("file")
        row = checkpoint.position.get("row")
        if (
            not isinstance(name, str)
            or isinstance(row, bool)
            or not isinstance(row, int)
            or row < 0
        ):
            raise ConfigError(
                "checkpoint: expected a position {'file': name, 'row': integer >= 0}, "
                f"got {checkpoint.position!r}"
            )
        if self._path.is_file() and name != self._path.name:
            raise ConfigError(f"checkpoint: expected file {self._path.name!r}, got {name!r}")
        return name, row

    def _seek(self, checkpoint: Checkpoint) -> None:
        position = self._parse(checkpoint)
        if position == self._position:
            return
        self.close()
        self._position = position
        self._finished = None

    def _files(self) -> list[Path]:
        if self._path.is_file():
            return [self._path]
        return sorted(
            (
                entry
                for entry in self._path.iterdir()
                if entry.suffix.lower() in SUFFIXES
                and not entry.name.startswith((".", "_"))
                and entry.is_file()
            ),
            key=lambda entry: entry.name,
        )

    def _open_next(self) -> bool:
        """Open the file to read next; False when there is none."""
        files = self._files()
        start = 0
        if self._position is None:
            candidates = files
        else:
            name, row = self._position
            current = [path for path in files if path.name == name]
            if current and self._finished != name:
                candidates, start = current, row
            else:
                candidates = [path for path in files if path.name > name]
        if not candidates:
            return False
        self._reader = FileReader(
            candidates[0],
            start_row=start,
            chunk_rows=max(self._batch_size, READ_ROWS),
            timestamp=self._timestamp,
            id_column=self._id_column,
        )
        self._buffer = None
        return True

    def _fill(self, reader: FileReader) -> pd.DataFrame:
        parts = [self._buffer] if self._buffer is not None and len(self._buffer) else []
        held = sum(len(part) for part in parts)
        while held < self._batch_size:
            chunk = reader.next_chunk()
            if chunk is None:
                break
            parts.append(chunk)
            held += len(chunk)
        buffer = pd.concat(parts, ignore_index=True) if len(parts) > 1 else (parts or [None])[0]
        self._buffer = buffer
        return buffer if buffer is not None else pd.DataFrame()

    def _take(self, limit: int | None, *, inclusive: bool) -> Batch | _NotDue | None:
        """The next batch (rows up to ``limit``), _NotDue, or None when all files are read."""
        while True:
            if self._reader is None and not self._open_next():
                return None
            reader = self._reader
            if reader is None:
                return None
            buffer = self._fill(reader)
            if not len(buffer):
                self._position = (reader.name, reader.next_row)
                self._finished = reader.name
                self.close()
                continue
            count = min(len(buffer), self._batch_size)
            if limit is not None:
                cut = buffer[CUT].to_numpy()
                side: Literal["left", "right"] = "right" if inclusive else "left"
                count = min(count, int(np.searchsorted(cut, limit, side=side)))
                if count == 0:
                    return _NotDue(int(cut[0]))
            head = buffer.iloc[:count]
            self._buffer = buffer.iloc[count:].reset_index(drop=True)
            return self._batch(reader.name, head)

    def _batch(self, name: str, head: pd.DataFrame) -> Batch:
        source = f"file:{name}"
        bad = head[REASON].notna().to_numpy()
        letters = [
            DeadLetter(
                stream=self._stream,
                reason=str(reason),
                payload=str(payload),
                field=str(field),
                event_id=None if pd.isna(event_id) else str(event_id),
                source=source,
            )
            for reason, payload, field, event_id in zip(
                head.loc[bad, REASON],
                head.loc[bad, PAYLOAD],
                head.loc[bad, FIELD],
                head.loc[bad, EVENT_ID],
                strict=True,
            )
        ]
        next_row = int(head[ROW].iloc[-1]) + 1
        frame = head.loc[~bad].drop(columns=list(INTERNAL)).reset_index(drop=True)
        if self._schema is not None:
            now = self._clock.now() if self._clock is not None else None
            frame, more = self._schema.validate(frame, stream=self._stream, source=source, now=now)
            letters.extend(more)
        self._position = (name, next_row)
        return Batch(
            stream=self._stream,
            frame=frame,
            checkpoint=Checkpoint({"file": name, "row": next_row}),
            dead_letters=tuple(letters),
        )


__all__ = ["READ_ROWS", "FileSource"]

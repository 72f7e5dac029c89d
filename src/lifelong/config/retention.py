"""The ``retention`` section: how long raw events are kept once versions have their snapshots."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field

from lifelong.config.base import Duration, Strict


class RetentionConfig(Strict):
    """Raw events older than ``older_than`` are deleted by ``lifelong run``, checked every ``every``.

    Each version keeps its snapshot (the exact rows it trained on) and the versions whose
    snapshot window reached into deleted days are marked ``reproducible_from_raw: false``
    (see :mod:`lifelong.events.retention`). ``older_than`` must cover the training window and
    the holdout, so an update never lacks the rows it needs.

    Examples
    --------
    >>> RetentionConfig(older_than="90d").every
    datetime.timedelta(days=1)
    """

    older_than: Duration = Field(gt=timedelta(0))
    every: Duration = Field(default=timedelta(days=1), gt=timedelta(0))


__all__ = ["RetentionConfig"]

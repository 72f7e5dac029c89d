"""``python -m lifelong.training.executors``: a local executor's worker process."""

from __future__ import annotations

from lifelong.training.executors.worker import main

if __name__ == "__main__":
    main()

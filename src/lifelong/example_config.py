"""The commented example ``lifelong.yaml`` that ``lifelong init`` writes."""

from __future__ import annotations

EXAMPLE_CONFIG = """\
# lifelong.yaml: one model's continual-learning pipeline.
# Durations: 30m, 12h, 1d, 1w (or seconds). Unknown keys are errors.

name: churn                     # model name in the registry
home: .lifelong                 # registry (SQLite), artifacts and event store live here
# registry_url: postgresql+psycopg://user@127.0.0.1:5432/lifelong   # production metadata store

source:                         # where fresh events come from
  kind: file                    # file (CSV/Parquet, or a folder receiving files) | simulator
  path: data/events.csv
  timestamp: ts                 # event-time column
  id_column: event_id           # unique id; events are stored exactly once by id
  batch_size: 1000

schema:                         # validated at ingest; failures go to dead letters with the reason
  fields:
    tenure: {type: float, min: 0}
    plan: {type: category, categories: [basic, pro]}
  max_future: 1h                # events stamped further in the future are refused

labels:
  kind: column                  # column: the label is in the event | natural: feedback joined to predictions
  column: churned
  # kind: natural
  # key: request_key            # join key present in predictions and feedback events
  # window: 30m                 # feedback within the window is positive, none by its close is negative
  # allowed_lateness: 10m

features:                       # one pipeline for training and serving
  kind: tabular
  numeric: [tenure, monthly_spend]
  categorical: {plan: [basic, pro]}
  missing: error                # error | impute
  unseen: ignore                # unseen categories: ignore (all zeros) | error

model:
  kind: lightgbm                # lightgbm | sklearn | xgboost | river | torch_mlp | torch_embedding | implicit_als | river_mf
  n_estimators: 100             # trees of a from-scratch fit
  update_estimators: 20         # trees added by each stateful update
  max_trees: 1000               # cap: past it, an update refits from scratch
  # kind: sklearn
  # estimator: sklearn.linear_model.SGDClassifier
  # params: {loss: log_loss, random_state: 0}
  # kind: torch_mlp
  # hidden: [64, 64]            # wider or deeper than the champion's: a new major version
  # warm_start: {kind: grow}    # ...grown from the champion (same function), then fine-tuned;
  #                             # or {kind: distill, alpha: 0.5}: trained with the champion as teacher
  # kind: implicit_als          # collaborative filtering: rows are (user, item) pairs, label 1 = interacted
  # user: user_id               # numeric features holding integer ids
  # item: item_id
  # factors: 32
  # refit_every: 10             # stateful updates fold in new users/items; every 10th refactorizes

training:
  mode: stateful                # stateful: continue the champion | stateless: fit from scratch
  window: 7d                    # labeled rows considered for training
  holdout: 12h                  # the most recent labeled rows, kept out of training for the gates
  min_rows: 200
  replay_fraction: 0.0          # older rows replayed per new row in a stateful update (0 to 100)

evaluation:
  metric: roc_auc               # roc_auc | accuracy | log_loss | f1
  gates:
    - {kind: min_rows, rows: 100}
    - {kind: not_worse, tolerance: 0.005}   # reject a challenger worse than the champion by more

deployment:
  kind: direct                  # direct: promote when the gates pass | manual: lifelong promote

triggers:
  combine: any                  # any | all
  cooldown: 1h
  triggers:
    - {kind: cron, expression: "0 3 * * *"}
    - {kind: volume, growth: 0.5, min_rows: 500}
    # - {kind: interval, every: 1d}
    # - kind: detector            # a streaming detector fed check after check, firing when it costs performance
    #   detector: adwin           # adwin | page_hinkley | kswin | ddm | eddm | hddm_a | hddm_w, or {kind: kswin, alpha: 0.001}
    #   stream: error             # error (0/1 errors on labeled rows) | prediction (scores) | feature:NAME
    #   min_impact: 0.02          # the metric must drop this much since the detection (estimated or measured)

serving:
  host: 127.0.0.1
  port: 8000
"""

__all__ = ["EXAMPLE_CONFIG"]

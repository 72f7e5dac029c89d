"""Lineage segments: each version records its parent's id and its place in a chain segment.

A segment is a run of versions, each the parent of the next, that no branch interrupts: a
version joins its parent's segment (next position) when the parent is the segment's last
version, and starts a segment of its own (position 0, ``segment_id`` its own id) otherwise.
A lineage is then a few ranges of positions, one per segment, instead of one lookup per
ancestor. Existing versions are assigned in insertion order, as the registry would have.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def assign_segments(
    rows: list[tuple[int, str, str, str | None]],
) -> list[dict[str, int | None]]:
    """``parent_id``, ``segment_id`` and ``segment_pos`` of ``(id, model, version, parent)`` rows.

    ``rows`` come in id order (a parent always has a smaller id than its children).

    Examples
    --------
    >>> rows = [(1, "m", "1.0", None), (2, "m", "1.1", "1.0"), (3, "m", "1.2", "1.1"),
    ...         (4, "m", "1.3", "1.1")]
    >>> [(r["id"], r["segment_id"], r["segment_pos"]) for r in assign_segments(rows)]
    [(1, 1, 0), (2, 1, 1), (3, 1, 2), (4, 4, 0)]
    """
    ids: dict[tuple[str, str], int] = {}
    places: dict[int, tuple[int, int]] = {}
    ends: dict[int, int] = {}  # segment id -> its last position
    out: list[dict[str, int | None]] = []
    for row_id, model, version, parent in rows:
        parent_id = None if parent is None else ids.get((model, parent))
        segment, position = row_id, 0
        if parent_id is not None:
            parent_segment, parent_position = places[parent_id]
            if ends[parent_segment] == parent_position:
                segment, position = parent_segment, parent_position + 1
        ids[(model, version)] = row_id
        places[row_id] = (segment, position)
        ends[segment] = position
        out.append(
            {"id": row_id, "parent_id": parent_id, "segment_id": segment, "segment_pos": position}
        )
    return out


def upgrade() -> None:
    """Add ``parent_id``, ``segment_id``, ``segment_pos``; fill them; index the segments."""
    with op.batch_alter_table("versions") as batch:
        batch.add_column(sa.Column("parent_id", sa.Integer, nullable=True))
        batch.add_column(sa.Column("segment_id", sa.Integer, nullable=True))
        batch.add_column(sa.Column("segment_pos", sa.Integer, nullable=True))
    connection = op.get_bind()
    table = sa.table(
        "versions",
        sa.column("id", sa.Integer),
        sa.column("model", sa.String),
        sa.column("version", sa.String),
        sa.column("parent", sa.String),
        sa.column("parent_id", sa.Integer),
        sa.column("segment_id", sa.Integer),
        sa.column("segment_pos", sa.Integer),
    )
    rows = connection.execute(
        sa.select(table.c.id, table.c.model, table.c.version, table.c.parent).order_by(table.c.id)
    ).all()
    assigned = assign_segments([(int(r[0]), str(r[1]), str(r[2]), r[3]) for r in rows])
    if assigned:
        connection.execute(
            table.update()
            .where(table.c.id == sa.bindparam("row_id"))
            .values(
                parent_id=sa.bindparam("parent_id"),
                segment_id=sa.bindparam("segment_id"),
                segment_pos=sa.bindparam("segment_pos"),
            ),
            [
                {
                    "row_id": item["id"],
                    "parent_id": item["parent_id"],
                    "segment_id": item["segment_id"],
                    "segment_pos": item["segment_pos"],
                }
                for item in assigned
            ],
        )
    op.create_index(
        "uq_versions_segment_id_segment_pos",
        "versions",
        ["segment_id", "segment_pos"],
        unique=True,
    )


def downgrade() -> None:
    """Drop the segment index and the three columns."""
    op.drop_index("uq_versions_segment_id_segment_pos", table_name="versions")
    with op.batch_alter_table("versions") as batch:
        batch.drop_column("segment_pos")
        batch.drop_column("segment_id")
        batch.drop_column("parent_id")

"""A person's pick/reject flags and colour labels (the ``marks`` table), apart from their stars.

One row per person and photo; a row whose flag and label are both cleared is deleted, so "no row" and "nothing
marked" are the same thing.
"""
from __future__ import annotations

from typing import Dict, Optional, Tuple

from sqlalchemy import delete, select, update

from piaa.service.persistence import Database, Mark, utcnow

FLAGS = ("pick", "reject")
LABELS = ("red", "yellow", "green", "blue", "purple")


def marks_of(db: Database, user_id: int) -> Dict[int, Tuple[Optional[str], Optional[str]]]:
    """image id -> (flag, label) of everything the person marked."""
    with db.read() as s:
        rows = s.execute(select(Mark.image_id, Mark.flag, Mark.label).where(Mark.user_id == user_id)).all()
    return {int(i): (f, lab) for i, f, lab in rows}


def put_marks(db: Database, user_id: int, image_id: int, flag: Optional[str], label: Optional[str]) -> None:
    """Store the photo's flag and label (both replaced; both None removes the row)."""
    now = utcnow()
    with db.write() as s:
        if flag is None and label is None:
            s.execute(delete(Mark).where(Mark.user_id == user_id, Mark.image_id == image_id))
            return
        res = s.execute(update(Mark).where(Mark.user_id == user_id, Mark.image_id == image_id)
                        .values(flag=flag, label=label, updated_at=now))
        if res.rowcount == 0:
            ins = db.insert(Mark).values(user_id=user_id, image_id=image_id, flag=flag, label=label, updated_at=now)
            s.execute(ins.on_conflict_do_update(index_elements=["user_id", "image_id"],
                                                set_={"flag": flag, "label": label, "updated_at": now}))

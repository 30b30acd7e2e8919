"""Whose stars the library's XMP sidecars hold: one member's, the library's XMP owner.

A sidecar has one ``xmp:Rating`` per photo, so a shared library cannot keep every member's stars there. Without
a rule, one member's write became another member's import (Ben's 3★ turned into Anna's ratings) and a preview
called a colleague's stars "yours from another tool". The rule: the sidecars belong to one member, the owner —

* the account named by ``piaa serve --xmp-owner USER``;
* else the first admin (the oldest admin account);
* else the first account created (a one-person server started with ``--allow-signup``).

Only the owner's stars, flags and labels (and predictions of the owner's taste) are written into sidecars, and
only the owner imports from them; every other member's judgements stay in piaa (their CSV/JSON export) and the
XMP routes answer them 403 with the reason. 409 when no owner can be named (``--xmp-owner`` names an account
that does not exist, or there are no accounts yet).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from fastapi import HTTPException
from sqlalchemy import select

from piaa.service.persistence import Database, User


@dataclass
class Owner:
    id: Optional[int]
    username: Optional[str]
    why: str                    # how the owner was chosen, or why there is none


def owner(db: Database, configured: Optional[str]) -> Owner:
    """The library's XMP owner under the rule of the module docs."""
    with db.read() as s:
        if configured:
            row = s.execute(select(User.id, User.username).where(User.username_key == configured.lower())).first()
            if row is None:
                return Owner(None, None, f"the server names {configured!r} as the owner of the XMP sidecars "
                                         "(--xmp-owner), and there is no such account")
            return Owner(int(row[0]), row[1], "named by --xmp-owner")
        row = s.execute(select(User.id, User.username).where(User.is_admin.is_(True)).order_by(User.id)).first()
        if row is not None:
            return Owner(int(row[0]), row[1], "the first admin")
        row = s.execute(select(User.id, User.username).order_by(User.id)).first()
    if row is None:
        return Owner(None, None, "there are no accounts yet")
    return Owner(int(row[0]), row[1], "the first account")


def note(o: Owner, user_id: int) -> str:
    """Whether the sidecars are ``user_id``'s, and why, in plain words (the page shows it; 403/409 say it)."""
    if o.id is None:
        return (f"Nobody owns this library's XMP sidecars: {o.why}; the server's admin chooses the owner with "
                "piaa serve --xmp-owner USER.")
    if o.id == user_id:
        return "The XMP sidecars hold your stars, flags and labels: you are this library's XMP owner."
    return (f"The XMP sidecars hold the stars of {o.username} ({o.why}): a sidecar keeps one rating per photo, so "
            "your stars, flags and labels stay in piaa (download them as CSV or JSON) and are neither written "
            "into nor read from the sidecars.")


def require_owner(db: Database, configured: Optional[str], user_id: int) -> Owner:
    """The owner when ``user_id`` is the owner; else 403 (someone else owns the sidecars) or 409 (nobody does),
    with the plain reason of :func:`note`."""
    o = owner(db, configured)
    if o.id != user_id:
        raise HTTPException(409 if o.id is None else 403, note(o, user_id))
    return o


__all__ = ["Owner", "owner", "note", "require_owner"]

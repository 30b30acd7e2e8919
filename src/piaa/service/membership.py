"""Members and invitations: admins, one-time sign-up codes, changing a password, removing a member.

An invitation code is 20 random bytes (URL-safe text) shown once to the admin who made it; only its SHA-256 is
stored. It lets one person sign up while open sign-up is off, within ``INVITE_DAYS`` days, and is then used up
(``used_by``). Changing a password revokes every other token and page session of the person.
"""
from __future__ import annotations

import secrets
from datetime import datetime, timedelta, timezone
from typing import Dict, List, Optional, Tuple

from sqlalchemy import delete, func, select, update

from piaa.errors import InputError
from piaa.service import queries
from piaa.service.persistence import Database, Invite, Rating, Token, User
from piaa.service.security import hash_password, token_hash

INVITE_DAYS = 7


class InviteInvalid(InputError):
    """An invitation code that is unknown, used up or expired."""


class LastAdmin(InputError):
    """Demoting the only admin would leave nobody to invite or remove members."""


def _utc(t: Optional[datetime]) -> Optional[datetime]:
    return None if t is None else (t if t.tzinfo else t.replace(tzinfo=timezone.utc))


def is_admin(db: Database, user_id: int) -> bool:
    with db.read() as s:
        return bool(s.scalar(select(User.is_admin).where(User.id == user_id)))


def set_admin(db: Database, user_id: int, admin: bool = True) -> None:
    with db.write() as s:
        s.execute(update(User).where(User.id == user_id).values(is_admin=admin))


def set_role(db: Database, username: str, admin: bool) -> bool:
    """Make the account ``username`` an admin (or a plain member); False when there is no such account,
    :class:`LastAdmin` when it is the only admin being demoted."""
    with db.write() as s:
        uid = s.scalar(select(User.id).where(User.username_key == username.lower()))
        if uid is None:
            return False
        if not admin and s.scalar(select(func.count()).select_from(User)
                                  .where(User.is_admin.is_(True), User.id != uid)) == 0 \
                and s.scalar(select(User.is_admin).where(User.id == uid)):
            raise LastAdmin(f"{username} is the only admin; promote someone else first")
        s.execute(update(User).where(User.id == uid).values(is_admin=admin))
    return True


def create_invite(db: Database, creator_id: int) -> Tuple[int, str, datetime]:
    """(id, code, expiry) of a new one-time invitation."""
    code = secrets.token_urlsafe(20)
    expires = datetime.now(timezone.utc) + timedelta(days=INVITE_DAYS)
    with db.write() as s:
        inv = Invite(code_hash=token_hash(code), created_by=creator_id, expires_at=expires)
        s.add(inv)
        s.flush()
        return int(inv.id), code, expires


def claim_invite(s, code: str, user_id: int) -> None:
    """Use up ``code`` for ``user_id`` inside the caller's write transaction (so the account and the claim commit
    together); :class:`InviteInvalid` when it cannot be used."""
    if not code or len(code) > 128:
        raise InviteInvalid("this invitation code is not valid")
    now = datetime.now(timezone.utc)
    inv = s.scalar(select(Invite).where(Invite.code_hash == token_hash(code)))
    if inv is None:
        raise InviteInvalid("this invitation code is not valid")
    if inv.used_by is not None or inv.used_at is not None:
        raise InviteInvalid("this invitation has been used already; ask for a new one")
    if _utc(inv.expires_at) < now:
        raise InviteInvalid("this invitation has expired (they are valid for 7 days); ask for a new one")
    res = s.execute(update(Invite).where(Invite.id == inv.id, Invite.used_at.is_(None))
                    .values(used_by=user_id, used_at=now))
    if res.rowcount != 1:                               # claimed by a concurrent sign-up
        raise InviteInvalid("this invitation has been used already; ask for a new one")


def create_invited_user(db: Database, username: str, password: str, code: str) -> User:
    """A new account that uses up ``code``, in one transaction (both happen or neither)."""
    return queries.create_user(db, username, password, then=lambda s, user: claim_invite(s, code, user.id))


def invites(db: Database) -> List[dict]:
    with db.read() as s:
        creator = User.__table__.alias("creator")
        user = User.__table__.alias("used")
        rows = s.execute(select(Invite.id, Invite.created_at, Invite.expires_at, creator.c.username, user.c.username)
                         .outerjoin(creator, creator.c.id == Invite.created_by)
                         .outerjoin(user, user.c.id == Invite.used_by).order_by(Invite.id)).all()
    return [{"id": int(i), "created": _utc(c).isoformat(), "expires": _utc(e).isoformat(), "created_by": by,
             "used_by": used} for i, c, e, by, used in rows]


def delete_invite(db: Database, invite_id: int) -> bool:
    with db.write() as s:
        return bool(s.execute(delete(Invite).where(Invite.id == invite_id)).rowcount)


def members(db: Database) -> List[dict]:
    with db.read() as s:
        n = select(Rating.user_id, func.count().label("n")).group_by(Rating.user_id).subquery()
        rows = s.execute(select(User.id, User.username, User.is_admin, User.created_at, n.c.n)
                         .outerjoin(n, n.c.user_id == User.id).order_by(User.username_key)).all()
    return [{"id": int(i), "username": u, "is_admin": bool(a), "created": _utc(c).isoformat(), "ratings": int(k or 0)}
            for i, u, a, c, k in rows]


def delete_member(db: Database, user_id: int) -> bool:
    """Remove an account with its ratings, comparisons, marks, profile and tokens (the foreign keys cascade)."""
    with db.write() as s:
        return bool(s.execute(delete(User).where(User.id == user_id)).rowcount)


def sharing_raters(db: Database) -> List[Tuple[int, str]]:
    """(id, username) of the members who share their ratings and have rated at least one photo."""
    with db.read() as s:
        rows = s.execute(select(User.id, User.username).where(User.share_ratings.is_(True))
                         .where(User.id.in_(select(Rating.user_id))).order_by(User.username_key)).all()
    return [(int(i), u) for i, u in rows]


def shares(db: Database, user_id: int) -> bool:
    with db.read() as s:
        return bool(s.scalar(select(User.share_ratings).where(User.id == user_id)))


def ratings_of(db: Database, user_ids: List[int]) -> Dict[int, Dict[int, float]]:
    """user id -> {image id: stars} for the given members (callers pass only members who share)."""
    out: Dict[int, Dict[int, float]] = {u: {} for u in user_ids}
    if not user_ids:
        return out
    with db.read() as s:
        for u, i, r in s.execute(select(Rating.user_id, Rating.image_id, Rating.rating)
                                 .where(Rating.user_id.in_(user_ids))):
            out[int(u)][int(i)] = float(r)
    return out


def change_password(db: Database, user_id: int, new_password: str, keep_token: str) -> int:
    """Set a new password and revoke every other token and session of the person; how many were revoked."""
    new_hash = hash_password(new_password)
    with db.write() as s:
        s.execute(update(User).where(User.id == user_id).values(password_hash=new_hash))
        return int(s.execute(delete(Token).where(Token.user_id == user_id,
                                                 Token.token_hash != token_hash(keep_token))).rowcount)


__all__ = ["INVITE_DAYS", "InviteInvalid", "LastAdmin", "is_admin", "set_admin", "set_role", "create_invite", "claim_invite", "invites",
           "delete_invite", "create_invited_user", "members", "delete_member", "sharing_raters", "shares",
           "ratings_of", "change_password"]

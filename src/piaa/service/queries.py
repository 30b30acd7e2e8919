"""The reads and writes the routes make, one function each, over :mod:`piaa.service.persistence`.

Every query that reads a person's data takes their user id: there is no query that reads another person's
ratings, comparisons or profile.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Dict, List, Optional, Tuple

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from piaa.errors import InputError
from piaa.service.persistence import Comparison, Database, Rating, StoredProfile, Token, User, utcnow
from piaa.service.security import TOKEN_DAYS, hash_password, new_token, token_hash


class UserExists(InputError):
    """The username is taken (case-insensitively)."""


# ---- accounts and tokens ---------------------------------------------------------------------------------------
def create_user(db: Database, username: str, password: str, then=None) -> User:
    """A new account; ``then(session, user)`` runs in the same transaction (an invitation is used up with it)."""
    user = User(username=username, username_key=username.lower(), password_hash=hash_password(password))
    try:
        with db.write() as s:
            if s.scalar(select(User.id).where(User.username_key == username.lower())) is not None:
                raise UserExists(f"the username {username!r} is taken")
            s.add(user)
            if then is not None:
                s.flush()
                then(s, user)
    except IntegrityError:
        raise UserExists(f"the username {username!r} is taken") from None
    return user


def user_by_name(db: Database, username: str) -> Optional[User]:
    with db.read() as s:
        return s.scalar(select(User).where(User.username_key == username.lower()))


def set_password_hash(db: Database, user_id: int, new_hash: str) -> None:
    with db.write() as s:
        s.execute(update(User).where(User.id == user_id).values(password_hash=new_hash))


def issue_token(db: Database, user_id: int, kind: str, days: Optional[int] = None) -> str:
    tok = new_token()
    exp = datetime.now(timezone.utc) + timedelta(days=days) if days else None
    with db.write() as s:
        s.add(Token(user_id=user_id, token_hash=token_hash(tok), kind=kind, expires_at=exp))
    return tok


def user_of_token(db: Database, token: str, kind: str) -> Optional[User]:
    """The user a live token of ``kind`` belongs to, or None (unknown, revoked or expired)."""
    if len(token) > 256:
        return None
    with db.read() as s:
        row = s.execute(select(Token, User).join(User, User.id == Token.user_id)
                        .where(Token.token_hash == token_hash(token), Token.kind == kind)).first()
    if row is None:
        return None
    tok, user = row
    expires = tok.expires_at
    if expires is None and kind == "api":   # a token issued before tokens expired: it lives TOKEN_DAYS too
        expires = tok.created_at + timedelta(days=TOKEN_DAYS)
    if expires is not None and expires < datetime.now(timezone.utc):
        return None
    return user


def revoke_token(db: Database, token: str, kind: Optional[str] = None) -> None:
    cond = [Token.token_hash == token_hash(token)] + ([Token.kind == kind] if kind else [])
    with db.write() as s:
        s.execute(delete(Token).where(*cond))


def delete_user(db: Database, username: str) -> bool:
    """Delete an account with its tokens, ratings, comparisons and profile; False when there is none."""
    with db.write() as s:
        uid = s.scalar(select(User.id).where(User.username_key == username.lower()))
        if uid is None:
            return False
        for model in (Token, Rating, Comparison, StoredProfile):
            s.execute(delete(model).where(model.user_id == uid))
        s.execute(delete(User).where(User.id == uid))
    return True


# ---- ratings and comparisons -----------------------------------------------------------------------------------
def own_ratings(db: Database, user_id: int) -> Dict[int, float]:
    with db.read() as s:
        return {int(i): float(r) for i, r in
                s.execute(select(Rating.image_id, Rating.rating).where(Rating.user_id == user_id)).all()}


def ratings_with_times(db: Database, user_id: int) -> List[Tuple[int, float, datetime]]:
    with db.read() as s:
        return [(int(i), float(r), u) for i, r, u in
                s.execute(select(Rating.image_id, Rating.rating, Rating.updated_at)
                          .where(Rating.user_id == user_id).order_by(Rating.updated_at, Rating.id)).all()]


def put_rating(db: Database, user_id: int, image_id: int, rating: float) -> bool:
    """Set the caller's rating of a photo; True when it is new (an upsert: concurrent writers never collide)."""
    now = utcnow()
    with db.write() as s:
        res = s.execute(update(Rating).where(Rating.user_id == user_id, Rating.image_id == image_id)
                        .values(rating=rating, updated_at=now))
        created = res.rowcount == 0
        if created:
            ins = db.insert(Rating).values(user_id=user_id, image_id=image_id, rating=rating, updated_at=now)
            s.execute(ins.on_conflict_do_update(index_elements=["user_id", "image_id"],
                                                set_={"rating": rating, "updated_at": now}))
    return created


def delete_rating(db: Database, user_id: int, image_id: int) -> bool:
    with db.write() as s:
        return bool(s.execute(delete(Rating).where(Rating.user_id == user_id, Rating.image_id == image_id)).rowcount)


def judgements(db: Database, user_id: int) -> Tuple[List[Tuple[int, float]], List[Tuple[int, int]]]:
    """(ratings [(image id, stars)] by image id, comparisons [(better, worse)] in the order given)."""
    with db.read() as s:
        ratings = s.execute(select(Rating.image_id, Rating.rating).where(Rating.user_id == user_id)
                            .order_by(Rating.image_id)).all()
        comps = s.execute(select(Comparison.better_id, Comparison.worse_id).where(Comparison.user_id == user_id)
                          .order_by(Comparison.id)).all()
    return [(int(i), float(r)) for i, r in ratings], [(int(b), int(w)) for b, w in comps]


def add_comparison(db: Database, user_id: int, better: int, worse: int) -> int:
    with db.write() as s:
        c = Comparison(user_id=user_id, better_id=better, worse_id=worse)
        s.add(c)
        s.flush()
        return int(c.id)


def comparisons(db: Database, user_id: int) -> List[Tuple[int, int, int]]:
    with db.read() as s:
        return [(int(i), int(b), int(w)) for i, b, w in
                s.execute(select(Comparison.id, Comparison.better_id, Comparison.worse_id)
                          .where(Comparison.user_id == user_id).order_by(Comparison.id)).all()]


def delete_comparison(db: Database, user_id: int, comparison_id: int) -> bool:
    with db.write() as s:
        return bool(s.execute(delete(Comparison).where(Comparison.id == comparison_id,
                                                       Comparison.user_id == user_id)).rowcount)


def counts(db: Database, user_id: int) -> Tuple[int, int]:
    """(number of ratings, number of comparisons) of a person."""
    with db.read() as s:
        n_r = s.scalar(select(func.count()).select_from(Rating).where(Rating.user_id == user_id))
        n_c = s.scalar(select(func.count()).select_from(Comparison).where(Comparison.user_id == user_id))
    return int(n_r), int(n_c)


# ---- the library's taste: the ratings of the members who share them ----------------------------------------------
def shared_ratings(db: Database) -> List[Tuple[int, int, float]]:
    """(user id, image id, stars) of every member whose ``share_ratings`` is on: what the library model learns
    from (the one query that reads several people's ratings; it returns no names)."""
    with db.read() as s:
        rows = s.execute(select(Rating.user_id, Rating.image_id, Rating.rating).join(User, User.id == Rating.user_id)
                         .where(User.share_ratings.is_(True)).order_by(Rating.user_id, Rating.image_id)).all()
    return [(int(u), int(i), float(r)) for u, i, r in rows]


def shared_version(db: Database) -> Tuple[int, int, str]:
    """A cheap fingerprint of :func:`shared_ratings` (count, sharing members, newest change): the background
    refit compares it instead of reading every rating."""
    with db.read() as s:
        n, last = s.execute(select(func.count(Rating.id), func.max(Rating.updated_at))
                            .join(User, User.id == Rating.user_id).where(User.share_ratings.is_(True))).one()
        members = s.scalar(select(func.count()).select_from(User).where(User.share_ratings.is_(True)))
    return int(n or 0), int(members or 0), str(last)


def set_share_ratings(db: Database, user_id: int, share: bool) -> None:
    with db.write() as s:
        s.execute(update(User).where(User.id == user_id).values(share_ratings=bool(share)))


# ---- profiles --------------------------------------------------------------------------------------------------
def profile_head(db: Database, user_id: int):
    """(id, method, meta dict, created) of the person's stored profile, or None."""
    with db.read() as s:
        row = s.execute(select(StoredProfile.id, StoredProfile.method, StoredProfile.meta_json,
                               StoredProfile.created_at).where(StoredProfile.user_id == user_id)).first()
    if row is None:
        return None
    return int(row.id), row.method, json.loads(row.meta_json), row.created_at


def profile_state(db: Database, profile_id: int) -> Optional[bytes]:
    with db.read() as s:
        return s.scalar(select(StoredProfile.state).where(StoredProfile.id == profile_id))


def save_profile(db: Database, user_id: int, method: str, meta: dict, state: bytes) -> Tuple[int, datetime]:
    """Replace the person's profile in one transaction; (new id, created)."""
    with db.write() as s:
        s.execute(delete(StoredProfile).where(StoredProfile.user_id == user_id))
        prof = StoredProfile(user_id=user_id, method=method, meta_json=json.dumps(meta, allow_nan=False),
                             state=state, n_ratings=meta["n_ratings"], n_comparisons=meta["n_comparisons"])
        s.add(prof)
        s.flush()
        return int(prof.id), prof.created_at


def delete_profile(db: Database, user_id: int) -> bool:
    with db.write() as s:
        return bool(s.execute(delete(StoredProfile).where(StoredProfile.user_id == user_id)).rowcount)


def database_problem(db: Database) -> Optional[str]:
    """None when the database answers a trivial query now, else a one-line reason naming no path (for
    /api/health)."""
    from sqlalchemy import text

    from piaa.service.persistence import DatabaseUnavailable

    try:
        db.check_file()
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return None
    except DatabaseUnavailable as exc:
        return str(exc)
    except Exception:  # any failure to reach it is "down"; requests that need it log the driver's reason
        return "the database does not answer"


def database_ok(db: Database) -> bool:
    """Whether the database answers a trivial query now."""
    return database_problem(db) is None

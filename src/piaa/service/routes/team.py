"""The team view: ``GET /api/team/ranking`` — the library ordered by the combined taste of the members who share
their ratings, with how much they agree on each photo, and (for a caller who shares too) the others' stars."""
from __future__ import annotations

import numpy as np
from fastapi import APIRouter, Query

from piaa.service import membership, personal
from piaa.service.deps import Auth, State
from piaa.service.errors import AUTH, responses
from piaa.service.schemas import MAX_ID, TeamRanking
from piaa.service.strict_json import StrictJSONRoute

router = APIRouter(route_class=StrictJSONRoute, tags=["team"])


@router.get("/team/ranking", response_model=TeamRanking, responses=responses(*AUTH, 422))
def team_ranking(caller: Auth, state: State, offset: int = Query(0, ge=0, le=MAX_ID),
                 limit: int = Query(100, ge=1, le=1000)):
    """Photos best first by the team's taste: each sharing member's own stars where they gave them, their
    profile's prediction elsewhere, combined as mean percentiles (``piaa.profiles.team``); ``agreement``: how
    alike the stars of the ``raters`` members who rated the photo are (1 = the same stars, 0 = 5★ against 1★),
    null when fewer than two of them rated it (predictions agree with nothing). Members who do not share their ratings are left out, and a caller who
    does not share sees nobody's stars."""
    from piaa.profiles.core import STAR_SCALE
    from piaa.profiles.team import combine, star_agreement

    members = membership.sharing_raters(state.db)
    you_share = membership.shares(state.db, caller.id)
    base = personal.scores(state, caller.id)
    ids = base.ids
    lib = state.library
    rated = membership.ratings_of(state.db, [u for u, _ in members])
    rows = []
    for uid, _ in members:
        sc = personal.scores(state, uid)
        own = rated[uid]
        rows.append(np.array([own.get(int(i), s) for i, s in zip(sc.ids, sc.score)], dtype=float))
    if rows:
        team, _ = combine(np.vstack(rows))
        agree, raters = star_agreement(np.array([[rated[uid].get(int(i), np.nan) for i in ids] for uid, _ in members],
                                                dtype=float), STAR_SCALE)
    else:
        team, agree, raters = np.full(len(ids), np.nan), np.full(len(ids), np.nan), np.zeros(len(ids), dtype=int)
    key = np.where(np.isfinite(team), team, -np.inf)
    order = np.lexsort((ids, -key))
    mine = membership.ratings_of(state.db, [caller.id])[caller.id]
    out = []
    for k in order[offset:offset + limit]:
        i = int(ids[k])
        others = [{"username": name, "rating": rated[uid][i]} for uid, name in members
                  if you_share and uid != caller.id and i in rated[uid]]
        out.append({"id": i, "name": lib.name(i), "score": round(float(team[k]), 4) if np.isfinite(team[k]) else 0.0,
                    "agreement": round(float(agree[k]), 4) if np.isfinite(agree[k]) else None,
                    "raters": int(raters[k]), "ratings": others, "rating": mine.get(i)})
    return {"members": [name for _, name in members], "you_share": you_share, "images": out, "total": len(ids),
            "offset": offset, "limit": limit}

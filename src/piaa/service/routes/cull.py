"""Culling in the page: ``GET /api/bursts`` — bursts and near-duplicates grouped as ``piaa cull`` groups them,
each with a suggested pick (the caller's taste + technical quality; their own flags and stars win)."""
from __future__ import annotations

import numpy as np
from fastapi import APIRouter, Query

from piaa.service import photo_facts, ranking
from piaa.service.deps import Auth, State
from piaa.service.errors import AUTH, responses
from piaa.service.schemas import MAX_ID, Bursts
from piaa.service.strict_json import StrictJSONRoute

router = APIRouter(route_class=StrictJSONRoute, tags=["profile"])


def _r(v):
    return round(float(v), 4) if v is not None and np.isfinite(v) else None


@router.get("/bursts", response_model=Bursts, responses=responses(*AUTH, 422))
def bursts(caller: Auth, state: State, offset: int = Query(0, ge=0, le=MAX_ID), limit: int = Query(100, ge=1, le=1000)):
    """Groups of two or more photos that belong together (near-duplicates whenever taken, or similar and taken
    within seconds: a burst), in capture order, with the suggested pick: a photo you flagged pick, else the one
    with most of your stars, else the best combination of your taste and technical quality among those you
    did not reject — among the frames that pass the checks at 100 % (closed eyes, soft subject, motion blur:
    ``checks`` says whether they are ready; they run in the background after each scan)."""
    v = ranking.view(state, caller.id)
    sc, ids, mine, marks, names, q = v.sc, v.ids.tolist(), v.mine, v.marks, v.names, v.quality
    when = photo_facts.row_times(state)[0]
    found = photo_facts.burst_groups(state, when)
    groups = ranking.suggested(state, v, found, when)
    out = []
    for gi, g in enumerate(groups[offset:offset + limit], offset + 1):
        members = []
        for j, (k, c) in enumerate(zip(g.members, g.combined)):
            i = ids[k]
            t = when[k]
            flag, label = marks.get(i, (None, None))
            members.append({"id": i, "name": names[k], "taken": t.isoformat() if t else None,
                            "taste": _r(sc.score[k]), "quality": None if q is None else _r(q[k]), "combined": c,
                            "rating": mine.get(i), "flag": flag, "label": label,
                            "reasons": (g.reasons[j] if j < len(g.reasons) else None) or None})
        out.append({"group": gi, "pick": ids[g.pick], "reason": g.reason, "members": members})
    qm = photo_facts.quality_model(state)
    return {"groups": out, "total": len(groups), "photos_in_groups": sum(len(g.members) for g in groups),
            "basis": "profile" if sc.profile is not None else "generic",
            "quality": None if qm is None else getattr(qm, "name", "quality"), "checks": state.checks.word(found),
            "checks_progress": state.checks.status()}

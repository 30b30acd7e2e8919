"""XMP both ways: ``POST /api/export/xmp`` writes the caller's own stars, flags and labels (and, when asked,
piaa's predictions for the photos they have not rated, marked as piaa's) into sidecars; ``POST /api/import/xmp``
takes the stars, flags and labels already in the library's sidecars and embedded XMP as the caller's.

A prediction is never written over a person's stars: photos the caller rated here get their own stars, and a
rating set in another tool stays (piaa's XMP writer). Stars piaa once predicted are never imported.
"""
from __future__ import annotations

from typing import Dict, List, Optional

from fastapi import APIRouter, HTTPException

from piaa.service import marking, personal, queries
from piaa.service.deps import Auth, State
from piaa.service.errors import AUTH, BODY, responses
from piaa.service.schemas import XmpImportIn, XmpImportReport, XmpIn, XmpReport
from piaa.service.strict_json import StrictJSONRoute

router = APIRouter(route_class=StrictJSONRoute, tags=["export"])


def _own_records(state, user_id: int) -> List[dict]:
    lib = state.library
    mine = queries.own_ratings(state.db, user_id)
    marks = marking.marks_of(state.db, user_id)
    out = []
    for i in sorted(set(mine) | set(marks)):
        path = lib.path(i)
        if path is None:
            continue
        flag, label = marks.get(i, (None, None))
        r = mine.get(i)
        out.append({"id": i, "path": str(path), "stars": None if r is None else int(round(r)), "flag": flag,
                    "label": label})
    return out


@router.post("/export/xmp", response_model=XmpReport, responses=responses(*AUTH, *BODY))
def export_xmp(body: XmpIn, caller: Auth, state: State):
    """Into XMP sidecars beside the photos: ``mine`` — the caller's stars, flags and labels (as plain XMP:
    xmp:Rating, xmp:Label, xmpDM:pick / digiKam:PickLabel); ``predictions`` — piaa's predicted stars for the
    photos the caller has not rated, marked as piaa's (``piaa rank --write-xmp``'s writer). A rating or label a
    person set in another tool is kept unless ``overwrite``. Writing needs the server's ``--allow-xmp-write``;
    ``dry_run`` (the default) only reports what would happen."""
    from piaa.profiles.ranking import rank_records
    from piaa.profiles.xmp_person import apply_person, plan_person
    from piaa.profiles.xmp_write import apply_writes, plan_writes

    if not body.dry_run and not state.settings.allow_xmp_write:
        raise HTTPException(403, "this server does not write into the photo folders (start it with "
                                 "--allow-xmp-write); use dry_run to preview")
    lib = state.library
    out, counts = [], {}
    by_path: Dict[str, int] = {}

    def report(kind, a, stars, flag=None, label=None):
        counts[a.action] = counts.get(a.action, 0) + 1
        iid = by_path.get(a.image)
        out.append({"image": iid, "name": lib.name(iid) if iid is not None and lib.exists(iid) else None,
                    "stars": stars, "action": a.action, "reason": a.reason, "kind": kind, "flag": flag,
                    "label": label})

    own = _own_records(state, caller.id) if body.mine else []
    by_path.update({r["path"]: r["id"] for r in own})
    actions = plan_person(own, overwrite=body.overwrite)
    if not body.dry_run:
        actions = apply_person(actions)
    for a in actions:
        report("mine", a, a.wanted.stars, a.wanted.flag, a.wanted.label)
    if body.predictions:
        sc = personal.scores(state, caller.id)
        rated = set(queries.own_ratings(state.db, caller.id))
        paths = [str(lib.path(int(i))) for i in sc.ids]
        by_path.update({p: int(i) for p, i in zip(paths, sc.ids)})
        recs = [r for r in rank_records(paths, sc.score) if by_path.get(r["path"]) not in rated]
        actions = plan_writes(recs, profile=caller.username)
        if not body.dry_run:
            actions = apply_writes(actions, {r["path"]: r["score"] for r in recs if r.get("score") is not None},
                                   profile=caller.username)
        for a in actions:
            report("prediction", a, a.stars)
    return {"dry_run": body.dry_run, "counts": counts, "actions": out}


@router.post("/import/xmp", response_model=XmpImportReport, responses=responses(*AUTH, *BODY))
def import_xmp(caller: Auth, state: State, body: Optional[XmpImportIn] = None):
    """The stars (1-5), colour labels and pick/reject flags the library's sidecars and embedded XMP hold
    become the caller's ratings and marks; stars piaa predicted are skipped. What the caller already gave here
    is kept unless ``overwrite``. Reports how many of each were imported."""
    from piaa.profiles.xmp_files import read_rating
    from piaa.profiles.xmp_person import read_person

    body = body or XmpImportIn()
    lib = state.library
    mine = queries.own_ratings(state.db, caller.id)
    marks = marking.marks_of(state.db, caller.id)
    n = {"photos": 0, "ratings": 0, "labels": 0, "flags": 0, "kept": 0, "predicted_skipped": 0, "errors": 0}
    for i in lib.ids():
        path = lib.path(i)
        if path is None:
            continue
        m = read_person(path)
        if m.error:
            n["errors"] += 1
        if m.stars is None:
            found = read_rating(path)
            if found.predicted and found.value not in (None, 0):
                n["predicted_skipped"] += 1
        if m.empty():
            continue
        n["photos"] += 1
        kept = False
        if m.stars is not None:
            if i in mine and not body.overwrite:
                kept = True
            else:
                queries.put_rating(state.db, caller.id, i, float(m.stars))
                n["ratings"] += 1
        flag, label = marks.get(i, (None, None))
        new_flag, new_label = flag, label
        if m.flag is not None and m.flag != flag:
            if flag is None or body.overwrite:
                new_flag = m.flag
            else:
                kept = True
        if m.label is not None and m.label != label:
            if label is None or body.overwrite:
                new_label = m.label
            else:
                kept = True
        if (new_flag, new_label) != (flag, label):
            marking.put_marks(state.db, caller.id, i, new_flag, new_label)
            n["flags"] += int(new_flag != flag)
            n["labels"] += int(new_label != label)
        n["kept"] += int(kept)
    return n

"""XMP both ways, for the library's XMP owner only (:mod:`piaa.service.xmp_owner`): ``POST /api/export/xmp``
writes the owner's stars, flags and labels (and, when asked, piaa's predictions of the owner's taste for the
photos they have neither rated nor marked, marked as piaa's) into sidecars; ``POST /api/import/xmp`` takes the
stars, flags and labels already in the library's sidecars and embedded XMP as the owner's. A sidecar holds one
rating per photo, so every other member gets 403 with the reason: their stars never become anybody else's.

A prediction is never written over a person's stars: photos the owner rated here get their own stars, and a
rating set in another tool stays (piaa's XMP writer); a read-only sidecar is never written. Stars piaa once
predicted are never imported. A preview and a write run the same plan (:func:`plan_export`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional

from fastapi import APIRouter, BackgroundTasks, HTTPException

from piaa.profiles.core import STAR_SCALE
from piaa.profiles.ranking import rating_stars
from piaa.service import marking, personal, queries
from piaa.service.deps import Auth, State
from piaa.service.errors import AUTH, BODY, responses
from piaa.service.schemas import XmpImportIn, XmpImportReport, XmpIn, XmpReport
from piaa.service.strict_json import StrictJSONRoute
from piaa.service.xmp_owner import require_owner

router = APIRouter(route_class=StrictJSONRoute, tags=["export"])

#: How reasons shown to API callers and the page say that a value can be replaced (no command-line option).
OVERWRITE = '"overwrite": true replaces it'


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
        out.append({"id": i, "path": str(path), "stars": None if r is None else rating_stars(r, STAR_SCALE),
                    "flag": flag, "label": label})
    return out


@dataclass
class ExportPlan:
    """What writing would do: the owner's own marks and the predictions, planned together from the sidecars as
    they are now (so a preview reports what the write then does)."""
    mine: list = field(default_factory=list)            # PersonAction
    predictions: list = field(default_factory=list)     # XmpAction
    by_path: Dict[str, int] = field(default_factory=dict)
    scores: Dict[str, float] = field(default_factory=dict)


def plan_export(state, user_id: int, username: str, body: XmpIn) -> ExportPlan:
    """The one plan of ``POST /api/export/xmp`` (preview and write). Predictions cover only the photos the owner
    has neither rated nor marked: a rejected photo gets no predicted stars, and no photo is planned twice."""
    from piaa.profiles.ranking import rank_records
    from piaa.profiles.xmp_person import plan_person
    from piaa.profiles.xmp_write import plan_writes

    lib = state.library
    plan = ExportPlan()
    own = _own_records(state, user_id)
    if body.mine:
        plan.by_path.update({r["path"]: r["id"] for r in own})
        plan.mine = plan_person(own, overwrite=body.overwrite, hint=OVERWRITE)
    if body.predictions:
        sc = personal.scores(state, user_id)
        judged = {r["id"] for r in own}
        paths = [str(lib.path(int(i))) for i in sc.ids]
        plan.by_path.update({p: int(i) for p, i in zip(paths, sc.ids)})
        recs = [r for r in rank_records(paths, sc.score) if plan.by_path.get(r["path"]) not in judged]
        plan.scores = {r["path"]: r["score"] for r in recs if r.get("score") is not None}
        plan.predictions = plan_writes(recs, profile=username, overwrite=body.overwrite, option=OVERWRITE)
    return plan


def carry_out(plan: ExportPlan, username: str) -> ExportPlan:
    """Write what ``plan`` says; each failure becomes that photo's ``error`` action."""
    from piaa.profiles.xmp_person import apply_person
    from piaa.profiles.xmp_write import apply_writes

    return ExportPlan(apply_person(plan.mine), apply_writes(plan.predictions, plan.scores, profile=username),
                      plan.by_path, plan.scores)


def _without_folders(state, text: Optional[str]) -> Optional[str]:
    """``text`` with the library's folders taken out (reasons reach people who must not learn the server's
    paths; the reasons are written without them, this is the second guard)."""
    if not text:
        return text
    for root in sorted((str(r) for r in state.library.roots), key=len, reverse=True):
        text = text.replace(root + "/", "").replace(root, "the library")
    return text


@router.post("/export/xmp", response_model=XmpReport, responses=responses(*AUTH, 409, *BODY))
def export_xmp(body: XmpIn, caller: Auth, state: State):
    """Into XMP sidecars beside the photos, for the library's XMP owner (everyone else: 403 with the reason;
    409 when nobody owns them): ``mine`` — the owner's stars, flags and labels (as plain XMP: xmp:Rating,
    xmp:Label, xmpDM:pick / digiKam:PickLabel; a rejected photo as rejected, xmp:Rating -1); ``predictions`` —
    piaa's predicted stars for the photos the owner has neither rated nor marked, marked as piaa's (``piaa rank
    --write-xmp``'s writer). A rating or label set in another tool is kept unless ``overwrite``; a read-only
    sidecar is never written (action ``read-only``). Writing needs the server's ``--allow-xmp-write``;
    ``dry_run`` (the default) reports what the write would do (the same plan)."""
    require_owner(state.db, state.settings.xmp_owner, caller.id)
    if not body.dry_run and not state.settings.allow_xmp_write:
        raise HTTPException(403, "this server does not write into the photo folders (its admin starts it with "
                                 "--allow-xmp-write); use dry_run to preview")
    lib = state.library
    plan = plan_export(state, caller.id, caller.username, body)
    if not body.dry_run:
        plan = carry_out(plan, caller.username)
    out, counts = [], {}

    def report(kind, a, stars, flag=None, label=None):
        counts[a.action] = counts.get(a.action, 0) + 1
        iid = plan.by_path.get(a.image)
        out.append({"image": iid, "name": lib.name(iid) if iid is not None and lib.exists(iid) else None,
                    "stars": stars, "action": a.action, "reason": _without_folders(state, a.reason), "kind": kind,
                    "flag": flag, "label": label})

    for a in plan.mine:
        report("mine", a, a.wanted.stars, a.wanted.flag, a.wanted.label)
    for a in plan.predictions:
        report("prediction", a, a.stars)
    return {"dry_run": body.dry_run, "counts": counts, "actions": out}


@router.post("/import/xmp", response_model=XmpImportReport, responses=responses(*AUTH, 409, *BODY))
def import_xmp(caller: Auth, state: State, later: BackgroundTasks, body: Optional[XmpImportIn] = None):
    """For the library's XMP owner (everyone else: 403 with the reason; 409 when nobody owns the sidecars): the
    stars (1-5), colour labels and pick/reject flags the library's sidecars and embedded XMP hold become the
    owner's ratings and marks; stars piaa predicted are skipped. What the owner already gave here is kept unless
    ``overwrite``. Reports how many of each were imported."""
    from piaa.profiles.xmp_files import read_rating
    from piaa.profiles.xmp_person import read_person

    require_owner(state.db, state.settings.xmp_owner, caller.id)
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
    if n["ratings"]:
        later.add_task(personal.refit, state, caller.id)
    return n

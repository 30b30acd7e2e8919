"""The caller's pick/reject flags and colour labels: ``PUT /api/marks/{id}``, ``GET /api/marks``."""
from __future__ import annotations

from fastapi import APIRouter

from piaa.service import marking
from piaa.service.deps import Auth, State
from piaa.service.errors import AUTH, BODY, responses
from piaa.service.routes.library import ImageId, known
from piaa.service.schemas import MarksIn, MarksList, MarksOut
from piaa.service.strict_json import StrictJSONRoute

router = APIRouter(route_class=StrictJSONRoute, tags=["ratings"])


@router.put("/marks/{image_id}", response_model=MarksOut, responses=responses(*AUTH, 404, *BODY))
def put_marks(body: MarksIn, caller: Auth, state: State, image_id: int = ImageId):
    """Flag a photo (pick / reject / null) and give it a colour label (or null), apart from its stars; a field
    that is sent replaces the stored one, a field left out stays as it was. Returns the stored marks."""
    known(state, image_id)
    flag, label = marking.marks_of(state.db, caller.id).get(image_id, (None, None))
    sent = body.model_fields_set
    flag = body.flag if "flag" in sent else flag
    label = body.label if "label" in sent else label
    marking.put_marks(state.db, caller.id, image_id, flag, label)
    return {"image": image_id, "flag": flag, "label": label}


@router.get("/marks", response_model=MarksList, responses=responses(*AUTH))
def list_marks(caller: Auth, state: State):
    """Every flag and label the caller set (photos with neither are left out)."""
    return {"marks": [{"image": i, "flag": f, "label": lab}
                      for i, (f, lab) in sorted(marking.marks_of(state.db, caller.id).items())]}

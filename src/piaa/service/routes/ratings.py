"""The caller's judgements: ``/api/ratings`` (stars) and ``/api/comparisons`` ("this one is better")."""
from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks, HTTPException, Path, Response
from fastapi.responses import JSONResponse

from piaa.service import personal, queries
from piaa.service.strict_json import StrictJSONRoute
from piaa.service.deps import Auth, State
from piaa.service.errors import AUTH, BODY, responses
from piaa.service.routes.library import ImageId, known
from piaa.service.schemas import (MAX_ID, ComparisonIn, ComparisonList, ComparisonOut, RatingIn, RatingList,
                                  RatingOut)

router = APIRouter(route_class=StrictJSONRoute, tags=["ratings"])


@router.put("/ratings/{image_id}", status_code=201, response_model=RatingOut, responses={
    200: {"model": RatingOut, "description": "an earlier rating was replaced"},
    **responses(*AUTH, 404, *BODY)})
def put_rating(body: RatingIn, caller: Auth, state: State, later: BackgroundTasks, image_id: int = ImageId):
    """Give a photo whole stars, 1 to 5 (201 new, 200 replaced). An existing profile is refitted right after
    (in the background), from whichever view or client the rating came."""
    known(state, image_id)
    created = queries.put_rating(state.db, caller.id, image_id, float(body.rating))
    later.add_task(personal.refit, state, caller.id)
    return JSONResponse({"image": image_id, "rating": float(body.rating)}, status_code=201 if created else 200)


@router.delete("/ratings/{image_id}", status_code=204, response_class=Response, responses=responses(*AUTH, 404, 422))
def delete_rating(caller: Auth, state: State, later: BackgroundTasks, image_id: int = ImageId):
    """Remove the caller's rating of a photo (also of one no longer in the library); an existing profile is
    refitted right after."""
    if not queries.delete_rating(state.db, caller.id, image_id):
        raise HTTPException(404, f"you have not rated photo {image_id}")
    later.add_task(personal.refit, state, caller.id)
    return Response(status_code=204)


@router.get("/ratings", response_model=RatingList, responses=responses(*AUTH))
def list_ratings(caller: Auth, state: State):
    """The caller's own ratings (never anybody else's, whatever the query string says)."""
    rows = queries.ratings_with_times(state.db, caller.id)
    return {"ratings": [{"image": i, "rating": r, "updated": u.isoformat()} for i, r, u in rows]}


@router.post("/comparisons", status_code=201, response_model=ComparisonOut,
             responses=responses(*AUTH, 404, 409, *BODY))
def post_comparison(body: ComparisonIn, caller: Auth, state: State, later: BackgroundTasks):
    """"Of these two, I prefer ``better``." Profiles learn from comparisons and ratings together. 409 for a photo
    compared with itself: a rule across two fields that a JSON Schema cannot state, so it is not a 422 (a
    schema-valid request is not malformed)."""
    if body.better == body.worse:
        raise HTTPException(409, "a comparison needs two different photos")
    known(state, body.better)
    known(state, body.worse)
    cid = queries.add_comparison(state.db, caller.id, body.better, body.worse)
    later.add_task(personal.refit, state, caller.id)
    return {"id": cid, "better": body.better, "worse": body.worse}


@router.get("/comparisons", response_model=ComparisonList, responses=responses(*AUTH))
def list_comparisons(caller: Auth, state: State):
    return {"comparisons": [{"id": i, "better": b, "worse": w} for i, b, w in queries.comparisons(state.db, caller.id)]}


@router.delete("/comparisons/{comparison_id}", status_code=204, response_class=Response,
               responses=responses(*AUTH, 404, 422))
def delete_comparison(caller: Auth, state: State, later: BackgroundTasks,
                      comparison_id: int = Path(ge=1, le=MAX_ID)):
    if not queries.delete_comparison(state.db, caller.id, comparison_id):
        raise HTTPException(404, f"you have no comparison {comparison_id}")
    later.add_task(personal.refit, state, caller.id)
    return Response(status_code=204)

"""Accounts beyond sign-in: ``POST /api/me/password``; for admins ``/api/invites`` (one-time sign-up codes,
valid 7 days) and ``/api/users`` (list and remove members)."""
from __future__ import annotations

from fastapi import APIRouter, HTTPException, Path, Request, Response

from piaa.service import membership
from piaa.service.deps import Auth, State
from piaa.service.errors import AUTH, BODY, responses
from piaa.service.routes.accounts import check_password_of
from piaa.service.schemas import MAX_ID, InviteList, InviteOut, MemberList, PasswordChanged, PasswordIn
from piaa.service.strict_json import StrictJSONRoute

router = APIRouter(route_class=StrictJSONRoute, tags=["accounts"])


def require_admin(state, caller) -> None:
    if not membership.is_admin(state.db, caller.id):
        raise HTTPException(403, "only an admin may do this (piaa serve users add NAME --admin)")


@router.post("/me/password", response_model=PasswordChanged, responses=responses(*AUTH, 429, *BODY))
def change_password(body: PasswordIn, request: Request, caller: Auth, state: State):
    """Change the caller's password (``old`` must be the current one; 403 otherwise); every other token and
    page session of theirs is revoked, the one this request used stays. A wrong ``old`` counts as a failed
    sign-in of the account: after too many, 429 with ``Retry-After`` (a stolen token cannot test passwords)."""
    user, _ = check_password_of(state, request, caller.username, body.old)
    if user is None:
        raise HTTPException(403, "the current password is wrong")
    return {"revoked": membership.change_password(state.db, caller.id, body.new, caller.token)}


@router.post("/invites", status_code=201, response_model=InviteOut, responses=responses(*AUTH))
def create_invite(caller: Auth, state: State):
    """(admins) A one-time invitation code: with it one person may sign up (``POST /api/signup`` with
    ``invite``) within 7 days, even with open sign-up off. The code is shown once."""
    require_admin(state, caller)
    iid, code, expires = membership.create_invite(state.db, caller.id)
    return {"id": iid, "code": code, "expires": expires.isoformat()}


@router.get("/invites", response_model=InviteList, responses=responses(*AUTH))
def list_invites(caller: Auth, state: State):
    """(admins) Every invitation: who made it, until when it is valid, who used it (never the codes)."""
    require_admin(state, caller)
    return {"invites": membership.invites(state.db)}


@router.delete("/invites/{invite_id}", status_code=204, response_class=Response, responses=responses(*AUTH, 404, 422))
def delete_invite(caller: Auth, state: State, invite_id: int = Path(ge=1, le=MAX_ID)):
    """(admins) Withdraw an invitation."""
    require_admin(state, caller)
    if not membership.delete_invite(state.db, invite_id):
        raise HTTPException(404, f"no invitation {invite_id}")
    return Response(status_code=204)


@router.get("/users", response_model=MemberList, responses=responses(*AUTH))
def list_users(caller: Auth, state: State):
    """(admins) The members: name, admin or not, since when, how many ratings."""
    require_admin(state, caller)
    return {"users": membership.members(state.db)}


@router.delete("/users/{user_id}", status_code=204, response_class=Response,
               responses=responses(*AUTH, 404, 409, 422))
def delete_user(caller: Auth, state: State, user_id: int = Path(ge=1, le=MAX_ID)):
    """(admins) Remove a member with their ratings, comparisons, marks and profile. Admins cannot remove
    themselves here (409; ``piaa serve users delete NAME`` can)."""
    require_admin(state, caller)
    if user_id == caller.id:
        raise HTTPException(409, "you cannot remove your own account here; use piaa serve users delete NAME")
    if not membership.delete_member(state.db, user_id):
        raise HTTPException(404, f"no member with id {user_id}")
    state.profiles.pop(user_id, None)
    return Response(status_code=204)

"""Accounts, bearer tokens and the page's session: ``/api/signup``, ``/api/token``, ``/api/session``."""
from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import JSONResponse

from piaa.service import membership, queries
from piaa.service.strict_json import StrictJSONRoute
from piaa.service.deps import SESSION_COOKIE, Auth, State, client_key
from piaa.service.errors import AUTH, BODY, responses
from piaa.service.persistence import User
from piaa.service.schemas import Account, Credentials, SessionOut, SignupIn, TokenOut
from piaa.service.security import SESSION_DAYS, TOKEN_DAYS, csrf_for, verify_password

router = APIRouter(route_class=StrictJSONRoute, tags=["accounts"])


@router.post("/signup", status_code=201, response_model=Account, responses=responses(403, 409, *BODY))
def signup(body: SignupIn, state: State):
    """Create an account: when the server runs with ``--allow-signup``, or with a one-time ``invite`` code an
    admin made (403 when it is unknown, used or expired); usernames are unique regardless of case."""
    if not state.settings.allow_signup and body.invite is None:
        raise HTTPException(403, "sign-up is off on this server; ask its admin for an invitation (or an account: "
                                 "piaa serve users add NAME)")
    try:
        if body.invite is not None:
            user = membership.create_invited_user(state.db, body.username, body.password, body.invite)
        else:
            user = queries.create_user(state.db, body.username, body.password)
    except queries.UserExists as exc:
        raise HTTPException(409, str(exc)) from None
    except membership.InviteInvalid as exc:
        raise HTTPException(403, str(exc)) from None
    return {"id": user.id, "username": user.username}


def check_password_of(state, request: Request, username: str, password: str):
    """(user, new hash or None) when ``password`` is ``username``'s, else (None, None); 429 with Retry-After
    once this client, this name or this account has failed too often (``security.LoginLimiter``): sign-in and
    the password change share the count, so neither is a free password oracle."""
    client = client_key(request)
    wait = state.limiter.retry_after(client, username)
    if wait is not None:
        raise HTTPException(429, f"too many wrong passwords; try again in {wait} s", headers={"Retry-After": str(wait)})
    user = queries.user_by_name(state.db, username)
    ok, rehash = verify_password(user.password_hash if user else None, password)
    if not ok or user is None:
        state.limiter.failed(client, username)
        return None, None
    state.limiter.succeeded(client, username)
    return user, rehash


def authenticate(state, request: Request, body: Credentials) -> User:
    """The user of these credentials, or 401 (429 after too many failures from this client / for this name /
    for this account)."""
    user, rehash = check_password_of(state, request, body.username, body.password)
    if user is None:
        raise HTTPException(401, "wrong username or password", headers={"WWW-Authenticate": "Bearer"})
    if rehash:
        queries.set_password_hash(state.db, user.id, rehash)
    return user


@router.post("/token", response_model=TokenOut, responses=responses(401, 429, *BODY))
def token(body: Credentials, request: Request, state: State):
    """A new bearer token for the API (keep it secret; it is shown once and stored only as a hash). It is valid
    ``expires_in`` seconds (30 days); after that requests with it get 401 and the client asks for a new one."""
    user = authenticate(state, request, body)
    return {"token": queries.issue_token(state.db, user.id, "api", days=TOKEN_DAYS), "token_type": "bearer",
            "username": user.username, "expires_in": TOKEN_DAYS * 86400}


@router.delete("/token", status_code=204, response_class=Response, responses=responses(400, *AUTH))
def revoke_token(caller: Auth, state: State):
    """Revoke the bearer token this request was made with."""
    if caller.via != "bearer":
        raise HTTPException(400, "this request was not made with a bearer token")
    queries.revoke_token(state.db, caller.token)
    return Response(status_code=204)


@router.post("/session", tags=["page"], response_model=SessionOut, responses=responses(401, 429, *BODY))
def session_login(body: Credentials, request: Request, state: State):
    """Sign in for the web page: sets an HttpOnly, SameSite=Strict session cookie; returns the CSRF token that
    every state-changing request of the page must send as ``X-CSRF-Token``."""
    user = authenticate(state, request, body)
    tok = queries.issue_token(state.db, user.id, "session", days=SESSION_DAYS)
    resp = JSONResponse({"username": user.username, "csrf": csrf_for(tok)})
    resp.set_cookie(SESSION_COOKIE, tok, max_age=SESSION_DAYS * 86400, httponly=True, samesite="strict",
                    secure=request.url.scheme == "https", path="/")
    return resp


@router.get("/session", tags=["page"], response_model=SessionOut, responses=responses(*AUTH))
def session_info(caller: Auth):
    """Who is signed in, and the page's CSRF token."""
    return {"username": caller.username, "csrf": csrf_for(caller.token) if caller.via == "session" else None}


@router.delete("/session", tags=["page"], status_code=204, response_class=Response, responses=responses(*AUTH))
def session_logout(request: Request, caller: Auth, state: State):
    """Sign out of the page (the session cookie is revoked and cleared)."""
    tok = request.cookies.get(SESSION_COOKIE)
    if tok:
        queries.revoke_token(state.db, tok, kind="session")
    resp = Response(status_code=204)
    resp.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return resp

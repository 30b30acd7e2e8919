"""The HTTP API of ``piaa serve``, one module per resource; :data:`api_router` includes them all under /api.

To add a route: put it in the module of its resource (or a new module here, included below), declare its
``response_model`` (a model in :mod:`piaa.service.schemas`) and ``responses=errors.responses(...)`` with every
error status it can answer, take ``caller: Auth`` to require sign-in, and keep profile logic in
:mod:`piaa.service.personal` / :mod:`piaa.profiles.core` and SQL in :mod:`piaa.service.queries`.
"""
from fastapi import APIRouter

from piaa.service.routes import (accounts, cull, export, health, library, marks, me, members, photos, profile,
                                 ratings, team, xmp)

api_router = APIRouter(prefix="/api")
for _module in (health, accounts, library, photos, ratings, marks, profile, cull, team, export, xmp, me, members):
    api_router.include_router(_module.router)

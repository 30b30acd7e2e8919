"""The API's contract: every request body and every response of ``piaa serve`` as a pydantic model.

Each route declares its ``response_model`` from here, so ``/openapi.json`` states what a client gets, and
what the code checks (the username pattern, whole stars 1-5, two distinct photos) is stated in the schema too.
Error bodies are :class:`ErrorBody` (one message) and :class:`ValidationErrorBody` (422: a message, or the
list of problems with the request, never echoing what was sent).
"""
from __future__ import annotations

from typing import Any, Dict, List, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, StrictBool, model_validator

from piaa.service.security import MAX_PASSWORD, MIN_PASSWORD, USERNAME_PATTERN

#: The largest id a path or body may name (SQL INTEGER); larger ones are refused by the schema (422).
MAX_ID = 2 ** 63 - 1


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _In(BaseModel):
    model_config = ConfigDict(extra="ignore")


# ---- errors ----------------------------------------------------------------------------------------------------
class ErrorBody(_Out):
    detail: str = Field(description="what went wrong, in one line")


class ValidationIssue(_Out):
    loc: List[Union[str, int]] = Field(description="where: body / query / path, then the field")
    msg: str
    type: str


class ValidationErrorBody(_Out):
    detail: Union[str, List[ValidationIssue]] = Field(
        description="the problems with the request (never a copy of it), or one message")


# ---- accounts --------------------------------------------------------------------------------------------------
class Credentials(_In):
    username: str = Field(min_length=1, max_length=256)
    password: str = Field(min_length=1, max_length=4096)


class SignupIn(_In):
    username: str = Field(pattern=USERNAME_PATTERN, min_length=1, max_length=64,
                          description="1-64 letters, digits and _ . @ - starting with a letter or digit; unique "
                                      "regardless of case")
    password: str = Field(min_length=MIN_PASSWORD, max_length=MAX_PASSWORD)


class Account(_Out):
    id: int
    username: str


class TokenOut(_Out):
    token: str = Field(description="send as Authorization: Bearer TOKEN; shown once")
    token_type: Literal["bearer"]
    username: str


class SessionOut(_Out):
    username: str
    csrf: Optional[str] = Field(description="send as X-CSRF-Token on every state-changing request of the page "
                                            "(null when signed in with a bearer token)")


# ---- service ---------------------------------------------------------------------------------------------------
class Health(_Out):
    status: Literal["ok", "unavailable"]
    version: str
    signup: bool
    database: Literal["ok", "down"]


class Progress(_Out):
    state: str = Field(description="starting | scanning | extracting | ready | error")
    total: int
    done: int
    failed: int
    ready: bool
    message: str
    seconds: float


# ---- library ---------------------------------------------------------------------------------------------------
class ImageItem(_Out):
    id: int
    name: str
    rating: Optional[float]
    error: Optional[str]


class ImagePage(_Out):
    images: List[ImageItem]
    total: int
    offset: int
    limit: int


class PhotoRef(_Out):
    id: int
    name: str


# ---- ratings and comparisons -----------------------------------------------------------------------------------
class RatingIn(_In):
    rating: int = Field(ge=1, le=5, description="whole stars, 1 (worst) to 5 (best)")

    @model_validator(mode="before")
    @classmethod
    def _whole_stars(cls, data):
        """A JSON number with no fraction (4 or 4.0); not true/false, not text, not 3.7."""
        if isinstance(data, dict) and "rating" in data:
            v = data["rating"]
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise ValueError("rating: a whole number of stars, 1 to 5")
            if isinstance(v, float):
                if not v.is_integer():
                    raise ValueError("rating: whole stars only (1, 2, 3, 4 or 5)")
                data = dict(data, rating=int(v))
        return data


class RatingOut(_Out):
    image: int
    rating: float


class RatingItem(_Out):
    image: int
    rating: float
    updated: str = Field(description="ISO 8601 time with its zone (UTC)")


class RatingList(_Out):
    ratings: List[RatingItem]


class ComparisonIn(_In):
    better: int = Field(strict=True, ge=1, le=MAX_ID, description="id of the photo preferred")
    worse: int = Field(strict=True, ge=1, le=MAX_ID, description="id of the other photo: a different one")

    @model_validator(mode="after")
    def _distinct(self):
        if self.better == self.worse:
            raise ValueError("a comparison needs two different photos")
        return self


class ComparisonOut(_Out):
    id: int
    better: int
    worse: int


class ComparisonList(_Out):
    comparisons: List[ComparisonOut]


# ---- profile ---------------------------------------------------------------------------------------------------
class Assessment(BaseModel):
    """The cross-validated self-assessment (more keys may follow; the page reads ``pairs_right_*``)."""
    model_config = ConfigDict(extra="allow")
    method_srocc: Optional[float] = None
    generic_srocc: Optional[float] = None
    n: Optional[int] = None
    folds: Optional[int] = None
    pairs_compared: Optional[int] = None
    pairs_right_profile: Optional[float] = None
    pairs_right_generic: Optional[float] = None
    summary: Optional[str] = None


class ProfileOut(_Out):
    method: str
    fit: Optional[str]
    n_ratings: int
    n_comparisons: int
    created: Optional[str] = Field(description="ISO 8601 time with its zone (UTC)")
    assessment: Optional[Assessment]
    summary: str = Field(description="how well the profile knows its person, in plain words")


class RankedImage(_Out):
    id: int
    name: str
    score: float = Field(description="on the 1-5 star scale: your stars, or the prediction (see source)")
    source: Literal["rating", "profile", "generic"]
    predicted: float = Field(description="the model's score on the 1-5 scale")
    stars: int = Field(description="predicted stars: the score's fifth within the library")
    rating: Optional[float]
    generic: float = Field(description="the general model's score on the 1-5 scale")


class RankingProfile(_Out):
    n_ratings: int
    n_comparisons: int
    created: str


class Ranking(_Out):
    images: List[RankedImage]
    total: int
    basis: Literal["profile", "generic"]
    profile: Optional[RankingProfile]
    unscored: int


class Suggestions(_Out):
    images: List[PhotoRef]
    strategy: str


class SimilarPhoto(_Out):
    id: int
    name: str
    rating: float
    similarity: float


class Why(_Out):
    image: int
    name: str
    score: float
    generic: float
    rating: Optional[float]
    similar: List[SimilarPhoto]
    explanation: str


# ---- export ----------------------------------------------------------------------------------------------------
class RatingsExportItem(_Out):
    image_id: int
    image: Optional[str]
    rating: float


class RatingsExport(_Out):
    user: str
    scale: List[float]
    ratings: List[RatingsExportItem]
    comparisons: List[Dict[str, int]]


class ProfileDocument(BaseModel):
    """A ``piaa-profile`` export (``piaa profile import FILE`` reads it; see piaa.profiles.exchange)."""
    model_config = ConfigDict(extra="allow")
    format: Literal["piaa-profile"]
    format_version: int
    name: str
    method: str
    created: Optional[str]
    updated: Optional[str]
    meta: Dict[str, Any]
    ratings: List[Dict[str, Any]]
    state: Dict[str, Any]


class XmpIn(_In):
    dry_run: StrictBool = True


class XmpAction(_Out):
    image: Optional[int]
    name: Optional[str]
    stars: Optional[int]
    action: str
    reason: Optional[str]


class XmpReport(_Out):
    dry_run: bool
    counts: Dict[str, int]
    actions: List[XmpAction]


# ---- me --------------------------------------------------------------------------------------------------------
class Me(_Out):
    username: str
    ratings: int
    comparisons: int
    profile: Optional[ProfileOut]
    min_ratings: int
    library: Progress
    total_images: int

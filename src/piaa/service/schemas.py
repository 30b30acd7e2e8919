"""The API's contract: every request body and every response of ``piaa serve`` as a pydantic model.

Each route declares its ``response_model`` from here, so ``/openapi.json`` states what a client gets, and
what the code checks (the username pattern, whole stars 1-5, two distinct photos) is stated in the schema too.
Error bodies are :class:`ErrorBody` (one message) and :class:`ValidationErrorBody` (422: a message, or the
list of problems with the request, never echoing what was sent).
"""
from __future__ import annotations

from typing import Annotated, Any, Dict, List, Literal, Optional, Union

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, model_validator

from piaa.service.security import MAX_PASSWORD, MIN_PASSWORD, USERNAME_PATTERN, USERNAME_RULE

#: The largest id a path or body may name (a 32-bit SQL INTEGER, as PostgreSQL stores ids); larger ones are
#: refused by the schema (422) instead of reaching the database ("integer out of range" was a 500).
MAX_ID = 2 ** 31 - 1


#: A person's pick/reject flag and colour label of a photo (apart from the stars; null = none).
Flag = Literal["pick", "reject"]
Label = Literal["red", "yellow", "green", "blue", "purple"]


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
                          description=USERNAME_RULE + "; unique regardless of case")
    password: str = Field(min_length=MIN_PASSWORD, max_length=MAX_PASSWORD)
    invite: Optional[str] = Field(None, min_length=1, max_length=128,
                                  description="a one-time invitation code from an admin (POST /api/invites): "
                                              "signs up while open sign-up is off")


class Account(_Out):
    id: int
    username: str


class TokenOut(_Out):
    token: str = Field(description="send as Authorization: Bearer TOKEN; shown once")
    token_type: Literal["bearer"]
    username: str
    expires_in: int = Field(description="seconds the token is valid (30 days); then 401 and sign in again")


class SessionOut(_Out):
    username: str
    csrf: Optional[str] = Field(description="send as X-CSRF-Token on every state-changing request of the page "
                                            "(null when signed in with a bearer token)")


# ---- service ---------------------------------------------------------------------------------------------------
class CullChecks(_Out):
    state: Literal["running", "ready", "off"] = Field(
        description="the checks at 100 % of the bursts: running in the background, ready, or off (--cull-checks none)")
    checks: List[str] = Field(description="which checks run: eyes, focus, motion")
    groups: int = Field(description="groups of two or more photos to judge")
    done: int = Field(description="groups judged so far (or read back from an earlier run)")
    photos: int = Field(description="photos in those groups")
    judged: int = Field(description="photos judged at 100 % since the server started")
    reused: int = Field(description="groups whose verdict an earlier run had stored")
    seconds: float = Field(description="time spent judging since the server started")
    seconds_per_photo: Optional[float]
    note: Optional[str] = Field(description="e.g. the face model is missing: eyes are not checked")


class Health(_Out):
    status: Literal["ok", "unavailable"]
    version: str
    signup: bool
    database: Literal["ok", "down"]
    reason: Optional[str] = Field(None, description="why the database is down, in one line (null when ok)")


class Progress(_Out):
    state: str = Field(description="starting | scanning | extracting | ready | error")
    total: int
    done: int
    failed: int
    ready: bool
    message: str
    seconds: float
    found: Optional[Dict[str, int]] = Field(
        None, description="what the last scan found: new, changed and removed photos (null before one ran)")
    checks: Optional[CullChecks] = Field(None, description="the checks at 100 % of the bursts, in the background")


# ---- library ---------------------------------------------------------------------------------------------------
class ImageItem(_Out):
    id: int
    name: str
    rating: Optional[float]
    error: Optional[str]
    flag: Optional[Flag]
    label: Optional[Label]


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


def _json_integer(v):
    """A JSON Schema ``integer``: a number with no fraction, so 7 and 7.0 (not true/false, not "7", not 7.5)."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ValueError("a whole number")
    if isinstance(v, float):
        if not v.is_integer():
            raise ValueError("a whole number")
        v = int(v)
    return v


PhotoIdIn = Annotated[int, BeforeValidator(_json_integer)]


class ComparisonIn(_In):
    better: PhotoIdIn = Field(ge=1, le=MAX_ID, description="id of the photo preferred")
    worse: PhotoIdIn = Field(ge=1, le=MAX_ID,
                             description="id of the other photo: a different one (the same photo twice is 409)")


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


class StackFrame(_Out):
    id: int
    name: str
    reasons: Optional[List[str]] = Field(None, description="why this frame is not the group's pick, in plain words "
                                                           "(the checks at 100 % once ready); null for the pick")


class RankedImage(_Out):
    id: int
    name: str
    score: float = Field(description="on the 1-5 star scale: your stars, or the prediction (see source)")
    source: Literal["rating", "profile", "library", "generic"]
    predicted: float = Field(description="the model's score on the 1-5 scale")
    stars: int = Field(description="predicted stars: the score's fifth within the library")
    rating: Optional[float]
    generic: float = Field(description="the general model's score on the 1-5 scale")
    quality: Optional[float] = Field(description="the technical-quality model's score (null without one)")
    taken: Optional[str] = Field(description="capture time (EXIF, as the camera recorded it), or null")
    flag: Optional[Flag]
    label: Optional[Label]
    stack: Optional[List[StackFrame]] = Field(
        None, description="with stack=true: the frames of this photo's burst or near-duplicate group that match "
                          "the filters, this one (the group's pick when it matches) first; null when alone")


class FolderCount(_Out):
    name: str
    photos: int = Field(description="analysed photos below this folder")


class RankingProfile(_Out):
    n_ratings: int
    n_comparisons: int
    created: str


class LibraryTaught(_Out):
    people: int = Field(description="members whose shared ratings taught the library model")
    ratings: int


class Ranking(_Out):
    images: List[RankedImage]
    total: int = Field(description="photos that match the filters (all analysed photos without filters)")
    offset: int
    limit: int
    basis: Literal["profile", "library", "generic"]
    profile: Optional[RankingProfile]
    unscored: int
    library_taste: Optional[LibraryTaught] = Field(
        None, description="the library model the ranking starts from (null: the generic model)")
    order: str = Field("taste", description="what the photos are ordered by, in words")
    photos: int = Field(0, description="photos that match the filters (with stack=true: counting every frame)")
    stacked: bool = Field(False, description="bursts and near-duplicates are shown as one photo (stack=true, "
                                             "once the library's groups are known)")
    folders: List[FolderCount] = Field(default_factory=list, description="the library's folders (filter by one)")
    checks: Literal["running", "ready", "off"] = Field(
        "off", description="whether the stacks' picks already use the checks at 100 % (see GET /api/bursts)")


class Suggestions(_Out):
    images: List[PhotoRef]
    strategy: str


class SimilarPhoto(_Out):
    id: int
    name: str
    rating: float
    similarity: float
    weak: bool = Field(False, description="a weak likeness: at least 1 in 10 of the library's photos look more "
                                          "like it")


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
    mine: StrictBool = Field(True, description="write the caller's own stars, flags and labels")
    predictions: StrictBool = Field(True, description="write piaa's predicted stars, marked as piaa's, for the "
                                                      "photos the caller has not rated")
    overwrite: StrictBool = Field(False, description="replace stars/labels a person set in another tool")


class XmpAction(_Out):
    image: Optional[int]
    name: Optional[str]
    stars: Optional[int]
    action: str = Field(description="create | update | unchanged | keep (a value set in another tool) | "
                                    "read-only (a locked sidecar, never written) | shared | error")
    reason: Optional[str]
    kind: Literal["mine", "prediction"]
    flag: Optional[Flag] = None
    label: Optional[Label] = None


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
    is_admin: bool
    xmp_write: bool = Field(description="whether this server may write XMP sidecars (--allow-xmp-write)")
    xmp_owner: Optional[str] = Field(None, description="the member whose stars the library's XMP sidecars hold "
                                     "(only they export to and import from them); null: nobody yet")
    xmp_owner_note: str = Field("", description="why the XMP sidecars are or are not yours, in plain words")
    share_ratings: bool = Field(True, description="whether your ratings teach the library model (PUT /api/me)")
    library_taste: Optional["LibraryTasteState"] = Field(
        None, description="the library model everyone starts from (null: off, or fewer than 2 members shared)")


class LibraryTasteState(_Out):
    people: int = Field(description="members whose shared ratings taught it")
    ratings: int
    seconds: float = Field(description="wall time of its last refit")
    fitted_at: float = Field(description="when it was last refitted (Unix time)")
    noise: float
    content_weight: float


class MeUpdate(_In):
    share_ratings: Optional[StrictBool] = Field(None, description="false: your ratings leave the library model at its "
                                                            "next refit (your own ranking still starts from it)")


# ---- marks, photo view, culling, XMP import, team, members -------------------------------------------
class MarksIn(_In):
    flag: Optional[Flag] = Field(None, description="pick, reject, or null (unflagged); left out: unchanged")
    label: Optional[Label] = Field(None, description="a colour label as in Lightroom, or null; left out: unchanged")


class MarksOut(_Out):
    image: int
    flag: Optional[Flag]
    label: Optional[Label]


class MarksList(_Out):
    marks: List[MarksOut]


class ExifSummary(_Out):
    camera: Optional[str]
    lens: Optional[str]
    exposure: Optional[str] = Field(description="e.g. 1/250 s")
    aperture: Optional[str] = Field(description="e.g. f/2.8")
    iso: Optional[int]
    focal_length: Optional[str] = Field(description="e.g. 50 mm")
    focal_length_35mm: Optional[str]
    exposure_bias: Optional[str]
    taken: Optional[str] = Field(description="capture time as the camera recorded it (ISO 8601, no zone)")
    width: Optional[int]
    height: Optional[int]


class Histogram(_Out):
    bins: int
    r: List[float] = Field(description="share of pixels per bin (sums to 1)")
    g: List[float]
    b: List[float]
    luma: List[float]


class OriginalFile(_Out):
    media_type: str
    bytes: int
    browser_viewable: bool = Field(description="whether a browser can show the original itself (JPEG, PNG, WebP, "
                                               "GIF, AVIF); else the page zooms into the display copy")


class PhotoInfo(_Out):
    id: int
    name: str
    rating: Optional[float]
    flag: Optional[Flag]
    label: Optional[Label]
    quality: Optional[float] = Field(description="the technical-quality model's score (null without one)")
    exif: ExifSummary
    histogram: Optional[Histogram]
    histogram_error: Optional[str]
    original: OriginalFile
    error: Optional[str]


class BurstMember(_Out):
    id: int
    name: str
    taken: Optional[str]
    taste: Optional[float] = Field(description="your taste on the 1-5 scale (profile, else the general model)")
    quality: Optional[float]
    combined: Optional[float] = Field(description="taste + quality, each standardized over the library")
    rating: Optional[float]
    flag: Optional[Flag]
    label: Optional[Label]
    reasons: Optional[List[str]] = Field(None, description="why this frame is not the pick, in plain words "
                                                           "(null when the checks gave none)")


class BurstGroup(_Out):
    group: int
    pick: int = Field(description="id of the suggested pick")
    reason: str = Field(description="why: your pick, your own stars, or the best score")
    members: List[BurstMember]


class Bursts(_Out):
    groups: List[BurstGroup]
    total: int = Field(description="groups in the library (before offset/limit)")
    photos_in_groups: int
    basis: Literal["profile", "generic"]
    quality: Optional[str] = Field(description="the technical-quality model combined with taste, or null")
    checks: Literal["running", "ready", "off"] = Field(
        description="the checks at 100 % (closed eyes, soft subject, motion blur): ready = every group's pick and "
                    "reasons use them; running = not all groups are judged yet (picks of those not judged follow "
                    "taste + quality); off = --cull-checks none")
    checks_progress: CullChecks


class XmpImportIn(_In):
    overwrite: StrictBool = Field(False, description="replace stars and labels you already gave here")


class XmpImportReport(_Out):
    photos: int = Field(description="photos whose sidecar or embedded XMP held stars, a flag or a label of yours")
    ratings: int = Field(description="stars imported as your ratings")
    labels: int
    flags: int
    kept: int = Field(description="photos you had already rated or marked here (kept; overwrite replaces)")
    predicted_skipped: int = Field(description="stars piaa had predicted (piaa:PredictedRating): never imported")
    errors: int = Field(description="sidecars or packets that could not be read")


class TeamRating(_Out):
    username: str
    rating: float


class TeamImage(_Out):
    id: int
    name: str
    score: float = Field(description="the team's combined taste: mean percentile of each member's scores, 0-1")
    agreement: Optional[float] = Field(description="how alike the stars of the members who rated it are: 1 = the "
                                       "same stars, 0 = 5 against 1; null when fewer than two members rated it")
    raters: int = Field(0, description="how many sharing members rated it")
    ratings: List[TeamRating] = Field(description="other sharing members' own stars (only when you share too)")
    rating: Optional[float] = Field(description="your own stars")


class TeamRanking(_Out):
    members: List[str] = Field(description="members whose taste is combined (they share and have rated)")
    you_share: bool
    images: List[TeamImage]
    total: int
    offset: int
    limit: int


class PasswordIn(_In):
    old: str = Field(min_length=1, max_length=MAX_PASSWORD)
    new: str = Field(min_length=MIN_PASSWORD, max_length=MAX_PASSWORD)


class PasswordChanged(_Out):
    revoked: int = Field(description="other tokens and page sessions signed out")


class InviteOut(_Out):
    id: int
    code: str = Field(description="give it to the person; shown once, valid once, for 7 days")
    expires: str


class InviteItem(_Out):
    id: int
    created: str
    expires: str
    created_by: Optional[str]
    used_by: Optional[str]


class InviteList(_Out):
    invites: List[InviteItem]


class Member(_Out):
    id: int
    username: str
    is_admin: bool
    created: str
    ratings: int


class MemberList(_Out):
    users: List[Member]


Me.model_rebuild()

"""Accounts and credentials: argon2id password hashes, random tokens stored as SHA-256, CSRF, login rate limit.

- Passwords: argon2-cffi's ``PasswordHasher`` (argon2id, its default cost), rehashed on login when the library's
  recommended parameters change.
- Bearer tokens and page sessions: 32 random bytes (``secrets.token_urlsafe``); the database keeps only their
  SHA-256 (a token has 256 bits of entropy, so a fast hash is enough and lookups stay indexed), so a copy of the
  database does not let anyone sign in.
- The page's session cookie is HttpOnly and SameSite=Strict; on top of that every state-changing request
  authenticated by the cookie must carry ``X-CSRF-Token``, derived from the session secret, which a foreign site
  can neither read nor compute.
- Login: at most ``LOGIN_FAILURES`` failed attempts per (client, username), ``5 ×`` that per client, and
  ``ACCOUNT_FAILURES`` per account whatever the address (100 guesses spread over 20 addresses got no 429)
  within ``LOGIN_WINDOW`` seconds; then 429 with ``Retry-After``. The account limit means someone guessing can
  keep the account's owner out for up to ``LOGIN_WINDOW`` seconds; that is the price of stopping the guessing.
  A wrong current password in ``POST /api/me/password`` counts as a failed sign-in of the account (it would
  otherwise be an unthrottled oracle for whoever holds a stolen token). Kept in memory (one server process).
- Lifetimes: a bearer token from ``POST /api/token`` is valid ``TOKEN_DAYS`` days, a page session
  ``SESSION_DAYS``; after that the server answers 401 and the client signs in again.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
from collections import defaultdict, deque
from typing import Deque, Dict, Optional, Tuple

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from piaa.errors import InputError


class CredentialError(InputError):
    """A username or password that breaks the rules (the message says which)."""

#: The username rule, as the OpenAPI schema states it (ECMA/Rust regex: ``$`` is the very end). In Python it is
#: applied with ``fullmatch``: ``re.match`` with ``$`` let "anna\n" through (a look-alike account whose name then
#: broke the export's Content-Disposition header).
USERNAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$"
USERNAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}")
#: The same rule in plain words: what people see (the sign-up page showed the regular expression).
USERNAME_RULE = ("a username is 1 to 64 characters: letters A-Z or a-z, digits and _ . @ - (no spaces), starting "
                 "with a letter or a digit")
MIN_PASSWORD = 8
MAX_PASSWORD = 1024
LOGIN_FAILURES = 5
ACCOUNT_FAILURES = 10
LOGIN_WINDOW = 300.0
SESSION_DAYS = 30
TOKEN_DAYS = 30

_hasher = PasswordHasher()
_dummy: list = []


def _dummy_hash() -> str:
    """A hash to verify against when the user does not exist, so timing does not reveal which usernames exist."""
    if not _dummy:
        _dummy.append(_hasher.hash(secrets.token_urlsafe(16)))
    return _dummy[0]


def check_username(name: str) -> str:
    if not isinstance(name, str) or not USERNAME_RE.fullmatch(name):
        raise CredentialError(USERNAME_RULE)
    return name


def check_password(pw: str) -> str:
    if not isinstance(pw, str) or len(pw) < MIN_PASSWORD:
        raise CredentialError(f"password: at least {MIN_PASSWORD} characters")
    if len(pw) > MAX_PASSWORD:
        raise CredentialError(f"password: at most {MAX_PASSWORD} characters")
    return pw


def hash_password(pw: str) -> str:
    return _hasher.hash(pw)


def verify_password(stored: Optional[str], pw: str) -> Tuple[bool, Optional[str]]:
    """(ok, new hash when the stored one should be upgraded)."""
    try:
        _hasher.verify(stored or _dummy_hash(), pw)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False, None
    if stored is None:
        return False, None
    return True, (_hasher.hash(pw) if _hasher.check_needs_rehash(stored) else None)


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def csrf_for(session_token: str) -> str:
    return hmac.new(session_token.encode(), b"piaa-csrf", hashlib.sha256).hexdigest()


def csrf_ok(session_token: str, header: Optional[str]) -> bool:
    return bool(header) and hmac.compare_digest(csrf_for(session_token), header)


class LoginLimiter:
    """Sliding-window count of failed logins per (client, username), per client and per account."""

    def __init__(self, failures: int = LOGIN_FAILURES, window: float = LOGIN_WINDOW,
                 account_failures: int = ACCOUNT_FAILURES):
        self.failures = failures
        self.account_failures = account_failures
        self.window = window
        self._lock = threading.Lock()
        self._events: Dict[Tuple[str, str], Deque[float]] = defaultdict(deque)

    def _count(self, key, now) -> Tuple[int, float]:
        q = self._events.get(key)
        if not q:
            return 0, 0.0
        while q and q[0] <= now - self.window:
            q.popleft()
        if not q:
            self._events.pop(key, None)
            return 0, 0.0
        return len(q), q[0] + self.window - now

    def retry_after(self, client: str, username: str) -> Optional[int]:
        """Seconds to wait when this login must be refused now, else None."""
        now = time.monotonic()
        with self._lock:
            n_user, wait_user = self._count((client, username.lower()), now)
            n_client, wait_client = self._count((client, ""), now)
            n_account, wait_account = self._count((None, username.lower()), now)
        if n_user >= self.failures:
            return max(1, int(wait_user + 1))
        if n_client >= 5 * self.failures:
            return max(1, int(wait_client + 1))
        if n_account >= self.account_failures:
            return max(1, int(wait_account + 1))
        return None

    def failed(self, client: str, username: str) -> None:
        now = time.monotonic()
        with self._lock:
            self._events[(client, username.lower())].append(now)
            self._events[(client, "")].append(now)
            self._events[(None, username.lower())].append(now)

    def succeeded(self, client: str, username: str) -> None:
        with self._lock:
            self._events.pop((client, username.lower()), None)

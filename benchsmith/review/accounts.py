"""Reviewer accounts: argon2id password hashes, roles, and a login slow-down.

Repeated wrong passwords for an account make the next attempt wait: after `FREE_FAILURES`
misses, each further attempt is refused (without even checking the password) until
`2 ** (misses - FREE_FAILURES)` seconds (at most `MAX_DELAY_S`) have passed since the last
miss. The count lives in the database, so restarting the app or running several workers
does not reset it; a right password resets it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select

from benchsmith.errors import BenchsmithError
from benchsmith.review.db import ROLES, ReviewerRow, Role, audit
from benchsmith.store import Store, _now, _utc

FREE_FAILURES = 3
MAX_DELAY_S = 60.0
MIN_PASSWORD = 8
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_hasher = PasswordHasher()
# Verified against when the name is unknown, so a miss on a name costs as long as a miss on a password.
_DUMMY_HASH = _hasher.hash("benchsmith-no-such-reviewer")


class AccountError(BenchsmithError):
    """A reviewer account cannot be created or used as asked."""


class LoginThrottled(AccountError):
    """Too many wrong passwords lately: try again after `retry_after_s` seconds."""

    def __init__(self, retry_after_s: float) -> None:
        super().__init__(f"too many failed logins: try again in {retry_after_s:.0f} s")
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class Reviewer:
    """A detached reviewer account (no hash)."""

    id: int
    name: str
    role: Role
    created_at: datetime

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @classmethod
    def from_row(cls, row: ReviewerRow) -> Reviewer:
        return cls(id=row.id, name=row.name, role=row.role,  # type: ignore[arg-type]
                   created_at=_utc(row.created_at))  # type: ignore[arg-type]


def add_reviewer(store: Store, name: str, password: str, role: str = "reviewer", *,
                 actor: str = "cli") -> Reviewer:
    """Create an account; the password is stored only as an argon2id hash."""
    if not _NAME.match(name):
        raise AccountError(f"reviewer name {name!r}: use 1-64 letters, digits, '.', '_' or '-'")
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"password too short: at least {MIN_PASSWORD} characters")
    with store.session() as s:
        if s.scalar(select(ReviewerRow.id).where(ReviewerRow.name == name)) is not None:
            raise AccountError(f"reviewer {name!r} already exists")
        row = ReviewerRow(name=name, password_hash=_hasher.hash(password), role=role, created_at=_now(),
                          failed_logins=0)
        s.add(row)
        s.flush()
        audit(s, actor, "reviewer.add", after={"name": name, "role": role})
        return Reviewer.from_row(row)


def list_reviewers(store: Store) -> list[Reviewer]:
    """Every account, by name."""
    with store.session() as s:
        return [Reviewer.from_row(r) for r in s.scalars(select(ReviewerRow).order_by(ReviewerRow.name))]


def get_reviewer(store: Store, name: str) -> Reviewer | None:
    """One account by name, if it exists."""
    with store.session() as s:
        row = s.scalars(select(ReviewerRow).where(ReviewerRow.name == name)).first()
        return Reviewer.from_row(row) if row else None


def _wait_left(row: ReviewerRow, now: datetime) -> float:
    over = row.failed_logins - FREE_FAILURES
    last = _utc(row.last_failed_at)
    if over < 0 or last is None:
        return 0.0
    delay = min(2.0 ** over, MAX_DELAY_S)
    return max(0.0, delay - (now - last).total_seconds())


def verify_login(store: Store, name: str, password: str) -> Reviewer | None:
    """The account if `password` is right, None if the name or password is wrong.

    Raises `LoginThrottled` while the account is in its slow-down period (the password is
    then not even checked, so guessing gains nothing).
    """
    now = _now()
    with store.session() as s:
        row = s.scalars(select(ReviewerRow).where(ReviewerRow.name == name)).first()
        if row is None:
            try:
                _hasher.verify(_DUMMY_HASH, password)
            except VerificationError:
                pass
            return None
        wait = _wait_left(row, now)
        if wait > 0:
            raise LoginThrottled(wait)
        try:
            _hasher.verify(row.password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            row.failed_logins += 1
            row.last_failed_at = now
            return None
        row.failed_logins = 0
        row.last_failed_at = None
        if _hasher.check_needs_rehash(row.password_hash):
            row.password_hash = _hasher.hash(password)
        return Reviewer.from_row(row)


def throttle_window(failures: int) -> timedelta:
    """How long an account waits after `failures` consecutive misses (for docs and tests)."""
    over = failures - FREE_FAILURES
    return timedelta(seconds=0 if over < 0 else min(2.0 ** over, MAX_DELAY_S))

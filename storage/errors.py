"""What the store refuses, as exceptions whose messages are safe to show an operator."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from storage.returnees import ReturneeInfo


class StorageError(Exception):
    """A message safe to show to an operator."""


class SchemaNotReady(StorageError):
    pass


class ConsentRequired(StorageError):
    pass


class NotFound(StorageError):
    pass


class AlreadyApplied(StorageError):
    """This Telegram update was already applied (by this or another worker)."""

    def __init__(self, update_id: int) -> None:
        self.update_id = update_id
        super().__init__(f"update {update_id} was already applied")


class StaleProgress(StorageError):
    """The survey moved on since the step was computed (another input of the same
    returnee was stored first): nothing of the step was stored; compute it again from
    the stored survey."""

    def __init__(self) -> None:
        super().__init__("the survey changed since this step was computed")


class FeedbackLimitReached(StorageError):
    """The returnee has sent as much feedback today as one may."""

    def __init__(self, per_day: int) -> None:
        self.per_day = per_day
        super().__init__(f"at most {per_day} feedback messages a day")


class CaseAlreadyEnrolled(StorageError):
    """A case reference that an enrolled returnee already holds."""

    def __init__(self, holder: ReturneeInfo) -> None:
        super().__init__(f"this case reference is already enrolled as {holder.public_id}")
        self.holder = holder


class InviteProblem(StorageError):
    """An invite that cannot be used: ``reason`` is unknown, expired, used or taken."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"invite {reason}")

"""The "handled" mark commits with the handler's effects.

While a worker runs an update's handlers it sets `current` to a `Mark`. The first service
transaction that writes anything marks the inbox row done *inside that transaction*
(a ``before_commit`` hook on `ServiceSession`): the effects and the record that the update was
handled commit together or not at all. Transactions that only read leave the row alone; the
worker marks those updates itself afterwards. If another worker overtook an expired claim, the
mark fails and the transaction rolls back (`ClaimLost`).
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

from bot.errors import ClaimLost
from storage import inbox
from storage.db import ServiceSession
from storage.models import utcnow

__all__ = ["ClaimLost", "Mark", "current", "install"]

_WROTE = "huiyin_wrote"
_MARKING = "huiyin_marking"


@dataclass
class Mark:
    """The update a task is handling, and what became of it."""

    row_id: int
    claim: str
    done: bool = False
    error: BaseException | None = None


current: ContextVar[Mark | None] = ContextVar("huiyin_inbox_mark", default=None)


def _wrote(session: Session) -> bool:
    return bool(session.info.get(_WROTE) or session.new or session.dirty or session.deleted)


def _on_execute(state: ORMExecuteState) -> None:
    if not state.is_select:
        state.session.info[_WROTE] = True


def _after_flush(session: Session, _flush: UOWTransaction) -> None:
    session.info[_WROTE] = True


def _before_commit(session: Session) -> None:
    if session.in_nested_transaction():  # a savepoint: only the real commit counts
        return
    mark = current.get()
    if mark is None or mark.done or not _wrote(session):
        return
    if not inbox.mark_done_sync(session, mark.row_id, mark.claim, utcnow()):
        raise ClaimLost(f"inbox row {mark.row_id} was taken over by another worker")
    session.info[_MARKING] = mark


def _after_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return
    mark = session.info.pop(_MARKING, None)
    if isinstance(mark, Mark):
        mark.done = True
    session.info.pop(_WROTE, None)


def _after_rollback(session: Session) -> None:
    if session.in_nested_transaction():
        return
    session.info.pop(_MARKING, None)
    session.info.pop(_WROTE, None)


_installed = False


def install() -> None:
    """Hook the mark onto every service session's commit (once per process)."""
    global _installed
    if _installed:
        return
    event.listen(ServiceSession, "do_orm_execute", _on_execute)
    event.listen(ServiceSession, "after_flush", _after_flush)
    event.listen(ServiceSession, "before_commit", _before_commit)
    event.listen(ServiceSession, "after_commit", _after_commit)
    event.listen(ServiceSession, "after_rollback", _after_rollback)
    _installed = True

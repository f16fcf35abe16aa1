"""Use cases on real SQLite and PostgreSQL: tickets, transitions, audit rows, outbox rows."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from bot.deadlines import DeadlinePolicy
from bot.domain import Status
from bot.services.administration import staff as staff_admin
from bot.services.context import Person, Services
from bot.services.handling import staff
from bot.services.intake import reports
from bot.services.rating import rating
from bot.services.tickets import next_number
from bot.workdays import WorkCalendar
from nlp import Extractor
from storage.db import make_engine, make_sessionmaker
from storage.models import OutboxMessage, Ticket, TicketEvent, TicketRating
from tests.integration.prompting import reply_to_prompt

ADMIN = Person(1, "管理员")
CLERK = Person(2, "李明")
RESIDENT = Person(3, "张阿姨")
STRANGER = Person(4, "路人")
STAFF_CHAT = -100
REPORT = "幸福小区3栋楼道的灯坏了一个星期了，晚上很黑"
NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


@pytest.fixture
async def services(database_url: str, extractor: Extractor) -> AsyncIterator[Services]:
    engine = make_engine(database_url)
    svc = Services(
        sessions=make_sessionmaker(engine),
        extractor=extractor,
        calendar=WorkCalendar.load(),
        policy=DeadlinePolicy.load(),
        admin_ids=frozenset({ADMIN.id}),
        clock=lambda: NOW,
    )
    await staff_admin.bind_staff_chat(svc, ADMIN, STAFF_CHAT, "工作群", 1)
    await staff_admin.add_staff(svc, ADMIN, CLERK, STAFF_CHAT, 2)
    yield svc
    await engine.dispose()


async def outbox(svc: Services, chat_id: int) -> list[dict[str, object]]:
    async with svc.sessions() as s:
        rows = (
            await s.execute(
                select(OutboxMessage)
                .where(OutboxMessage.chat_id == chat_id)
                .order_by(OutboxMessage.id)
            )
        ).scalars()
        return [{"kind": r.kind, **json.loads(r.payload)} for r in rows]


async def ticket_of(svc: Services, number: str) -> Ticket:
    async with svc.sessions() as s:
        return (await s.execute(select(Ticket).where(Ticket.number == number))).scalar_one()


async def test_report_opens_ticket_with_event_ack_and_card(services: Services) -> None:
    outcome = await reports.handle_private_text(services, RESIDENT, 10, REPORT)
    assert outcome.kind == "ticket" and outcome.number == "20261123-0001"
    ticket = await ticket_of(services, "20261123-0001")
    assert ticket.status == Status.NEW and ticket.reporter_id == RESIDENT.id
    assert ticket.deadline_at > NOW
    to_resident = await outbox(services, RESIDENT.id)
    assert "20261123-0001" in str(to_resident[-1]["text"])
    cards = await outbox(services, STAFF_CHAT)
    assert cards[-1]["kind"] == "card" and "20261123-0001" in str(cards[-1]["text"])
    async with services.sessions() as s:
        events = (await s.execute(select(TicketEvent))).scalars().all()
    assert [(e.action, e.from_status, e.to_status) for e in events] == [("report", None, "new")]


async def test_same_message_twice_opens_one_ticket(services: Services) -> None:
    first = await reports.handle_private_text(services, RESIDENT, 10, REPORT)
    second = await reports.handle_private_text(services, RESIDENT, 10, REPORT)
    assert first.kind == "ticket" and second.kind == "duplicate"
    async with services.sessions() as s:
        assert (await s.execute(select(func.count()).select_from(Ticket))).scalar_one() == 1
    assert len(await outbox(services, RESIDENT.id)) == 1


async def test_numbers_follow_the_day_sequence(services: Services) -> None:
    for i in range(3):
        await reports.handle_private_text(services, RESIDENT, 100 + i, REPORT)
    async with services.sessions.begin() as s:
        assert await next_number(s, NOW.date()) == "20261123-0004"


async def test_numbers_widen_past_9999(services: Services) -> None:
    from storage.models import DayCounter

    async with services.sessions.begin() as s:
        s.add(DayCounter(day="20261123", last_seq=9999))
    async with services.sessions.begin() as s:
        assert await next_number(s, NOW.date()) == "20261123-10000"


async def test_full_loop_with_reopen(services: Services) -> None:
    number = (await reports.handle_private_text(services, RESIDENT, 10, REPORT)).number
    assert number is not None
    ticket = await ticket_of(services, number)
    assert (await staff.press(services, CLERK, STAFF_CHAT, "accept", ticket.id)).alert is False
    again = await staff.press(services, CLERK, STAFF_CHAT, "accept", ticket.id)
    assert again.alert and "不能受理" in again.text
    await staff.press(services, CLERK, STAFF_CHAT, "resolve", ticket.id)
    assert await reply_to_prompt(services, CLERK, STAFF_CHAT, 50, "已修好")
    ticket = await ticket_of(services, number)
    assert ticket.status == Status.RESOLVED and ticket.resolution_note == "已修好"

    wrong = await rating.rate(
        services, STRANGER, ticket.id, 1, "satisfied", chat_id=STRANGER.id, message_id=1
    )
    assert wrong.alert and "本人" in wrong.text
    answer = await rating.rate(
        services, RESIDENT, ticket.id, 1, "dissatisfied", chat_id=RESIDENT.id, message_id=99
    )
    assert not answer.alert
    assert (await ticket_of(services, number)).status == Status.REOPENED
    await reports.handle_private_text(services, RESIDENT, 11, "二楼还是不亮")
    ticket = await ticket_of(services, number)
    assert ticket.reopen_reason == "二楼还是不亮"
    twice = await rating.rate(
        services, RESIDENT, ticket.id, 1, "satisfied", chat_id=RESIDENT.id, message_id=99
    )
    assert twice.alert and "已经评价" in twice.text

    await staff.press(services, CLERK, STAFF_CHAT, "accept", ticket.id)
    await staff.press(services, CLERK, STAFF_CHAT, "resolve", ticket.id)
    await reply_to_prompt(services, CLERK, STAFF_CHAT, 51, "全部更换")
    stale = await rating.rate(
        services, RESIDENT, ticket.id, 1, "satisfied", chat_id=RESIDENT.id, message_id=99
    )
    assert stale.alert
    await rating.rate(
        services, RESIDENT, ticket.id, 2, "satisfied", chat_id=RESIDENT.id, message_id=100
    )
    assert (await ticket_of(services, number)).status == Status.CLOSED
    async with services.sessions() as s:
        events = (
            await s.execute(
                select(TicketEvent.action, TicketEvent.to_status).order_by(TicketEvent.id)
            )
        ).all()
        ratings = (await s.execute(select(TicketRating.round, TicketRating.score))).all()
    assert [a for a, _ in events] == [
        "report",
        "accept",
        "resolve",
        "rate_reopen",
        "reopen_reason",
        "accept",
        "resolve",
        "rate_ok",
    ]
    assert sorted(ratings) == [(1, "dissatisfied"), (2, "satisfied")]


async def test_stranger_cannot_press_staff_buttons(services: Services) -> None:
    number = (await reports.handle_private_text(services, RESIDENT, 10, REPORT)).number
    ticket = await ticket_of(services, str(number))
    answer = await staff.press(services, STRANGER, STAFF_CHAT, "accept", ticket.id)
    assert answer.alert and "工作人员" in answer.text
    assert (await ticket_of(services, str(number))).status == Status.NEW


async def test_cancel_before_acceptance_only(services: Services) -> None:
    number = str((await reports.handle_private_text(services, RESIDENT, 10, REPORT)).number)
    await reports.cancel(services, STRANGER, 20, number)
    assert (await ticket_of(services, number)).status == Status.NEW
    assert "未找到" in str((await outbox(services, STRANGER.id))[-1]["text"])
    await reports.cancel(services, RESIDENT, 21, number)
    assert (await ticket_of(services, number)).status == Status.CANCELLED
    ticket = await ticket_of(services, number)
    answer = await staff.press(services, CLERK, STAFF_CHAT, "resolve", ticket.id)
    assert answer.alert and "已撤销" in answer.text


async def test_status_of_someone_elses_ticket_is_not_found(services: Services) -> None:
    number = str((await reports.handle_private_text(services, RESIDENT, 10, REPORT)).number)
    await reports.show_status(services, STRANGER, 30, number)
    assert "未找到" in str((await outbox(services, STRANGER.id))[-1]["text"])
    await reports.show_status(services, RESIDENT, 31, number)
    assert "待受理" in str((await outbox(services, RESIDENT.id))[-1]["text"])


async def test_non_admin_cannot_bind_or_add_staff(services: Services) -> None:
    assert not await staff_admin.bind_staff_chat(services, STRANGER, -200, "x", 5)
    assert not await staff_admin.add_staff(services, STRANGER, STRANGER, STAFF_CHAT, 6)
    number = str((await reports.handle_private_text(services, RESIDENT, 10, REPORT)).number)
    ticket = await ticket_of(services, number)
    assert (await staff.press(services, STRANGER, STAFF_CHAT, "accept", ticket.id)).alert


@pytest.mark.parametrize("text", ["", "   ", "\x00\x01\x02", "👍👍👍", "你好", "谢谢！"])
async def test_non_reports_get_an_answer_and_no_ticket(services: Services, text: str) -> None:
    outcome = await reports.handle_private_text(services, RESIDENT, 10, text)
    assert outcome.kind in ("howto", "unreadable")
    assert len(await outbox(services, RESIDENT.id)) == 1
    async with services.sessions() as s:
        assert (await s.execute(select(func.count()).select_from(Ticket))).scalar_one() == 0

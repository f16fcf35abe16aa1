"""Authorisation from the database: a member of one department cannot act on another's tickets."""

from __future__ import annotations

from sqlalchemy import select

from bot.domain import Status
from bot.services.administration import staff as staff_admin
from bot.services.context import Person, Services
from bot.services.handling import staff
from storage.models import TicketEvent
from tests.integration.prompting import reply_to_prompt
from tests.integration.test_sweeper import (  # noqa: F401  (the fixture)
    ADMIN,
    CG_CHAT,
    CLERK,
    DISPATCH_CHAT,
    DISPATCHER,
    file,
    services,
    ticket,
)

RS_CHAT = -400
RS_CLERK = Person(5, "人社小钱")


async def test_a_member_of_department_a_cannot_act_on_department_b_tickets(
    services: Services,  # noqa: F811
) -> None:
    await staff_admin.bind_staff_chat(services, ADMIN, RS_CHAT, "区人社局", 6, "区人社局")
    await staff_admin.add_staff(services, ADMIN, RS_CLERK, RS_CHAT, 7)
    tid = await file(services, "2026-11-23 10:00:00", "投诉")  # held by 区城管委
    for action in ("accept", "resolve", "transfer", "send_back", "escalate"):
        answer = await staff.press(services, RS_CLERK, RS_CHAT, action, tid)
        assert answer.alert and "不由您所在的部门承办" in answer.text, (action, answer)
    # Dispatch-only actions are refused to department staff, even the holder's.
    assert (await staff.press(services, CLERK, CG_CHAT, "return", tid)).alert
    assert (await staff.press(services, CLERK, CG_CHAT, "assign", tid)).alert
    # A pending question does not outlive a change of holder: the answer is checked again.
    assert not (await staff.press(services, CLERK, CG_CHAT, "resolve", tid)).alert
    assert not (await staff.press(services, CLERK, CG_CHAT, "transfer", tid)).alert
    assert await reply_to_prompt(services, CLERK, CG_CHAT, 8, "区人社局 涉及工资")
    t = await ticket(services, tid)
    assert t.department == "district_rs" and t.status == Status.NEW
    assert (await staff.press(services, CLERK, CG_CHAT, "accept", tid)).alert
    assert not (await staff.press(services, RS_CLERK, RS_CHAT, "accept", tid)).alert
    assert not (await staff.press(services, DISPATCHER, DISPATCH_CHAT, "resolve", tid)).alert
    async with services.sessions() as s:
        trail = (
            await s.execute(
                select(TicketEvent.action, TicketEvent.role, TicketEvent.actor_id)
                .where(TicketEvent.ticket_id == tid)
                .order_by(TicketEvent.id)
            )
        ).all()
    assert [tuple(r) for r in trail] == [
        ("report", "reporter", 4),
        ("transfer", "staff", CLERK.id),
        ("accept", "staff", RS_CLERK.id),
    ]

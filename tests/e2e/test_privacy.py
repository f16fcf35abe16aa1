"""Personal data: staff never see a phone or ID number in any format; logs hold no text."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import text

from bot.cli import keep_personal_data_out_of_logs
from bot.simulator.scene import tap_through
from tests.e2e.helpers import press, report
from tests.harness import RESIDENT_ID, STAFF_CHAT_ID, STAFF_ID, LocalStack, expect, mark

PHONES = ("8613912345678", "139-1234-5678", "139 1234 5678", "１３９１２３４５６７８")
ID_NUMBER = "110101199003074514"


def _leaks(value: str) -> list[str]:
    digits = "".join(
        c for c in value.translate({0xFF10 + d: str(d) for d in range(10)}) if c.isdigit()
    )
    return [needle for needle in ("91234", "12345678", "19900307") if needle in digits]


async def test_staff_see_no_phone_or_id_number_in_card_reason_or_timeline(
    stack: LocalStack,
) -> None:
    sim = stack.sim
    sim.add_user(RESIDENT_ID, "张阿姨")
    words = "，".join(f"电话{p}" for p in PHONES)
    number = await report(
        stack, RESIDENT_ID, f"幸福小区3栋路灯坏了一周，{words}，身份证{ID_NUMBER}"
    )
    card = await expect(sim, STAFF_CHAT_ID, lambda m: number in m.get("text", ""))
    assert "139****5678" in card["text"] and not _leaks(card["text"]), card["text"]

    press(stack, STAFF_ID, card, "受理")
    card = await expect(
        sim, STAFF_CHAT_ID, lambda m: number in m["text"] and "已受理" in m["text"]
    )
    press(stack, STAFF_ID, card, "办结")
    prompt = await expect(sim, STAFF_CHAT_ID, lambda m: "请回复工单" in m["text"])
    await stack.recorded(prompt)
    sim.send_text(
        STAFF_ID, "已修复", chat_id=STAFF_CHAT_ID, reply_to_message_id=prompt["message_id"]
    )
    notice = await expect(sim, RESIDENT_ID, lambda m: "已修复" in m["text"])
    since = mark(sim, RESIDENT_ID)
    await tap_through(sim, RESIDENT_ID, notice, "没有联系", "未解决", "不满意")
    await expect(sim, RESIDENT_ID, lambda m: "原因" in m["text"], after=since)
    sim.send_text(RESIDENT_ID, "还是不亮，打我电话 139 1234 5678 或 １３９－１２３４－５６７８")
    reason = await expect(sim, STAFF_CHAT_ID, lambda m: "还是不亮" in m.get("text", ""))
    assert not _leaks(reason["text"]), reason["text"]

    sim.send_text(STAFF_ID, f"/ticket {number}", chat_id=STAFF_CHAT_ID)
    timeline = await expect(sim, STAFF_CHAT_ID, lambda m: "办理过程" in m.get("text", ""))
    assert "还是不亮" in timeline["text"] and not _leaks(timeline["text"]), timeline["text"]
    for message in sim.bot_messages(STAFF_CHAT_ID):
        assert not _leaks(message.get("text", "")), message.get("text")


async def test_a_failing_handler_logs_no_text_and_no_name(
    stack: LocalStack, caplog: pytest.LogCaptureFixture
) -> None:
    assert stack.runtime is not None
    async with stack.runtime.engine.begin() as conn:
        await conn.execute(text("DROP TABLE ticket_reporters"))  # filing will fail
        await conn.execute(text("DROP TABLE ticket_events"))
    stack.sim.add_user(RESIDENT_ID, "王秀英")
    names = ("telegram", "aiosqlite", "asyncpg", "httpcore", "sqlalchemy.engine")
    levels = {name: logging.getLogger(name).level for name in names}
    keep_personal_data_out_of_logs()  # what `huiyin run` does at start
    for name in names:
        assert logging.getLogger(name).getEffectiveLevel() >= logging.INFO
    with caplog.at_level(logging.DEBUG):
        stack.sim.send_text(RESIDENT_ID, "我叫王秀英，电话13912345678，幸福小区路灯坏了一周")
        await stack.sim.wait_until(
            lambda: any(
                r.levelno >= logging.WARNING and r.name.startswith("huiyin")
                for r in caplog.records
            ),
            timeout=10,
        )
    logged = "\n".join(
        r.getMessage() + (logging.Formatter().formatException(r.exc_info) if r.exc_info else "")
        for r in caplog.records
    )
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)
    assert "update" in logged  # the failure is logged, by update id
    for secret in ("王秀英", "13912345678", "路灯坏了"):
        assert secret not in logged, secret

"""The weekly report reaches the dispatch chat as a real document: an XLSX upload Excel opens."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta

from openpyxl import load_workbook

from bot import texts
from bot.periods import BEIJING, beijing_day, week_of
from bot.services.statistics import report
from bot.simulator.spec import UploadedFile
from tests.e2e.helpers import report as file_report
from tests.harness import RESIDENT_ID, STAFF_CHAT_ID, LocalStack, expect


async def test_the_dispatch_chat_receives_the_weekly_xlsx(stack: LocalStack) -> None:
    sim = stack.sim
    sim.add_user(RESIDENT_ID, "张阿姨")
    await file_report(stack, RESIDENT_ID, "小区门口的路灯坏了，晚上看不见路")
    # The next Monday 10:00 in Beijing: this week's report is due.
    week = week_of(beijing_day(datetime.now(UTC)))
    monday = datetime.combine(week.start + timedelta(days=7), time(10), tzinfo=BEIJING)
    assert stack.runtime is not None
    later = replace(stack.runtime.services, clock=lambda: monday.astimezone(UTC))
    assert await report.weekly(later, force=True) >= 1

    sent = await expect(sim, STAFF_CHAT_ID, lambda m: "document" in m)
    document = sent["document"]
    assert document["file_name"] == f"回音周报_部门排名_{week.label()}.xlsx"
    assert document["mime_type"].endswith("spreadsheetml.sheet")
    assert sent["caption"] == texts.REPORT_ATTACHMENT.format(first=week.start, last=week.last_day)
    uploads = [p for name, p in sim.calls if name == "sendDocument"]
    assert len(uploads) == 1 and isinstance(uploads[0]["document"], UploadedFile), "multipart"
    # Downloaded back through the Bot API, the file is a workbook with the Chinese header.
    file = await stack.runtime.application.bot.get_file(document["file_id"])
    data = bytes(await file.download_as_bytearray())
    assert len(data) == document["file_size"]
    sheet = load_workbook(io.BytesIO(data)).active
    assert sheet is not None
    header = [cell.value for cell in next(sheet.iter_rows(max_row=1))]
    assert header[:3] == ["排名", "名称", "综合成绩"]
    assert any(
        row[1] is not None for row in sheet.iter_rows(min_row=2, values_only=True)
    ), "one row per department"

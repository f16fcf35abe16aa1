"""The simulator over HTTP: Telegram's replies, refusals and behaviour, spec-checked."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from bot.simulator import BotAPISimulator, validate_object
from bot.simulator.spec import validate_result

ALICE = 1001
BOB = 1002
GROUP = -1001234


class Client:
    """A bare HTTP client speaking the Bot API the way PTB does (form strings)."""

    def __init__(self, sim: BotAPISimulator, session: aiohttp.ClientSession) -> None:
        self.sim = sim
        self.session = session

    async def raw(self, method: str, token: str | None = None,
                  **params: Any) -> tuple[int, dict[str, Any]]:
        """POST form-encoded params; objects become JSON text, like PTB."""
        form = aiohttp.FormData()
        for key, value in params.items():
            if isinstance(value, bytes):
                form.add_field(key, value, filename="p.jpg", content_type="image/jpeg")
            elif isinstance(value, dict | list | bool):
                form.add_field(key, json.dumps(value))
            else:
                form.add_field(key, str(value))
        url = f"{self.sim.root_url}/bot{token or self.sim.token}/{method}"
        async with self.session.post(url, data=form) as resp:
            body = await resp.json()
            assert resp.status == (200 if body["ok"] else body["error_code"])
            return resp.status, body

    async def ok(self, method: str, **params: Any) -> Any:
        """Call and return the result, checking it against the spec."""
        status, body = await self.raw(method, **params)
        assert status == 200, body
        validate_result(self.sim._methods_by_lower[method.lower()], body["result"])
        return body["result"]

    async def fails(self, method: str, code: int, **params: Any) -> str:
        """Call, expect a refusal with ``code``, return the description."""
        status, body = await self.raw(method, **params)
        assert status == code, body
        assert set(body) <= {"ok", "error_code", "description", "parameters"}
        return str(body["description"])


@pytest.fixture
async def sim() -> AsyncIterator[BotAPISimulator]:
    simulator = BotAPISimulator()
    await simulator.start()
    simulator.add_user(ALICE, "小王", username="xiaowang")
    simulator.add_user(BOB, "老李")
    simulator.add_group(GROUP, "幸福里网格群")
    yield simulator
    await simulator.stop()
    assert simulator.spec_violations == []


@pytest.fixture
async def api(sim: BotAPISimulator) -> AsyncIterator[Client]:
    async with aiohttp.ClientSession() as session:
        yield Client(sim, session)


async def test_token_and_unknown_method(api: Client, sim: BotAPISimulator) -> None:
    status, body = await api.raw("getMe", token="999:WRONG")
    assert (status, body) == (401, {"ok": False, "error_code": 401,
                                    "description": "Unauthorized"})
    assert await api.fails("sendSticker", 400) == "Bad Request: method not found"
    me = await api.ok("getMe")
    assert me["id"] == sim.bot_id and me["is_bot"] and me["username"] == "huiyin_bot"
    assert (await api.ok("getme"))["id"] == sim.bot_id  # method names ignore case


async def test_private_chat_needs_start_and_block_is_403(api: Client,
                                                         sim: BotAPISimulator) -> None:
    desc = await api.fails("sendMessage", 403, chat_id=BOB, text="你好")
    assert desc == "Forbidden: bot can't initiate conversation with a user"
    assert await api.fails("sendMessage", 400, chat_id=4242, text="x") == (
        "Bad Request: chat not found")
    sim.send_text(BOB, "/start")
    await api.ok("sendMessage", chat_id=BOB, text="你好")
    sim.block(BOB)
    assert await api.fails("sendMessage", 403, chat_id=BOB, text="还在吗") == (
        "Forbidden: bot was blocked by the user")
    update = (await api.ok("getUpdates"))[-1]
    assert update["my_chat_member"]["new_chat_member"]["status"] == "kicked"
    await api.ok("sendMessage", chat_id=GROUP, text="群里总能发")
    sim.remove_bot(GROUP)
    assert "kicked" in await api.fails("sendMessage", 403, chat_id=GROUP, text="x")


async def test_text_limits_after_entity_parsing(api: Client, sim: BotAPISimulator) -> None:
    sim.send_text(ALICE, "hi")
    assert await api.fails("sendMessage", 400, chat_id=ALICE, text="  ") == (
        "Bad Request: message text is empty")
    assert await api.fails("sendMessage", 400, chat_id=ALICE, text="<b></b>",
                           parse_mode="HTML") == "Bad Request: message text is empty"
    assert await api.fails("sendMessage", 400, chat_id=ALICE, text="长" * 4097) == (
        "Bad Request: message is too long")
    assert await api.fails("sendMessage", 400, chat_id=ALICE, text="😀" * 2049) == (
        "Bad Request: message is too long")  # UTF-16 units
    msg = await api.ok("sendMessage", chat_id=ALICE, text="<b>" + "长" * 4096 + "</b>",
                       parse_mode="HTML")
    assert len(msg["text"]) == 4096
    desc = await api.fails("sendMessage", 400, chat_id=ALICE, text="<x>1</x>", parse_mode="HTML")
    assert desc.startswith("Bad Request: can't parse entities: Unsupported start tag \"x\"")
    desc = await api.fails("sendMessage", 400, chat_id=ALICE, text="编号 1.",
                           parse_mode="MarkdownV2")
    assert "Character '.' is reserved" in desc
    msg = await api.ok("sendMessage", chat_id=ALICE, text="*工单* 1\\.", parse_mode="MarkdownV2")
    assert msg["text"] == "工单 1." and msg["entities"][0]["type"] == "bold"
    assert await api.fails("sendMessage", 400, chat_id=ALICE, text="x", parse_mode="BBCode") == (
        "Bad Request: unsupported parse_mode")


async def test_keyboards_and_button_data(api: Client, sim: BotAPISimulator) -> None:
    sim.send_text(ALICE, "hi")
    too_long = {"inline_keyboard": [[{"text": "a", "callback_data": "数" * 22}]]}  # 66 bytes
    assert await api.fails("sendMessage", 400, chat_id=ALICE, text="x",
                           reply_markup=too_long) == "Bad Request: BUTTON_DATA_INVALID"
    bare = {"inline_keyboard": [[{"text": "a"}]]}
    assert "Text buttons are unallowed" in await api.fails(
        "sendMessage", 400, chat_id=ALICE, text="x", reply_markup=bare)
    fits = {"inline_keyboard": [[{"text": "a", "callback_data": "数" * 21}]]}
    msg = await api.ok("sendMessage", chat_id=ALICE, text="x", reply_markup=fits)
    assert msg["reply_markup"] == fits
    forced = await api.ok("sendMessage", chat_id=ALICE, text="请说明原因",
                          reply_markup={"force_reply": True})
    assert "reply_markup" not in forced  # Message.reply_markup is inline-only in the API
    assert sim.bot_messages(ALICE)[-1]["reply_markup"] == {"force_reply": True}
    reply = sim.send_text(ALICE, "因为太吵", reply_to_message_id=forced["message_id"])
    assert reply["reply_to_message"]["text"] == "请说明原因"


async def test_edit_rules(api: Client, sim: BotAPISimulator) -> None:
    sim.send_text(ALICE, "hi")
    kb = {"inline_keyboard": [[{"text": "受理", "callback_data": "t:1:accept"}]]}
    msg = await api.ok("sendMessage", chat_id=ALICE, text="新工单", reply_markup=kb)
    mid = msg["message_id"]
    assert await api.fails("editMessageText", 400, chat_id=ALICE, message_id=999,
                           text="x") == "Bad Request: message to edit not found"
    desc = await api.fails("editMessageText", 400, chat_id=ALICE, message_id=mid, text="新工单",
                           reply_markup=kb)
    assert desc.startswith("Bad Request: message is not modified: ")
    assert "must be of type Integer" in await api.fails(
        "editMessageText", 400, chat_id=ALICE, message_id="seven", text="x")
    edited = await api.ok("editMessageText", chat_id=ALICE, message_id=mid, text="已受理")
    assert "edit_date" in edited and "reply_markup" not in edited
    assert await api.fails("editMessageReplyMarkup", 400, chat_id=ALICE, message_id=mid) == (
        "Bad Request: message is not modified: specified new message content and reply markup "
        "are exactly the same as a current content and reply markup of the message")
    edited = await api.ok("editMessageReplyMarkup", chat_id=ALICE, message_id=mid,
                          reply_markup=kb)
    assert edited["reply_markup"] == kb
    user_msg = sim.chat_messages(ALICE)[0]
    assert await api.fails("editMessageText", 400, chat_id=ALICE,
                           message_id=user_msg["message_id"], text="x") == (
        "Bad Request: message can't be edited")
    assert await api.ok("deleteMessage", chat_id=ALICE, message_id=mid) is True
    assert await api.fails("deleteMessage", 400, chat_id=ALICE, message_id=mid) == (
        "Bad Request: message to delete not found")
    assert [m["message_id"] for m in sim.chat_messages(ALICE)] == [user_msg["message_id"]]


async def test_callback_queries(api: Client) -> None:
    clock = [1000.0]
    sim = BotAPISimulator(clock=lambda: clock[0])
    await sim.start()
    try:
        api.sim = sim
        sim.add_user(ALICE, "小王")
        sim.send_text(ALICE, "hi")
        kb = {"inline_keyboard": [[{"text": "满意", "callback_data": "rate:5"}]]}
        msg = await api.ok("sendMessage", chat_id=ALICE, text="评价", reply_markup=kb)
        query = sim.press_button(ALICE, ALICE, msg["message_id"], "rate:5")
        validate_object("CallbackQuery", query)
        assert query["message"]["reply_markup"] == kb
        with pytest.raises(ValueError, match="no button"):
            sim.press_button(ALICE, ALICE, msg["message_id"], "rate:1")
        too_old = ("Bad Request: query is too old and response timeout expired or query ID is "
                   "invalid")
        assert await api.fails("answerCallbackQuery", 400, callback_query_id="nope") == too_old
        assert await api.fails("answerCallbackQuery", 400, callback_query_id=query["id"],
                               text="长" * 201) == "Bad Request: MESSAGE_TOO_LONG"
        assert await api.ok("answerCallbackQuery", callback_query_id=query["id"], text="谢谢")
        assert sim.callback_answers == [
            {"callback_query_id": query["id"], "text": "谢谢", "show_alert": False}]
        assert await api.fails("answerCallbackQuery", 400, callback_query_id=query["id"]) == (
            too_old)
        late = sim.press_button(ALICE, ALICE, msg["message_id"], "rate:5")
        clock[0] += 60
        assert await api.fails("answerCallbackQuery", 400, callback_query_id=late["id"]) == (
            too_old)
    finally:
        await sim.stop()


async def test_get_updates_long_poll_offset_limit(api: Client, sim: BotAPISimulator) -> None:
    assert await api.ok("getUpdates", timeout=0) == []
    poll = asyncio.create_task(api.ok("getUpdates", timeout=5))
    await asyncio.sleep(0.1)
    assert not poll.done()  # held open
    sent = sim.send_text(ALICE, "/report@huiyin_bot 噪音")
    first = await asyncio.wait_for(poll, 2)
    assert [u["message"]["message_id"] for u in first] == [sent["message_id"]]
    assert first[0]["message"]["entities"] == [
        {"type": "bot_command", "offset": 0, "length": 18}]
    sim.send_text(ALICE, "二")
    sim.send_location(ALICE, 39.9, 116.4)
    sim.send_photo(ALICE, caption="现场")
    again = await api.ok("getUpdates", limit=2)
    assert [u["update_id"] for u in again] == [first[0]["update_id"], first[0]["update_id"] + 1]
    rest = await api.ok("getUpdates", offset=again[-1]["update_id"] + 1)
    assert [("location" in u["message"], "photo" in u["message"]) for u in rest] == [
        (True, False), (False, True)]
    confirmed = await api.ok("getUpdates", offset=rest[-1]["update_id"] + 1, timeout=0)
    assert confirmed == []
    # Duplicate delivery: a raw re-push comes back even though its id is confirmed.
    sim.push_raw_update(first[0])
    assert await api.ok("getUpdates", offset=rest[-1]["update_id"] + 1) == [first[0]]


async def test_concurrent_poll_conflict_and_allowed_updates(api: Client,
                                                            sim: BotAPISimulator) -> None:
    older = asyncio.create_task(api.raw("getUpdates", timeout=5))
    await asyncio.sleep(0.05)
    newer = asyncio.create_task(api.raw("getUpdates", timeout=0))
    status, body = await asyncio.wait_for(older, 2)
    assert status == 409 and "terminated by other getUpdates request" in body["description"]
    await newer
    sim.send_text(ALICE, "hi")
    msg = await api.ok("sendMessage", chat_id=ALICE, text="选",
                       reply_markup={"inline_keyboard": [[{"text": "a", "callback_data": "a"}]]})
    sim.press_button(ALICE, ALICE, msg["message_id"], "a")
    only = await api.ok("getUpdates", allowed_updates=["callback_query"])
    assert [list(u)[1] for u in only] == ["callback_query"]


async def test_webhook_info_and_conflict(api: Client, sim: BotAPISimulator) -> None:
    info = await api.ok("getWebhookInfo")
    assert info == {"url": "", "has_custom_certificate": False, "pending_update_count": 0}
    assert "HTTPS URL" in await api.fails("setWebhook", 400, url="ftp://x")
    assert "unallowed" in await api.fails("setWebhook", 400, url="https://x.test/h",
                                          secret_token="bad token!")
    # An unreachable hook keeps the update pending and records the error.
    assert await api.ok("setWebhook", url="http://127.0.0.1:9/hook", secret_token="abc")
    sim.send_text(ALICE, "hi")
    await sim.wait_until(lambda: "last_error_message" in sim._webhook_info(), timeout=5)
    info = await api.ok("getWebhookInfo")
    assert info["pending_update_count"] == 1 and info["url"].endswith("/hook")
    assert "webhook is active" in await api.fails("getUpdates", 409)
    assert await api.ok("deleteWebhook")
    assert len(await api.ok("getUpdates")) == 1


async def test_photos_files_and_downloads(api: Client, sim: BotAPISimulator) -> None:
    sent = sim.send_photo(ALICE, caption="井盖丢了", data=b"\xff\xd8photo")
    largest = sent["photo"][-1]
    file = await api.ok("getFile", file_id=largest["file_id"])
    url = f"{sim.root_url}/file/bot{sim.token}/{file['file_path']}"
    async with api.session.get(url) as resp:
        assert resp.status == 200 and await resp.read() == b"\xff\xd8photo"
    assert await api.fails("getFile", 400, file_id="nope") == "Bad Request: invalid file_id"
    forwarded = await api.ok("sendPhoto", chat_id=GROUP, photo=largest["file_id"],
                             caption="<i>现场</i>", parse_mode="HTML")
    assert forwarded["caption"] == "现场" and forwarded["photo"][-1]["file_id"]
    uploaded = await api.ok("sendPhoto", chat_id=GROUP, photo=b"\xff\xd8new")
    assert len(uploaded["photo"]) == 3
    assert "wrong file identifier" in await api.fails("sendPhoto", 400, chat_id=GROUP,
                                                      photo="garbage")
    assert "caption is too long" in await api.fails("sendPhoto", 400, chat_id=GROUP,
                                                    photo=b"x", caption="长" * 1025)


async def test_locations_and_venues(api: Client, sim: BotAPISimulator) -> None:
    pin = await api.ok("sendLocation", chat_id=GROUP, latitude=39.91, longitude=116.4)
    assert pin["location"] == {"latitude": 39.91, "longitude": 116.4}
    place = await api.ok("sendVenue", chat_id=GROUP, latitude=39.91, longitude=116.4,
                         title="幸福小区3栋", address="工单 20261201-0001")
    assert place["venue"]["title"] == "幸福小区3栋"
    assert place["venue"]["location"] == place["location"]
    assert "latitude" in await api.fails("sendLocation", 400, chat_id=GROUP, latitude=91,
                                         longitude=0)
    assert "Bad Request" in await api.fails("sendVenue", 400, chat_id=GROUP, latitude=1,
                                            longitude=1, address="x")  # no title
    assert "empty" in await api.fails("sendVenue", 400, chat_id=GROUP, latitude=1,
                                      longitude=1, title=" ", address="x")


async def test_faults_are_injected_per_method_and_chat(api: Client,
                                                       sim: BotAPISimulator) -> None:
    sim.fail_next("sendMessage", 429, "Too Many Requests: retry after 3", retry_after=3,
                  chat_id=GROUP, times=2)
    sim.fail_next("editMessageText", 500, "Internal Server Error")
    sim.send_text(ALICE, "hi")
    await api.ok("sendMessage", chat_id=ALICE, text="not the faulty chat")
    for _ in range(2):
        status, body = await api.raw("sendMessage", chat_id=GROUP, text="x")
        assert status == 429 and body["parameters"] == {"retry_after": 3}
    await api.ok("sendMessage", chat_id=GROUP, text="third time works")
    assert await api.fails("editMessageText", 500, chat_id=GROUP, message_id=1, text="y") == (
        "Internal Server Error")
    assert [m for m, _ in sim.calls].count("sendMessage") == 4
    assert sim.calls[1][1] == {"chat_id": GROUP, "text": "x"}


async def test_flood_limits_when_enforced(api: Client) -> None:
    clock = [0.0]
    sim = BotAPISimulator(enforce_limits=True, clock=lambda: clock[0])
    await sim.start()
    try:
        api.sim = sim
        sim.add_user(ALICE, "小王", started=True)
        sim.add_group(GROUP, "群")
        for _ in range(3):
            await api.ok("sendMessage", chat_id=ALICE, text="x")
        status, body = await api.raw("sendMessage", chat_id=ALICE, text="x")
        assert status == 429 and body["parameters"]["retry_after"] >= 1
        clock[0] += 1.0
        await api.ok("sendMessage", chat_id=ALICE, text="after a second")
        for i in range(20):
            clock[0] += 0.1
            await api.ok("sendMessage", chat_id=GROUP, text=f"g{i}")
        status, body = await api.raw("sendMessage", chat_id=GROUP, text="21st")
        assert status == 429 and body["parameters"]["retry_after"] > 1
        assert [hit[1] for hit in sim.limit_hits] == [ALICE, GROUP]
    finally:
        await sim.stop()


async def test_chat_commands_and_actions(api: Client, sim: BotAPISimulator) -> None:
    commands = [{"command": "report", "description": "报事"}]
    assert await api.ok("setMyCommands", commands=commands)
    assert await api.ok("getMyCommands") == commands
    assert "BOT_COMMAND_INVALID" in await api.fails("setMyCommands", 400,
                                                    commands=[{"command": "Bad!",
                                                               "description": "x"}])
    info = await api.ok("getChat", chat_id=GROUP)
    assert info["title"] == "幸福里网格群" and info["type"] == "supergroup"
    assert await api.ok("sendChatAction", chat_id=GROUP, action="typing")
    assert await api.ok("deleteMyCommands")
    assert await api.ok("getMyCommands") == []


async def test_inbound_helpers_build_valid_updates(sim: BotAPISimulator) -> None:
    group_msg = sim.send_text(ALICE, "/report@huiyin_bot 路灯", chat_id=GROUP)
    assert group_msg["chat"]["type"] == "supergroup"
    origin = {"type": "hidden_user", "date": 1, "sender_user_name": "匿名"}
    fwd = sim.send_text(BOB, "转发的投诉", forward_origin=origin)
    assert fwd["forward_origin"] == origin
    edited = sim.edit_text(BOB, BOB, fwd["message_id"], "改过的投诉")
    assert edited["text"] == "改过的投诉" and "edit_date" in edited
    for update in [p.update for p in sim._updates]:
        validate_object("Update", update)
    with pytest.raises(ValueError):
        sim.send_text(4242, "unknown user")
    assert sim.transcript_lines()[0].endswith("/report@huiyin_bot 路灯")


async def test_wait_for_bot_message(api: Client, sim: BotAPISimulator) -> None:
    sim.send_text(ALICE, "hi")
    waiter = asyncio.create_task(sim.wait_for_bot_message(ALICE, lambda m: "二" in m["text"]))
    await api.ok("sendMessage", chat_id=ALICE, text="一")
    await api.ok("sendMessage", chat_id=ALICE, text="二")
    got = await asyncio.wait_for(waiter, 2)
    assert got["text"] == "二"
    # Already there before the wait started, but after the last inbound event: found.
    assert (await sim.wait_for_bot_message(ALICE))["text"] == "一"
    with pytest.raises(TimeoutError, match=r"(?s)the chat holds:.*#1 user: hi"):
        await sim.wait_for_bot_message(ALICE, lambda m: m["text"] == "三", timeout=0.1)
    mark = sim.seq
    with pytest.raises(TimeoutError):
        await sim.wait_for_bot_message(ALICE, timeout=0.1, since=mark)


async def test_send_document_uploads_resends_and_refuses_like_telegram(
    api: Client, sim: BotAPISimulator
) -> None:
    async def upload(data: bytes, name: str, **params: Any) -> tuple[int, dict[str, Any]]:
        form = aiohttp.FormData()
        form.add_field("chat_id", str(GROUP))
        for key, value in params.items():
            form.add_field(key, str(value))
        form.add_field("document", data, filename=name,
                       content_type="application/octet-stream")  # fmt: skip
        url = f"{sim.root_url}/bot{sim.token}/sendDocument"
        async with api.session.post(url, data=form) as resp:
            return resp.status, await resp.json()

    xlsx = b"PK\x03\x04" + b"x" * 2000
    status, body = await upload(xlsx, "周报.xlsx", caption="本周报表")
    assert status == 200, body
    validate_result(sim._methods_by_lower["senddocument"], body["result"])
    sent = body["result"]["document"]
    assert sent["file_name"] == "周报.xlsx" and sent["file_size"] == len(xlsx)
    assert sent["mime_type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert body["result"]["caption"] == "本周报表"
    # The bytes come back through getFile and the file URL, as from Telegram.
    info = await api.ok("getFile", file_id=sent["file_id"])
    url = f"{sim.root_url}/file/bot{sim.token}/{info['file_path']}"
    async with api.session.get(url) as resp:
        assert await resp.read() == xlsx
    assert sim.bot_messages(GROUP)[-1]["document"]["file_id"] == sent["file_id"]
    again = await api.ok("sendDocument", chat_id=GROUP, document=sent["file_id"])
    assert again["document"]["file_name"] == "周报.xlsx"
    # Telegram's limits: 50 MB per upload, nothing empty, a known file id, a short caption.
    status, body = await upload(b"\0" * (50 * 1024 * 1024 + 1), "big.xlsx")
    assert (status, body["description"]) == (413, "Request Entity Too Large")
    status, body = await upload(b"", "empty.xlsx")
    assert status == 400 and "empty" in body["description"]
    assert "wrong file identifier" in await api.fails(
        "sendDocument", 400, chat_id=GROUP, document="nope"
    )
    status, body = await upload(xlsx, "a.xlsx", caption="长" * 1025)
    assert status == 400 and "caption is too long" in body["description"]
    # In a forum, the document goes to the topic named.
    sim.add_group(-1009, "话题群", forum=True)
    topic = sim.add_topic(-1009, "周报", ALICE)
    placed = await api.ok(
        "sendDocument", chat_id=-1009, document=sent["file_id"], message_thread_id=topic
    )
    assert placed["message_thread_id"] == topic and placed["is_topic_message"] is True

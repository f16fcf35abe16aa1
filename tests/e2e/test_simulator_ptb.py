"""The real python-telegram-bot Application against the local Bot API simulator."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, Forbidden
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.simulator import BotAPISimulator, validate_object

USER = 1001


@pytest.fixture
async def sim() -> AsyncIterator[BotAPISimulator]:
    simulator = BotAPISimulator()
    await simulator.start()
    simulator.add_user(USER, "小王", username="xiaowang")
    yield simulator
    await simulator.stop()
    assert simulator.spec_violations == []


async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Echo with a button."""
    assert update.effective_message is not None
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("确认", callback_data="ok:1")]])
    await update.effective_message.reply_text(
        f"收到：{update.effective_message.text}", reply_markup=keyboard
    )


async def on_start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Greet."""
    assert update.effective_message is not None
    await update.effective_message.reply_text("<b>欢迎</b>使用回音", parse_mode="HTML")


async def on_press(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer the press and edit the message."""
    query = update.callback_query
    assert query is not None
    await query.answer("已确认")
    await query.edit_message_text(f"已确认 {query.data}")


def build(sim: BotAPISimulator) -> Application:  # type: ignore[type-arg]
    """The real Application, pointed at the simulator."""
    app = (
        ApplicationBuilder()
        .token(sim.token)
        .base_url(f"{sim.root_url}/bot")
        .base_file_url(f"{sim.root_url}/file/bot")
        .build()
    )
    app.add_handler(CommandHandler("start", on_start))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, on_text))
    app.add_handler(CallbackQueryHandler(on_press))
    return app


async def test_polling_text_reply_button_answer(sim: BotAPISimulator) -> None:
    app = build(sim)
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=1)

        sim.send_text(USER, "/start")
        hello = await sim.wait_for_bot_message(USER)
        assert hello["text"] == "欢迎使用回音"
        assert hello["entities"] == [{"type": "bold", "offset": 0, "length": 2}]

        sim.send_text(USER, "楼道里垃圾三天没人清")
        reply = await sim.wait_for_bot_message(USER, lambda m: "收到" in m["text"])
        assert "reply_to_message" not in reply  # PTB 22 quotes only in groups by default
        button = reply["reply_markup"]["inline_keyboard"][0][0]
        assert button == {"text": "确认", "callback_data": "ok:1"}

        sim.press_button(USER, USER, reply["message_id"], "ok:1")
        edited = await sim.wait_for_bot_message(USER, lambda m: m["text"].startswith("已确认"))
        assert edited["message_id"] == reply["message_id"]
        assert "reply_markup" not in edited  # editMessageText without markup drops it
        await sim.wait_until(lambda: len(sim.callback_answers) == 1)
        assert sim.callback_answers[0]["text"] == "已确认"

        # The bot's own errors come back as PTB exceptions.
        with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
            await app.bot.edit_message_text(
                f"已确认 {'ok:1'}", chat_id=USER, message_id=reply["message_id"]
            )
        sim.add_user(2002, "老李")
        with pytest.raises(Forbidden, match=r"(?i)initiate conversation"):
            await app.bot.send_message(2002, "你好")

        await app.updater.stop()
        await app.stop()

    methods = [m for m, _ in sim.calls]
    assert methods[:3] == ["getMe", "deleteWebhook", "getUpdates"]
    for message in sim.chat_messages(USER):
        validate_object(
            "Message",
            message
            if "reply_markup" not in message or "inline_keyboard" in message["reply_markup"]
            else {k: v for k, v in message.items() if k != "reply_markup"},
        )


async def test_webhook_mode_posts_with_secret(sim: BotAPISimulator) -> None:
    received: list[tuple[str | None, dict[str, object]]] = []

    async def endpoint(request: web.Request) -> web.Response:
        received.append(
            (request.headers.get("X-Telegram-Bot-Api-Secret-Token"), await request.json())
        )
        return web.Response(text="ok")

    receiver = web.Application()
    receiver.router.add_post("/hook", endpoint)
    runner = web.AppRunner(receiver)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        app = build(sim)
        async with app:
            ok = await app.bot.set_webhook(f"http://127.0.0.1:{port}/hook", secret_token="s3cr3t")
            assert ok
            info = await app.bot.get_webhook_info()
            assert info.url == f"http://127.0.0.1:{port}/hook"
            sent = sim.send_text(USER, "路灯坏了")
            await sim.wait_until(lambda: len(received) == 1)
            secret, update = received[0]
            assert secret == "s3cr3t"
            validate_object("Update", update)
            assert update["message"]["message_id"] == sent["message_id"]  # type: ignore[index]
            # getUpdates is refused while a webhook is set, as Telegram does.
            with pytest.raises(Exception, match="webhook is active"):
                await app.bot.get_updates()
            await asyncio.sleep(0)
            assert (await app.bot.get_webhook_info()).pending_update_count == 0
            assert await app.bot.delete_webhook()
    finally:
        await runner.cleanup()


async def test_photos_both_ways_through_ptb(sim: BotAPISimulator) -> None:
    app = build(sim)
    async with app:
        sent = sim.send_photo(USER, caption="井盖丢了", data=b"\xff\xd8evidence")
        photo = await app.bot.get_file(sent["photo"][-1]["file_id"])
        assert bytes(await photo.download_as_bytearray()) == b"\xff\xd8evidence"
        message = await app.bot.send_photo(USER, photo=b"\xff\xd8reply", caption="已派单")
        assert message.caption == "已派单"
        again = await app.bot.send_photo(USER, photo=sent["photo"][-1]["file_id"])
        assert again.photo[-1].file_id == sent["photo"][-1]["file_id"]
    assert [m.get("caption") for m in sim.bot_messages(USER)] == ["已派单", None]

"""Grid groups and grid workers: bind grids, hear posts, prompts, /report, forwarded posts."""

from __future__ import annotations

from telegram import MessageOriginHiddenUser, MessageOriginUser, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot import buttons, texts
from bot.domain import AttachmentKind
from bot.services.administration import grids
from bot.services.intake import groups, handover, reports
from handlers.context import HuiyinContext, on_replied_author, person

GROUPS = filters.ChatType.GROUPS
PRIVATE = filters.ChatType.PRIVATE
REPORT_WORD = filters.Regex(r"^\s*(上报|/report(@\w+)?)\s*$")


async def bind_grid(update: Update, context: HuiyinContext) -> None:
    """Make this group a grid group: /bind_grid 网格名称 (admins only)."""
    msg, chat, user = update.effective_message, update.effective_chat, update.effective_user
    assert msg is not None and chat is not None and user is not None
    name = " ".join(context.args or [])
    await grids.bind_grid(
        context.services, person(user), chat.id, chat.title or "", name, msg.message_id
    )


add_worker = on_replied_author(
    grids.add_worker,
    "Register the author of the replied-to message as a worker of this grid (admins only).",
)
block = on_replied_author(
    grids.block_user,
    "Block the author of the replied-to message from filing reports (admins only).",
)


async def report(update: Update, context: HuiyinContext) -> None:
    """A grid worker replies /report (or 上报) to a resident's post: open it for its author."""
    msg, chat, user = update.effective_message, update.effective_chat, update.effective_user
    assert msg is not None and chat is not None and user is not None
    target = msg.reply_to_message
    author = target.from_user if target is not None else None
    text = (target.text or target.caption or "") if target is not None else ""
    await handover.worker_report(
        context.services,
        person(user),
        chat.id,
        msg.message_id,
        person(author) if author is not None and not author.is_bot else None,
        target.message_id if target is not None else None,
        text,
    )


async def split(update: Update, context: HuiyinContext) -> None:
    """A grid worker replies /split to a merged post: it becomes a ticket of its own."""
    msg, chat, user = update.effective_message, update.effective_chat, update.effective_user
    assert msg is not None and chat is not None and user is not None
    target = msg.reply_to_message
    await groups.split(
        context.services,
        person(user),
        chat.id,
        msg.message_id,
        target.message_id if target is not None else None,
    )


async def group_text(update: Update, context: HuiyinContext) -> None:
    """Every text in a group: a staff answer, or a grid post the bot reads."""
    msg, chat, user = update.effective_message, update.effective_chat, update.effective_user
    assert msg is not None and chat is not None and user is not None
    if user.is_bot:
        return
    await groups.handle_group_text(
        context.services,
        person(user),
        chat.id,
        msg.message_id,
        msg.text or msg.caption or "",
        photo=msg.photo[-1].file_id if msg.photo else None,
        reply_to=msg.reply_to_message.message_id if msg.reply_to_message else None,
    )


async def prompt_button(update: Update, context: HuiyinContext) -> None:
    """提交为诉求 / 不是 under a prompt in a grid group."""
    query = update.callback_query
    assert query is not None and query.data is not None
    press = buttons.decode(query.data)
    if not isinstance(press, buttons.PromptAnswer):
        await query.answer(texts.ALERT_INVALID, show_alert=True)
        return
    answer = await groups.answer_prompt(
        context.services, person(query.from_user), press.prompt_id, "yes" if press.submit else "no"
    )
    await query.answer(answer.text, show_alert=answer.alert)


async def forwarded(update: Update, context: HuiyinContext) -> None:
    """A post forwarded to the bot in private: a grid worker hands a resident's problem over."""
    msg, user = update.effective_message, update.effective_user
    assert msg is not None and user is not None
    origin = msg.forward_origin
    author = origin.sender_user if isinstance(origin, MessageOriginUser) else None
    hidden = origin.sender_user_name if isinstance(origin, MessageOriginHiddenUser) else None
    text = msg.text or msg.caption or ""
    if not text and (msg.photo or msg.location):
        await reports.attach(
            context.services,
            person(user),
            msg.message_id,
            kind=AttachmentKind.PHOTO if msg.photo else AttachmentKind.LOCATION,
            file_id=msg.photo[-1].file_id if msg.photo else None,
            latitude=msg.location.latitude if msg.location else None,
            longitude=msg.location.longitude if msg.location else None,
        )
        return
    heard = await handover.forwarded(
        context.services,
        person(user),
        msg.message_id,
        text,
        person(author) if author is not None and not author.is_bot else None,
        hidden,
    )
    if heard.kind == "ticket" and msg.photo:
        await reports.attach(
            context.services,
            person(user),
            msg.message_id,
            kind=AttachmentKind.PHOTO,
            file_id=msg.photo[-1].file_id,
        )


HANDLERS: list[BaseHandler[Update, HuiyinContext, None]] = [
    CommandHandler("bind_grid", bind_grid, filters=GROUPS),
    CommandHandler("add_worker", add_worker, filters=GROUPS),
    CommandHandler("block", block, filters=GROUPS),
    CommandHandler("report", report, filters=GROUPS),
    CommandHandler("split", split, filters=GROUPS),
    MessageHandler(GROUPS & filters.REPLY & REPORT_WORD, report),
    CallbackQueryHandler(prompt_button, pattern=buttons.is_prompt_answer),
    MessageHandler(PRIVATE & filters.FORWARDED, forwarded),
    MessageHandler(GROUPS & (filters.TEXT | filters.CAPTION) & ~filters.COMMAND, group_text),
]

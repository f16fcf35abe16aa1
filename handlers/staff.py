"""Staff in their group chat: bind it, register staff, and handle ticket cards."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from bot import buttons
from bot.domain import parse_ticket_number
from bot.services.administration import staff as staff_admin
from bot.services.handling import actions, corrections, queues, staff
from bot.services.statistics import access, report
from handlers.context import HuiyinContext, on_command, on_press, on_replied_author, person

GROUPS = filters.ChatType.GROUPS


async def bind_staff(update: Update, context: HuiyinContext) -> None:
    """Bind this group: /bind_staff 部门名称, or /bind_staff alone for the dispatch chat."""
    msg, chat, user = update.effective_message, update.effective_chat, update.effective_user
    assert msg is not None and chat is not None and user is not None
    await staff_admin.bind_staff_chat(
        context.services,
        person(user),
        chat.id,
        chat.title or "",
        msg.message_id,
        " ".join(context.args or []),
        thread_id=msg.message_thread_id if msg.is_topic_message else None,
    )


add_staff = on_replied_author(
    staff_admin.add_staff, "Register the author of the replied-to message as staff (admins only)."
)


card_button = on_press(
    buttons.CardPress,
    lambda services, who, where, press, _message: actions.press(
        services, who, where, press.action, press.ticket_id
    ),
    "Handle a staff action's button on a ticket card (受理, 办结, 派单, 延期审批 …).",
)
category_button = on_press(
    buttons.CategoryPick,
    lambda services, who, where, press, message: corrections.choose(
        services, who, where.chat_id, message, press.ticket_id, press.index
    ),
    "Handle a tap on one of the categories offered to correct a ticket's category.",
)
contact_button = on_press(
    buttons.ContactPress,
    lambda services, who, where, press, _message: staff.ask_contact(
        services, who, where, ticket_id=press.ticket_id
    ),
    "Handle 联系方式 on a ticket card: ask why, then show who reported it.",
)
contact = on_command(
    lambda services, said: staff.ask_contact(
        services,
        said.person,
        said.place,
        number=parse_ticket_number(said.args),
        message_id=said.message_id,
    ),
    "Ask to see who reported a ticket (/contact 编号), with a reason put on the record.",
)
queue = on_command(
    lambda services, said: queues.show_queue(services, said.person, said.place, said.message_id),
    "List this chat's department's open tickets by deadline (/queue).",
)
overdue = on_command(
    lambda services, said: queues.show_queue(
        services, said.person, said.place, said.message_id, overdue=True
    ),
    "List this chat's department's overdue tickets (/overdue).",
)
ticket = on_command(
    lambda services, said: queues.show_ticket(
        services, said.person, said.place, said.message_id, said.args
    ),
    "Show one ticket's card and full timeline (/ticket 编号).",
)
console = on_command(
    lambda services, said: access.send_link(
        services, said.person.id, said.place.chat_id, said.message_id
    ),
    "Send a one-time sign-in link to the web console privately (/console).",
)
stats = on_command(
    lambda services, said: report.answer_stats(services, said.person, said.place, said.message_id),
    "Answer with this chat's department's figures for the current cycle (/stats).",
)


HANDLERS: list[BaseHandler[Update, HuiyinContext, None]] = [
    CommandHandler("bind_staff", bind_staff, filters=GROUPS),
    CommandHandler("add_staff", add_staff, filters=GROUPS),
    CommandHandler("queue", queue, filters=GROUPS),
    CommandHandler("overdue", overdue, filters=GROUPS),
    CommandHandler("ticket", ticket, filters=GROUPS),
    CommandHandler("console", console, filters=GROUPS),
    CommandHandler("stats", stats, filters=GROUPS),
    CallbackQueryHandler(card_button, pattern=buttons.is_card_press),
    CallbackQueryHandler(category_button, pattern=buttons.is_category_pick),
    CommandHandler("contact", contact, filters=GROUPS),
    CallbackQueryHandler(contact_button, pattern=buttons.is_contact_press),
]

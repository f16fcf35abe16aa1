"""A local Telegram Bot API server, checked against the published spec (stdlib + aiohttp).

Usage (tests, ``huiyin demo``)::

    sim = BotAPISimulator()
    await sim.start()                       # free port; sim.root_url
    app = (ApplicationBuilder().token(sim.token)
           .base_url(f"{sim.root_url}/bot").base_file_url(f"{sim.root_url}/file/bot").build())
    sim.add_user(1001, "小王")
    sim.send_text(1001, "/start")           # queues an Update (or POSTs it to the webhook)
    reply = await sim.wait_for_bot_message(1001)
    sim.press_button(1001, 1001, reply["message_id"], "data")
    await sim.stop()

Call the control API from the event loop's thread only. ``sim.spec_violations`` lists any
object the simulator produced that the spec would reject (tests assert it stays empty).
"""

from .server import BotAPISimulator
from .spec import BadRequest, SpecViolation, object_problems, validate_object

__all__ = ["BadRequest", "BotAPISimulator", "SpecViolation", "object_problems", "validate_object"]

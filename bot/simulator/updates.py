"""How updates reach the bot: long polling (getUpdates with offsets) or a webhook (POSTed one at a
time, in order), as Telegram does it."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

from .spec import BadRequest
from .state import SimulatorState, _Pending, _Webhook

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
DEFAULT_EXCLUDED_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
CONFLICT_POLL = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance "
    "is running"
)
CONFLICT_WEBHOOK = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to "
    "delete the webhook first"
)


class UpdateDelivery(SimulatorState):
    """The queue of updates and the two ways Telegram hands them over."""

    # --- updates: long polling ------------------------------------------------------------

    def _allowed(self, update: dict[str, Any]) -> bool:
        kinds = [k for k in update if k != "update_id"]
        if not kinds:
            return True
        if self._allowed_updates:
            return kinds[0] in self._allowed_updates
        return kinds[0] not in DEFAULT_EXCLUDED_UPDATES

    def _confirm(self, offset: int | None) -> None:
        if offset is None:
            return
        if offset < 0:
            keep = -offset
            self._updates = self._updates[-keep:] if keep else []
        else:
            self._updates = [
                u for u in self._updates
                if u.update.get("update_id", 0) >= offset or (u.forced and not u.delivered)
            ]

    def _ready(self, limit: int) -> list[_Pending]:
        self._updates = [u for u in self._updates if self._allowed(u.update)]
        return self._updates[:limit]

    async def _get_updates(self, p: dict[str, Any]) -> list[dict[str, Any]]:
        if self._webhook is not None:
            raise BadRequest(CONFLICT_WEBHOOK, 409)
        self._poll_generation += 1
        generation = self._poll_generation
        self._notify()  # an older long poll, if any, ends with 409
        if "allowed_updates" in p:
            self._allowed_updates = list(p["allowed_updates"])
        self._confirm(p.get("offset"))
        limit = min(max(int(p.get("limit", 100)), 1), 100)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(int(p.get("timeout", 0)), 0)
        while True:
            if generation != self._poll_generation:
                raise BadRequest(CONFLICT_POLL, 409)
            if self._webhook is not None:
                raise BadRequest(CONFLICT_WEBHOOK, 409)
            ready = self._ready(limit)
            if ready or self._closing or loop.time() >= deadline:
                for pending in ready:
                    pending.delivered = True
                return [copy.deepcopy(u.update) for u in ready]
            await self._wait_change(deadline - loop.time())

    # --- updates: webhook -------------------------------------------------------------------

    def _set_webhook(self, p: dict[str, Any]) -> bool:
        url = p["url"]
        if not url:
            self._webhook = None
        else:
            if not url.startswith(("http://", "https://")):
                raise BadRequest("Bad Request: bad webhook: An HTTPS URL must be provided for "
                                 "webhook")
            secret = p.get("secret_token")
            if secret is not None and (
                not 1 <= len(secret) <= 256
                or not all(c.isascii() and (c.isalnum() or c in "_-") for c in secret)
            ):
                raise BadRequest("Bad Request: secret token contains unallowed characters")
            self._webhook = _Webhook(url, secret, int(p.get("max_connections", 40)))
        if "allowed_updates" in p:
            self._allowed_updates = list(p["allowed_updates"])
        if p.get("drop_pending_updates"):
            self._updates.clear()
        self._notify()
        return True

    def _webhook_info(self) -> dict[str, Any]:
        hook = self._webhook
        info: dict[str, Any] = {
            "url": hook.url if hook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if hook is not None:
            info["max_connections"] = hook.max_connections
            if hook.last_error_date is not None:
                info["last_error_date"] = hook.last_error_date
                info["last_error_message"] = hook.last_error_message or ""
            if self._allowed_updates:
                info["allowed_updates"] = list(self._allowed_updates)
        return info

    @property
    def webhook_url(self) -> str | None:
        """The webhook URL the bot set, or None in polling mode."""
        return self._webhook.url if self._webhook else None

    async def _webhook_loop(self) -> None:
        """POST pending updates, one at a time and in order, to the webhook while one is set."""
        backoff = 0.1
        while not self._closing:
            hook = self._webhook
            ready = self._ready(1) if hook is not None else []
            if hook is None or not ready or self._session is None:
                await self._wait_change(1.0)
                continue
            pending = ready[0]
            update = pending.update
            headers = {SECRET_HEADER: hook.secret_token} if hook.secret_token else {}
            try:
                async with self._session.post(hook.url, json=update, headers=headers) as resp:
                    ok = 200 <= resp.status < 300
                    error = f"Wrong response from the webhook: {resp.status} {resp.reason}"
            except (TimeoutError, OSError) as exc:
                ok, error = False, f"Connection failed: {exc.__class__.__name__}"
            if ok:
                backoff = 0.1
                self._updates = [u for u in self._updates if u is not pending]
                self._bump()
                continue
            hook.last_error_date = self.world.now()
            hook.last_error_message = error
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 2.0)

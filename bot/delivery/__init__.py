"""The outbox sender: the only code that sends messages, paced to Telegram's limits.

`sender` drains the outbox (`OutboxSender`), `rows` reads and writes its rows, `wire` turns
each intent into a Bot API call, `pacing` keeps to Telegram's limits across instances.
"""

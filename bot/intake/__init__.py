"""Intake: every update is stored before it is confirmed, then handled once in effect.

`poller` reads getUpdates in batches, `chatter` decides silent group talk in memory (never
stored), the rest of the batch is stored in one statement (`storage.inbox`), or in one
transaction with this worker's claim when it takes the batch on at once, and only then is the
next offset asked for. While the poller reads full batches, the worker takes on no new chat
for a few seconds, so a backlog is read and stored first.
`worker` claims stored updates chat by chat and runs them through the Application's handlers;
`handled` makes the "done" mark commit with the handler's effects.
"""

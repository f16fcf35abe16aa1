"""Intake: every update is stored before it is confirmed, then handled once in effect.

`poller` reads getUpdates in batches, `chatter` decides silent group talk in memory (never
stored), the rest of the batch is stored in one transaction (`storage.inbox`), and only then
is the next offset asked for.
`worker` claims stored updates chat by chat and runs them through the Application's handlers;
`handled` makes the "done" mark commit with the handler's effects.
"""

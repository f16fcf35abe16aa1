"""The button codec: every button round-trips; anything else, forged or oversized, is refused."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot import buttons
from bot.buttons import (
    ID_MAX,
    ROUND_MAX,
    CardPress,
    CategoryPick,
    ConfidentialPress,
    PromptAnswer,
    QuestionAnswer,
    RatingPress,
)
from bot.domain import Action, Rating
from bot.errors import ButtonDataError, IntentError
from bot.intents import (
    ButtonsOff,
    Card,
    CardUpdate,
    Digest,
    DigestEntry,
    Earlier,
    GroupAnswer,
    Intent,
    Key,
    Location,
    Notice,
    Photo,
    Prompt,
    Removal,
    dumps,
    keyboard,
    loads,
)

ids = st.integers(min_value=0, max_value=ID_MAX)
presses = st.one_of(
    st.builds(CardPress, st.sampled_from(Action), ids),
    st.builds(RatingPress, ids, st.integers(0, ROUND_MAX), st.sampled_from(Rating)),
    st.builds(PromptAnswer, ids, st.booleans()),
    st.builds(QuestionAnswer, ids, st.booleans()),
    st.builds(CategoryPick, ids, st.integers(0, 9)),
    st.builds(ConfidentialPress, ids, st.booleans()),
)


@given(presses)
def test_every_button_round_trips_within_64_bytes(press: buttons.Press) -> None:
    data = buttons.encode(press)
    assert len(data.encode()) <= buttons.DATA_LIMIT
    assert buttons.decode(data) == press


@given(st.text(max_size=80))
def test_arbitrary_text_decodes_to_nothing_or_to_what_encodes_back(data: str) -> None:
    press = buttons.decode(data)
    assert press is None or buttons.encode(press) == data


@given(presses, st.integers(min_value=0, max_value=len("t:accept:1") - 1))
def test_truncated_data_never_decodes_to_a_different_button(
    press: buttons.Press, cut: int
) -> None:
    data = buttons.encode(press)[:cut]
    decoded = buttons.decode(data)
    assert decoded is None or buttons.encode(decoded) == data


@pytest.mark.parametrize(
    "data",
    [
        "t:accept:99999999999999999999",  # beyond BIGINT: would raise in PostgreSQL
        f"t:accept:{ID_MAX + 1}",
        f"r:1:{ROUND_MAX + 1}:satisfied",
        "t:accept:-1",
        "t:accept:007",
        "t:accept:１２",  # full-width digits pass str.isdigit()
        "t:accept:²",
        "t:explode:1",
        "t:accept:1:extra",
        "r:1:0:great",
        "g:maybe:3",
        "g:yes:",
        "p:maybe:1",
        "p:yes:01",
        "k:1:10",  # a category index is one digit
        "k:1:-1",
        "k:x:0",
        "h:yes:1",
        "h:on:-1",
        "h:off:01",
        "t:accept:1\x00",
        "x" * 65,
        "",
    ],
)
def test_forged_data_is_refused(data: str) -> None:
    assert buttons.decode(data) is None


def test_decode_accepts_only_text() -> None:
    assert buttons.decode(None) is None
    assert buttons.decode(b"t:accept:1") is None


def test_encode_refuses_values_the_columns_cannot_hold() -> None:
    with pytest.raises(ButtonDataError):
        buttons.encode(CardPress(Action.ACCEPT, -1))
    with pytest.raises(ButtonDataError):
        buttons.encode(RatingPress(1, ROUND_MAX + 1, Rating.BASIC))


def test_the_wire_form_of_buttons_already_sent_still_decodes() -> None:
    assert buttons.decode("t:extend_ok:12") == CardPress(Action.APPROVE_EXTENSION, 12)
    assert buttons.decode("r:5:1:dissatisfied") == RatingPress(5, 1, Rating.DISSATISFIED)
    assert buttons.decode("g:no:9") == PromptAnswer(9, submit=False)
    assert buttons.decode("h:on:7") == ConfidentialPress(7, on=True)


def test_handler_patterns_tell_the_kinds_apart() -> None:
    assert buttons.is_card_press("t:accept:1") and not buttons.is_card_press("r:1:0:basic")
    assert buttons.is_rating_press("r:1:0:basic") and not buttons.is_rating_press("g:yes:1")
    assert buttons.is_prompt_answer("g:yes:1") and not buttons.is_prompt_answer("t:accept:x")
    assert buttons.is_question_answer("p:no:1") and not buttons.is_question_answer("g:no:1")
    assert buttons.is_category_pick("k:3:2") and not buttons.is_category_pick("t:accept:3")


texts = st.text(max_size=40)
keys = st.builds(Key, texts, presses)
keyboards = st.lists(st.lists(keys, min_size=1, max_size=3), max_size=3).map(
    lambda rows: keyboard(*rows)
)
earlier = st.one_of(
    st.builds(Earlier, message_id=st.integers(1, 2**40)),
    st.builds(Earlier, outbox_key=st.text(min_size=1, max_size=40)),
)
intents = st.one_of(
    st.builds(Notice, texts, keyboards, st.none() | st.integers(1, 2**40)),
    st.builds(GroupAnswer, texts, keyboards, st.none() | st.integers(1, 2**40)),
    st.builds(Card, texts, keyboards, texts),
    st.builds(CardUpdate, texts, keyboards, texts),
    st.builds(
        Digest,
        st.lists(st.builds(DigestEntry, ids, texts, keyboards, texts), max_size=3).map(tuple),
    ),
    st.builds(Prompt, texts, st.none() | st.integers(1, 2**40), st.booleans()),
    st.builds(Photo, st.text(min_size=1, max_size=30), texts),
    st.builds(
        Location,
        st.floats(-90, 90),
        st.floats(-180, 180),
        texts,
        texts,
    ),
    st.builds(ButtonsOff, earlier),
    st.builds(Removal, earlier),
)


@given(intents)
def test_every_intent_round_trips_through_the_outbox_form(intent: Intent) -> None:
    assert loads(intent.kind, dumps(intent)) == intent


def test_an_unreadable_stored_intent_is_one_clear_error() -> None:
    with pytest.raises(IntentError):
        loads("notice", '{"txt": "x"}')
    with pytest.raises(IntentError):
        loads("telepathy", "{}")
    with pytest.raises(IntentError):
        loads("card", '{"text": "x", "buttons": [[["受理", "t:accept:-1"]]]}')

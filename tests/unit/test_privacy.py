"""Personal data is masked before staff see it."""

from __future__ import annotations

from bot.privacy import mask_id, mask_name, mask_text


def test_phone_and_id_numbers_are_masked() -> None:
    text = "我电话13812345678，座机010-62345678，身份证110101199003074514"
    masked = mask_text(text)
    assert "13812345678" not in masked and "138****5678" in masked
    assert "62345678" not in masked
    assert "110101199003074514" not in masked and "110101********4514" in masked


def test_ids_and_names() -> None:
    assert mask_id(123456789) == "12*****89"
    assert mask_name("张阿姨") == "张**"
    assert mask_name("") == "匿名"

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


def test_every_way_people_write_a_mobile_number_is_masked() -> None:
    for written in (
        "13912345678",
        "8613912345678",
        "+86 139 1234 5678",
        "0086-139-1234-5678",
        "139-1234-5678",
        "139 1234 5678",
        "１３９１２３４５６７８",
        "１３９－１２３４－５６７８",
    ):
        masked = mask_text(f"联系我：{written}，谢谢")
        digits = "".join(c for c in masked.translate({0xFF10 + d: str(d) for d in range(10)})
                         if c.isdigit())
        assert "1234" not in digits, (written, masked)
        assert "139****5678" in masked, (written, masked)


def test_id_numbers_in_any_common_form_are_masked() -> None:
    for written, kept in (
        ("110101199003074514", "110101********4514"),
        ("11010119900307451X", "110101********451X"),
        ("110101 19900307 4514", "110101********4514"),
        ("１１０１０１１９９００３０７４５１４", "110101********4514"),
        ("110101900307451", "110101******451"),
    ):
        masked = mask_text(f"身份证{written}。")
        assert "19900307" not in masked and "900307" not in masked, (written, masked)
        assert kept in masked, (written, masked)


def test_ordinary_numbers_stay() -> None:
    text = "3栋2单元1201室，灯坏了7天，工单20261123-0001"
    assert mask_text(text) == text

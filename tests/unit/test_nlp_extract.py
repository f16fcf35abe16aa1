"""Table-driven tests of Extractor.extract against tests/unit/fixtures/nlp/cases.tsv."""

from __future__ import annotations

from pathlib import Path

import pytest

from nlp import Extraction, Extractor
from nlp.model import Explanation

FIXTURES = Path(__file__).parent / "fixtures" / "nlp"


def _cases() -> list[list[str]]:
    lines = (FIXTURES / "cases.tsv").read_text(encoding="utf-8").splitlines()
    return [line.split("\t") for line in lines if line and not line.startswith("#")]


@pytest.fixture(scope="module")
def extractor() -> Extractor:
    return Extractor.load()


@pytest.mark.parametrize("case", _cases(), ids=lambda c: c[0][:12] or "<empty>")
def test_case(extractor: Extractor, case: list[str]) -> None:
    text, is_report, intent, first, urgency, location = case
    got = extractor.extract(text)
    why = "\n".join(got.explanation)
    assert str(got.is_report) == is_report, why
    if intent != "-":
        assert got.intent == intent, why
    if first != "-":
        assert got.category and got.category[0] == first, why
    if urgency != "-":
        assert got.urgency == urgency, why
    if location != "-":
        assert got.location and location in got.location, (got.location, why)


def test_contract_fields(extractor: Extractor) -> None:
    got = extractor.extract("红星小区3栋电梯旁边着火了！")
    assert isinstance(got, Extraction)
    assert got.is_report and got.urgency == "紧急" and "着火" in got.urgent_words
    assert 0.0 <= got.confidence <= 1.0
    assert got.explanation and all(isinstance(x, str) for x in got.explanation)
    assert got.category_label == "/".join(got.category)


def test_category_label_when_empty() -> None:
    x = Extraction(False, "其他", (), "一般", (), None, 1.0, ())
    assert x.category_label == "其他"


def test_category_paths_follow_official_taxonomy(extractor: Extractor) -> None:
    taxonomy = (Path(__file__).parents[2] / "nlp" / "rules" / "taxonomy.csv").read_text("utf-8")
    firsts = {line.split(",")[0] for line in taxonomy.splitlines()[1:]}
    for text in ("小区垃圾没人清运", "工资被拖欠", "路灯坏了", "工厂排放废气"):
        assert extractor.extract(text).category[0] in firsts


def test_grid_items_get_the_leaf_a_dispatcher_would_choose(extractor: Extractor) -> None:
    expected = {
        "小区垃圾堆了一周没人清运": "环境卫生",
        "隔壁KTV噪音扰民到凌晨": "噪音污染",
        "路灯坏了一个月": "城市公共设施",
        "路口红绿灯坏了": "城市公共设施",
        "井盖缺失很危险": "基础设施",
        "下水道堵了，污水冒出来": "基础设施",
        "楼上漏水到我家": "修缮装修",
        "2号楼外墙瓷砖掉下来了": "修缮装修",
        "又停水了": "自来水供应",
        "暖气不热": "冬季采暖",
        "物业服务太差": "物业服务",
        "老板拖欠工资": "工资发放",
        "门口占道经营": "城管执法",
        "楼下烧烤店油烟太大": "大气污染",
        "遛狗不拴绳，吓到孩子": "小区管理",
        "消防通道被车堵死": "消防安全",
        "楼道里电动车充电": "消防安全",
        "楼上高空抛物": "小区管理",
        "有人私搭乱建": "违章建筑",
        # the problem names the leaf, not the setting; typing slips and dialect
        "学校强制学生订校服": "乱收费",
        "电动车上牌在哪里办": "机动车和驾驶员管理",
        "外卖骑手在小区里骑得飞快": "交通安全管理",
        "单位不给交工伤保险": "职工工伤保险",
        "村里有人非法采沙": "矿产开采",
        "暧气不热": "冬季采暖",
        "楼下拉圾没人收": "环境卫生",
        "燥音太大了晚上睡不着": "噪音污染",
    }
    for text, leaf in expected.items():
        got = extractor.extract(text)
        assert got.category and got.category[-1] == leaf, (text, got.explanation)


def test_explanation_is_written_when_read_and_kept(extractor: Extractor) -> None:
    got = extractor.extract("幸福小区3栋楼道里的路灯坏了一个星期了，没人修")
    assert isinstance(got.explanation, Explanation)
    lines = tuple(got.explanation)
    assert lines[-1].endswith(": report") and any("路灯" in line for line in lines)
    assert got.explanation == lines and lines == got.explanation
    assert hash(got.explanation) == hash(lines) and len(got.explanation) == len(lines)
    assert got.explanation[0] == lines[0] and tuple(got.explanation) == lines
    assert got.as_dict()["explanation"] == list(lines)
    assert got == extractor.extract("幸福小区3栋楼道里的路灯坏了一个星期了，没人修")


def test_a_problem_described_at_length_counts_more_unless_it_is_talk(
    extractor: Extractor,
) -> None:
    short = "小区东门旁边的路灯坏了"
    long = short + "，晚上走路黑乎乎的，老人孩子出门都很不方便，希望物业尽快安排人来修一修"
    notice = "物业通知：" + long
    marked = [
        any("described at length" in line for line in extractor.extract(t).explanation)
        for t in (short, long, notice)
    ]
    assert marked == [False, True, False]
    assert extractor.extract(long).confidence > extractor.extract(short).confidence
    # without a problem word, a described topic counts half as much
    topic = "小区南门外面那条马路上的共享单车越来越多，早上上班的时候人行道上几乎没地方下脚了"
    lines = extractor.extract(topic).explanation
    assert "a topic described at length (>= 40 characters): +0.5" in lines
    assert "a problem described at length (>= 40 characters): +1" in extractor.extract(
        long
    ).explanation

import pytest

from contentlib.text import normalize_query


@pytest.mark.parametrize("raw, expected", [
    ("什么是MES？", "什么是mes"),
    ("  智能 制造  ", "智能制造"),
    ("智能\u3000制造 的 趋势", "智能制造的趋势"),
    ("ＡＩ 芯片", "ai 芯片"),           # full-width letters folded; a space between Latin and CJK stays
    ("「新能源汽车」", "新能源汽车"),
    ("How does MES work?!", "how does mes work"),
    ("c++ 教程", "c++ 教程"),           # punctuation inside is kept
    ("e-commerce  trends", "e-commerce trends"),
    ("【重磅】2024年 光伏 装机量", "重磅】2024年光伏装机量"),  # only the ends are trimmed
    ("\ud800跨境电商", "跨境电商"),
    ("？！。", ""),
    ("", ""),
])
def test_normalize_query(raw, expected):
    assert normalize_query(raw) == expected


def test_normalize_query_is_idempotent():
    for raw in ["什么是 MES？", " AI 芯片 ", "供应链 金融 怎么 做"]:
        once = normalize_query(raw)
        assert normalize_query(once) == once

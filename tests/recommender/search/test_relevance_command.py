"""`search_relevance --judgments FILE`: a judged set from elsewhere is read as it is, or refused with the reason."""
import pytest
from django.core.management import CommandError, call_command

from recommender.management.commands.search_relevance import _judged_set

VALID = """
- id: held-01
  lang: zh
  query: rag和微调哪个好
  type: topical
  relevant: {zh-ai-01: 3, en-ai-03: 1}
  answer: >-
    要看你要解决什么问题。
- id: held-02
  lang: zh
  query: 4090能跑多大的模型
  type: near_miss
  relevant: {}
"""


def test_a_judged_set_in_the_corpus_format_is_read(tmp_path):
    path = tmp_path / "held.yaml"
    path.write_text(VALID, encoding="utf-8")
    queries = _judged_set(str(path))
    assert [q.id for q in queries] == ["held-01", "held-02"]
    assert queries[0].relevant == {"zh-ai-01": 3, "en-ai-03": 1} and queries[0].answer == "要看你要解决什么问题。"
    assert queries[1].type == "near_miss" and not queries[1].relevant


@pytest.mark.parametrize("text, message", [
    (VALID.replace("zh-ai-01: 3", "zh-ai-99: 3"), "judges zh-ai-99, which the fixture corpus does not hold"),
    (VALID.replace("held-02", "held-01"), "the id 'held-01' appears twice"),
    (VALID.replace("  query: rag和微调哪个好\n", ""), "needs id, lang, query, type and relevant"),
    ("- [unclosed", "is not a judged set"),
    ("", "holds no query"),
])
def test_a_bad_judged_set_is_refused_with_what_to_fix(tmp_path, text, message):
    path = tmp_path / "held.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CommandError, match=message):
        call_command("search_relevance", judgments=str(path))


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(CommandError, match="no such file"):
        call_command("search_relevance", judgments=str(tmp_path / "nope.yaml"))

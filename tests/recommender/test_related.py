"""Related searches, "others are asking" and related articles as readers get them: published
questions and approved articles only, logged queries only as published questions, bots never, and
content alone where little traffic stands behind an item."""
import datetime as dt

import numpy as np
import pytest
from django.urls import reverse
from django.utils import timezone

from contentlib import services
from contentlib.models import Question
from recommender import activity, cooccurrence, related
from recommender.embeddings import to_bytes

BROWSER = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15"
BOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"


def _question(text, status="published", vector=None):
    from contentlib.text import normalize_query

    return Question.objects.create(text=text, normalized_text=normalize_query(text), slug=f"q-{abs(hash(text))}",
                                   status=status, vector=to_bytes(vector) if vector is not None else None,
                                   vector_model="test-model" if vector is not None else "")


def _sessions(count, items, prefix="r"):
    at = timezone.now() - dt.timedelta(hours=2)
    rows = []
    for n in range(count):
        for m, item in enumerate(items):
            kind, fields = ("search", {"query": item}) if isinstance(item, str) else ("article_view", {"article_id": item})
            rows.append(activity.activity_row(kind=kind, reader_key=f"{prefix}{n}", at=at + dt.timedelta(minutes=m), **fields))
    activity.activities_write(rows)


def _background():
    _sessions(12, ["展会物流", "报关"], prefix="bg")


@pytest.fixture(autouse=True)
def _fresh_model():
    activity.activity_flush()
    yield
    activity.activity_flush()
    cooccurrence._loaded.update(model=None, checked=0.0)


@pytest.mark.django_db
def test_related_searches_show_only_published_questions_among_the_co_searched_queries():
    shown = _question("展台设计")
    _question("展台搭建报价", status="pending")
    _question("展位费", status="hidden")
    _sessions(8, ["展览制作", "展台设计", "展台搭建报价", "展位费", "某个读者的私人搜索"])
    _background()
    cooccurrence.model_rebuild()
    found = related.related_searches(query="展览 制作", vector=None, vector_model="")
    assert found == [shown]


@pytest.mark.django_db
@pytest.mark.parametrize("variant", ["展览制作", "展览 制作", "展览制作？", "ＡＩ展览制作", "  展览　制作 "])
def test_spacing_case_and_full_width_variants_find_the_same_related_searches(variant):
    _question("展台设计")
    _question("ai展台设计")
    _sessions(8, ["展览制作", "展台设计"])
    _sessions(8, ["ai展览制作", "ai展台设计"], prefix="ai")
    _background()
    cooccurrence.model_rebuild()
    expected = "ai展台设计" if "ＡＩ" in variant else "展台设计"
    assert [q.normalized_text for q in related.related_searches(query=variant, vector=None, vector_model="")] == [expected]


@pytest.mark.django_db
def test_bots_searching_together_never_make_a_suggestion(client):
    _question("展台设计")
    for n in range(10):
        for query in ("展览制作", "展台设计"):
            client.get(reverse("site:search"), {"q": query}, HTTP_USER_AGENT=BOT, REMOTE_ADDR=f"10.0.{n}.1")
    activity.activity_flush()
    _background()
    cooccurrence.model_rebuild()
    assert related.related_searches(query="展览制作", vector=None, vector_model="") == []


@pytest.mark.django_db
def test_the_search_page_shows_related_searches_from_readers(client):
    _question("展台设计")
    for n in range(8):
        for query in ("展览制作", "展台设计"):
            client.get(reverse("site:search"), {"q": query}, HTTP_USER_AGENT=f"{BROWSER} r{n}")
    activity.activity_flush()
    _background()
    cooccurrence.model_rebuild()
    page = client.get(reverse("site:search"), {"q": "展览制作"}, HTTP_USER_AGENT=BROWSER).content.decode()
    assert "相关搜索" in page and "?q=%E5%B1%95%E5%8F%B0%E8%AE%BE%E8%AE%A1" in page


@pytest.mark.django_db
def test_with_little_traffic_related_searches_are_by_content_alone():
    close = _question("展台设计多少钱", vector=np.array([1.0, 0.0], dtype=np.float32))
    far = _question("冷链运输", vector=np.array([0.0, 1.0], dtype=np.float32))
    _sessions(3, ["展览制作", "冷链运输"])  # three readers: fewer than COOCCURRENCE_MIN_READERS
    _background()
    cooccurrence.model_rebuild(params=cooccurrence.BuildParams(min_support=2, min_llr=0.0))
    found = related.related_searches(query="展览制作", vector=np.array([0.9, 0.1], dtype=np.float32),
                                     vector_model="test-model")
    assert found == [close, far]


@pytest.mark.django_db
def test_others_are_asking_blends_co_asked_questions_into_the_content_list():
    page = _question("展览制作")
    by_content = _question("展览制作流程", vector=None)
    co_asked = _question("展台设计")
    _sessions(8, ["展览制作", "展台设计"])
    _background()
    cooccurrence.model_rebuild()
    found = related.others_asking_blend(question=page, content=[(by_content, 0.9)])
    assert found[0] == co_asked and by_content in found and page not in found


@pytest.mark.django_db
def test_related_articles_blend_co_read_articles_and_never_an_unpublished_one(article_factory, editor):
    ids = []
    for title in ("展台设计趋势", "展览物流", "展会预算", "尚未审核的文章"):
        article = article_factory(title=title)
        ids.append(article.id)
    for article_id in ids[:3]:
        services.article_approve(article_id=article_id, actor=editor)
    page, co_read, by_content, pending = ids
    _sessions(8, [page, co_read, pending])
    _sessions(12, [by_content, 999999], prefix="bg")
    cooccurrence.model_rebuild()
    found = related.related_articles_blend(article_id=page, content=[(by_content, 0.8), (pending, 0.7)])
    assert found[0] == co_read and by_content in found and pending not in found

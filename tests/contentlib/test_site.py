"""Readers see approved articles only."""
import re

import pytest
from django.urls import reverse

from contentlib import services


@pytest.mark.django_db
def test_list_and_detail_show_only_published_articles(client, article_factory, editor):
    shown = article_factory(title="已发布：跨境电商海外仓")
    hidden = article_factory(title="待审核：县域快递")
    services.article_approve(article_id=shown.id, actor=editor)

    listing = client.get(reverse("site:article_list")).content.decode()
    assert "已发布：跨境电商海外仓" in listing
    assert "待审核：县域快递" not in listing

    assert client.get(reverse("site:article_detail", args=[shown.id])).status_code == 200
    assert client.get(reverse("site:article_detail", args=[hidden.id])).status_code == 404


@pytest.mark.django_db
def test_healthz(client):
    assert client.get(reverse("site:healthz")).json() == {"status": "ok"}


@pytest.mark.django_db
def test_search_finds_published_articles_and_says_when_nothing_fits(client, article_factory, editor,
                                                                    django_capture_on_commit_callbacks):
    shown = article_factory(title="冷链物流的温控方案", text="生物药冷链运输需要全程温控，冷藏车的温度数据实时上传。" * 4)
    hidden = article_factory(title="冷链物流的草稿", text="冷链物流草稿，尚未审核，冷藏车温控。" * 4)
    with django_capture_on_commit_callbacks(execute=True):
        services.article_approve(article_id=shown.id, actor=editor)

    page = client.get(reverse("site:search"), {"q": "冷链 温控"}).content.decode()
    assert "冷链物流的温控方案" in re.sub(r"</?mark>", "", page)  # the query's words are marked
    assert hidden.status == "pending" and "冷链物流的草稿" not in page

    nothing = client.get(reverse("site:search"), {"q": "量子计算芯片的低温制冷机"}).content.decode()
    assert "内容库里还没有与“量子计算芯片的低温制冷机”相符的文章" in nothing
    english = client.get(reverse("site:search"), {"q": "量子计算芯片的低温制冷机"}, HTTP_ACCEPT_LANGUAGE="en")
    assert "Nothing in the library fits" in english.content.decode()


@pytest.mark.django_db
def test_search_escapes_markup_and_survives_odd_queries(client):
    for query in ['<script>alert(1)</script>', '" * : ( ) AND OR NOT', "😀" * 50, "x" * 10000, ""]:
        response = client.get(reverse("site:search"), {"q": query})
        assert response.status_code == 200
        assert "<script>alert(1)</script>" not in response.content.decode()


@pytest.mark.django_db
def test_an_article_without_author_or_date_shows_no_empty_separators(client, article_factory, editor):
    import re

    article = article_factory(title="无作者无日期的文章", author="", published_at=None)
    services.article_approve(article_id=article.id, actor=editor)

    for url in (reverse("site:article_detail", args=[article.id]), reverse("site:article_list")):
        page = client.get(url).content.decode()
        meta = re.findall(r'<div class="meta">(.*?)</div>', page, re.S)
        assert meta and not any(re.search(r"·\s*(·|$)", m.strip()) for m in meta), meta

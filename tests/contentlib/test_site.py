"""Readers see approved articles only."""
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

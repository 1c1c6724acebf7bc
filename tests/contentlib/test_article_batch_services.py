"""articles_upsert: many articles in one transaction, validated like article_upsert, one enrichment per batch."""
import pytest

from contentlib import services
from contentlib.errors import ApplicationError
from contentlib.models import Article
from contentlib.text import content_hash

TEXT = "港口自动化码头的岸桥远程操控系统，让单箱作业时间缩短了两成，夜班人手减少一半。" * 4


def article(n: int, **overrides) -> dict:
    fields = {"title": f"自动化码头 {n}", "text": f"{TEXT}第{n}号泊位。", "origin": Article.Origin.CRAWLED,
              "canonical_url": f"https://port.example.com/{n}", "html": f"<p>{n}</p><script>alert(1)</script>"}
    return fields | overrides


@pytest.mark.django_db
def test_a_batch_saves_each_article_as_article_upsert_would():
    results = services.articles_upsert(articles=[article(1), article(2)])
    assert [r.outcome for r in results] == ["created", "created"]
    rows = Article.objects.order_by("canonical_url")
    assert [a.canonical_url for a in rows] == ["https://port.example.com/1", "https://port.example.com/2"]
    one = rows[0]
    assert one.html == "<p>1</p>"  # sanitized on the way in
    assert one.content_hash == services.article_upsert(**article(1)).article.content_hash
    assert one.url == one.canonical_url and one.status == Article.Status.PENDING


@pytest.mark.django_db
def test_the_same_batch_twice_changes_no_row_and_queues_nothing(django_capture_on_commit_callbacks):
    services.articles_upsert(articles=[article(1), article(2)])
    before = {a.id: (a.updated_at, a.text) for a in Article.objects.all()}
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        again = services.articles_upsert(articles=[article(1), article(2)])
    assert [r.outcome for r in again] == ["unchanged", "unchanged"]
    assert {a.id: (a.updated_at, a.text) for a in Article.objects.all()} == before
    assert callbacks == []


@pytest.mark.django_db
def test_one_enrichment_task_is_queued_per_batch_and_enriches_every_article(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        results = services.articles_upsert(articles=[article(1), article(2), article(3)])
    assert len(callbacks) == 1, "one enrich_batch task for the whole batch, after commit"
    callbacks[0]()  # eager mode: runs recommender.tasks.enrich_batch inline
    ids = [r.article.id for r in results]
    assert set(Article.objects.filter(id__in=ids).values_list("enrichment_status", flat=True)) == {Article.Enrichment.DONE}


@pytest.mark.django_db
def test_an_invalid_article_costs_the_others_nothing():
    results = services.articles_upsert(articles=[article(1), article(2, title=""), article(3, canonical_url="not a url")])
    assert results[0].outcome == "created"
    assert isinstance(results[1], ApplicationError) and results[1].extra["field"] == "title"
    assert isinstance(results[2], ApplicationError) and results[2].extra["field"] == "canonical_url"
    assert "不是有效的 http(s) 网址" in results[2].message  # the site's default language
    assert list(Article.objects.values_list("canonical_url", flat=True)) == ["https://port.example.com/1"]


@pytest.mark.django_db
def test_a_canonical_url_twice_in_a_batch_is_created_then_updated():
    results = services.articles_upsert(articles=[article(1), article(1, text=TEXT + "扩建完成。")])
    assert [r.outcome for r in results] == ["created", "updated"]
    assert results[0].article.id == results[1].article.id
    assert Article.objects.get().text.endswith("扩建完成。")


@pytest.mark.django_db
def test_an_existing_article_in_a_batch_is_updated_in_place():
    first = services.article_upsert(**article(1)).article
    results = services.articles_upsert(articles=[article(1, text=TEXT + "新航线开通。"), article(2)])
    assert [r.outcome for r in results] == ["updated", "created"]
    assert results[0].article.id == first.id
    assert Article.objects.get(id=first.id).text.endswith("新航线开通。")


@pytest.mark.django_db
def test_a_content_hash_the_caller_computed_is_stored_as_given_and_decides_changes():
    given = content_hash(article(1)["title"], article(1)["text"])
    results = services.articles_upsert(articles=[article(1, content_hash=given), article(2, content_hash="c" * 64)])
    assert [r.article.content_hash for r in results] == [given, "c" * 64]  # not computed again
    assert Article.objects.get(canonical_url="https://port.example.com/2").content_hash == "c" * 64
    assert services.article_upsert(**article(1)).outcome == "unchanged"


def test_the_hash_of_a_text_is_the_same_before_and_after_the_library_cleans_it():
    # NULs, repeated spaces, surrounding blanks: what articles_upsert removes before hashing.
    assert content_hash(" 自动化\x00码头  1 ", f" {TEXT}\x00\n") == content_hash("自动化码头 1", TEXT)


@pytest.mark.django_db
def test_a_batch_insert_writes_every_column_as_a_single_insert_does():
    # Batches of two or more rows take the one-array-a-column insert on PostgreSQL.
    batch = services.articles_upsert(articles=[article(1, author="港务局", language="zh"), article(2)])[0].article
    alone = services.article_upsert(**article(3, author="港务局", language="zh")).article
    stored = {a.id: a for a in Article.objects.filter(id__in=[batch.id, alone.id])}
    differ = {"id", "title", "text", "html", "url", "canonical_url", "content_hash", "created_at", "updated_at"}
    for field in Article._meta.concrete_fields:
        if field.name not in differ:
            assert getattr(stored[batch.id], field.attname) == getattr(stored[alone.id], field.attname), field.name
    assert stored[batch.id].created_at == batch.created_at and stored[batch.id].updated_at == batch.updated_at
    assert batch.pk == stored[batch.id].pk and not batch._state.adding

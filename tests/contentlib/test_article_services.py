"""The article upsert: validation, sanitizing, idempotence and the enrichment it queues."""
import threading

import pytest
from django.db import connection
from django.utils import translation

from contentlib import services
from contentlib.errors import ApplicationError
from contentlib.models import Article

TEXT = "冷链物流企业正在把温控数据接入运输管理系统，疫苗和生鲜在途温度全程可追溯。" * 4


def upsert(**overrides):
    fields = {"title": "冷链物流的数字化", "text": TEXT, "origin": Article.Origin.CRAWLED,
              "canonical_url": "https://news.example.com/cold-chain"}
    fields.update(overrides)
    return services.article_upsert(**fields)


@pytest.mark.django_db
class TestUpsert:
    def test_new_article_is_pending_with_hash_and_pending_enrichment(self):
        result = upsert()
        article = Article.objects.get()
        assert result.outcome == "created"
        assert article.status == Article.Status.PENDING
        assert article.enrichment_status == Article.Enrichment.PENDING
        assert len(article.content_hash) == 64
        assert article.url == "https://news.example.com/cold-chain"

    def test_same_canonical_url_twice_updates_one_row(self):
        first = upsert()
        second = upsert(text=TEXT + "新增一段：今年冷库容量增长了百分之十二。")
        assert second.outcome == "updated"
        assert second.article.id == first.article.id
        assert Article.objects.count() == 1
        assert "百分之十二" in Article.objects.get().text

    def test_unchanged_article_is_not_rewritten(self):
        first = upsert()
        Article.objects.filter(id=first.article.id).update(enrichment_status=Article.Enrichment.DONE)
        before = Article.objects.get().updated_at
        second = upsert(html="<p>different markup, same text</p>")
        article = Article.objects.get()
        assert second.outcome == "unchanged"
        assert article.updated_at == before
        assert article.enrichment_status == Article.Enrichment.DONE

    def test_whitespace_and_full_width_changes_do_not_count_as_changes(self):
        upsert(title="ＡＧＶ 仓储")
        assert upsert(title="AGV   仓储").outcome == "unchanged"

    def test_changed_text_resets_enrichment(self):
        first = upsert()
        Article.objects.filter(id=first.article.id).update(enrichment_status=Article.Enrichment.DONE)
        upsert(text=TEXT + "补充。")
        assert Article.objects.get().enrichment_status == Article.Enrichment.PENDING

    def test_articles_without_canonical_url_are_separate_rows(self):
        upsert(canonical_url=None, origin=Article.Origin.SUBMITTED)
        upsert(canonical_url="", origin=Article.Origin.SUBMITTED)
        assert Article.objects.count() == 2
        assert set(Article.objects.values_list("canonical_url", flat=True)) == {None}

    @pytest.mark.parametrize("field", ["title", "text"])
    @pytest.mark.parametrize("value", ["", "   \n\t "])
    def test_empty_title_or_text_is_refused(self, field, value):
        with translation.override("en"), pytest.raises(ApplicationError) as error:
            upsert(**{field: value})
        assert error.value.extra["field"] == field
        assert f"no {field}" in error.value.message
        assert Article.objects.count() == 0

    def test_invalid_url_is_refused_with_the_field_named(self):
        with pytest.raises(ApplicationError) as error:
            upsert(canonical_url="javascript:alert(1)")
        assert error.value.extra["field"] == "canonical_url"

    def test_validation_errors_read_in_the_submitters_language(self):
        """The portal shows these messages to enterprises: in Chinese when the page is in Chinese."""
        cases = [({"title": ""}, "文章没有标题"), ({"text": " "}, "文章没有正文"), ({"title": "长" * 501}, "标题长 501 个字符"),
                 ({"url": "ftp://x"}, "网址“ftp://x”不是有效的 http(s) 网址"), ({"author": "王\udfff"}, "作者第 2 个位置有无效字符")]
        with translation.override("zh-hans"):
            for overrides, chinese in cases:
                with pytest.raises(ApplicationError) as error:
                    upsert(**overrides)
                assert chinese in error.value.message, overrides
        assert Article.objects.count() == 0

    def test_unknown_origin_is_refused(self):
        with pytest.raises(ApplicationError, match="Unknown origin"):
            upsert(origin="scraped")

    def test_scripts_and_event_handlers_never_reach_stored_html(self):
        html = (
            '<p onclick="steal()">正文<script>alert(1)</script></p>'
            '<img src="x.png" onerror="steal()"><a href="javascript:steal()">link</a>'
            '<iframe src="https://evil.example"></iframe><style>body{}</style>'
        )
        upsert(html=html)
        stored = Article.objects.get().html
        for bad in ("<script", "alert(1)", "onclick", "onerror", "javascript:", "<iframe", "<style"):
            assert bad not in stored
        assert "正文" in stored

    def test_update_by_id_edits_a_submitted_article(self):
        first = upsert(canonical_url=None, origin=Article.Origin.SUBMITTED)
        result = upsert(canonical_url=None, origin=Article.Origin.SUBMITTED, article_id=first.article.id,
                        title="冷链物流的数字化（修订）")
        assert result.outcome == "updated"
        assert Article.objects.get().title == "冷链物流的数字化（修订）"

    def test_update_of_missing_id_is_a_clear_error(self):
        with pytest.raises(ApplicationError, match="does not exist"):
            upsert(article_id=999999)


@pytest.mark.django_db
def test_enrichment_is_queued_after_commit_and_writes_tokens(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        article = upsert().article
    assert len(callbacks) == 1, "the upsert queues exactly one enrichment, after commit"
    assert Article.objects.get(id=article.id).tokens == ""
    callbacks[0]()
    article.refresh_from_db()
    assert article.enrichment_status == Article.Enrichment.DONE
    assert "冷链" in article.tokens.split()
    assert article.language == "zh"


@pytest.mark.django_db
def test_unchanged_upsert_queues_nothing(django_capture_on_commit_callbacks):
    upsert()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        upsert()
    assert callbacks == []


@pytest.mark.django_db(transaction=True)
def test_concurrent_upserts_of_one_url_make_one_row(require_postgres):
    """Two crawls saving the same canonical URL at once end with one row, not an IntegrityError."""
    barrier = threading.Barrier(4)
    outcomes, errors = [], []

    def save(i):
        try:
            barrier.wait()
            outcomes.append(upsert(text=TEXT + f"版本{i % 2}").outcome)
        except Exception as exc:  # noqa: BLE001 - the assertion below reports it
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=save, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert Article.objects.count() == 1
    assert outcomes.count("created") == 1


@pytest.mark.django_db
class TestUnencodableText:
    """Lone surrogates (half an emoji, from a broken copy or a JSON "\\ud83d") cannot be stored as
    UTF-8: the upsert refuses them with its own error instead of a UnicodeEncodeError."""

    @pytest.mark.parametrize("field", ["title", "text", "html", "author"])
    def test_a_lone_surrogate_is_refused_naming_the_field(self, field):
        bad = {"title": "冷链\ud83d物流", "text": TEXT[:20] + "\udc00" + TEXT, "html": "<p>\ud800</p>",
               "author": "王\udfff"}[field]
        with translation.override("en"), pytest.raises(ApplicationError) as error:
            upsert(**{field: bad})
        assert error.value.extra == {"field": field, "code": "invalid_unicode",
                                     "position": bad.index(next(c for c in bad if 0xD800 <= ord(c) <= 0xDFFF))}
        assert "invalid character" in error.value.message
        assert Article.objects.count() == 0

    def test_a_batch_keeps_the_good_articles(self):
        results = services.articles_upsert(articles=[
            {"title": "好文章", "text": TEXT, "origin": "crawled", "canonical_url": "https://a.example/1"},
            {"title": "坏文章", "text": TEXT + "\ud83d", "origin": "crawled", "canonical_url": "https://a.example/2"},
        ])
        assert results[0].outcome == "created"
        assert isinstance(results[1], ApplicationError) and results[1].extra["field"] == "text"
        assert Article.objects.count() == 1

    def test_a_real_emoji_is_kept(self):
        upsert(text=TEXT + "😀")
        assert Article.objects.get().text.endswith("😀")

"""Paid article submissions: through article_upsert, sanitized, flagged for the editor, edited and resubmitted."""
import pytest

from ads import services
from tests.contentlib.test_security import inline_code
from ads.models import Submission
from contentlib import services as library
from contentlib.models import Article, ArticleRevision

pytestmark = pytest.mark.django_db

BODY = ("## 温控配送\n\n医药冷链运输需要全程温度监测，冷藏车每分钟上传一次温度，异常时立即报警。"
        "仓库之间交接时留下完整的记录，药品的每一次转运都能追溯。\n\n- 疫苗\n- 生物制品\n")


def test_a_submission_is_a_pending_article_the_advertiser_owns(company_a):
    submission = services.submission_save(membership=company_a.member, title="温链通配送服务", body_markdown=BODY,
                                          source_url="https://a.example.com/news/1", keywords="医药冷链，温控配送, 医药冷链")
    article = submission.article
    assert article.origin == Article.Origin.SUBMITTED and article.owner_id == company_a.advertiser.id
    assert article.status == Article.Status.PENDING and article.url == "https://a.example.com/news/1"
    assert "<h2>温控配送</h2>" in article.html and "<li>疫苗</li>" in article.html
    assert "##" not in article.text and "温控配送\n医药冷链运输" in article.text
    assert submission.suggested_keywords == ["医药冷链", "温控配送"]
    assert submission.submitted_by_name == "a-member"


def test_script_handlers_and_javascript_links_never_reach_the_html(company_a):
    body = ('正文<script>alert(1)</script>\n\n<img src=x onerror="alert(2)">\n\n[点我](javascript:alert(3))\n\n'
            '[正常链接](https://a.example.com/)')
    article = services.submission_save(membership=company_a.member, title="<b onmouseover=x>标题</b>",
                                       body_markdown=body).article
    assert inline_code(article.html) == []  # no script element, no on* attribute, no javascript: URL
    assert "&lt;script&gt;" in article.html  # typed HTML is shown as text
    assert '<a href="https://a.example.com/" rel="noopener noreferrer nofollow">正常链接</a>' in article.html


def test_a_copy_of_a_library_article_is_flagged_to_the_editor(company_a, company_b):
    original = company_a.approved
    copy = services.submission_save(membership=company_b.member, title="转载", body_markdown=original.text)
    assert copy.near_duplicate_of_id == original.id and copy.similarity >= 0.6
    fresh = services.submission_save(membership=company_b.member, title="原创", body_markdown=BODY)
    assert fresh.near_duplicate_of_id is None


def test_absolute_terms_are_flagged_to_the_editor(company_a):
    submission = services.submission_save(membership=company_a.member, title="全国第一的冷链服务",
                                          body_markdown="我们提供最佳的国家级温控方案。" + BODY)
    assert set(submission.banned_terms) >= {"第一", "最佳", "国家级"}
    clean = services.submission_save(membership=company_a.member, title="冷链服务", body_markdown=BODY)
    assert clean.banned_terms == []


def test_a_rejected_article_is_edited_and_goes_back_to_the_queue(company_a, staff):
    article = company_a.pending
    library.article_reject(article_id=article.id, actor=staff, reason="标题夸大")
    services.submission_save(membership=company_a.member, title="改过的标题", body_markdown=BODY, article_id=article.id)
    article.refresh_from_db()
    assert article.status == Article.Status.PENDING and article.title == "改过的标题"
    assert article.moderation_events.filter(action="reject", reason="标题夸大").exists()  # the history stays


def test_an_edit_of_an_approved_article_is_a_revision_and_the_approved_text_stays(company_a):
    article = company_a.approved
    published = article.text
    services.submission_save(membership=company_a.member, title=article.title, body_markdown=BODY,
                             article_id=article.id)
    article.refresh_from_db()
    assert article.status == Article.Status.APPROVED and article.text == published
    revision = ArticleRevision.objects.get(article=article, status="pending")
    assert "温控配送" in revision.text and revision.proposed_by.startswith("a-member")
    assert Submission.objects.get(article=article).body_markdown == BODY


def test_another_advertisers_article_cannot_be_edited(company_a, company_b):
    from contentlib.errors import ApplicationError

    with pytest.raises(ApplicationError) as refused:
        services.submission_save(membership=company_b.member, title="x", body_markdown="y",
                                 article_id=company_a.approved.id)
    assert refused.value.extra["code"] == "not_found"
    company_a.approved.refresh_from_db()
    assert company_a.approved.title == "冷链物流温控方案"


def markdown_to_edit(article) -> str:
    return services.submission_markdown(Submission.objects.get(article=article),
                                        article.revisions.filter(status="pending").first())


def test_a_rejected_edit_leaves_the_published_versions_markdown_to_edit(company_a, staff):
    """The Markdown is the enterprise's source: a rejected edit must not replace that of the text
    that stays published (the portal's edit form starts from it)."""
    article = company_a.approved
    published_markdown = markdown_to_edit(article)
    edit = BODY + "\n我们是业内最好的。\n"
    services.submission_save(membership=company_a.member, title=article.title, body_markdown=edit, article_id=article.id)
    assert markdown_to_edit(article) == edit  # the pending edit is what is being edited

    revision = ArticleRevision.objects.get(article=article, status="pending")
    library.article_revision_reject(revision_id=revision.id, actor=staff, reason="绝对化用语")
    assert markdown_to_edit(article) == published_markdown

    services.submission_save(membership=company_a.member, title=article.title, body_markdown=BODY, article_id=article.id)
    revision = ArticleRevision.objects.get(article=article, status="pending")
    library.article_revision_approve(revision_id=revision.id, actor=staff)
    assert markdown_to_edit(article) == BODY  # the new published version


def test_the_portal_edit_form_starts_from_the_published_markdown_after_a_rejection(client, company_a, staff):
    from django.urls import reverse

    article = company_a.approved
    published_markdown = Submission.objects.get(article=article).body_markdown
    services.submission_save(membership=company_a.member, title=article.title, body_markdown="被驳回的改稿。" * 20,
                             article_id=article.id)
    library.article_revision_reject(revision_id=article.revisions.get(status="pending").id, actor=staff,
                                    reason="不实内容")
    client.force_login(company_a.member.user)
    form = client.get(reverse("portal:article_edit", args=[article.id])).content.decode()
    assert "被驳回的改稿" not in form and published_markdown.splitlines()[0] in form

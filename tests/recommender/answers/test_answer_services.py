"""answer_question end to end on the real enrichment, index and retrieval: the answer cites organic
articles only, is cached, goes stale when a cited article is rejected or revised, and a "no
answer" expires; a generated analysis stays out of sight until approved and is never a reference."""
from datetime import timedelta

import numpy as np
import pytest
from django.core.management import call_command
from django.urls import reverse

from contentlib import selectors, services
from contentlib.errors import ApplicationError
from contentlib.models import Answer, Article, Question
from recommender.answers import citations
from recommender.answers.services import analysis_draft, answer_question
from recommender.embeddings import from_bytes

ROBOTS = ("某电商仓库去年引入四十台仓储机器人，专门负责夜间补货和拣货搬运。"
          "按节省的人工成本测算，这批仓储机器人大约两年半就能回本。"
          "仓库经理说，机器人回本周期的关键是每天的订单量是否足够多。")
COLD_CHAIN = ("生物药冷链运输需要全程温控，冷藏车的温度数据实时上传到监控平台。"
              "一旦温度超出两到八度的范围，系统会立即通知司机和质量负责人。"
              "冷链物流企业也在用保温箱和蓄冷剂降低断链风险。")
RENTAL = ("仓储机器人租赁方案：按月付费，三个月内回本，仓储机器人回本最快的选择。"
          "我们的仓储机器人租赁服务覆盖全国，回本周期短，欢迎咨询。"
          "仓储机器人回本，就选我们的租赁方案。")
QUESTION = "仓储机器人多久能回本？"


@pytest.fixture
def library(article_factory, editor, django_capture_on_commit_callbacks):
    """Three published articles: robots (organic), cold chain (organic), robot rental (an advertiser's)."""
    from ads.models import Advertiser

    robots = article_factory(title="仓储机器人的投资回报", text=ROBOTS)
    cold = article_factory(title="冷链物流的温控方案", text=COLD_CHAIN)
    rental = article_factory(title="仓储机器人租赁，三个月回本", text=RENTAL, origin=Article.Origin.SUBMITTED)
    services.article_set_owner(article_id=rental.id, owner_id=Advertiser.objects.create(name="机器人租赁公司").id)
    with django_capture_on_commit_callbacks(execute=True):
        for article in (robots, cold, rental):
            services.article_approve(article_id=article.id, actor=editor)
    return {"robots": robots, "cold": cold, "rental": rental}


def ask(question=QUESTION, **kwargs) -> Answer:
    return answer_question(question_text=question, **kwargs)


@pytest.mark.django_db(transaction=True)
def test_answer_cites_the_organic_article_word_for_word_and_stores_both_vectors(library):
    answer = ask()

    assert answer.cited_article_ids == [library["robots"].id]  # never the advertiser's, more insistent, one
    assert "[1]" in answer.text and answer.status == Answer.Status.CURRENT and answer.provider == "extractive"
    for passage, numbers in citations.cited_sentences(answer.text):
        assert numbers == [1] and citations.appears_in(passage, ROBOTS)
    question = Question.objects.get()
    assert question.normalized_text == "仓储机器人多久能回本" and question.language == "zh"
    assert question.asked_count == 1 and question.status == Question.Status.PENDING
    question_vector, answer_vector = from_bytes(question.vector), from_bytes(answer.vector)
    stored = from_bytes(Article.objects.get(id=library["robots"].id).embedding)
    assert question_vector.shape == answer_vector.shape == stored.shape
    assert np.allclose(answer_vector, stored / np.linalg.norm(stored), atol=1e-5)  # derived, not encoded again
    assert answer.generation_ms is not None


@pytest.mark.django_db(transaction=True)
def test_the_same_question_in_another_form_is_answered_from_the_cache(library):
    first = ask()

    again = ask("  仓储机器人 多久能回本  ")

    assert again.id == first.id
    assert Question.objects.get().asked_count == 2
    assert Answer.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_look_up_that_is_not_a_reader_asking_does_not_count(library):
    """The portal's "why not shown" and the auction command answer the question too; the popular
    questions must not rise because an advertiser looked."""
    ask(count_ask=False)
    assert Question.objects.get().asked_count == 0
    ask()
    ask(count_ask=False)
    assert Question.objects.get().asked_count == 1 and Answer.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_rejecting_a_cited_article_invalidates_the_cached_answer(library, editor):
    first = ask()

    services.article_reject(article_id=library["robots"].id, actor=editor, reason="数据来源不可靠")

    first.refresh_from_db()
    assert first.status == Answer.Status.STALE
    second = ask()
    assert second.id != first.id and library["robots"].id not in second.cited_article_ids
    assert library["rental"].id not in second.cited_article_ids  # still never the advertiser's


@pytest.mark.django_db(transaction=True)
def test_an_approved_revision_of_a_cited_article_invalidates_the_answer(library, editor,
                                                                     django_capture_on_commit_callbacks):
    first = ask()
    revised = ROBOTS.replace("两年半", "三年")
    with django_capture_on_commit_callbacks(execute=True):
        revision = services.article_upsert(title="仓储机器人的投资回报", text=revised, origin=Article.Origin.CRAWLED,
                                           canonical_url=library["robots"].canonical_url).revision
    assert ask().id == first.id  # a pending revision changes nothing readers see

    with django_capture_on_commit_callbacks(execute=True):
        services.article_revision_approve(revision_id=revision.id, actor=editor)

    second = ask()
    assert second.id != first.id and second.cited_article_ids == [library["robots"].id]
    assert "三年" in second.text and "两年半" not in second.text


@pytest.mark.django_db(transaction=True)
def test_the_cache_is_checked_against_the_articles_even_without_an_invalidation(library):
    first = ask()
    # A change that bypassed the services: the reference's content hash no longer matches.
    Article.objects.filter(id=library["robots"].id).update(content_hash="0" * 64)

    assert ask().id != first.id


@pytest.mark.django_db(transaction=True)
def test_no_answer_is_honest_and_expires_after_the_setting(library, settings):
    nothing = ask("量子计算芯片的低温制冷机用什么材料")

    assert nothing.cited_article_ids == [] and nothing.is_no_answer
    assert nothing.text == "资料库里还没有能回答这个问题的文章。"
    assert ask("量子计算芯片的低温制冷机用什么材料").id == nothing.id
    settings.ANSWER_NO_ANSWER_TTL_HOURS = 24
    Answer.objects.filter(id=nothing.id).update(generated_at=nothing.generated_at - timedelta(hours=25))
    assert ask("量子计算芯片的低温制冷机用什么材料").id != nothing.id


@pytest.mark.django_db(transaction=True)
def test_an_empty_question_is_refused_with_a_message():
    with pytest.raises(ApplicationError, match="empty|为空"):
        ask("？？ ")


@pytest.mark.django_db(transaction=True)
def test_a_generated_analysis_is_invisible_until_approved_and_never_a_reference(library, editor, client,
                                                                             categories_loaded,
                                                                             django_capture_on_commit_callbacks):
    for key in ("robots", "cold"):
        services.article_set_category(article_id=library[key].id, category_id=categories_loaded["logistics"],
                                      actor=editor)
    with django_capture_on_commit_callbacks(execute=True):
        analysis = analysis_draft(category_slug="logistics")

    assert analysis.origin == Article.Origin.GENERATED and analysis.status == Article.Status.PENDING
    assert analysis.owner_id is None and "AI" in analysis.title
    assert ROBOTS.split("。")[0] in analysis.text  # drawn from the category's articles, cited
    assert "[1]" in analysis.text and "仓储机器人的投资回报" in analysis.text.split("\n\n")[-1]
    assert library["rental"].title not in analysis.text  # the advertiser's article is not drawn on either
    assert client.get(reverse("site:article_detail", args=[analysis.id])).status_code == 404
    assert not selectors.article_published().filter(id=analysis.id).exists()

    with django_capture_on_commit_callbacks(execute=True):
        services.article_approve(article_id=analysis.id, actor=editor)
    page = client.get(reverse("site:article_detail", args=[analysis.id])).content.decode()
    assert "AI 生成" in page
    english = client.get(reverse("site:article_detail", args=[analysis.id]), HTTP_ACCEPT_LANGUAGE="en")
    assert "AI-generated" in english.content.decode()
    assert not selectors.article_references().filter(id=analysis.id).exists()
    # Asked with the analysis's own words, the answer still cites only the organic article.
    answer = ask("物流行业分析：仓储机器人回本和冷链温控")
    assert analysis.id not in answer.cited_article_ids
    with pytest.raises(ApplicationError, match="never sold"):
        services.article_set_owner(article_id=analysis.id,
                                   owner_id=Article.objects.get(id=library["rental"].id).owner_id)


@pytest.mark.django_db(transaction=True)
def test_analysis_of_an_unknown_category_says_which_exist(categories_loaded):
    with pytest.raises(ApplicationError, match="Known categories: .*logistics"):
        analysis_draft(category_slug="no-such-category")


@pytest.mark.django_db(transaction=True)
def test_answer_command_prints_the_answer_and_its_references(library, capsys):
    call_command("answer", QUESTION)

    out = capsys.readouterr().out
    assert "[1]" in out and "[1] 仓储机器人的投资回报" in out and f"#{library['robots'].id}" in out
    assert library["rental"].title not in out


@pytest.mark.django_db(transaction=True)
def test_editors_see_edit_hide_and_regenerate_answers_in_admin(library, editor, client):
    answer = ask()
    question = answer.question
    client.force_login(editor)

    assert QUESTION in client.get(reverse("admin:contentlib_question_changelist")).content.decode()
    page = client.get(reverse("admin:contentlib_answer_change", args=[answer.id])).content.decode()
    assert "仓储机器人的投资回报" in page

    edited = answer.text.replace("[1]", "（编辑核对）[1]", 1)
    client.post(reverse("admin:contentlib_answer_change", args=[answer.id]), {"text": edited})
    answer.refresh_from_db()
    assert answer.text == edited and answer.edited_by == editor
    client.post(reverse("admin:contentlib_answer_change", args=[answer.id]), {"text": "随便编造[3]"})
    answer.refresh_from_db()
    assert answer.text == edited  # [3] cites no reference: refused

    client.post(reverse("admin:contentlib_answer_changelist"),
                {"action": "hide_selected", "_selected_action": [answer.id]})
    answer.refresh_from_db()
    assert answer.status == Answer.Status.HIDDEN
    assert ask().id == answer.id  # an editor's decision is kept: not regenerated behind their back

    client.post(reverse("admin:contentlib_question_changelist"),
                {"action": "regenerate_selected", "_selected_action": [question.id]})
    newest = Answer.objects.filter(question=question).order_by("-id").first()
    assert newest.id != answer.id and newest.status == Answer.Status.CURRENT
    assert newest.cited_article_ids == [library["robots"].id]
    assert ask().id == newest.id

    client.post(reverse("admin:contentlib_question_changelist"),
                {"action": "hide_selected", "_selected_action": [question.id]})
    assert Question.objects.get(id=question.id).status == Question.Status.HIDDEN


def test_answer_quality_refuses_a_judgments_file_it_cannot_use(tmp_path):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="no such file"):
        call_command("answer_quality", "--judgments", str(tmp_path / "missing.yaml"))
    judged = tmp_path / "judged.yaml"
    judged.write_text("- {id: q1, lang: zh, query: 仓储机器人多久能回本, type: topical, relevant: {zh-nope-99: 3}}\n",
                      encoding="utf-8")
    with pytest.raises(CommandError, match="zh-nope-99"):
        call_command("answer_quality", "--judgments", str(judged))
    judged.write_text("- {id: q1, lang: zh}\n", encoding="utf-8")
    with pytest.raises(CommandError, match="not in the judged-query format"):
        call_command("answer_quality", "--judgments", str(judged))

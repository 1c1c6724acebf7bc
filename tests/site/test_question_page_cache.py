"""The question page's shared part (the answer, its reference cards, "others are asking") is
rendered once per answer and language and cached (contentlib.site.questions._page_fragments); what
is per visitor (the report form's CSRF token, messages, the sponsored block) is not, and a change of
the answer or of a reference shows at the next view."""
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from contentlib import services
from contentlib.models import Answer
from tests.site.test_questions import QUESTION, asked, library, page  # noqa: F401 - fixture


def csrf_token(html: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html.split('id="report"', 1)[1]).group(1)


@pytest.mark.django_db(transaction=True)
def test_a_second_view_reads_no_reference_or_related_question_again(library):  # noqa: F811
    question = asked(QUESTION)
    client = Client()
    with CaptureQueriesContext(connection) as first_queries:
        first = page(client, question)
    with CaptureQueriesContext(connection) as queries:
        second = page(client, question)

    def reads(captured):
        # The cited articles for the cards; the question's and the candidates' vectors for "others are asking".
        starts = ('SELECT "contentlib_article"."id", "contentlib_article"."title"',
                  'SELECT "contentlib_question"."id", "contentlib_question"."vector"',
                  'SELECT "contentlib_question"."id" AS "id", "contentlib_question"."vector"')
        return [q["sql"] for q in captured if q["sql"].startswith(starts)]

    assert reads(first_queries)  # the first view reads the cards' articles and the similar questions
    assert reads(queries) == []  # the second has them from the cache
    assert first.split('<details id="report"')[0] == second.split('<details id="report"')[0].replace(
        csrf_token(second), csrf_token(first))


@pytest.mark.django_db(transaction=True)
def test_each_visitor_gets_their_own_csrf_token_and_a_post_without_it_is_refused(library):  # noqa: F811
    question = asked(QUESTION)
    answer = Answer.objects.get(question=question, status=Answer.Status.CURRENT)
    one, two = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)

    first, second = page(one, question), page(two, question)  # the second from the cache

    assert csrf_token(first) != csrf_token(second)
    report = reverse("site:answer_report", args=[question.slug])
    assert two.post(report, {"answer": answer.id, "note": "数字不对"}).status_code == 403
    response = two.post(report, {"answer": answer.id, "note": "数字不对", "csrfmiddlewaretoken": csrf_token(second)})
    assert response.status_code == 302


@pytest.mark.django_db(transaction=True)
def test_an_editor_s_correction_and_hiding_show_at_the_next_view(library, editor):  # noqa: F811
    question = asked(QUESTION)
    answer = Answer.objects.get(question=question, status=Answer.Status.CURRENT)
    client = Client()
    assert "编辑改正后的回答" not in page(client, question)

    services.answer_edit(answer_id=answer.id, text="编辑改正后的回答[1]。", actor=editor)
    assert "编辑改正后的回答" in page(client, question)

    services.answer_hide(answer_id=answer.id)
    html = page(client, question)
    assert "编辑改正后的回答" not in html and 'class="answer-hidden"' in html

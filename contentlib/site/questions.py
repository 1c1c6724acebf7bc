"""The readers' question pages: a question with its answer, references and related questions; the
Ask page and the page that waits for the answer; "report a wrong answer".

Who sees a question: everyone once it is published (question_review); before that only the reader
who asked it (in this session) and staff; a hidden question nobody but staff.
"""
import hashlib
import json
import re
from datetime import timedelta

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.db import transaction
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_POST

from ads import sponsored  # the site may import every package
from contentlib import readers, selectors, services
from contentlib.errors import ApplicationError
from contentlib.models import Answer, Article, Question
from contentlib.ratelimit import rate_limit_hit
from contentlib.services import QUESTION_MAX_CHARS, REPORT_NOTE_MAX_CHARS
from contentlib.site.activity import activity_log
from contentlib.tasks_queue import ANSWER_QUESTION, task_queue

SESSION_ASKED = "asked_questions"  # ids of the questions this session asked (they see them before publication)
SESSION_ASKED_MAX = 50
_CITATION = re.compile(r"\[(\d{1,2})\]")
_JSON_IN_HTML = {ord("<"): "\\u003C", ord(">"): "\\u003E", ord("&"): "\\u0026"}


class AskForm(forms.Form):
    # No maxlength in the browser: a longer question gets the message that says how long it is.
    q = forms.CharField(label=gettext_lazy("Your question"), required=False, strip=False,
                        widget=forms.Textarea(attrs={"rows": 3}))


class ReportForm(forms.Form):
    answer = forms.IntegerField(widget=forms.HiddenInput)
    note = forms.CharField(label=gettext_lazy("What is wrong with the answer?"), required=False,
                           widget=forms.Textarea(attrs={"rows": 3, "maxlength": REPORT_NOTE_MAX_CHARS}))


def _asked_here(request, question: Question) -> bool:
    return question.id in request.session.get(SESSION_ASKED, [])


def _remember_asked(request, question: Question) -> None:
    asked = [i for i in request.session.get(SESSION_ASKED, []) if i != question.id]
    request.session[SESSION_ASKED] = (asked + [question.id])[-SESSION_ASKED_MAX:]


def _viewable(request, question: Question | None) -> bool:
    if question is None:
        return False
    if request.user.is_authenticated and request.user.is_staff:
        return True
    if question.status == Question.Status.PUBLISHED:
        return True
    return question.status == Question.Status.PENDING and _asked_here(request, question)


def _answer_shown(question: Question) -> Answer | None:
    """The answer the page shows: the configured provider's current one (or the one an editor hid)."""
    return selectors.answer_current(question_id=question.id, provider=settings.LLM_PROVIDER,
                                    no_answer_ttl=timedelta(hours=settings.ANSWER_NO_ANSWER_TTL_HOURS))


def _queue_answer(question: Question) -> None:
    """Queues an answer to be written, once per few minutes per question however many readers wait."""
    if cache.add(f"answer-queued:{question.id}", 1, timeout=120):
        task_queue(ANSWER_QUESTION, question.id)


def answer_html(text: str, references: int) -> str:
    """The answer's text, escaped, in paragraphs, each [n] of a reference a link to its card."""
    def link(match):
        n = int(match.group(1))
        if not 1 <= n <= references:
            return match.group(0)
        label = _("Reference %(n)d") % {"n": n}
        return f'<a class="cite" href="#ref-{n}" aria-label="{label}">[{n}]</a>'

    paragraphs = [p.strip() for p in text.split("\n") if p.strip()]
    return mark_safe("".join(f"<p>{_CITATION.sub(link, escape(p))}</p>" for p in paragraphs))


def _plain(text: str) -> str:
    return _CITATION.sub("", text).strip()


def _json_ld(question: Question, answer: Answer, canonical: str) -> str:
    """QAPage structured data (schema.org) for a question with a real answer, safe inside <script>."""
    data = {
        "@context": "https://schema.org",
        "@type": "QAPage",
        "mainEntity": {
            "@type": "Question",
            "name": question.text,
            "text": question.text,
            "answerCount": 1,
            "dateCreated": question.created_at.isoformat(),
            "acceptedAnswer": {
                "@type": "Answer",
                "text": _plain(answer.text),
                "dateCreated": answer.generated_at.isoformat(),
                "url": canonical + "#answer",
                "author": {"@type": "Organization", "name": _("Industry content library")},
            },
        },
    }
    return mark_safe(json.dumps(data, ensure_ascii=False).translate(_JSON_IN_HTML))


PAGE_FRAGMENT_SECONDS = 600  # how long a reference card's title or an "others are asking" list may lag


def _fragment_key(question: Question, answer: Answer) -> str:
    """The cache key of a question page's shared part: the question, the answer as it stands (its
    id, status and text, so that a new answer, an editor's edit or hiding it makes a new key) and
    the page's language. answer_current has already checked, on this request, that every cited
    article still is a reference with the text it had when cited (else no answer is shown and no
    fragment is used): that is the invalidation of the references."""
    version = hashlib.sha256("\x1f".join([
        str(answer.id), answer.status, answer.text, answer.notice or "", json.dumps(answer.cited_article_ids or []),
        question.text, question.status, question.slug]).encode()).hexdigest()[:32]
    return f"qa-page:{question.id}:{version}:{translation.get_language()}"


def _page_fragments(question: Question, answer: Answer | None, *, hidden: bool) -> dict:
    """The answer with its reference cards and "others are asking", rendered: what every reader of
    the page sees alike (cards quote what an anonymous reader may read, related questions are public
    ones), so it is rendered once per answer and language and cached for PAGE_FRAGMENT_SECONDS. The
    per-visitor parts (CSRF-bearing forms, messages, the pending notice, the sponsored block) are
    rendered around it on every request."""
    key = _fragment_key(question, answer) if answer is not None else ""
    cached = cache.get(key) if key else None
    if cached is not None:
        return cached
    references = []
    if answer is not None and not hidden:
        for n, article in enumerate(selectors.answer_references(answer=answer), start=1):
            # Cards quote what an anonymous reader may read: the same page for everyone.
            references.append((n, article, selectors.article_visible_text(article, user=None)))
    from recommender.related import others_asking_blend  # noqa: PLC0415 - the site may import every package

    similar = selectors.questions_similar(question_id=question.id, k=20)
    public = selectors.question_public().in_bulk([i for i, _ in similar])
    content = [(public[i], score) for i, score in similar if i in public]
    # Similar questions blended with what the same readers asked or searched (content alone under 5 readers).
    related = others_asking_blend(question=question, content=content, limit=5)
    context = {"question": question, "answer": answer, "hidden": hidden, "references": references,
               "answer_html": answer_html(answer.text, len(references)) if answer is not None and not hidden else ""}
    fragments = {"answer": mark_safe(render_to_string("site/_question_answer.html", context)),
                 "related": mark_safe(render_to_string("site/_question_related.html", {"related": related}))}
    if key:  # an answer being written is not cached: the next reload shows it
        cache.set(key, fragments, PAGE_FRAGMENT_SECONDS)
    return fragments


def question_detail(request, slug: str):
    question = selectors.question_get(slug=slug)
    if not _viewable(request, question):
        raise Http404("This question does not exist or is not public.")
    activity_log(request, kind="question_view", placement="question", query=question.text, question_id=question.id)
    answer = _answer_shown(question)
    if answer is None:
        _queue_answer(question)  # stale or expired: rewritten on a worker (inline in eager mode)
        answer = _answer_shown(question)
    hidden = answer is not None and answer.status == Answer.Status.HIDDEN
    canonical = request.build_absolute_uri(reverse("site:question_detail", args=[question.slug]))
    real_answer = answer is not None and not hidden and not answer.is_no_answer
    return render(request, "site/question_detail.html", {
        "question": question, "answer": answer, "canonical": canonical,
        "fragments": _page_fragments(question, answer, hidden=hidden),
        "noindex": not real_answer or question.status != Question.Status.PUBLISHED,
        "json_ld": _json_ld(question, answer, canonical) if real_answer else "",
        "report_form": ReportForm(initial={"answer": answer.id}) if real_answer else None,
        "pending": question.status == Question.Status.PENDING,
        # Per request (the auction, the impressions), beside the cached answer.
        "sponsored": sponsored.sponsored_for_question(request, question=question, answer=answer),
    })


def _limited(request, scope: str):
    """The 429 page when this client asked or reported too often, else None."""
    from contentlib.site.views import too_many_requests  # noqa: PLC0415

    limit = rate_limit_hit(scope=scope, client=readers.rate_limit_client(request),
                           limit=settings.ASK_RATE_LIMIT_PER_MINUTE)
    if limit.allowed:
        return None
    return too_many_requests(request, retry_after=limit.retry_after_seconds, message=ngettext(
        "You have sent %(limit)d question or report in the last minute, the most we allow. "
        "Wait %(seconds)d seconds, then try again.",
        "You have sent %(limit)d questions or reports in the last minute, the most we allow. "
        "Wait %(seconds)d seconds, then try again.",
        limit.limit) % {"limit": limit.limit, "seconds": limit.retry_after_seconds})


def ask(request):
    """GET: the Ask page. POST: asks; an answered question goes straight to its page, a new one to
    the page that waits for its answer (written on a worker; at once in eager mode)."""
    form = AskForm(request.POST or None, initial={"q": request.GET.get("q", "")[:QUESTION_MAX_CHARS]})
    if request.method != "POST" or not form.is_valid():
        return render(request, "site/ask.html", {"form": form})
    try:
        text = services.question_text_check(text=form.cleaned_data["q"])
    except ApplicationError as error:
        form.add_error("q", error.message)
        return render(request, "site/ask.html", {"form": form}, status=400)
    refused = _limited(request, "ask")
    if refused is not None:
        return refused
    from recommender.text import detect_language  # noqa: PLC0415 - the site may import every package

    with transaction.atomic():
        question = services.question_get_or_create(text=text, language=detect_language(text))
        if question.status == Question.Status.HIDDEN:
            form.add_error("q", _("Editors have taken this question off the site. Ask it in other words."))
            return render(request, "site/ask.html", {"form": form}, status=400)
        _remember_asked(request, question)
        activity_log(request, kind="question_ask", placement="question", query=text, question_id=question.id)
        answer = _answer_shown(question)
        if answer is None:
            transaction.on_commit(lambda: _queue_answer(question))
    if answer is not None:
        return redirect("site:question_detail", slug=question.slug)
    return redirect("site:ask_wait", slug=question.slug)


def _answer_ready(question: Question) -> bool:
    return _answer_shown(question) is not None


@require_GET
def ask_wait(request, slug: str):
    """The page a reader waits on: a static script polls ask_status and shows the text so far."""
    question = selectors.question_get(slug=slug)
    if not _viewable(request, question):
        raise Http404("This question does not exist or is not public.")
    if _answer_ready(question):
        return redirect("site:question_detail", slug=question.slug)
    return render(request, "site/ask_wait.html", {
        "question": question, "sponsored": sponsored.sponsored_for_ask_wait(request, question=question)})


@require_GET
def ask_status(request, slug: str):
    """JSON for the waiting page: ready (and where the answer is), or the partial text so far."""
    from recommender.answers.services import answer_partial  # noqa: PLC0415

    question = selectors.question_get(slug=slug)
    if not _viewable(request, question):
        return JsonResponse({"error": _("This question does not exist or is not public.")}, status=404)
    url = reverse("site:question_detail", args=[question.slug])
    if _answer_ready(question):
        return JsonResponse({"ready": True, "url": url, "partial": ""})
    return JsonResponse({"ready": False, "url": url, "partial": answer_partial(question_id=question.id)})


@require_POST
def answer_report(request, slug: str):
    """A reader reports a wrong answer: it goes to the editors' queue with their note."""
    question = selectors.question_get(slug=slug)
    if not _viewable(request, question):
        raise Http404("This question does not exist or is not public.")
    form = ReportForm(request.POST)
    back = reverse("site:question_detail", args=[question.slug])
    if not form.is_valid() or not Answer.objects.filter(id=form.cleaned_data["answer"], question=question).exists():
        messages.error(request, _("The report did not name this page's answer. Reload the page and report again."))
        return redirect(back + "#report")
    refused = _limited(request, "report")
    if refused is not None:
        return refused
    try:
        services.answer_report_create(answer_id=form.cleaned_data["answer"], note=form.cleaned_data["note"],
                                      reader_key=readers.reader_key(request))
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect(back + "#report")
    messages.success(request, _("Thank you. Editors will check the answer against its references."))
    return redirect(back + "#report")


def article_related(article: Article) -> list[tuple[Article, object]]:
    """Published articles like this one by content, with what an anonymous reader may see of each."""
    from recommender.related import related_articles_blend  # noqa: PLC0415 - the site may import every package

    content = selectors.articles_similar(article_id=article.id, k=20)
    # Content similarity blended with what the same readers read (content alone under 5 co-readers).
    ranked = [(i, 0.0) for i in related_articles_blend(article_id=article.id, content=content, limit=5)]
    rows = selectors.in_order(selectors.article_published().select_related("owner"), ranked)
    return [(a, selectors.article_visible_text(a, user=None)) for a in rows]

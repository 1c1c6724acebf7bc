"""Answering a reader's question from the library: the one service, `answer_question`, and the
AI-written industry analysis (`analysis_draft`)."""
import time
from datetime import timedelta

import numpy as np
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from django.utils import translation
from django.utils.translation import gettext as _

from contentlib import selectors as library
from contentlib import services as library_services
from contentlib.errors import ApplicationError
from contentlib.models import Answer, Article, Category, Question
from recommender.answers import provider_get
from recommender.answers.base import Reference
from recommender.embeddings import from_bytes, model_name, to_bytes
from recommender.retrieval import RetrievalResult, retrieve
from recommender.text import detect_language

MAX_REFERENCES = 5  # an answer cites at most this many
RETRIEVE_K = 10  # retrieved before sponsored and generated articles are left out
# Chosen on the dev half of the judged queries (manage.py answer_quality --tune; docs/BENCHMARKS.md).
ANSWER_MIN_FIT = 0.3


def derived_vector(vectors: list[np.ndarray | None]) -> np.ndarray | None:
    """The normalized mean of the given (normalized) vectors: an answer's vector from the stored
    vectors of the passages it cites, with no model run (docs/BENCHMARKS.md, AI answers)."""
    present = [v for v in vectors if v is not None and len(v)]
    if not present or len({len(v) for v in present}) != 1:
        return None
    mean = np.mean(np.vstack(present), axis=0)
    norm = float(np.linalg.norm(mean))
    return (mean / norm).astype(np.float32) if norm > 0 else None


def answer_nothing_fits(result: RetrievalResult, references: list[Reference], *, min_fit: float | None = None) -> bool:
    """True when no answer should be written: retrieval's nothing-fits, no organic reference, or a
    fit probability under ANSWER_MIN_FIT (an answer claims more than a list of search results)."""
    threshold = ANSWER_MIN_FIT if min_fit is None else min_fit
    return result.nothing_fits or not references or result.fit_probability < threshold


def references_from(result: RetrievalResult) -> list[Reference]:
    """The retrieved articles an answer may cite, in rank order, at most MAX_REFERENCES: published,
    organic (no advertiser owns them), never an AI-generated analysis (checked on the rows)."""
    hits = result.reference_hits  # from the raw cosines when the index holds centered vectors
    scores = {h.id: h.score for h in hits}
    rows = {a.id: a for a in library.article_references().filter(id__in=list(scores)).select_related("source")}
    out = []
    for hit in hits:
        article = rows.get(hit.id)
        if article is not None:
            # The provider sees only what an anonymous reader may (the source's rule and the wall), so
            # an answer quotes nothing a reader could not read, and one cached answer fits every reader.
            out.append(Reference(id=article.id, title=article.title, text=library.article_quotable_text(article),
                                 language=article.language,
                                 score=hit.score, vector=from_bytes(article.embedding), url=article.url))
        if len(out) >= MAX_REFERENCES:
            break
    return out


def answer_question(*, question_text: str, provider=None, on_delta=None, count_ask: bool = True) -> Answer:
    """The answer to a reader's question, from the cache when it is still good, else generated now.

    Normalizes the question, finds or creates it (counting the ask unless `count_ask` is False: an
    advertiser's "why not shown" or an operator's command is not a reader asking), and reuses the current answer
    of this provider unless a cited article left the library or changed, or it is a "no answer"
    older than ANSWER_NO_ANSWER_TTL_HOURS. An answer an editor hid is returned as it is (status
    "hidden"): a page must not show it. Raises ApplicationError for an empty question.
    """
    provider = provider or provider_get()
    question = library_services.question_get_or_create(text=question_text, language=detect_language(question_text),
                                                       count_ask=count_ask)
    cached = library.answer_current(question_id=question.id, provider=provider.name,
                                    no_answer_ttl=timedelta(hours=settings.ANSWER_NO_ANSWER_TTL_HOURS))
    if cached is not None:
        return cached
    return answer_generate(question=question, provider=provider, on_delta=on_delta)


# A reader waiting for an answer reads the text written so far from the cache (Redis in production,
# shared by the worker and the web processes) while a streaming provider delivers it.
PARTIAL_TTL_SECONDS = 600


def _partial_key(question_id: int) -> str:
    return f"answer-partial:{question_id}"


def answer_partial(*, question_id: int) -> str:
    """The text of the answer being written to the question so far ("" when none is being written)."""
    return cache.get(_partial_key(question_id), "")


def answer_for_reader(*, question_id: int, provider=None) -> Answer | None:
    """Answers a reader's question (already stored and counted by the site) from the cache or now,
    keeping the partial text where the waiting page reads it, then decides whether the question is a
    public page (`question_review`). None when the question was deleted meanwhile."""
    question = Question.objects.filter(id=question_id).first()
    if question is None:
        return None
    provider = provider or provider_get()
    answer = library.answer_current(question_id=question.id, provider=provider.name,
                                    no_answer_ttl=timedelta(hours=settings.ANSWER_NO_ANSWER_TTL_HOURS))
    if answer is None:
        key, written = _partial_key(question_id), []

        def on_delta(text: str) -> None:
            written.append(text)
            cache.set(key, "".join(written), timeout=PARTIAL_TTL_SECONDS)

        try:
            answer = answer_generate(question=question, provider=provider, on_delta=on_delta)
        finally:
            cache.delete(key)
    library_services.question_review(question_id=question.id)
    return answer


def answer_generate(*, question: Question, provider, on_delta=None) -> Answer:
    """Retrieves, generates and stores a new answer (the question's and the answer's vectors with it)."""
    started = time.perf_counter()
    language = question.language or detect_language(question.text)
    result = retrieve(question.text, k=RETRIEVE_K)
    references = references_from(result)
    draft = provider.answer(question.text, references, language=language,
                            nothing_fits=answer_nothing_fits(result, references), on_delta=on_delta)
    by_id = {r.id: r for r in references}
    answer_vector = derived_vector([by_id[i].vector for i in draft.cited if i in by_id])
    return library_services.answer_store(
        question_id=question.id, provider=provider.name, model_name=draft.model_name, text=draft.text,
        cited_article_ids=draft.cited, notice=draft.notice,
        vector=to_bytes(answer_vector) if answer_vector is not None else None, vector_model=model_name(),
        question_vector=to_bytes(result.query_vector) if result.query_vector is not None else None,
        generation_ms=int((time.perf_counter() - started) * 1000),
    )


def answer_regenerate(*, question_id: int, provider_name: str | None = None) -> Answer:
    """A new answer to the question now, whatever the cache holds (an editor's request)."""
    question = Question.objects.filter(id=question_id).first()
    if question is None:
        raise ApplicationError(f"Question #{question_id} does not exist; it may have been deleted.")
    answer = answer_generate(question=question, provider=provider_get(provider_name))
    library_services.question_review(question_id=question.id)  # a "no answer" now takes the page down
    return answer


# --- AI-written industry analysis --------------------------------------------------------------

ANALYSIS_SOURCES = 5  # recent articles an analysis draws on


def analysis_draft(*, category_slug: str, provider=None, sources: int = ANALYSIS_SOURCES) -> Article:
    """Drafts an industry analysis of the category from its most recent organic articles, through the
    configured provider, and stores it as a pending article of origin "generated" (AI-generated): an
    editor publishes it; it is never a reference and never sponsored."""
    provider = provider or provider_get()
    category = Category.objects.filter(slug=category_slug).first()
    if category is None:
        known = ", ".join(Category.objects.order_by("slug").values_list("slug", flat=True)) or "none yet"
        raise ApplicationError(f"No category has the slug {category_slug!r}. Known categories: {known}.")
    articles = list(library.article_references().filter(category=category).select_related("source")
                    .order_by("-published_at", "-created_at", "-id")[:sources])
    if not articles:
        raise ApplicationError(
            f"The category {category.name!r} has no published article to draw an analysis from. Approve some first.")
    languages = [a.language for a in articles]
    language = max(set(languages), key=languages.count) if languages else "zh"
    references = [Reference(id=a.id, title=a.title, text=library.article_quotable_text(a), language=a.language,
                            url=a.url) for a in articles]
    draft = provider.analyse(category.name, references, language=language)
    lang = "zh-hans" if language == "zh" else "en"
    with translation.override(lang):
        title = _("AI-generated analysis: %(category)s, %(date)s") % {
            "category": category.name, "date": timezone.localdate().isoformat()}
        heading = _("References")
        label = _("This analysis was written by an AI model (%(model)s) from the library's articles listed "
                  "below.") % {"model": draft.model_name}
    by_id = {r.id: r for r in references}
    listing = "\n".join(f"[{n}] {by_id[i].title}" + (f" {by_id[i].url}" if by_id[i].url else f" (#{i})")
                        for n, i in enumerate(draft.cited, start=1))
    text = f"{label}\n\n{draft.text}\n\n{heading}\n{listing}"
    article = library_services.article_upsert(title=title, text=text, origin=Article.Origin.GENERATED,
                                              language=language, author=draft.model_name).article
    library_services.article_set_category(article_id=article.id, category_id=category.id, actor=None)
    return article

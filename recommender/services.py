"""Enrichment: what search and recommendation need from every article.

`article_enrich` marks the article running, computes language, tokens, keywords, summary, embedding
and category outside any transaction, then writes them all in one transaction, and only if the
article's content is still the one it read. A task killed half-way therefore leaves the article as it
was (running, swept and re-queued later), never half-written.
"""
import logging
import re
from dataclasses import dataclass, field
from datetime import timedelta

import numpy as np

from django.db import transaction
from django.db.models.functions import Coalesce
from django.utils import timezone

from contentlib.models import Article, ArticleKeyword, Keyword
from contentlib.tasks_queue import ENRICH_ARTICLE, queue_on_commit
from recommender import categories, embeddings, keywords, library_vectors, summary
from recommender.lexicon import segmenter_refresh
from recommender.search.sync import article_mark_dirty
from recommender.text import detect_language

logger = logging.getLogger(__name__)

# Enough for keywords, summary and category; the stored tokens cover the same capped text.
ENRICH_MAX_CHARS = 100_000
STALE_AFTER = timedelta(minutes=30)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffd]")
_MEANINGFUL = re.compile(r"[0-9A-Za-z\u00c0-\u024f\u3400-\u4dbf\u4e00-\u9fff\u0400-\u04ff]")


class PermanentEnrichmentError(Exception):
    """Input that no retry can fix (binary junk, nothing to read); recorded, never retried."""


@dataclass
class Enrichment:
    language: str
    tokens: list[str]
    dict_version: str
    keywords: list[keywords.ScoredKeyword]
    keyword_method: str
    summary: str
    vector: bytes | None
    embedding_model: str
    embedding_dim: int | None
    category: categories.CategoryGuess | None
    notes: list[str] = field(default_factory=list)
    passage_hash: str = ""


def check_readable(title: str, text: str) -> str:
    """Returns the text to enrich (capped), or raises PermanentEnrichmentError saying why not."""
    sample = (title + "\n" + text)[:20000]
    if not sample.strip():
        raise PermanentEnrichmentError("the article has no text to enrich")
    junk = len(_CONTROL.findall(sample))
    if junk / max(len(sample), 1) > 0.05:
        raise PermanentEnrichmentError(
            f"the text looks like binary data ({junk} control or replacement characters in the first "
            f"{len(sample)}); re-extract it from the source"
        )
    if len(_MEANINGFUL.findall(sample)) < 2:
        raise PermanentEnrichmentError("the text has no letters, digits or Chinese characters to enrich")
    return text[:ENRICH_MAX_CHARS]


def compute(articles: list[Article]) -> list[Enrichment | PermanentEnrichmentError]:
    """Enriches a batch: the model is called once for all passages and once for all English keyword
    candidates (for their diversity re-ranking); the rest goes article by article."""
    seg = segmenter_refresh()
    prepared = []
    for article in articles:
        try:
            text = check_readable(article.title, article.text)
        except PermanentEnrichmentError as error:
            prepared.append(error)
            continue
        language = article.language or detect_language(f"{article.title}\n{text}")
        tokens = seg.tokens(f"{article.title}\n{text}")
        if not tokens:
            prepared.append(PermanentEnrichmentError("the text has no words to index after segmentation"))
            continue
        prepared.append((article, text, language, tokens, keywords.rank(title=article.title, text=text)))

    embed = _phrase_embedder([p for p in prepared if not isinstance(p, Exception)])
    known_categories = categories.category_rows()
    drafts: list[Enrichment | PermanentEnrichmentError] = []
    for item in prepared:
        if isinstance(item, PermanentEnrichmentError):
            drafts.append(item)
            continue
        article, text, language, tokens, ranked = item
        found, method = keywords.diversify(ranked, language=language, embed=embed if language == "en" else None)
        text_summary, summary_error = summary.summarize(text, language)
        drafts.append(Enrichment(
            language=language, tokens=tokens, dict_version=seg.version, keywords=found, keyword_method=method,
            summary=text_summary, vector=None, embedding_model="", embedding_dim=None,
            category=None if article.category_locked else categories.classify(tokens, known_categories),
            notes=[summary_error] if summary_error else [],
        ))
    ready = [(a, d) for a, d in zip(articles, drafts) if isinstance(d, Enrichment)]
    if ready:
        encoder = embeddings.encoder()  # bound to one library fit: the name below matches the vectors
        passages = [embeddings.article_passage(title=a.title, summary=d.summary, text=a.text) for a, d in ready]
        digests = [embeddings.passage_digest(p) for p in passages]
        # A passage embedded before by the same model keeps its vector: re-enriching after a refit or
        # `enrich --all` embeds only what changed (the embedding is most of enrichment's cost).
        unchanged = {i for i, ((article, _), digest) in enumerate(zip(ready, digests))
                     if article.embedding and article.embedding_model == encoder.name
                     and article.embedding_passage_hash == digest}
        todo = [i for i in range(len(ready)) if i not in unchanged]
        fresh = dict(zip(todo, encoder.encode([passages[i] for i in todo])))
        for i, ((article, draft), digest) in enumerate(zip(ready, digests)):
            draft.vector = bytes(article.embedding) if i in unchanged else embeddings.to_bytes(fresh[i])
            draft.embedding_model = encoder.name
            draft.embedding_dim = encoder.dim
            draft.passage_hash = digest
    return drafts


def _phrase_embedder(prepared: list[tuple]):
    """Encodes every English keyword candidate of the batch in one call; returns a lookup for MMR.

    The sentence model understands English only, so Chinese keyword diversity uses lexical overlap;
    English phrases use the sentence model alone, under the composite model (the library half knows a
    phrase only by the articles that contain it) and under e5 too (e5's similarities between short
    phrases all sit within a few hundredths, so MMR told them apart less well: English P@5 0.111
    against 0.133, docs/BENCHMARKS.md).
    """
    phrases = sorted({term for _, _, language, _, ranked in prepared if language == "en" for term, _ in ranked})
    if not phrases:
        return None
    table = dict(zip(phrases, embeddings.sentence_encoder().encode(phrases, batch_size=128)))
    return lambda terms: np.stack([table[t] for t in terms])


def _mark_running(article_ids: list[int]) -> list[Article]:
    now = timezone.now()
    Article.objects.filter(id__in=article_ids).update(
        enrichment_status=Article.Enrichment.RUNNING, enrichment_started_at=now
    )
    return list(Article.objects.filter(id__in=article_ids).select_related("category"))


def _write(pairs: list[tuple[Article, Enrichment | PermanentEnrichmentError]]) -> dict[int, str]:
    """Stores a batch's results in one transaction; an article whose content changed meanwhile (or
    that was deleted) is left alone, since its edit queued its own enrichment."""
    outcomes: dict[int, str] = {}
    with transaction.atomic():
        current = Article.objects.select_for_update().in_bulk([a.id for a, _ in pairs])
        keyword_rows = []
        for read, result in pairs:
            article = current.get(read.id)
            if article is None or article.content_hash != read.content_hash:
                outcomes[read.id] = "superseded"
                continue
            if isinstance(result, PermanentEnrichmentError):
                article.enrichment_status = Article.Enrichment.FAILED
                article.enrichment_error = str(result)
                article.save(update_fields=["enrichment_status", "enrichment_error", "updated_at"])
                outcomes[read.id] = "failed"
                continue
            article.language = result.language
            article.tokens = " ".join(result.tokens)
            article.tokens_dict_version = result.dict_version
            article.summary = result.summary
            article.embedding = result.vector
            article.embedding_model = result.embedding_model
            article.embedding_dim = result.embedding_dim
            article.embedding_passage_hash = result.passage_hash
            if result.category is not None and not article.category_locked:
                article.category_id = result.category.category_id
                article.category_confidence = round(result.category.confidence, 4)
            article.enrichment_status = Article.Enrichment.DONE
            article.enrichment_error = "; ".join(result.notes)
            article.enriched_at = timezone.now()
            article.save()
            keyword_rows.append((article, result.keywords, result.keyword_method))
            article_mark_dirty(article.id)  # the index picks the new tokens and vector up after commit
            outcomes[read.id] = "done"
        _keywords_replace(keyword_rows)
    return outcomes


def _keywords_replace(rows: list[tuple[Article, list[keywords.ScoredKeyword], str]]) -> None:
    ArticleKeyword.objects.filter(article__in=[article for article, _, _ in rows]).delete()
    texts = {k.text[:100] for _, found, _ in rows for k in found}
    if not texts:
        return
    Keyword.objects.bulk_create([Keyword(text=t) for t in texts], ignore_conflicts=True)
    ids = dict(Keyword.objects.filter(text__in=texts).values_list("text", "id"))
    ArticleKeyword.objects.bulk_create([
        ArticleKeyword(article=article, keyword_id=ids[k.text[:100]], weight=k.weight, rank=rank, method=method)
        for article, found, method in rows
        for rank, k in enumerate(found, start=1)
    ])


def article_enrich(*, article_id: int) -> str:
    """Enriches one article; returns "done", "failed", "superseded" or "missing"."""
    return articles_enrich(article_ids=[article_id]).get(article_id, "missing")


def articles_enrich(*, article_ids: list[int]) -> dict[int, str]:
    """Enriches a batch of articles (one embedding call); returns each id's outcome."""
    articles = _mark_running(article_ids)
    if not articles:
        logger.info("enrich: articles %s no longer exist; nothing to do", article_ids)
        return {}
    results = compute(articles)
    for article, result in zip(articles, results):
        if isinstance(result, PermanentEnrichmentError):
            logger.warning("enrich: article %s failed permanently: %s", article.id, result)
    return _write(list(zip(articles, results)))


def article_enrich_failed(*, article_id: int, error: str) -> None:
    """Records a failure that retries could not fix, so the article shows it in admin."""
    Article.objects.filter(id=article_id).update(
        enrichment_status=Article.Enrichment.FAILED, enrichment_error=error[:2000]
    )


def stale_enrichment_requeue(*, older_than: timedelta = STALE_AFTER) -> int:
    """Re-queues articles left pending or running longer than `older_than`; returns how many."""
    cutoff = timezone.now() - older_than
    ids = list(
        Article.objects.filter(enrichment_status__in=[Article.Enrichment.PENDING, Article.Enrichment.RUNNING])
        .annotate(since=Coalesce("enrichment_started_at", "updated_at"))
        .filter(since__lt=cutoff)
        .values_list("id", flat=True)
    )
    with transaction.atomic():
        for article_id in ids:
            queue_on_commit(ENRICH_ARTICLE, article_id)
    return len(ids)


def enrichment_selection(*, mode: str, since=None):
    """The articles a backfill covers: missing (never done), all, since a date, or model-changed."""
    articles = Article.objects.all()
    if mode == "missing":
        return articles.exclude(enrichment_status=Article.Enrichment.DONE)
    if mode == "since":
        return articles.filter(updated_at__gte=since)
    if mode == "model":
        return articles.exclude(embedding_model=embeddings.model_name())
    return articles


def statistics_refit(*, force_vectors: bool = False) -> dict:
    """Refits keyword document frequencies, the category classifier and the library vector model.

    The library vector model is refitted only when the library's size moved by
    `library_vectors.REFIT_GROWTH` (or `force_vectors`), since a new fit means re-embedding every
    article; "embedding_model_changed" tells the caller to queue that backfill.
    """
    documents = []
    for title, text in Article.objects.exclude(text="").values_list("title", "text").iterator(chunk_size=500):
        documents.append(sorted(set(keywords.candidates(f"{title}\n{text[:ENRICH_MAX_CHARS]}"))))
    idf = keywords.fit_idf(documents)
    before = embeddings.model_name()
    token_lists = [tokens.split() for tokens in
                   Article.objects.filter(duplicate_of__isnull=True).exclude(tokens="")
                   .values_list("tokens", flat=True).iterator(chunk_size=500)]
    library = library_vectors.refit(token_lists, force=force_vectors)
    after = embeddings.model_name()
    return {"keyword_documents": idf["documents"], "keyword_terms": len(idf["idf"]), "categories": categories.fit(),
            "library_vectors": library.name if library is not None else library_vectors.UNFITTED,
            "library_documents": library.documents if library is not None else 0,
            "embedding_model": after, "embedding_model_changed": before != after}

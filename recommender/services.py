"""Enrichment: what search and recommendation need from every article, written in one transaction."""
import logging

from django.db import transaction
from django.utils import timezone

from contentlib.models import Article
from recommender.text import detect_language, segmenter

logger = logging.getLogger(__name__)


def article_enrich(*, article_id: int) -> Article | None:
    """Computes and stores the article's language and tokens; returns None when the row is gone."""
    article = Article.objects.filter(id=article_id).first()
    if article is None:
        logger.info("enrich: article %s no longer exists; nothing to do", article_id)
        return None
    seg = segmenter()
    text = f"{article.title}\n{article.text}"
    language = article.language or detect_language(text)
    tokens = seg.tokens(text)
    with transaction.atomic():
        Article.objects.filter(id=article_id, content_hash=article.content_hash).update(
            language=language,
            tokens=" ".join(tokens),
            tokens_dict_version=seg.version,
            enrichment_status=Article.Enrichment.DONE,
            enrichment_error="",
            enriched_at=timezone.now(),
        )
    article.refresh_from_db()
    return article

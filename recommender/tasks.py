"""Celery tasks of the nlp queue: thin, take ids, call a service. Each is idempotent."""
import logging

from celery import group, shared_task
from celery.contrib.django.task import DjangoTask
from django.db import InterfaceError, OperationalError

from recommender import services

logger = logging.getLogger(__name__)
BATCH_SIZE = 32
TRANSIENT = (OperationalError, InterfaceError, OSError, ConnectionError)


class EnrichTask(DjangoTask):
    autoretry_for = TRANSIENT
    retry_backoff = True
    retry_backoff_max = 300
    retry_jitter = True
    max_retries = 5

    def on_failure(self, exc, task_id, args, kwargs, einfo):
        # Retries are spent (or the error is not transient): record it where editors look.
        ids = args[0] if args and isinstance(args[0], list) else args[:1]
        for article_id in ids:
            services.article_enrich_failed(article_id=article_id, error=f"{type(exc).__name__}: {exc}")


@shared_task(base=EnrichTask)
def enrich_article(article_id: int) -> str:
    return services.article_enrich(article_id=article_id)


@shared_task(base=EnrichTask)
def enrich_batch(article_ids: list[int]) -> dict:
    return services.articles_enrich(article_ids=article_ids)


@shared_task
def enrich_backfill(mode: str = "missing", since: str | None = None) -> int:
    """Queues batches for a backfill (missing, all, since, model); returns how many articles."""
    import datetime as dt  # noqa: PLC0415

    ids = list(services.enrichment_selection(
        mode=mode, since=dt.datetime.fromisoformat(since) if since else None
    ).order_by("id").values_list("id", flat=True))
    batches = [ids[i:i + BATCH_SIZE] for i in range(0, len(ids), BATCH_SIZE)]
    if batches:
        group(enrich_batch.s(batch) for batch in batches).delay()
    return len(ids)


@shared_task
def sweep_stale_enrichment() -> int:
    return services.stale_enrichment_requeue()


@shared_task
def refit_statistics() -> dict:
    """Refits the library's statistics; a new library vector model queues the re-embedding backfill."""
    report = services.statistics_refit()
    if report["embedding_model_changed"]:
        enrich_backfill.delay("model")
    return report


@shared_task
def resegment_for_terms(terms: list[str]) -> int:
    """Re-enriches the articles whose text contains changed lexicon terms."""
    from recommender.lexicon import articles_containing  # noqa: PLC0415

    ids = list(articles_containing(terms).values_list("id", flat=True))
    for start in range(0, len(ids), BATCH_SIZE):
        enrich_batch.delay(ids[start:start + BATCH_SIZE])
    return len(ids)


@shared_task(autoretry_for=TRANSIENT, retry_backoff=True, max_retries=3)
def question_answer_regenerate(question_id: int) -> int | None:
    """Writes a new answer to the question with the configured provider (an editor asked); returns its id."""
    from contentlib.errors import ApplicationError  # noqa: PLC0415
    from recommender.answers.services import answer_regenerate  # noqa: PLC0415

    try:
        return answer_regenerate(question_id=question_id).id
    except ApplicationError as error:
        logger.warning("question %s not regenerated: %s", question_id, error.message)
        return None


@shared_task
def activity_purge() -> int:
    """Deletes reader activity older than RAW_EVENT_RETENTION_DAYS (nightly)."""
    from recommender.activity import activity_purge as purge  # noqa: PLC0415

    return purge()


@shared_task(acks_late=True)
def cooccurrence_rebuild() -> int:
    """Rebuilds the co-occurrence models from the activity log; returns the new model's id."""
    from recommender.cooccurrence import model_rebuild  # noqa: PLC0415 - numpy and scipy load only here

    return model_rebuild().id

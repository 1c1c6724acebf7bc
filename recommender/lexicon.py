"""The segmentation lexicon: LexiconTerm rows that keep phrases such as 物流自动化 whole.

Each process's segmenter is brought up to date before it segments (one cheap query), and a change
to the lexicon re-segments the articles whose text contains the changed terms.
"""
from django.db import transaction
from django.utils import timezone
from django.db.models import Count, Max, Q

from contentlib.errors import ApplicationError
from contentlib.models import Article
from contentlib.tasks_queue import queue_on_commit
from recommender.models import LexiconTerm
from recommender.text import normalize_text, segmenter

RESEGMENT_TASK = "recommender.tasks.resegment_for_terms"
_loaded_state: tuple | None = None


def segmenter_refresh():
    """Returns the process's segmenter with the active lexicon loaded; reloads only on change."""
    global _loaded_state
    state = tuple(LexiconTerm.objects.aggregate(
        active=Count("id", filter=Q(active=True)), changed=Max("updated_at")
    ).values())
    seg = segmenter()
    if state != _loaded_state:
        seg.load_terms(LexiconTerm.objects.filter(active=True).values_list("term", flat=True))
        _loaded_state = state
    return seg


def lexicon_term_add(*, term: str, source: str = LexiconTerm.Source.EDITOR) -> LexiconTerm:
    """Adds (or re-activates) a term and queues re-segmentation of the articles that contain it."""
    normalized = normalize_text(term)
    if not normalized or " " in normalized:
        raise ApplicationError(
            f"{term!r} is not a usable lexicon term: give one phrase without spaces, such as 物流自动化 "
            "(English words are kept whole already)."
        )
    if len(normalized) > 50:
        raise ApplicationError(f"The term {term!r} is longer than 50 characters; shorten it.")
    with transaction.atomic():
        row, created = LexiconTerm.objects.get_or_create(term=normalized, defaults={"source": source})
        if not created and not row.active:
            row.active = True
            row.save(update_fields=["active", "updated_at"])
        elif not created:
            return row
        queue_on_commit(RESEGMENT_TASK, [normalized])
    return row


def lexicon_term_deactivate(*, term: str) -> None:
    normalized = normalize_text(term)
    with transaction.atomic():
        changed = LexiconTerm.objects.filter(term=normalized, active=True).update(active=False, updated_at=timezone.now())
        if changed:
            queue_on_commit(RESEGMENT_TASK, [normalized])


def articles_containing(terms: list[str]):
    """Articles whose title or text contains any of the terms (case-insensitive)."""
    condition = Q()
    for term in terms:
        condition |= Q(text__icontains=term) | Q(title__icontains=term)
    return Article.objects.filter(condition)

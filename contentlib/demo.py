"""Puts the demo corpus and demo accounts into the library (used by `manage.py demo`)."""
import datetime as dt
import secrets
from collections import Counter
from collections.abc import Callable

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from contentlib import corpus, services
from contentlib.roles import groups_ensure
from contentlib.errors import ApplicationError
from contentlib.models import Article, Category, Source

DEMO_SOURCE_SLUG = "demo-corpus"
DEMO_URL_BASE = "https://demo.contentlib.local/articles/"


def categories_ensure() -> int:
    """Creates or updates the categories of fixtures/corpus/categories.yaml; returns how many."""
    rows = corpus.categories()
    for row in rows:
        Category.objects.update_or_create(
            slug=row["slug"], defaults={"name": row["name"], "description": row["description"].strip()}
        )
    return len(rows)


def corpus_load(*, approve_share: float = 0.75, progress: Callable[[str], None] = lambda _: None) -> Counter:
    """Upserts every corpus article and approves most of them, leaving some for the editor's queue.

    Safe to run again: articles are keyed on their canonical URL, so a second run reports them
    unchanged and decides nothing twice.
    """
    from ads.models import Advertiser  # noqa: PLC0415 - demo data only; the core never needs ads

    categories_ensure()
    source, _ = Source.objects.get_or_create(
        slug=DEMO_SOURCE_SLUG,
        defaults={"name": "Demo corpus", "kind": Source.Kind.IMPORT, "trusted": False},
    )
    counts: Counter = Counter()
    items = corpus.articles()
    for position, item in enumerate(items):
        owner_id = None
        if item.advertiser:
            owner_id = Advertiser.objects.get_or_create(name=item.advertiser)[0].id
        published = timezone.make_aware(dt.datetime.combine(item.published, dt.time(9, 0)))
        result = services.article_upsert(
            title=item.title, text="\n".join(item.paragraphs),
            html="".join(f"<p>{p}</p>" for p in item.paragraphs),
            canonical_url=f"{DEMO_URL_BASE}{item.id}.html", origin=Article.Origin.OPEN_DATA,
            language=item.lang, author=item.author, published_at=published, source_id=source.id,
            owner_id=owner_id,
        )
        counts[result.outcome] += 1
        # Every fourth article stays pending, so the moderation queue has work in it.
        if result.outcome == "created" and position % 4 != 3 and approve_share > 0:
            with transaction.atomic():
                services.article_approve(article_id=result.article.id, reason="demo data")
            counts["approved"] += 1
        progress(item.id)
    return counts


def demo_users_ensure() -> tuple[str, list[str]]:
    """Creates or resets the local demo accounts; returns their shared new password and usernames."""
    groups_ensure()
    password = secrets.token_urlsafe(12)
    User = get_user_model()
    accounts = [("demo-admin", None, True), ("demo-editor", "Editors", False), ("demo-analyst", "Analysts", False)]
    for username, group, superuser in accounts:
        user, _ = User.objects.get_or_create(username=username)
        user.is_staff = True
        user.is_superuser = superuser
        user.set_password(password)
        user.save()
        if group:
            user.groups.set([Group.objects.get(name=group)])
    return password, [a[0] for a in accounts]


__all__ = ["ApplicationError", "categories_ensure", "corpus_load", "demo_users_ensure"]

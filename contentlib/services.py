"""Writes to the library: article upsert, moderation decisions and editors' corrections."""
import hashlib
import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

import nh3
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from contentlib import dedup
from contentlib.errors import ApplicationError
from contentlib.models import (Answer, AnswerReference, AnswerReport, Article, ArticleRevision, Category,
                               Membership, MembershipGrant, ModerationEvent, Question, Source)
from contentlib.sensitive import sensitive_hits
from contentlib.tasks_queue import ENRICH_ARTICLE, ENRICH_BATCH, INDEX_ARTICLE, queue_on_commit
from contentlib.text import content_hash as text_hash
from contentlib.text import normalize_query, reason_clean, surrogate_position

logger = logging.getLogger(__name__)

SYSTEM_ACTOR = "system"
TITLE_MAX_CHARS = 500
_validate_url = URLValidator(schemes=["http", "https"])


# The names of the fields that validation messages speak of, in the reader's language.
_FIELD_LABELS = {
    "title": gettext_lazy("title"), "text": gettext_lazy("text"), "html": gettext_lazy("HTML"),
    "url": gettext_lazy("web address"), "canonical_url": gettext_lazy("canonical address"),
    "author": gettext_lazy("author"), "question": gettext_lazy("question"), "summary": gettext_lazy("summary"),
    "language": gettext_lazy("language"),
}


def _field_label(field: str) -> str:
    return str(_FIELD_LABELS.get(field, field.replace("_", " ")))


# What a change may alter of an approved article once a revision with it is approved.
REVISION_FIELDS = ("title", "text", "html", "url", "language", "author", "published_at", "content_hash")


@dataclass(frozen=True)
class UpsertResult:
    article: Article
    # "created", "updated" (written in place: the article was not published), "revised" (the article
    # is approved: the change waits as `revision`) or "unchanged" (nothing new; `revision` is set when
    # the same change already waits).
    outcome: str
    revision: ArticleRevision | None = None

    @property
    def changed(self) -> bool:
        """True when the article's own content was written, so it needs enriching again."""
        return self.outcome in ("created", "updated")


def sanitize_html(html: str) -> str:
    """Returns `html` with scripts, styles, event handlers and unsafe URLs removed (nh3/ammonia)."""
    if not html:
        return ""
    return nh3.clean(html, link_rel="noopener noreferrer nofollow")


def _clean_url(value: str | None, field: str) -> str | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        _validate_url(value)
    except ValidationError:
        raise ApplicationError(
            _("The %(field)s “%(value)s” is not a valid http(s) URL. Give a full address such as https://example.com/a.")
            % {"field": _field_label(field), "value": value[:200]},
            {"field": field},
        ) from None
    return value


def _clean_content(title: str, text: str) -> tuple[str, str]:
    title = " ".join((title or "").replace("\x00", "").split())
    text = (text or "").replace("\x00", "").strip()
    if not title:
        raise ApplicationError(_("The article has no title. Give it a title before saving."), {"field": "title"})
    if not text:
        raise ApplicationError(_("The article has no text. Give it its main text before saving."), {"field": "text"})
    if len(title) > TITLE_MAX_CHARS:
        raise ApplicationError(
            _("The title is %(length)d characters long; the limit is %(max)d. Shorten it.")
            % {"length": len(title), "max": TITLE_MAX_CHARS}, {"field": "title"})
    if len(text) > settings.ARTICLE_MAX_TEXT_CHARS:
        raise ApplicationError(
            _("The text is %(length)d characters long; the limit is %(max)d. Split it into several articles.")
            % {"length": len(text), "max": settings.ARTICLE_MAX_TEXT_CHARS}, {"field": "text"})
    return title, text


def _refuse_surrogates(field: str, value: str | None) -> None:
    """Refuses text that holds a lone surrogate: no database or hash can store it as UTF-8."""
    position = surrogate_position(value) if isinstance(value, str) else None
    if position is not None:
        raise ApplicationError(
            _("The %(field)s holds an invalid character at position %(position)d (U+%(code)04X, half of a UTF-16 "
              "pair on its own): the text was cut inside an emoji or decoded with the wrong encoding. Remove that "
              "character or copy the text again from its source.")
            % {"field": _field_label(field), "position": position + 1, "code": ord(value[position])},
            {"field": field, "code": "invalid_unicode", "position": position},
        )


def _article_fields(*, title: str, text: str, origin: str, html: str = "", url: str = "",
                    canonical_url: str | None = None, language: str = "", author: str = "",
                    published_at: datetime | None = None, fetched_at: datetime | None = None,
                    source_id: int | None = None, owner_id: int | None = None,
                    content_hash: str | None = None) -> tuple[str | None, dict]:
    """Returns (canonical URL, the article's field values), validated, sanitized and hashed; raises ApplicationError.

    `content_hash` is `contentlib.text.content_hash(title, text)` when the caller already computed it
    (the crawler does, to find duplicates): it is used as given rather than computed again.
    """
    for field, value in (("title", title), ("text", text), ("html", html), ("url", url),
                         ("canonical_url", canonical_url), ("author", author), ("language", language)):
        _refuse_surrogates(field, value)
    title, text = _clean_content(title, text)
    if origin not in Article.Origin.values:
        raise ApplicationError(f"Unknown origin {origin!r}; use one of {', '.join(Article.Origin.values)}.")
    canonical_url = _clean_url(canonical_url, "canonical_url")
    url = _clean_url(url, "url") or canonical_url or ""
    return canonical_url, {
        "title": title,
        "text": text,
        "html": sanitize_html(html),
        "url": url,
        "origin": origin,
        "language": (language or "")[:10],
        "author": (author or "").strip()[:200],
        "published_at": published_at,
        "fetched_at": fetched_at,
        "source_id": source_id,
        "owner_id": owner_id,
        "content_hash": content_hash or text_hash(title, text),
    }


def article_upsert(
    *,
    title: str,
    text: str,
    origin: str,
    html: str = "",
    url: str = "",
    canonical_url: str | None = None,
    language: str = "",
    author: str = "",
    published_at: datetime | None = None,
    fetched_at: datetime | None = None,
    source_id: int | None = None,
    owner_id: int | None = None,
    article_id: int | None = None,
    content_hash: str | None = None,
    proposed_by: str = "",
) -> UpsertResult:
    """Creates or updates one article and queues its enrichment after commit when it changed.

    The row is found by `article_id` when given, else by canonical URL when there is one; an article
    without either (a portal submission) is always new. The content hash of the normalized title and
    text decides whether anything changed: an unchanged article is not written at all. A caller that
    already computed it (`contentlib.text.content_hash(title, text)`) passes it as `content_hash`.

    A change to an approved article is not written over its published content: it waits as a
    pending `ArticleRevision` (outcome "revised") that an editor approves or rejects
    (`article_revision_approve`, `article_revision_reject`); `proposed_by` names who proposed it. An
    update never changes the article's owner, origin or source, and a crawl never changes an
    article an enterprise submitted or owns (ApplicationError, code "protected").
    """
    canonical_url, fields = _article_fields(
        title=title, text=text, origin=origin, html=html, url=url, canonical_url=canonical_url, language=language,
        author=author, published_at=published_at, fetched_at=fetched_at, source_id=source_id, owner_id=owner_id,
        content_hash=content_hash,
    )
    with transaction.atomic():
        existing = _locked_article(article_id=article_id, canonical_url=canonical_url)
        if existing is None:
            try:
                with transaction.atomic():
                    article = Article.objects.create(canonical_url=canonical_url, **fields)
            except IntegrityError:
                # A concurrent crawl created the same canonical URL first: update that row instead.
                existing = _locked_article(article_id=None, canonical_url=canonical_url)
                if existing is None:
                    raise
            else:
                queue_on_commit(ENRICH_ARTICLE, article.id)
                return UpsertResult(article, "created")

        result = _article_update(existing, canonical_url, fields, proposed_by=proposed_by)
        if result.changed:
            queue_on_commit(ENRICH_ARTICLE, existing.id)
        return result


def _article_update(existing: Article, canonical_url: str | None, fields: dict, *, proposed_by: str) -> UpsertResult:
    """Applies a change to the locked row: nothing when the content hash is the same, a pending
    revision when the article is approved, else the new content written in place.

    Owner, origin and source stay the article's own whatever the caller passed; a crawl never
    changes an article an enterprise submitted or owns.
    """
    if existing.content_hash == fields["content_hash"]:
        return UpsertResult(existing, "unchanged")
    if fields["origin"] == Article.Origin.CRAWLED and (
        existing.origin == Article.Origin.SUBMITTED or existing.owner_id is not None
    ):
        whose = "submitted by an enterprise" if existing.origin == Article.Origin.SUBMITTED else "owned by an advertiser"
        raise ApplicationError(
            f"Article #{existing.id} is {whose}; a crawl never changes it. Its enterprise edits it, "
            "or an editor unlinks the owner first.",
            {"code": "protected", "article_id": existing.id},
        )
    if fields["owner_id"] is not None and fields["owner_id"] != existing.owner_id:
        raise ApplicationError(
            f"Article #{existing.id} belongs to another owner; an update never moves an article to another "
            "advertiser (an editor does that with article_set_owner).",
            {"code": "owner", "article_id": existing.id},
        )
    if existing.status == Article.Status.APPROVED:
        return _revision_propose(existing, fields, proposed_by=proposed_by)
    for name, value in fields.items():
        if name not in ("owner_id", "origin", "source_id"):
            setattr(existing, name, value)
    if canonical_url:
        existing.canonical_url = canonical_url
    existing.enrichment_status = Article.Enrichment.PENDING
    existing.enrichment_error = ""
    existing.save()
    return UpsertResult(existing, "updated")


def _revision_propose(article: Article, fields: dict, *, proposed_by: str) -> UpsertResult:
    """Keeps the change to a published article as its pending revision, superseding an older one."""
    pending = ArticleRevision.objects.select_for_update().filter(
        article_id=article.id, status=ArticleRevision.Status.PENDING).first()
    if pending is not None:
        if pending.content_hash == fields["content_hash"]:
            return UpsertResult(article, "unchanged", pending)
        pending.status = ArticleRevision.Status.SUPERSEDED
        pending.decided_at = timezone.now()
        pending.decided_by_name = SYSTEM_ACTOR
        pending.reason = "a later change replaced it"
        pending.save(update_fields=["status", "decided_at", "decided_by_name", "reason"])
    revision = ArticleRevision.objects.create(
        article=article,
        proposed_by=(proposed_by or f"{article.get_origin_display()} update")[:200],
        base_title=article.title, base_text=article.text, base_content_hash=article.content_hash,
        **{name: fields[name] for name in REVISION_FIELDS},
    )
    return UpsertResult(article, "revised", revision)


def articles_upsert(*, articles: list[dict]) -> list[UpsertResult | ApplicationError]:
    """Creates or updates many articles in one transaction; queues one enrichment batch after commit.

    Each dict holds `article_upsert`'s keyword arguments (without `article_id`), and may hold
    `content_hash`: `contentlib.text.content_hash(title, text)` when the caller already computed it
    (it is then trusted, not computed again). Each article is validated, sanitized and hashed exactly
    as `article_upsert` does it. The result list follows the
    input: an invalid article gets its ApplicationError there and the others are saved regardless.
    Articles are matched by canonical URL; one given twice is applied in order (created, then
    updated), as two `article_upsert` calls would be. New rows are inserted in one statement. A
    change to an approved article becomes its pending revision, as in `article_upsert`; an
    article that may not be changed (code "protected") is refused with an ApplicationError.
    """
    results: list[UpsertResult | ApplicationError | None] = [None] * len(articles)
    first, repeated, seen = [], [], set()
    proposers: dict[int, str] = {}
    for index, values in enumerate(articles):
        values = dict(values)
        proposers[index] = values.pop("proposed_by", "")
        try:
            canonical_url, fields = _article_fields(**values)
        except ApplicationError as error:
            results[index] = error
            continue
        (repeated if canonical_url and canonical_url in seen else first).append((index, canonical_url, fields))
        if canonical_url:
            seen.add(canonical_url)
    queued_alone: set[int] = set()  # saved by article_upsert, which queued their enrichment itself
    rows: dict[str, Article] = {}

    def update(index: int, canonical_url: str, fields: dict) -> UpsertResult | ApplicationError:
        # _article_update refuses before it writes anything, so a refusal needs no savepoint.
        try:
            if canonical_url not in rows:  # its first occurrence was refused: try it on its own
                queued_alone.add(index)
                return article_upsert(**articles[index])
            return _article_update(rows[canonical_url], canonical_url, fields, proposed_by=proposers[index])
        except ApplicationError as error:
            return error

    with transaction.atomic():
        rows.update((a.canonical_url, a) for a in Article.objects.select_for_update().filter(canonical_url__in=seen))
        new = []
        for index, canonical_url, fields in first:
            if canonical_url in rows:
                results[index] = update(index, canonical_url, fields)
            else:
                new.append((index, Article(canonical_url=canonical_url, **fields)))
        try:
            with transaction.atomic():
                _articles_insert([article for _, article in new])
            for index, article in new:
                results[index] = UpsertResult(article, "created")
        except IntegrityError:
            # A concurrent writer created one of these canonical URLs first: take them one at a time,
            # which updates that row instead (and queues its enrichment itself).
            for index, _ in new:
                try:
                    results[index] = article_upsert(**articles[index])
                except ApplicationError as error:
                    results[index] = error
                queued_alone.add(index)
        for result in results:
            if isinstance(result, UpsertResult) and result.article.canonical_url:
                rows[result.article.canonical_url] = result.article
        for index, canonical_url, fields in repeated:
            results[index] = update(index, canonical_url, fields)
        changed = dict.fromkeys(  # ids in order, once each
            result.article.id for index, result in enumerate(results)
            if isinstance(result, UpsertResult) and result.changed and index not in queued_alone
        )
        if changed:
            queue_on_commit(ENRICH_BATCH, list(changed))
    return results


def _articles_insert(articles: list[Article]) -> None:
    """Inserts new articles in one statement and sets their ids, as `bulk_create` does.

    On PostgreSQL with one array a column (`unnest`): Django's own UNNEST form of `bulk_create` is
    ruled out by the `embedding` BinaryField (a field whose placeholder may depend on its value),
    and building and binding 33 placeholders a row cost more than the insert (0.23 -> 0.15 CPU ms
    a row in batches of 50).
    """
    if connection.vendor != "postgresql" or len(articles) < 2:
        Article.objects.bulk_create(articles)
        return
    fields = [field for field in Article._meta.concrete_fields if not field.primary_key]
    columns = [[field.get_db_prep_save(field.pre_save(article, add=True), connection) for article in articles]
               for field in fields]
    names = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    # Array types without their length (varchar[]): the values were validated to fit already.
    arrays = ", ".join(f"%s::{field.db_type(connection).split('(')[0]}[]" for field in fields)
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {connection.ops.quote_name(Article._meta.db_table)} ({names}) "
                       f"SELECT * FROM unnest({arrays}) RETURNING id", columns)
        ids = [row[0] for row in cursor.fetchall()]
    for article, article_id in zip(articles, ids, strict=True):
        article.id = article_id
        article._state.adding, article._state.db = False, connection.alias


def _locked_article(*, article_id: int | None, canonical_url: str | None) -> Article | None:
    query = Article.objects.select_for_update()
    if article_id is not None:
        try:
            return query.get(id=article_id)
        except Article.DoesNotExist:
            raise ApplicationError(f"Article #{article_id} does not exist; it may have been deleted.") from None
    if canonical_url:
        return query.filter(canonical_url=canonical_url).first()
    return None


# --- Moderation -----------------------------------------------------------------------------

_ACTION_TARGET = {
    ModerationEvent.Action.APPROVE: Article.Status.APPROVED,
    ModerationEvent.Action.REJECT: Article.Status.REJECTED,
    ModerationEvent.Action.ARCHIVE: Article.Status.ARCHIVED,
}


def _check_moderator(actor) -> None:
    if actor is not None and not actor.has_perm("contentlib.moderate_article"):
        raise ApplicationError(
            _("%(user)s may not moderate articles. Ask an administrator to add you to the Editors group.")
            % {"user": actor.get_username()},
            {"code": "forbidden"},
        )


def _moderate(*, article_id: int, actor, action: str, reason: str) -> Article:
    _check_moderator(actor)
    target = _ACTION_TARGET[action]
    with transaction.atomic():
        try:
            article = Article.objects.select_for_update().get(id=article_id)
        except Article.DoesNotExist:
            raise ApplicationError(f"Article #{article_id} does not exist; it may have been deleted.") from None
        if article.status == target:
            raise ApplicationError(_("“%(title)s” is already %(status)s.") % {
                "title": article.title, "status": article.get_status_display().lower()}, {"code": "noop"})
        if action == ModerationEvent.Action.APPROVE and article.duplicate_of_id:
            raise ApplicationError(
                _("“%(title)s” duplicates article #%(original)d, which is published instead. Clear its duplicate "
                  "link first if it really is a different article.")
                % {"title": article.title, "original": article.duplicate_of_id},
                {"code": "duplicate"},
            )
        if action == ModerationEvent.Action.APPROVE and article.supersedes_id:
            _original_takes_place(article, actor=actor)
        previous = article.status
        article.status = target
        article.rejection_reason = reason if target == Article.Status.REJECTED else ""
        article.moderated_at = timezone.now()
        article.save(update_fields=["status", "rejection_reason", "moderated_at", "updated_at", "supersedes"])
        ModerationEvent.objects.create(
            article=article,
            action=action,
            from_status=previous,
            to_status=target,
            actor=actor,
            actor_name=actor.get_username() if actor is not None else SYSTEM_ACTOR,
            reason=reason,
        )
        if target != Article.Status.APPROVED:
            answers_mark_stale(article_ids=[article.id])  # no answer cites an unpublished article
        # The search index follows the decision after commit (retrieval also re-checks the status).
        queue_on_commit(INDEX_ARTICLE, article.id)
    logger.debug("article %s %s by %s", article.id, target, actor or SYSTEM_ACTOR)
    return article


def _original_takes_place(article: Article, *, actor) -> None:
    """Makes the near-duplicate the approved article is the original of its duplicate, with its event.

    Its own duplicates follow it to the original. An article an enterprise owns or submitted is
    never demoted: the approval is refused instead.
    """
    copy = Article.objects.select_for_update().filter(id=article.supersedes_id).first()
    article.supersedes = None
    if copy is None or copy.duplicate_of_id is not None:
        return  # deleted, or already some article's duplicate: nothing left to take over
    if dedup.enterprise_owned(owner_id=copy.owner_id, origin=copy.origin):
        raise ApplicationError(
            _("“%(title)s” would replace article #%(copy)d, which an enterprise owns; it is never made a duplicate. "
              "Reject this one, or clear its “original of” link first.") % {"title": article.title, "copy": copy.id},
            {"code": "protected", "article_id": copy.id},
        )
    copy.duplicate_of = article
    copy.save(update_fields=["duplicate_of", "updated_at"])
    Article.objects.filter(duplicate_of_id=copy.id).update(duplicate_of_id=article.id, updated_at=timezone.now())
    ModerationEvent.objects.create(
        article=copy, action=ModerationEvent.Action.MARK_DUPLICATE, from_status=copy.status, to_status=copy.status,
        actor=actor, actor_name=actor.get_username() if actor is not None else SYSTEM_ACTOR,
        reason=f"article #{article.id} is the original",
    )
    answers_mark_stale(article_ids=[copy.id])
    queue_on_commit(INDEX_ARTICLE, copy.id)  # it leaves the published set


def article_approve(*, article_id: int, actor=None, reason: str = "") -> Article:
    """Publishes the article. `actor=None` records the system (trusted sources) as the decider."""
    return _moderate(article_id=article_id, actor=actor, action=ModerationEvent.Action.APPROVE, reason=reason_clean(reason))


def article_reject(*, article_id: int, actor=None, reason: str) -> Article:
    """Refuses the article; the reason is required and shown to whoever submitted it."""
    reason = reason_clean(reason)
    if not reason:
        raise ApplicationError(_("A rejection needs a reason. Say why the article is refused."), {"field": "reason"})
    return _moderate(article_id=article_id, actor=actor, action=ModerationEvent.Action.REJECT, reason=reason)


def article_archive(*, article_id: int, actor=None, reason: str = "") -> Article:
    """Takes the article out of circulation without judging it."""
    return _moderate(article_id=article_id, actor=actor, action=ModerationEvent.Action.ARCHIVE, reason=reason_clean(reason))


def _revision_decide(*, revision_id: int, actor, approve: bool, reason: str) -> ArticleRevision:
    _check_moderator(actor)
    with transaction.atomic():
        try:
            revision = ArticleRevision.objects.select_for_update().get(id=revision_id)
        except ArticleRevision.DoesNotExist:
            raise ApplicationError(f"Revision #{revision_id} does not exist; it may have been deleted.") from None
        article = Article.objects.select_for_update().get(id=revision.article_id)
        if revision.status != ArticleRevision.Status.PENDING:
            raise ApplicationError(
                _("Revision #%(id)d of “%(title)s” is already %(status)s.")
                % {"id": revision.id, "title": article.title, "status": revision.get_status_display().lower()},
                {"code": "noop"},
            )
        now = timezone.now()
        if approve:
            for name in REVISION_FIELDS:
                setattr(article, name, getattr(revision, name))
            article.enrichment_status = Article.Enrichment.PENDING
            article.enrichment_error = ""
            article.moderated_at = now
            article.save()
            # Enrichment reads the new content; it marks the article dirty, so the index follows.
            queue_on_commit(ENRICH_ARTICLE, article.id)
            answers_mark_stale(article_ids=[article.id])  # answers quoted the text it replaces
        revision.status = ArticleRevision.Status.APPROVED if approve else ArticleRevision.Status.REJECTED
        revision.decided_at = now
        revision.decided_by = actor
        revision.decided_by_name = actor.get_username() if actor is not None else SYSTEM_ACTOR
        revision.reason = reason
        revision.save(update_fields=["status", "decided_at", "decided_by", "decided_by_name", "reason"])
        ModerationEvent.objects.create(
            article=article, revision=revision,
            action=ModerationEvent.Action.APPROVE_REVISION if approve else ModerationEvent.Action.REJECT_REVISION,
            from_status=article.status, to_status=article.status,
            actor=actor, actor_name=revision.decided_by_name, reason=reason,
        )
    return revision


def article_revision_approve(*, revision_id: int, actor=None, reason: str = "") -> ArticleRevision:
    """Publishes a pending revision's content on its article and queues its enrichment after commit.

    `actor=None` records the system as the decider (a trusted source's change). The event is kept
    in the article's moderation history.
    """
    return _revision_decide(revision_id=revision_id, actor=actor, approve=True, reason=reason_clean(reason))


def article_revision_reject(*, revision_id: int, actor=None, reason: str) -> ArticleRevision:
    """Refuses a pending revision; the article keeps its published content. A reason is required."""
    reason = reason_clean(reason)
    if not reason:
        raise ApplicationError(_("A rejection needs a reason. Say why the change is refused."), {"field": "reason"})
    return _revision_decide(revision_id=revision_id, actor=actor, approve=False, reason=reason)


def article_set_owner(*, article_id: int, owner_id: int | None) -> Article:
    """Links the article to the advertiser that paid for it (or unlinks it with None).

    An AI-generated analysis is never sold: it cannot be given an owner. An owned article is never
    an answer's reference, so answers citing it go stale.
    """
    if owner_id is not None and Article.objects.filter(id=article_id, origin=Article.Origin.GENERATED).exists():
        raise ApplicationError(
            f"Article #{article_id} is an AI-generated analysis; it is never sold as a sponsored article, so it "
            "cannot have an owner.", {"code": "generated", "article_id": article_id})
    updated = Article.objects.filter(id=article_id).update(owner_id=owner_id, updated_at=timezone.now())
    if not updated:
        raise ApplicationError(f"Article #{article_id} does not exist; it may have been deleted.")
    if owner_id is not None:
        answers_mark_stale(article_ids=[article_id])
    return Article.objects.get(id=article_id)


def article_set_category(*, article_id: int, category_id: int | None, actor) -> Article:
    """Sets an editor's category; it sticks, so enrichment never overwrites it."""
    with transaction.atomic():
        article = Article.objects.select_for_update().get(id=article_id)
        if category_id is not None and not Category.objects.filter(id=category_id).exists():
            raise ApplicationError(f"Category #{category_id} does not exist.", {"field": "category"})
        article.category_id = category_id
        article.category_confidence = 1.0 if category_id else None
        article.category_locked = category_id is not None
        article.save(update_fields=["category", "category_confidence", "category_locked", "updated_at"])
    return article


def article_propose_as_original(*, article_id: int, copy_id: int) -> Article:
    """Records that the article is the original of `copy_id`, a near-duplicate stored before it.

    Nothing is published by it: approving the article (`article_approve`) makes the copy its
    duplicate. An article an enterprise owns or submitted is never proposed for demotion.
    """
    with transaction.atomic():
        copy = Article.objects.filter(id=copy_id).only("id", "owner_id", "origin", "duplicate_of_id").first()
        if copy is None:
            raise ApplicationError(f"Article #{copy_id} does not exist; it may have been deleted.")
        if copy_id == article_id:
            raise ApplicationError(f"Article #{article_id} cannot be its own original.", {"code": "self"})
        if dedup.enterprise_owned(owner_id=copy.owner_id, origin=copy.origin):
            raise ApplicationError(f"Article #{copy_id} is an enterprise's; it is never made a duplicate.",
                                   {"code": "protected", "article_id": copy_id})
        updated = Article.objects.filter(id=article_id).update(supersedes_id=copy.duplicate_of_id or copy.id,
                                                               updated_at=timezone.now())
        if not updated:
            raise ApplicationError(f"Article #{article_id} does not exist; it may have been deleted.")
    return Article.objects.get(id=article_id)


def article_mark_duplicate(*, article_id: int, original_id: int) -> Article:
    """Records that the article repeats `original_id` (a near-duplicate), so it is never published twice.

    A duplicate of a duplicate points at the first original. An approved article that turns out to
    be a duplicate stays approved in status but leaves the published set (`is_published`).
    """
    with transaction.atomic():
        original = Article.objects.filter(id=original_id).only("id", "duplicate_of_id").first()
        if original is None:
            raise ApplicationError(f"Article #{original_id} does not exist; it may have been deleted.")
        root_id = original.duplicate_of_id or original.id
        if root_id == article_id:
            raise ApplicationError(f"Article #{article_id} cannot duplicate itself.", {"code": "self"})
        updated = Article.objects.filter(id=article_id).update(duplicate_of_id=root_id, updated_at=timezone.now())
        if not updated:
            raise ApplicationError(f"Article #{article_id} does not exist; it may have been deleted.")
        answers_mark_stale(article_ids=[article_id])
    return Article.objects.get(id=article_id)


def article_resubmit(*, article_id: int) -> Article:
    """Puts a rejected article back in the editors' queue (pending) after its submitter changed it.

    The editor's earlier decision and reason stay in its moderation history; an article in any
    other status is returned unchanged.
    """
    with transaction.atomic():
        article = Article.objects.select_for_update().get(id=article_id)
        if article.status == Article.Status.REJECTED:
            article.status = Article.Status.PENDING
            article.rejection_reason = ""
            article.save(update_fields=["status", "rejection_reason", "updated_at"])
    return article

# --- Questions and answers ------------------------------------------------------------------

QUESTION_MAX_CHARS = 500


def question_get_or_create(*, text: str, language: str = "", count_ask: bool = True) -> Question:
    """Returns the question with this normalized form (`normalize_query`), created when new, its
    asked count raised by one when a reader asked it (`count_ask`; not for an advertiser's or an
    editor's look-up). Raises ApplicationError for a question with nothing in it."""
    _refuse_surrogates("question", text)
    text = " ".join((text or "").split())[:QUESTION_MAX_CHARS]
    normalized = normalize_query(text)[:QUESTION_MAX_CHARS]
    if not normalized:
        raise ApplicationError(_("The question is empty. Type a question in words."), {"field": "question"})
    digest = hashlib.sha1(normalized.encode("utf-8")).hexdigest()[:10]
    slug = f"{slugify(normalized, allow_unicode=True)[:60].strip('-') or 'q'}-{digest}"
    question = Question.objects.filter(normalized_text=normalized).first()
    if question is None:
        try:
            with transaction.atomic():
                return Question.objects.create(text=text, normalized_text=normalized, slug=slug,
                                               language=(language or "")[:10], asked_count=int(count_ask))
        except IntegrityError:  # asked at the same moment by another reader
            question = Question.objects.get(normalized_text=normalized)
    if not count_ask:
        return question
    Question.objects.filter(id=question.id).update(asked_count=F("asked_count") + 1)
    question.refresh_from_db(fields=["asked_count"])
    return question


_HTML_TAG = re.compile(r"<\s*/?\s*[a-zA-Z!?][^>]*>|&[a-zA-Z]+;|&#\d+;")


def question_text_check(*, text: str) -> str:
    """The question a reader typed, spaces collapsed, if it can be asked; raises ApplicationError
    saying what to change for an empty question, one over QUESTION_MAX_CHARS characters, or one
    holding HTML (a tag or an entity: questions are plain words, and shown as typed)."""
    _refuse_surrogates("question", text)
    text = " ".join((text or "").split())
    if not normalize_query(text):
        raise ApplicationError(_("The question is empty. Type a question in words."), {"field": "question"})
    if len(text) > QUESTION_MAX_CHARS:
        raise ApplicationError(
            _("The question is %(length)d characters long; at most %(max)d fit. Shorten it and ask again.")
            % {"length": len(text), "max": QUESTION_MAX_CHARS}, {"field": "question"})
    tag = _HTML_TAG.search(text)
    if tag:
        raise ApplicationError(
            _("The question contains HTML (%(tag)s). Ask in plain words, without tags or entities.")
            % {"tag": tag.group(0)[:40]}, {"field": "question"})
    return text


def question_review(*, question_id: int) -> Question:
    """Decides whether the question is a public page now: published when it holds no word of the
    sensitive-word list and its current answer cites an article (is not "no answer"), else pending.
    A question an editor hid stays hidden. The hits are stored on the question for review."""
    with transaction.atomic():
        question = Question.objects.select_for_update().get(id=question_id)
        hits = sensitive_hits(question.text)
        answered = any(a.cited_article_ids for a in Answer.objects.filter(
            question_id=question_id, status=Answer.Status.CURRENT).only("cited_article_ids"))
        status = question.status
        if status != Question.Status.HIDDEN:
            status = Question.Status.PUBLISHED if answered and not hits else Question.Status.PENDING
        if (status, hits) != (question.status, question.sensitive_words):
            question.status, question.sensitive_words = status, hits
            question.save(update_fields=["status", "sensitive_words"])
    return question


def question_set_status(*, question_id: int, status: str) -> Question:
    """Publishes, hides or returns the question to pending (an editor's decision). A question with a
    word of the sensitive-word list is never published."""
    if status not in Question.Status.values:
        raise ApplicationError(f"Unknown question status {status!r}; use one of {', '.join(Question.Status.values)}.")
    if status == Question.Status.PUBLISHED:
        question = Question.objects.filter(id=question_id).first()
        hits = sensitive_hits(question.text) if question is not None else []
        if hits:
            raise ApplicationError(
                _("“%(question)s” contains words of the sensitive-word list (%(words)s), so it cannot be published. "
                  "Hide it, or leave it pending.") % {"question": question.text[:60], "words": "、".join(hits)})
    if not Question.objects.filter(id=question_id).update(status=status):
        raise ApplicationError(f"Question #{question_id} does not exist; it may have been deleted.")
    return Question.objects.get(id=question_id)


def answer_store(*, question_id: int, provider: str, model_name: str, text: str, cited_article_ids: list[int],
                 notice: str = "", vector: bytes | None = None, vector_model: str = "",
                 question_vector: bytes | None = None, generation_ms: int | None = None) -> Answer:
    """Saves a new current answer for (question, provider), replacing the one before it, with one
    reference row per cited article holding that article's content hash now; and the question's
    vector (under `vector_model` too) when given. One transaction."""
    cited = list(dict.fromkeys(int(i) for i in cited_article_ids))
    with transaction.atomic():
        questions = Question.objects.select_for_update().filter(id=question_id)  # one writer per question
        if question_vector is not None:
            questions.update(vector=question_vector, vector_model=vector_model)
        else:
            questions.first()
        hashes = dict(Article.objects.filter(id__in=cited).values_list("id", "content_hash"))
        missing = [i for i in cited if i not in hashes]
        if missing:
            raise ApplicationError(f"The answer cites articles that do not exist: {missing}.", {"code": "missing"})
        Answer.objects.filter(question_id=question_id, provider=provider, status=Answer.Status.CURRENT).update(
            status=Answer.Status.REPLACED)
        answer = Answer.objects.create(
            question_id=question_id, provider=provider, model_name=model_name[:200], text=text,
            cited_article_ids=cited, notice=notice[:500], vector=vector, vector_model=vector_model if vector else "",
            generation_ms=generation_ms,
        )
        AnswerReference.objects.bulk_create([
            AnswerReference(answer=answer, article_id=article_id, position=n, content_hash=hashes[article_id])
            for n, article_id in enumerate(cited, start=1)
        ])
    return answer


def answers_mark_stale(*, article_ids: list[int]) -> int:
    """Marks stale every current answer that cites one of these articles (it was unpublished, or its
    text changed); the next ask writes a new answer. Returns how many."""
    return Answer.objects.filter(status=Answer.Status.CURRENT, references__article_id__in=article_ids).distinct() \
        .update(status=Answer.Status.STALE)


def answer_edit(*, answer_id: int, text: str, actor) -> Answer:
    """An editor's correction of the answer's text; its citations must still point at its references."""
    text = (text or "").strip()
    if not text:
        raise ApplicationError(_("An answer cannot be empty. Hide it instead."), {"field": "text"})
    answer = Answer.objects.get(id=answer_id)
    for marker in re.findall(r"\[(\d+)\]", text):
        if not 1 <= int(marker) <= len(answer.cited_article_ids):
            raise ApplicationError(
                _("The text cites [%(n)s], but the answer has %(count)d references. Cite only [1] to [%(count)d].")
                % {"n": marker, "count": len(answer.cited_article_ids)}, {"field": "text"})
    answer.text = text
    answer.edited_by = actor
    answer.save(update_fields=["text", "edited_by"])
    return answer


REPORT_NOTE_MAX_CHARS = 1000


def answer_report_create(*, answer_id: int, note: str, reader_key: str = "") -> AnswerReport:
    """Puts the answer in the editors' queue of reported answers with the reader's note; raises
    ApplicationError for an empty or too long note, or an answer that no longer exists."""
    note = (note or "").strip()
    if not note:
        raise ApplicationError(_("Say in the note what is wrong with the answer, then send the report."),
                               {"field": "note"})
    if len(note) > REPORT_NOTE_MAX_CHARS:
        raise ApplicationError(
            _("The note is %(length)d characters long; at most %(max)d fit. Shorten it and send it again.")
            % {"length": len(note), "max": REPORT_NOTE_MAX_CHARS}, {"field": "note"})
    _refuse_surrogates("note", note)
    if not Answer.objects.filter(id=answer_id).exists():
        raise ApplicationError(_("This answer no longer exists. Reload the page and report the answer it shows."))
    return AnswerReport.objects.create(answer_id=answer_id, note=note, reader_key=reader_key[:32])


def answer_reports_resolve(*, report_ids: list[int], actor) -> int:
    """Marks the reports resolved by `actor` (an editor who corrected, hid or kept the answer); returns how many."""
    return AnswerReport.objects.filter(id__in=report_ids, status=AnswerReport.Status.OPEN).update(
        status=AnswerReport.Status.RESOLVED, resolved_at=timezone.now(), resolved_by=actor)


def answer_hide(*, answer_id: int) -> Answer:
    """Takes the answer off the site; it is not regenerated until an editor asks for it."""
    Answer.objects.filter(id=answer_id).update(status=Answer.Status.HIDDEN)
    return Answer.objects.get(id=answer_id)

def source_set_full_text(*, source_id: int, allowed: bool) -> Source:
    """Lets the source's articles be shown in full, or only as an excerpt (an editor's decision after
    checking the source's terms). Answers citing its articles are made stale either way: they were
    written from what readers could see before, and the next ask writes them again."""
    with transaction.atomic():
        source = Source.objects.select_for_update().get(id=source_id)
        if source.full_text_allowed != allowed:
            source.full_text_allowed = allowed
            source.save(update_fields=["full_text_allowed", "updated_at"])
            answers_mark_stale(article_ids=list(Article.objects.filter(source_id=source_id).values_list("id", flat=True)))
    return source


def article_set_premium(*, article_id: int, premium: bool, actor) -> Article:
    """Puts the article behind the VIP wall, or takes it out; an editor's decision."""
    _check_moderator(actor)
    with transaction.atomic():
        article = Article.objects.select_for_update().get(id=article_id)
        if article.premium != premium:
            article.premium = premium
            article.save(update_fields=["premium", "updated_at"])
            logger.info("article %s premium=%s by %s", article_id, premium, getattr(actor, "username", actor))
    return article


# --- VIP memberships. Every change is a MembershipGrant row written with the membership's new end,
# under a row lock, so two grants at once (staff and a payment notice) both count.

def _membership_locked(user_id: int, *, plan_slug: str, now) -> Membership:
    membership, _ = Membership.objects.get_or_create(user_id=user_id, defaults={"until": now, "plan_slug": plan_slug})
    return Membership.objects.select_for_update().get(id=membership.id)


def membership_extend(*, user_id: int, days: int, plan_slug: str, source: str, granted_by=None,
                      reference: str = "", note: str = "") -> MembershipGrant:
    """Adds `days` to the reader's membership: from its current end if it has not lapsed (a renewal),
    from now if it has (or it is new). Returns the grant row."""
    if days <= 0:
        raise ApplicationError(_("A membership can only be extended by a positive number of days."))
    if source not in (MembershipGrant.Source.STAFF, MembershipGrant.Source.PAYMENT):
        raise ApplicationError(_("A membership is granted by staff or by a payment."))
    with transaction.atomic():
        now = timezone.now()
        membership = _membership_locked(user_id, plan_slug=plan_slug, now=now)
        before = membership.until
        membership.until = max(before, now) + timedelta(days=days)
        membership.plan_slug = plan_slug
        membership.save(update_fields=["until", "plan_slug", "updated_at"])
        return MembershipGrant.objects.create(
            membership=membership, source=source, plan_slug=plan_slug, days=days, until_before=before,
            until_after=membership.until, reference=reference, granted_by=granted_by, note=note,
        )


def membership_grant_reverse(*, grant_id: int, reference: str = "", note: str = "") -> MembershipGrant:
    """Takes back the days a grant gave (a refund): a reversing grant row; the end moves back by as
    many days. Reversing a grant twice is refused."""
    with transaction.atomic():
        grant = MembershipGrant.objects.select_related("membership").get(id=grant_id)
        if grant.source == MembershipGrant.Source.REVERSAL:
            raise ApplicationError(_("A reversal cannot itself be reversed; grant the days again instead."))
        if MembershipGrant.objects.filter(reverses=grant).exists():
            raise ApplicationError(_("This grant has already been reversed."))
        membership = Membership.objects.select_for_update().get(id=grant.membership_id)
        before = membership.until
        membership.until = before - timedelta(days=grant.days)
        membership.save(update_fields=["until", "updated_at"])
        return MembershipGrant.objects.create(
            membership=membership, source=MembershipGrant.Source.REVERSAL, plan_slug=grant.plan_slug,
            days=-grant.days, until_before=before, until_after=membership.until, reverses=grant,
            reference=reference or grant.reference, note=note,
        )


def membership_reminders_send(*, days_before: int, now=None) -> int:
    """Emails every member whose membership ends within `days_before` days, once per end date (a
    renewal moves the end, and earns a new reminder later). Returns how many were sent."""
    from django.core.mail import send_mail  # noqa: PLC0415
    from django.template.loader import render_to_string  # noqa: PLC0415

    now = now or timezone.now()
    due = (Membership.objects.filter(until__gt=now, until__lte=now + timedelta(days=days_before))
           .exclude(user__email="").select_related("user"))
    sent = 0
    for membership in due:
        if membership.reminded_until == membership.until:
            continue
        with transaction.atomic():
            # Claimed with a conditional update, so two runs at once send one email; a failed send
            # rolls the claim back, and the next run tries again.
            claimed = (Membership.objects.filter(id=membership.id, until=membership.until)
                       .exclude(reminded_until=membership.until).update(reminded_until=membership.until))
            if not claimed:
                continue
            context = {"membership": membership, "until": timezone.localtime(membership.until)}
            send_mail(
                subject=render_to_string("contentlib/membership_reminder_subject.txt", context).strip(),
                message=render_to_string("contentlib/membership_reminder.txt", context),
                from_email=None, recipient_list=[membership.user.email],
            )
        sent += 1
    return sent


# --- Reader accounts: sign-up by email, confirmed by a signed link that expires.

READER_CONFIRM_SALT = "contentlib.reader-confirm"


def reader_signup(*, email: str, password: str):
    """Creates an inactive reader account (username = email) and returns it with the token its
    confirmation link carries. Refuses an address that already has an account (code "account_exists":
    the sign-up page does not say so, it mails the address's owner instead)."""
    from django.contrib.auth import get_user_model  # noqa: PLC0415
    from django.contrib.auth.password_validation import validate_password  # noqa: PLC0415
    from django.core import signing  # noqa: PLC0415

    user_model = get_user_model()
    email = user_model.objects.normalize_email(email.strip()).lower()
    existing = user_model.objects.filter(Q(username__iexact=email) | Q(email__iexact=email)).first()
    if existing is not None and not existing.is_active and not existing.is_staff and existing.last_login is None:
        # Signed up before and never confirmed: the new password holds, and a new link is sent.
        try:
            validate_password(password, user=existing)
        except ValidationError as error:
            raise ApplicationError(" ".join(error.messages), {"field": "password"}) from error
        existing.set_password(password)
        existing.save(update_fields=["password"])
        return existing, signing.TimestampSigner(salt=READER_CONFIRM_SALT).sign(str(existing.pk))
    candidate = user_model(username=email, email=email)
    try:  # before the address is looked at, so that a weak password reads the same whoever owns it
        validate_password(password, user=candidate)
    except ValidationError as error:
        raise ApplicationError(" ".join(error.messages), {"field": "password"}) from error
    if existing is not None:
        raise ApplicationError(
            _("An account with this email address already exists. Sign in, or reset its password if you forgot it."),
            {"field": "email", "code": "account_exists"})
    try:
        with transaction.atomic():
            user = user_model.objects.create_user(username=email, email=email, password=password, is_active=False)
    except IntegrityError as error:  # the same address signed up at the same moment
        raise ApplicationError(_("An account with this email address already exists. Sign in, or reset its "
                                 "password if you forgot it."), {"field": "email"}) from error
    token = signing.TimestampSigner(salt=READER_CONFIRM_SALT).sign(str(user.pk))
    return user, token


def reader_confirm(*, token: str, max_age_seconds: int):
    """Activates the account the token names; refuses a token that was altered or has expired."""
    from django.contrib.auth import get_user_model  # noqa: PLC0415
    from django.core import signing  # noqa: PLC0415

    try:
        user_id = signing.TimestampSigner(salt=READER_CONFIRM_SALT).unsign(token, max_age=max_age_seconds)
    except signing.SignatureExpired as error:
        raise ApplicationError(_("This confirmation link has expired. Sign up again with the same address to "
                                 "get a new link."), {"expired": True}) from error
    except signing.BadSignature as error:
        raise ApplicationError(_("This confirmation link is not valid. Copy the whole link from the email, "
                                 "or sign up again to get a new one.")) from error
    user = get_user_model().objects.filter(pk=user_id).first()
    if user is None:
        raise ApplicationError(_("The account this link confirms no longer exists. Sign up again."))
    if not user.is_active:
        user.is_active = True
        user.save(update_fields=["is_active"])
    return user

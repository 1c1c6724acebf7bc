"""Near-duplicate detection for the whole library: MinHash signatures, LSH band keys, their index,
and which of two near-duplicates is the original.

The crawler (crawlers.services) and the enterprise portal use the same signatures, the same index
and the same rule, so a copy is recognised whichever way it arrives.

Chinese text is shingled into character 5-grams (no word boundaries needed); other text into word
3-grams. The band layout (b bands of r rows) is the one datasketch's `MinHashLSH` picks for the
threshold, so candidates are found with the false-positive/negative balance datasketch documents;
the bands themselves live in the library database (contentlib.models.MinHashBand), see
docs/ARCHITECTURE.md for why.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache
from hashlib import sha1
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlsplit

import numpy as np
from django.conf import settings
from django.db import connection, transaction

from contentlib.models import Article, MinHashBand, MinHashSignature
from contentlib.selectors import articles_missing_minhash
from contentlib.text import normalize_text

if TYPE_CHECKING:  # datasketch imports scipy: on first use, never at Django start-up (admin imports this module)
    from datasketch import MinHash

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_WORD = re.compile(r"\w+", re.U)
_NOT_WORD = re.compile(r"[\W_]+", re.U)
CHAR_SHINGLE = 5
WORD_SHINGLE = 3
_SEED = 1
# Stored signatures must be read back with the scheme that made them: datasketch cannot tell.
SCHEME = "affine32"


def shingles(text: str, language: str) -> set[bytes]:
    """Returns the shingles of `text`: character 5-grams for Chinese, word 3-grams otherwise."""
    return set(_shingle_list(text, language))


def _shingle_list(text: str, language: str) -> list[bytes]:
    """The shingles in text order, repeats included (a MinHash is the same with or without them)."""
    folded = normalize_text(text)
    if language == "zh" or (language not in ("en", "other") and _CJK.search(folded)):
        chars = _NOT_WORD.sub("", folded)
        size = min(CHAR_SHINGLE, len(chars)) or 1
        return [chars[i:i + size].encode() for i in range(max(1, len(chars) - size + 1))]
    words = _WORD.findall(folded)
    size = min(WORD_SHINGLE, len(words)) or 1
    return [" ".join(words[i:i + size]).encode() for i in range(max(1, len(words) - size + 1))]


def minhash(text: str, language: str, num_perm: int) -> MinHash:
    """Returns the MinHash of the text's shingles, equal to datasketch's default (SHA-1, 32-bit) one."""
    from datasketch import MinHash  # noqa: PLC0415

    signature = MinHash(num_perm=num_perm, seed=_SEED, scheme=SCHEME, permutations=_permutations(num_perm))
    # datasketch's sha1_hash32 is the first four bytes of each shingle's SHA-1 digest, little-endian:
    # here they are read from the joined digests in one step.
    digests = b"".join([sha1(shingle).digest() for shingle in _shingle_list(text, language)])
    hashed = np.frombuffer(digests, dtype="<u4")[::sha1().digest_size // 4]
    # datasketch's update_batch for the affine32 scheme (the fmix32 pre-mix, then a * h + b modulo
    # 2^32, the minimum per permutation) without its Python call per shingle: identical values.
    a, b = signature.permutations
    permuted = _fmix32(hashed.astype(np.uint32))[:, np.newaxis] * a + b
    signature.hashvalues = np.minimum(permuted.min(axis=0), signature.hashvalues)
    return signature


def _fmix32(values: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finalizer, element-wise (multiplications wrap modulo 2^32), as datasketch applies it."""
    values = values ^ (values >> np.uint32(16))
    values = values * np.uint32(0x85EBCA6B)
    values = values ^ (values >> np.uint32(13))
    values = values * np.uint32(0xC2B2AE35)
    return values ^ (values >> np.uint32(16))


@lru_cache(maxsize=4)
def _permutations(num_perm: int):
    from datasketch import MinHash  # noqa: PLC0415

    return MinHash(num_perm=num_perm, seed=_SEED, scheme=SCHEME).permutations


def minhash_from_bytes(data: bytes, num_perm: int) -> MinHash:
    from datasketch import MinHash  # noqa: PLC0415

    # The shared permutations: without them datasketch draws them afresh for every signature read.
    return MinHash(num_perm=num_perm, seed=_SEED, scheme=SCHEME, hashvalues=np.frombuffer(data, dtype="<u4"),
                   permutations=_permutations(num_perm))


def minhash_to_bytes(signature: MinHash) -> bytes:
    return signature.hashvalues.astype("<u4").tobytes()


@lru_cache(maxsize=8)
def band_layout(threshold: float, num_perm: int) -> tuple[int, int]:
    """Returns (bands, rows per band) as datasketch's MinHashLSH chooses them for `threshold`."""
    from datasketch import MinHashLSH  # noqa: PLC0415

    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    return lsh.b, lsh.r


def band_keys(signature: MinHash, threshold: float) -> list[int]:
    """Returns one signed 63-bit key per LSH band; two texts sharing a key are candidates."""
    bands, rows = band_layout(threshold, len(signature.hashvalues))
    values = signature.hashvalues.astype("<u4")
    keys = []
    for band in range(bands):
        digest = hashlib.blake2b(band.to_bytes(2, "little") + values[band * rows:(band + 1) * rows].tobytes(),
                                 digest_size=8).digest()
        keys.append(int.from_bytes(digest, "little") >> 1)  # fits a signed BIGINT
    return keys


# --- The index: one signature and its band keys per article -------------------------------------

# Any fixed 64-bit number: the PostgreSQL advisory lock that serializes "look up, then index" of
# near-duplicates across concurrent writers (crawls, the portal). SQLite needs none: its IMMEDIATE
# transactions already admit one writer at a time.
_DEDUP_LOCK_KEY = 0x636F6E74656E74


def index_lock() -> None:
    """Takes the near-duplicate lock until the end of the current transaction (PostgreSQL)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_DEDUP_LOCK_KEY])


def signature_of(text: str, language: str) -> tuple[MinHash, list[int]]:
    """Returns the text's MinHash and its band keys, under the library's settings."""
    signature = minhash(text, language or "", settings.CRAWL_MINHASH_PERMUTATIONS)
    return signature, band_keys(signature, settings.CRAWL_NEAR_DUPLICATE_THRESHOLD)


def index_many(entries: list[tuple[int, str, MinHash, list[int], bool]]) -> None:
    """Writes (article id, content hash, MinHash, band keys, new?) into the near-duplicate index."""
    new = []
    for article_id, digest, signature, _, is_new in entries:
        values = {"content_hash": digest, "hashvalues": minhash_to_bytes(signature)}
        if is_new:  # a row created in this transaction has no index entries yet: skip the look-ups
            new.append(MinHashSignature(article_id=article_id, **values))
        else:
            MinHashSignature.objects.update_or_create(article_id=article_id, defaults=values)
            MinHashBand.objects.filter(article_id=article_id).delete()
    MinHashSignature.objects.bulk_create(new)
    bands = [(article_id, key) for article_id, _, _, keys, _ in entries for key in keys]
    if connection.vendor == "postgresql" and bands:
        # Two arrays in one statement: building ~20 ORM objects per article cost more than the insert.
        article_ids, keys = zip(*bands)
        with connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO {MinHashBand._meta.db_table} (article_id, \"key\") "
                           "SELECT * FROM unnest(%s::bigint[], %s::bigint[])", [list(article_ids), list(keys)])
    else:
        MinHashBand.objects.bulk_create(MinHashBand(article_id=article_id, key=key) for article_id, key in bands)


def band_members(keys: set[int]) -> list[tuple[int, int]]:
    """Returns (band key, article id) for every indexed article in one of the bands."""
    if connection.vendor == "postgresql":
        # One array parameter: a batch asks for ~1,000 keys, and building and binding an IN list of
        # that many placeholders cost more than the look-up itself.
        with connection.cursor() as cursor:
            cursor.execute(f'SELECT "key", article_id FROM {MinHashBand._meta.db_table} WHERE "key" = ANY(%s::bigint[])',
                           [list(keys)])
            return cursor.fetchall()
    return list(MinHashBand.objects.filter(key__in=keys).values_list("key", "article_id"))


def index_backfill(*, batch_size: int = 500) -> int:
    """Indexes every library article not yet in the near-duplicate index (or changed since); returns how many."""
    # The band layout comes from datasketch's optimisation (scipy, a fraction of a second, once per
    # process): work it out here, before a crawl starts, rather than in its first batch.
    band_layout(settings.CRAWL_NEAR_DUPLICATE_THRESHOLD, settings.CRAWL_MINHASH_PERMUTATIONS)
    done = 0
    while True:
        batch = list(articles_missing_minhash()[:batch_size])
        if not batch:
            return done
        with transaction.atomic():
            index_lock()
            index_many([(article.id, article.content_hash, *signature_of(article.text, article.language), False)
                        for article in batch])
        done += len(batch)


def near_duplicate_find(*, text: str, language: str, exclude_id: int | None = None) -> tuple[int, float] | None:
    """Returns (the original's id, similarity) of the indexed article closest to `text` above the
    threshold, or None: the check a portal submission goes through, as a crawled page does.

    A duplicate found points at its original (`duplicate_of`), never at another duplicate.
    """
    signature, keys = signature_of(text, language)
    candidates = {article_id for _, article_id in band_members(set(keys))} - {exclude_id}
    best = None
    rows = MinHashSignature.objects.filter(article_id__in=candidates).values_list(
        "article_id", "hashvalues", "article__duplicate_of_id").order_by("article_id")
    for article_id, data, duplicate_of_id in rows:
        similarity = signature.jaccard(minhash_from_bytes(bytes(data), settings.CRAWL_MINHASH_PERMUTATIONS))
        if similarity >= settings.CRAWL_NEAR_DUPLICATE_THRESHOLD and (best is None or similarity > best[1]):
            best = (duplicate_of_id or article_id, similarity)
    return best


# --- Which of two near-duplicates is the original --------------------------------------------------

# Query parameters and path parts that mark a print version of a page: an alias, never the original.
_PRINT_PARAMS = frozenset({"print", "printable", "printer", "printview", "print_view"})
_PRINT_VALUES = frozenset({"print", "printable", "printer"})
_PRINT_PATH = re.compile(r"(^|/)print(able)?(/|$)|[-_.]print(able)?\.[a-z]+$|/print[-_]", re.I)


def is_alias_url(url: str) -> bool:
    """True for a print version of a page (`?print=1`, `/print/...`, `a-print.html`, `?view=print`).

    Tracking parameters (utm_* and the like) need no test here: canonical URLs never carry them.
    """
    parts = urlsplit(url or "")
    query = parse_qsl(parts.query, keep_blank_values=True)
    return (any(key.lower() in _PRINT_PARAMS for key, _ in query)
            or any(value.lower() in _PRINT_VALUES for _, value in query)
            or bool(_PRINT_PATH.search(parts.path)))


@dataclass(frozen=True)
class Claim:
    """What a near-duplicate has to show for being the original."""
    published_at: dt.datetime | None
    in_sitemap: bool = False
    alias: bool = False


def original_preference(candidate: Claim, incumbent: Claim) -> str | None:
    """Returns why `candidate` rather than `incumbent` (seen first) is the original, or None when the
    incumbent stays: a page before its print alias; then the earlier publication date, when both are
    known (no date proves nothing); then the page the site's sitemap lists; then the first seen.
    """
    if candidate.alias != incumbent.alias:
        return "the other is a print version" if incumbent.alias else None
    if candidate.published_at and incumbent.published_at and candidate.published_at != incumbent.published_at:
        return "published earlier" if candidate.published_at < incumbent.published_at else None
    if candidate.in_sitemap != incumbent.in_sitemap:
        return "listed in the site's sitemap" if candidate.in_sitemap else None
    return None


def enterprise_owned(*, owner_id: int | None, origin: str) -> bool:
    """True for an article an enterprise owns or submitted: no crawl ever makes it a duplicate."""
    return owner_id is not None or origin == Article.Origin.SUBMITTED

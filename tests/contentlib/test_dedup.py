"""Near-duplicates by MinHash: the corpus's labelled pairs are found, same-template pairs are not."""
import itertools
from collections import defaultdict

from datasketch import MinHash
from django.conf import settings

from contentlib import corpus
from contentlib import dedup


def _signatures():
    items = corpus.articles() + corpus.near_duplicates()
    return items, {a.id: dedup.minhash(a.title + "\n" + a.body, a.lang, 128) for a in items}


def test_labelled_near_duplicates_found_and_template_pairs_not():
    items, sig = _signatures()
    threshold = settings.CRAWL_NEAR_DUPLICATE_THRESHOLD
    labelled = {frozenset((a.id, a.duplicate_of)) for a in corpus.near_duplicates()}
    groups = defaultdict(list)
    for a in corpus.articles():
        if a.template_group:
            groups[a.template_group].append(a.id)
    templates = {frozenset(ids) for ids in groups.values()}
    assert labelled and templates
    flagged = set()
    for a, b in itertools.combinations(sig, 2):
        keys_a = set(dedup.band_keys(sig[a], threshold))
        if keys_a & set(dedup.band_keys(sig[b], threshold)) and sig[a].jaccard(sig[b]) >= threshold:
            flagged.add(frozenset((a, b)))
    # Duplicates of the same original are near-duplicates of each other too, but the corpus has one each.
    assert flagged == labelled
    assert not flagged & templates


def test_chinese_uses_character_shingles_and_english_word_shingles():
    assert b"\xe6\x99\xba\xe8\x83\xbd\xe5\x88\xb6\xe9\x80\xa0\xe4\xb8\x9a" in dedup.shingles("智能制造业", "zh")
    assert b"the lockers cut" in dedup.shingles("The lockers cut costs", "en")


def test_signature_survives_the_database_round_trip():
    _, sig = _signatures()
    original = sig["en-ai-01"]
    restored = dedup.minhash_from_bytes(dedup.minhash_to_bytes(original), 128)
    assert restored.jaccard(original) == 1.0


def test_signatures_equal_datasketchs_own_so_stored_ones_stay_comparable():
    """`minhash` hashes and permutes without datasketch's per-shingle calls; the values must not change."""
    for article in corpus.articles()[:12] + corpus.near_duplicates()[:4]:
        text = article.title + "\n" + article.body
        reference = MinHash(num_perm=128, seed=1, scheme=dedup.SCHEME)  # SHA-1, first 4 bytes: datasketch's default
        reference.update_batch(sorted(dedup.shingles(text, article.lang)))
        assert dedup.minhash(text, article.lang, 128).hashvalues.tolist() == reference.hashvalues.tolist(), article.id


def test_print_versions_are_aliases_and_pages_are_not():
    for url in ("https://s.example/a.html?print=1", "https://s.example/print/a.html", "https://s.example/a-print.html",
                "https://s.example/a.html?view=print"):
        assert dedup.is_alias_url(url), url
    for url in ("https://s.example/a.html", "https://s.example/blueprint/a.html", "https://s.example/printers.html"):
        assert not dedup.is_alias_url(url), url


def test_original_preference_date_then_sitemap_then_first_seen():
    import datetime as dt

    early, late = dt.datetime(2025, 1, 1, tzinfo=dt.UTC), dt.datetime(2025, 2, 1, tzinfo=dt.UTC)
    claim = dedup.Claim
    assert dedup.original_preference(claim(early), claim(late)) == "published earlier"
    assert dedup.original_preference(claim(late, in_sitemap=True), claim(early)) is None  # the date comes first
    assert dedup.original_preference(claim(None, in_sitemap=True), claim(early)) == "listed in the site's sitemap"
    assert dedup.original_preference(claim(None), claim(None)) is None  # first seen stays
    assert dedup.original_preference(claim(late), claim(early, alias=True)) == "the other is a print version"


def test_the_portal_check_finds_the_original_of_a_submission(article_factory):
    from contentlib.models import Article

    original = next(a for a in corpus.articles() if a.id == "zh-ai-01")
    copy = next(a for a in corpus.near_duplicates() if a.duplicate_of == "zh-ai-01")
    stored = article_factory(title=original.title, text="\n".join(original.paragraphs), language="zh")
    assert dedup.index_backfill() == 1
    found = dedup.near_duplicate_find(text="\n".join(copy.paragraphs), language="zh")
    assert found is not None and found[0] == stored.id and found[1] >= settings.CRAWL_NEAR_DUPLICATE_THRESHOLD
    assert dedup.near_duplicate_find(text="\n".join(corpus.articles()[-1].paragraphs), language="") is None
    assert Article.objects.count() == 1

"""The demo corpus keeps the promises later work relies on."""
import subprocess
import sys
from collections import Counter

from django.conf import settings

from contentlib import corpus


def test_corpus_validates():
    result = subprocess.run([sys.executable, "fixtures/corpus/validate.py"], cwd=settings.BASE_DIR,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_corpus_sizes():
    articles = corpus.articles()
    langs = Counter(a.lang for a in articles)
    assert len(articles) >= 60 and langs["zh"] >= 40 and langs["en"] >= 15
    assert len({a.category for a in articles}) >= 6
    assert sum(a.kind == "promotional" for a in articles) >= 6
    groups = Counter(a.template_group for a in articles if a.template_group)
    assert sum(count // 2 for count in groups.values()) >= 10
    assert len(corpus.near_duplicates()) >= 10

    queries = corpus.queries()
    types = Counter(q.type for q in queries)
    assert len(queries) >= 60 and types["paraphrase"] >= 15 and types["unanswerable"] >= 10
    assert {q.lang for q in queries} >= {"zh", "en"}


def test_editor_keywords_appear_in_their_articles():
    for article in corpus.articles():
        text = (article.title + "\n" + article.body).lower()
        missing = [k for k in article.keywords if k.lower() not in text]
        assert not missing, f"{article.id}: keywords {missing} do not appear in the text"

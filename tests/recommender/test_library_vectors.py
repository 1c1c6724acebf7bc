"""The library-fitted vector model (LSA) and the composite embedding that is the default."""
import numpy as np
import pytest

from contentlib import corpus
from contentlib.models import Article
from recommender import embeddings, library_vectors, services
from recommender.tasks import refit_statistics
from recommender.text import tokenize


@pytest.fixture(scope="module")
def zh_library():
    """The fixture corpus's Chinese articles: (id → passage, id → tokens)."""
    articles = [a for a in corpus.articles() if a.lang == "zh"]
    passages = {a.id: embeddings.article_passage(title=a.title, summary="", text="\n".join(a.paragraphs))
                for a in articles}
    tokens = {a.id: tokenize(f"{a.title}\n" + "\n".join(a.paragraphs)) for a in articles}
    return passages, tokens


def make_enriched(title: str, text: str) -> Article:
    article = Article.objects.create(content_hash=title.encode().hex()[:64].ljust(64, "0"), title=title, text=text,
                                     origin=Article.Origin.CRAWLED)
    assert services.article_enrich(article_id=article.id) == "done"
    article.refresh_from_db()
    return article


def test_fit_saves_and_reloads_the_same_model(zh_library):
    _, tokens = zh_library
    model = library_vectors.refit(list(tokens.values()), force=True)
    assert model is not None and model.documents == len(tokens)
    reloaded = library_vectors.saved()
    assert reloaded is not None and reloaded.fingerprint == model.fingerprint
    sample = [tokens["zh-fin-01"], tokenize("应收账款保理融资")]
    np.testing.assert_allclose(reloaded.transform(sample), model.transform(sample), atol=1e-6)
    assert reloaded.transform(sample).shape == (2, library_vectors.DIM)


@pytest.mark.parametrize(("query", "answer", "unrelated"), [
    ("县城老百姓看病怎样不用往外跑", "zh-med-03", "zh-fin-01"),  # county medical alliances vs factoring
    ("人工智能帮医生读胸部CT片子", "zh-med-05", "zh-exh-01"),  # AI reading chest CT vs the Canton Fair
])
def test_chinese_paraphrase_is_closer_to_its_article_under_composite_not_bundled(settings, zh_library, query,
                                                                                 answer, unrelated):
    """The bundled English-only model ranks the unrelated article higher; the library fit fixes it."""
    passages, tokens = zh_library
    fit = library_vectors.fit(list(tokens.values()))
    texts = [query, passages[answer], passages[unrelated]]

    settings.EMBEDDING_MODEL = "bundled"
    q, right, wrong = embeddings.encoder().encode(texts)
    assert q @ right < q @ wrong

    settings.EMBEDDING_MODEL = "composite"
    q, right, wrong = embeddings.encoder(library=fit).encode(texts)
    assert q @ right > q @ wrong


def test_a_real_refit_changes_the_model_name_and_growth_decides_when(settings, zh_library):
    settings.EMBEDDING_MODEL = "composite"
    _, tokens = zh_library
    lists = list(tokens.values())
    first = library_vectors.refit(lists[:20])
    name = embeddings.model_name()
    assert name == f"composite:all-MiniLM-L6-v2+{first.name}"
    assert library_vectors.refit(lists[:21]).fingerprint == first.fingerprint, "5% growth: no refit"
    second = library_vectors.refit(lists)
    assert second.fingerprint != first.fingerprint and embeddings.model_name() != name
    assert library_vectors.refit(lists, force=True).fingerprint == second.fingerprint, "same library, same fit"


@pytest.mark.django_db
def test_enrichment_stores_the_composite_vector_and_the_refit_queues_reembedding(settings, zh_library, categories_loaded):
    settings.EMBEDDING_MODEL = "composite"
    passages, _ = zh_library
    articles = [make_enriched(title=p.split("\n")[0], text=p) for p in list(passages.values())[:6]]
    assert {a.embedding_model for a in articles} == {"composite:all-MiniLM-L6-v2+lsa-unfitted"}

    report = refit_statistics()  # eager: the re-embedding backfill runs inline
    assert report["embedding_model_changed"] and report["library_documents"] == 6
    for article in Article.objects.filter(id__in=[a.id for a in articles]):
        assert article.embedding_model == report["embedding_model"] == embeddings.model_name()
        assert article.embedding_model.startswith("composite:all-MiniLM-L6-v2+lsa-")
        vector = embeddings.from_bytes(article.embedding)
        assert article.embedding_dim == vector.shape[0] == 384 + library_vectors.DIM
        assert abs(float(np.linalg.norm(vector)) - 1.0) < 1e-3
        assert np.linalg.norm(vector[384:]) > 0.1, "the library half is filled once fitted"
    assert not services.enrichment_selection(mode="model").exists()
    assert not refit_statistics()["embedding_model_changed"], "an unchanged library keeps its fit"


@pytest.mark.django_db
def test_empty_library_falls_back_to_the_sentence_model_and_says_so(settings):
    settings.EMBEDDING_MODEL = "composite"
    report = services.statistics_refit()
    assert report["library_vectors"] == "lsa-unfitted" and report["library_documents"] == 0
    composite = embeddings.encoder()
    assert composite.name == embeddings.model_name() == "composite:all-MiniLM-L6-v2+lsa-unfitted"
    text = "keeping vaccines cold in transit"
    vector = composite.encode([text])[0]
    settings.EMBEDDING_MODEL = "bundled"
    np.testing.assert_allclose(vector[:384], embeddings.encoder().encode([text])[0], atol=1e-5)
    assert not vector[384:].any()


def test_library_only_model_needs_no_sentence_model_once_fitted(settings, zh_library):
    _, tokens = zh_library
    library_vectors.refit(list(tokens.values()), force=True)
    settings.EMBEDDING_MODEL = "library"
    model = embeddings.encoder()
    assert model.name == embeddings.model_name() and model.name.startswith("library:lsa-")
    assert model.sentence is None and model.encode(["应收账款融资"]).shape == (1, library_vectors.DIM)

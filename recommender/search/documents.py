"""Articles as index documents: what each backend stores for an article, and its fingerprint."""
import hashlib

from contentlib.models import Article
from recommender.embeddings import from_bytes
from recommender.search import centering
from recommender.search.base import IndexDocument


def article_document(article: Article) -> IndexDocument:
    """The document for an article (select_related("category") avoids a query per article).

    Its vector is centered by its language's mean when the committed means are its model's
    (recommender.search.centering), and the document then names the centered space as its model."""
    vector = from_bytes(article.embedding) if article.embedding else None
    vector_model = article.embedding_model or ""
    means = centering.for_model(vector_model)
    if vector is not None and len(vector) and means is not None:
        vector, vector_model = means.document_vector(vector, article.language or "")
    return IndexDocument(
        id=article.id,
        tokens=article.tokens or "",
        title=article.title,
        language=article.language or "",
        category=article.category.slug if article.category_id else "",
        owner_id=article.owner_id,
        origin=article.origin,
        status=article.status,
        published=article.is_published,
        vector=vector if vector is not None and len(vector) else None,
        vector_model=vector_model,
    )


def document_fingerprint(doc: IndexDocument) -> str:
    """A hash of everything the index holds for the document: equal fingerprints need no write."""
    digest = hashlib.sha256()
    for part in (doc.tokens, doc.title, doc.language, doc.category, str(doc.owner_id), doc.origin, doc.status,
                 str(doc.published)):
        digest.update(part.encode("utf-8"))
        digest.update(b"\x1f")
    if doc.vector is not None:
        digest.update(doc.vector.astype("<f4").tobytes())
    return digest.hexdigest()

"""Text processing, enrichment, search backends, retrieval and related questions."""

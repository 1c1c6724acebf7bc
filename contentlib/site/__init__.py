"""The public site: reader pages. The Q&A pages grow here."""

"""Logging filters."""
import logging


class ForbiddenInOneLine(logging.Filter):
    """Drops the traceback from Django's "Forbidden" warning: a 403 is the expected answer to a
    request without permission, logged as one line (method, path and status), not as an error."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", None) == 403:
            record.exc_info = None
            record.exc_text = None
            record.stack_info = None
        return True

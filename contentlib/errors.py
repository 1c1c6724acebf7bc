class ApplicationError(Exception):
    """An expected failure with a message fit to show the person who caused it.

    `extra` carries structured detail (such as the field at fault) for forms and JSON responses.
    """

    def __init__(self, message: str, extra: dict | None = None):
        super().__init__(message)
        self.message = message
        self.extra = extra or {}

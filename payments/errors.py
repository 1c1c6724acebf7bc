from contentlib.errors import ApplicationError


class NoticeRefused(ApplicationError):
    """A gateway notice we will not act on; `outcome` is the PaymentNotice.Outcome to record."""

    def __init__(self, outcome: str, message: str, *, order=None, event_id: str = "", event_type: str = ""):
        super().__init__(message)
        self.outcome = outcome
        self.order = order
        self.event_id = event_id
        self.event_type = event_type

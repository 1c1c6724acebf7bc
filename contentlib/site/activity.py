"""The site's hook into the reader activity log: only traffic a person made is logged.

`traffic_is_valid` is the one decision, and it is billing's: ads.traffic.request_reason, so the log
and the invoices agree on who is a person (bots by crawlerdetect, prefetches, staff, enterprise
users, user agents ua-parser cannot place).
"""
from ads import traffic  # the site may import every package; recommender never imports ads
from contentlib import readers
from recommender.activity import activity_record


def traffic_is_valid(request) -> bool:
    """True when the request may be a person reading, by the same rules that decide what is billed."""
    reason, _agent = traffic.request_reason(request)
    return reason == ""


def activity_log(request, *, kind: str, placement: str, query: str = "", article_id: int | None = None,
                 question_id: int | None = None) -> bool:
    """Queues one log row for this reader when the traffic is valid; returns whether it did."""
    if not traffic_is_valid(request):
        return False
    activity_record(kind=kind, reader_key=readers.reader_key(request), placement=placement, query=query,
                    article_id=article_id, question_id=question_id)
    return True

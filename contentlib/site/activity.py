"""The site's hook into the reader activity log: only traffic a person made is logged.

`traffic_is_valid` is the one decision. Until ads/traffic.py (the Tracking issue's invalid-traffic
check) is merged it decides here, with `crawlerdetect` for bots by user agent and staff excluded;
after the merge it should call that module instead, so the log and billing agree on who is a person.
"""
from crawlerdetect import CrawlerDetect

from contentlib import readers
from recommender.activity import activity_record

_crawlers = CrawlerDetect()  # compiles its patterns once; is_crawler keeps an LRU cache of agents


def traffic_is_valid(request) -> bool:
    """True when the request may be a person reading: a browser's user agent that is no known bot,
    not a prefetch, and not staff (editors and admins looking at the site)."""
    agent = request.META.get("HTTP_USER_AGENT", "").strip()
    if not agent or _crawlers.is_crawler(agent[:1024]):
        return False
    purpose = (request.META.get("HTTP_SEC_PURPOSE") or request.META.get("HTTP_PURPOSE") or "").lower()
    if "prefetch" in purpose or "prerender" in purpose:
        return False
    user = getattr(request, "user", None)
    return not (user is not None and user.is_authenticated and user.is_staff)


def activity_log(request, *, kind: str, placement: str, query: str = "", article_id: int | None = None,
                 question_id: int | None = None) -> bool:
    """Queues one log row for this reader when the traffic is valid; returns whether it did."""
    if not traffic_is_valid(request):
        return False
    activity_record(kind=kind, reader_key=readers.reader_key(request), placement=placement, query=query,
                    article_id=article_id, question_id=question_id)
    return True

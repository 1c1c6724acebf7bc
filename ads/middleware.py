"""The click redirect's short way through the middleware (issue #15: every click is a request).

`/c/<token>` answers with a redirect and no body, and it needs of the middleware only the security
headers (SecurityMiddleware: the Referrer-Policy the landing page sees, nosniff, HSTS), the session
and the user (the staff check). So ClickRedirectMiddleware, placed right after SessionMiddleware and
AuthenticationMiddleware, calls the click view itself: the middleware after it (CSP, locale, common,
CSRF, messages, clickjacking, axes) have nothing to give a redirect. Those are a tenth of a
millisecond of a worker's CPU per click (docs/BENCHMARKS.md, "Click redirect"). Every other path,
/v/ beacons included, goes the whole way.

If the click view fails (the database down), the error page Django renders is in the reader's
language: the locale middleware has not run, so the language is chosen here before the exception
goes on to Django's handler.
"""
from django.urls import Resolver404, resolve
from django.utils import translation


class ClickRedirectMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info.startswith("/c/"):
            try:
                match = resolve(request.path_info)
            except Resolver404:
                match = None
            if match is not None and match.view_name == "ads:click":
                request.resolver_match = match
                try:
                    return match.func(request, *match.args, **match.kwargs)
                except Exception:
                    translation.activate(translation.get_language_from_request(request))
                    raise
        return self.get_response(request)

"""The site's URLs plus a hello-world Django view, for bench/qa_page.py: the same middleware stack
serves both, so the comparison measures the question page's own work."""
from django.http import HttpResponse
from django.urls import path

from contentlib.config.urls import urlpatterns as site_urlpatterns


def hello(request):
    return HttpResponse("Hello, world", content_type="text/plain")


urlpatterns = [path("bench/hello", hello), *site_urlpatterns]

"""The production WSGI application with bench/qa_page_urls.py as its URLconf (bench/qa_page.py)."""
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "contentlib.config.settings")

from django.conf import settings  # noqa: E402

settings.ROOT_URLCONF = "bench.qa_page_urls"

from django.core.wsgi import get_wsgi_application  # noqa: E402

application = get_wsgi_application()

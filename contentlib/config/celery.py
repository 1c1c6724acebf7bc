"""The Celery application. Tasks are found in each app's tasks.py."""
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "contentlib.config.settings")

app = Celery("contentlib")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Task modules inside app packages that are not apps themselves (the `index` queue's tasks).
app.autodiscover_tasks(["recommender.search"])


@app.on_after_finalize.connect
def _import_task_modules(sender, **kwargs):
    # Tasks are queued by name (the library core never imports them); loading every app's tasks
    # module when the app is finalized makes those names resolve, so eager mode runs them inline.
    sender.loader.import_default_modules()

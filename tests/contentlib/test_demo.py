"""`manage.py demo` on embedded defaults, without the server."""
import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command

from contentlib import corpus
from contentlib.models import Article


@pytest.mark.django_db(transaction=True)
def test_demo_builds_the_library_and_can_run_again(monkeypatch, capsys):
    monkeypatch.setenv("DEMO_SERVE", "0")
    call_command("demo")
    out = capsys.readouterr().out
    total = len(corpus.articles())
    assert Article.objects.count() == total
    assert Article.objects.filter(status="pending").exists()
    assert Article.objects.filter(status="approved").count() >= total // 2
    password = out.split("password")[1].split()[0]
    assert authenticate(username="demo-editor", password=password) is not None
    assert "for local use only" in out

    call_command("demo")
    assert Article.objects.count() == total
    assert "'unchanged': %d" % total in capsys.readouterr().out

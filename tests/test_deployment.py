"""What can be checked of the production set-up without a Docker engine: docker-compose.yml and the
Dockerfile run gunicorn and pair Elasticsearch with the client's major; gunicorn itself serves the
site and its static files under the documented production settings."""
import http.client
import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import elasticsearch
import pytest
import yaml
from django.conf import settings
from packaging.requirements import Requirement

from crawlers.runner import crawl_command_env
from tests.contentlib.test_security import documented_production_settings

ROOT = Path(settings.BASE_DIR)


def test_docker_compose_serves_with_gunicorn():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    web = compose["services"]["web"]["command"]
    assert "gunicorn contentlib.config.wsgi:application" in web and "runserver" not in web
    environment = compose["x-app"]["environment"]
    assert environment["CACHE_URL"].startswith("redis://") and "SECRET_KEY" in environment
    assert "REQUIRE_SECRET_KEY" not in environment and "LOCAL_SECRET_KEY" not in environment
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "collectstatic" in dockerfile and '"gunicorn"' in dockerfile


def test_elasticsearch_server_major_matches_the_pinned_client():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    server_major = int(compose["services"]["elasticsearch"]["image"].rsplit(":", 1)[1].split(".")[0])
    client_major = int(elasticsearch.__versionstr__.split(".")[0])
    assert server_major == client_major
    pyproject = (ROOT / "pyproject.toml").read_text()
    [pin] = [Requirement(line.strip().strip('",')) for line in pyproject.splitlines()
             if re.match(r'\s*"elasticsearch[<>=]', line)]
    assert pin.specifier.contains(f"{server_major}.0.0") and pin.specifier.contains(f"{server_major}.9.9")
    assert not pin.specifier.contains(f"{server_major + 1}.0.0") and not pin.specifier.contains(f"{server_major - 1}.9.9")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(port: int, path: str, **headers) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", path, headers={"Host": "127.0.0.1", **headers})
    response = connection.getresponse()
    response.body = response.read()
    connection.close()
    return response


@pytest.fixture
def gunicorn_in_production(db, tmp_path):
    """gunicorn on a free port with the README's production settings, static files collected first."""
    test_database = crawl_command_env()["DATABASE_URL"]
    environment = {
        **{k: v for k, v in os.environ.items() if k not in ("LOCAL_SECRET_KEY", "CELERY_BROKER_URL")},
        **documented_production_settings(),
        "DATABASE_URL": test_database, "DATA_DIR": str(tmp_path / "data"), "ALLOWED_HOSTS": "127.0.0.1",
        "CACHE_URL": "locmem://", "STATIC_ROOT": str(tmp_path / "static"),
    }
    environment.pop("CELERY_BROKER_URL", None)  # tasks inline: nothing here queues any
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=environment,
                   check=True, timeout=300)
    port = _free_port()
    log = tmp_path / "gunicorn.log"
    with open(log, "wb") as output:
        server = subprocess.Popen(
            [str(Path(sys.executable).with_name("gunicorn")), "contentlib.config.wsgi:application",
             "--bind", f"127.0.0.1:{port}", "--workers", "1", "--timeout", "60"],
            cwd=ROOT, env=environment, stdout=output, stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if _get(port, "/healthz").status == 200:
                    break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"gunicorn did not answer /healthz: {log.read_text()[-3000:]}")
            time.sleep(0.2)
        yield port, tmp_path / "static"
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_gunicorn_serves_the_site_and_its_static_files_in_production(gunicorn_in_production):
    port, static_root = gunicorn_in_production
    https = {"X-Forwarded-Proto": "https"}  # what the TLS proxy in front says

    plain = _get(port, "/")
    assert plain.status == 301 and plain.getheader("Location") == "https://127.0.0.1/"
    assert _get(port, "/healthz").status == 200  # health checks may come over plain HTTP

    page = _get(port, "/", **https)
    assert page.status == 200
    assert page.getheader("Strict-Transport-Security") == "max-age=31536000; includeSubDomains; preload"
    assert "unsafe-inline" not in page.getheader("Content-Security-Policy")
    assert page.getheader("X-Frame-Options") == "DENY" and page.getheader("X-Content-Type-Options") == "nosniff"
    assert "Secure" in page.getheader("Set-Cookie", "")  # the CSRF cookie of the language form

    manifest = json.loads((static_root / "staticfiles.json").read_text())["paths"]
    stylesheet = manifest["site/site.css"]
    assert f'href="/static/{stylesheet}"' in page.body.decode()
    for name in ("admin/css/base.css", "admin/js/core.js", "site/site.css"):
        response = _get(port, f"/static/{manifest[name]}", **https, **{"Accept-Encoding": "gzip"})
        assert response.status == 200, name
        assert "immutable" in response.getheader("Cache-Control"), name
        assert response.getheader("Content-Encoding") == "gzip", name

"""/api/v1/recommendations, the organic part: every response matches the OpenAPI description (which
is itself valid), articles are quoted only as far as an anonymous reader may read them (the full-text
rule), enterprise articles are labelled with their company, questions come from published ones only,
the host's answer is embedded once per text, and bad parameters get a message that says what to send."""
from pathlib import Path

import pytest
import yaml
from django.core.cache import cache
from django.urls import reverse
from openapi_core import OpenAPI
from openapi_core.contrib.django import DjangoOpenAPIRequest, DjangoOpenAPIResponse
from openapi_spec_validator import validate

from contentlib import services
from contentlib.site.api import OPENAPI_FILE
from recommender.answers.services import answer_for_reader
from tests.site.test_library_pages import P1, P2, P3, library  # noqa: F401 - fixture

URL = "/api/v1/recommendations"


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(scope="module")
def openapi():
    spec = yaml.safe_load(Path(OPENAPI_FILE).read_text())
    validate(spec)  # the description itself is valid OpenAPI
    return OpenAPI.from_dict(spec)


def checked(openapi, response):
    """The response, after validating it (and its request) against the OpenAPI description."""
    request = DjangoOpenAPIRequest(response.wsgi_request)
    openapi.validate_response(request, DjangoOpenAPIResponse(response))
    return response


@pytest.mark.django_db(transaction=True)
def test_recommendations_match_the_description_and_quote_only_what_readers_may_see(library, client, openapi):
    question = services.question_get_or_create(text="仓储机器人多久能回本？", language="zh")
    answer_for_reader(question_id=question.id)
    hidden = services.question_get_or_create(text="仓储机器人大约几年回本", language="zh")
    answer_for_reader(question_id=hidden.id)
    services.question_set_status(question_id=hidden.id, status="hidden")

    response = checked(openapi, client.get(URL, {"q": "仓储机器人回本周期", "answer": "大约两年半可以回本。"}))

    body = response.json()
    assert response["Content-Type"] == "application/json" and response["X-Content-Type-Options"] == "nosniff"
    by_id = {a["id"]: a for a in body["articles"]}
    robots, owned = by_id[library["robots"].id], by_id[library["owned"].id]
    assert robots["full_text"] is False and P2 not in robots["snippet"] and P3 not in robots["snippet"]
    assert robots["url"] == "http://testserver" + reverse("site:article_detail", args=[library["robots"].id])
    assert owned["label"] == "enterprise" and owned["company"] == "锐臂智能装备" and robots["label"] is None
    assert [q["text"] for q in body["questions"]] == ["仓储机器人多久能回本？"]  # published ones only
    assert body["questions"][0]["url"].endswith(reverse("site:question_detail", args=[question.slug]))


@pytest.mark.django_db(transaction=True)
def test_the_hosts_answer_is_embedded_once_per_text(library, client, monkeypatch):
    import recommender.embeddings as embeddings

    calls = []
    real = embeddings.encode_query
    monkeypatch.setattr(embeddings, "encode_query", lambda text, **kw: calls.append(text) or real(text, **kw))
    for question in ("仓储机器人回本周期", "仓储机器人多久回本", "仓储机器人回本周期"):
        assert client.get(URL, {"q": question, "answer": "大约两年半可以回本。"}).status_code == 200
    assert calls.count("大约两年半可以回本。") == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.django_db
def test_bad_parameters_are_refused_with_a_message_in_the_readers_language(client, openapi, settings):
    missing = checked(openapi, client.get(URL))
    assert missing.status_code == 400 and missing.json()["field"] == "q" and "缺少 q 参数" in missing.json()["error"]
    long = checked(openapi, client.get(URL, {"q": "仓" * 501}, HTTP_ACCEPT_LANGUAGE="en")).json()
    assert long["error"].startswith("The q parameter is 501 characters long; at most 500")
    answer = checked(openapi, client.get(URL, {"q": "冷链", "answer": "温" * 4001})).json()
    assert answer["field"] == "answer" and "4001" in answer["error"]

    settings.API_RATE_LIMIT_PER_MINUTE = 1
    first = client.get(URL, {"q": "冷链"}, REMOTE_ADDR="203.0.113.20")
    assert first.status_code == 200
    refused = checked(openapi, client.get(URL, {"q": "冷链"}, REMOTE_ADDR="203.0.113.20"))
    assert refused.status_code == 429 and int(refused["Retry-After"]) >= 1 and "1" in refused.json()["error"]


@pytest.mark.django_db(transaction=True)
def test_markup_in_the_parameters_comes_back_as_json_text(library, client, openapi):
    hostile = '仓储机器人回本</script><img src=x onerror=alert(1)>'
    response = checked(openapi, client.get(URL, {"q": hostile, "answer": "<script>alert(2)</script>"}))
    assert response.json()["query"] == hostile  # data, not markup: JSON with nosniff, never HTML
    assert response["Content-Type"] == "application/json" and response["X-Content-Type-Options"] == "nosniff"


def test_the_description_is_served(client):
    response = client.get(reverse("site:api_openapi"))
    assert response.status_code == 200 and yaml.safe_load(response.content)["openapi"].startswith("3.")


def _parameter_schema(name: str) -> dict:
    spec = yaml.safe_load(Path(OPENAPI_FILE).read_text())
    return next(p["schema"] for p in spec["paths"][URL]["get"]["parameters"] if p["name"] == name)


@pytest.mark.django_db
def test_the_length_limits_count_the_parameters_as_sent_spaces_included(client, openapi):
    """Found by schemathesis: q of 500 characters then a run of spaces broke the description's maxLength
    and was answered 200, because the limit was checked after collapsing the spaces."""
    padded = checked(openapi, client.get(URL, {"q": "冷" * 500 + " " * 20}))
    assert padded.status_code == 400 and padded.json()["field"] == "q" and "520" in padded.json()["error"]
    answer = checked(openapi, client.get(URL, {"q": "冷链", "answer": "温" * 4000 + "\n" * 5}))
    assert answer.status_code == 400 and answer.json()["field"] == "answer"


@pytest.mark.parametrize("q", ["\x1c", " \u3000\t", "冷链\x00"])
def test_the_description_calls_invalid_what_the_api_refuses(q):
    """Found by schemathesis: a q of only (Python's) whitespace, or with a NUL, is refused 400, so the
    description must not call it valid."""
    import jsonschema  # noqa: PLC0415

    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(q, _parameter_schema("q"))


@pytest.mark.django_db
@pytest.mark.parametrize("q", ["\x1c", " \u3000\t"])
def test_a_question_of_only_spaces_is_refused(client, openapi, q):
    response = checked(openapi, client.get(URL, {"q": q}))
    assert response.status_code == 400 and response.json()["field"] == "q"


def test_the_description_still_calls_a_question_with_spaces_valid():
    import jsonschema  # noqa: PLC0415

    jsonschema.validate("  仓储机器人\u3000回本 ", _parameter_schema("q"))
    jsonschema.validate("两年半。\n", _parameter_schema("answer"))


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "QUERY"])
def test_a_method_the_description_does_not_list_is_405(method):
    """Found by schemathesis: CSRF refused unsafe methods with a 403 HTML page before the view said 405."""
    from django.test import Client  # noqa: PLC0415

    response = Client(enforce_csrf_checks=True).generic(method, URL + "?q=冷链")
    assert response.status_code == 405 and "GET" in response["Allow"]

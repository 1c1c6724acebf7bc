"""A NUL character (%00) in a URL's path or query string: a 400 that says so in the reader's language,
where every view that looked the value up in PostgreSQL raised a 500 (found by test_hostile_requests.py)."""
import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("url", ["/q/%00", "/ask/a%00b/status", "/vip/orders/%00/", "/portal/topup/%00/",
                                 "/articles/?lang=%00", "/articles/?category=zh%00", "/search/?q=%00"])
def test_a_page_with_a_nul_in_its_address_is_a_400_in_chinese(client, url):
    response = client.get(url, headers={"accept-language": "zh-hans"})
    assert response.status_code == 400
    assert "网址中含有空字符" in response.content.decode()


def test_the_api_refuses_a_nul_with_a_json_error_in_english_on_request(client):
    response = client.get("/api/v1/recommendations", {"q": "仓储", "placement": "a\x00b"},
                          headers={"accept-language": "en"})
    assert response.status_code == 400 and "NUL character" in response.json()["error"]


def test_an_address_without_a_nul_is_answered_as_before(client):
    assert client.get("/articles/?lang=zh").status_code == 200

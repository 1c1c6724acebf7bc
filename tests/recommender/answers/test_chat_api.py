"""The OpenAI-compatible provider against a local server that speaks the protocol: streaming, retries
of 429 and 5xx, timeouts, malformed replies, invented citations and the extractive fallback."""
import time

import pytest

from recommender.answers import extractive, grounding
from recommender.answers.base import Reference
from recommender.answers.chat_api import ChatAPIProvider

from .llm_server import ChatServer, Reply

QUESTION = "仓储机器人多久能回本"
REFERENCES = [
    Reference(id=11, title="仓储机器人投资回报", language="zh", score=0.9,
              text="某电商仓库引入四十台搬运机器人后，拣货效率提升了一倍。按人工节省测算，这批机器人约两年半即可回本。"),
    Reference(id=22, title="冷链运输的温控", language="zh", score=0.5,
              text="生物药冷链运输需要全程温控。冷藏车的温度数据实时上传到监控平台。"),
]


@pytest.fixture
def server():
    chat = ChatServer()
    yield chat
    chat.close()


def provider(server, **overrides) -> ChatAPIProvider:
    options = {"base_url": server.url, "api_key": "sk-test-key", "model": "test-model", "timeout": 5.0,
               "max_retries": 2}
    options.update(overrides)
    return ChatAPIProvider(**options)


def ask(chat_provider, **kwargs):
    return chat_provider.answer(QUESTION, REFERENCES, language="zh", nothing_fits=False, **kwargs)


def test_streamed_answer_is_assembled_in_order_and_keeps_its_citations(server):
    server.replies.append(Reply(pieces=["这批机器人", "约两年半即可回本", "[1]。"]))
    deltas = []

    draft = ask(provider(server), on_delta=deltas.append)

    assert deltas == ["这批机器人", "约两年半即可回本", "[1]。"]
    assert draft.text == "这批机器人约两年半即可回本[1]。"
    assert draft.cited == [11] and draft.notice == "" and draft.provider == "openai"
    request = server.requests[0]
    assert request["path"] == "/v1/chat/completions"
    assert request["headers"]["authorization"] == "Bearer sk-test-key"
    assert request["body"]["stream"] is True and request["body"]["model"] == "test-model"
    prompt = request["body"]["messages"][-1]["content"]
    assert "[1] 仓储机器人投资回报" in prompt and "[2] 冷链运输的温控" in prompt and QUESTION in prompt


def test_invented_citations_are_removed_and_the_rest_renumbered_by_first_use(server):
    server.replies.append(Reply(pieces=["冷藏车数据实时上传[2][7]。", "机器人两年半回本[1]，另见[3]。"]))

    draft = ask(provider(server))

    assert draft.text == "冷藏车数据实时上传[1]。机器人两年半回本[2]，另见。"
    assert draft.cited == [22, 11]  # [n] is cited[n - 1]; [7] and [3] named no reference


def test_an_answer_without_a_valid_citation_is_replaced_by_the_extractive_one_with_a_notice(server):
    server.replies.append(Reply(pieces=["仓储机器人一般一年就能回本[9]。"]))

    draft = ask(provider(server))

    expected = extractive.compose(QUESTION, REFERENCES, language="zh", nothing_fits=False)
    assert draft.text == expected.text and draft.cited == expected.cited == [11]
    assert "一年就能回本" not in draft.text
    assert draft.notice == grounding.notice_text("zh", grounding.NO_VALID_CITATION)


def test_429_is_retried_with_backoff_then_answered(server):
    server.replies += [Reply(status=429, headers={"retry-after-ms": "50"}), Reply(pieces=["两年半回本[1]。"])]

    draft = ask(provider(server))

    assert len(server.requests) == 2
    assert draft.cited == [11] and draft.notice == ""


def test_5xx_is_retried_and_a_lasting_one_falls_back_with_a_notice(server):
    server.replies += [Reply(status=500, headers={"retry-after-ms": "10"}),
                       Reply(status=503, headers={"retry-after-ms": "10"}), Reply(pieces=["两年半回本[1]。"])]
    assert ask(provider(server, max_retries=2)).notice == ""
    assert len(server.requests) == 3

    server.requests.clear()
    server.replies += [Reply(status=502, headers={"retry-after-ms": "10"}) for _ in range(2)]
    draft = ask(provider(server, max_retries=1))

    assert len(server.requests) == 2
    assert "HTTP 502" in draft.notice
    assert draft.cited == [11] and draft.text == extractive.compose(QUESTION, REFERENCES, language="zh",
                                                                    nothing_fits=False).text


def test_a_server_that_does_not_answer_in_time_falls_back_within_the_timeout(server):
    server.replies.append(Reply(pieces=["太迟了[1]。"], delay=3.0))

    started = time.monotonic()
    draft = ask(provider(server, timeout=0.5, max_retries=0))

    assert time.monotonic() - started < 2.5
    assert "0.5" in draft.notice and draft.cited == [11] and "太迟了" not in draft.text


def test_a_stream_that_stalls_midway_falls_back(server):
    server.replies.append(Reply(pieces=["机器人", "两年半回本[1]。"], stall_after=1))

    draft = ask(provider(server, timeout=0.5, max_retries=0))

    assert draft.notice and "机器人两年半" not in draft.text


def test_malformed_json_falls_back_with_a_notice(server):
    server.replies.append(Reply(raw_event='{"choices": [{"delta": {"content": "半截'))

    draft = ask(provider(server, max_retries=0))

    assert "格式" in draft.notice or "malformed" in draft.notice
    assert draft.cited == [11]


def test_a_refused_key_says_which_setting_to_check(server):
    server.replies.append(Reply(status=401))

    draft = ask(provider(server, max_retries=0))

    assert "LLM_API_KEY" in draft.notice
    assert len(server.requests) == 1  # a 401 is not retried


def test_nothing_fits_answers_no_answer_without_calling_the_api(server):
    draft = provider(server).answer(QUESTION, REFERENCES, language="zh", nothing_fits=True)

    assert server.requests == []
    assert draft.no_answer and draft.text == extractive.no_answer_text("zh")


def test_an_industry_analysis_is_asked_of_the_model_and_grounded_the_same_way(server):
    server.replies.append(Reply(pieces=["仓储自动化加快[1]，冷链温控趋严[2]，价格战[5]。"]))

    draft = provider(server).analyse("物流", REFERENCES, language="zh")

    assert draft.text == "仓储自动化加快[1]，冷链温控趋严[2]，价格战。" and draft.cited == [11, 22]
    assert "物流" in server.requests[0]["body"]["messages"][-1]["content"]

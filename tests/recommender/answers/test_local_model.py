"""The transformers provider with a tiny GPT-2 built in the test (a word-level tokenizer made here,
random or zeroed weights): nothing is downloaded."""
import pytest

from recommender.answers import extractive, grounding
from recommender.answers.base import Reference
from recommender.answers.local_model import LocalModelProvider

REFERENCES = [
    Reference(id=5, title="仓储机器人投资回报", language="zh", score=0.9,
              text="某电商仓库引入四十台搬运机器人后，拣货效率提升了一倍。按人工节省测算，这批机器人约两年半即可回本。"),
]
QUESTION = "仓储机器人多久能回本"


def tiny_model(directory, first_token: str, *, zeroed: bool):
    """A one-layer GPT-2 whose vocabulary starts with `first_token`. With every weight zero all logits
    are equal, so greedy decoding repeats token 0: the test knows what the model will say."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    words = [first_token, "[UNK]", "[PAD]", "</s>", "机器人", "回本", "仓储", "the", "answer", "is"]
    backend = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="[UNK]"))
    backend.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="[UNK]", pad_token="[PAD]",
                                        eos_token="</s>")
    tokenizer.save_pretrained(directory)
    config = GPT2Config(vocab_size=len(words), n_positions=4096, n_embd=8, n_layer=1, n_head=2,
                        bos_token_id=3, eos_token_id=3, pad_token_id=2)
    torch.manual_seed(0)
    model = GPT2LMHeadModel(config)
    if zeroed:
        with torch.no_grad():
            for parameter in model.parameters():
                parameter.zero_()
    model.save_pretrained(directory)
    return directory


def test_a_model_that_cites_a_reference_is_answered_from(tmp_path):
    location = tiny_model(tmp_path / "cites", "回本[1]", zeroed=True)

    draft = LocalModelProvider(str(location), max_new_tokens=3).answer(
        QUESTION, REFERENCES, language="zh", nothing_fits=False)

    assert draft.provider == "transformers" and draft.model_name == str(location)
    assert draft.text == "回本[1] 回本[1] 回本[1]" and draft.cited == [5] and draft.notice == ""


def test_a_model_that_invents_a_citation_falls_back_to_extractive_with_a_notice(tmp_path):
    location = tiny_model(tmp_path / "invents", "回本[4]", zeroed=True)

    draft = LocalModelProvider(str(location), max_new_tokens=3).answer(
        QUESTION, REFERENCES, language="zh", nothing_fits=False)

    assert draft.text == extractive.compose(QUESTION, REFERENCES, language="zh", nothing_fits=False).text
    assert draft.cited == [5] and draft.notice == grounding.notice_text("zh", grounding.NO_VALID_CITATION)


def test_a_random_model_generates_text_from_the_prompt(tmp_path):
    location = tiny_model(tmp_path / "random", "answer", zeroed=False)
    provider = LocalModelProvider(str(location), max_new_tokens=4)

    text = provider.complete([{"role": "user", "content": "仓储 机器人 回本"}])

    assert 1 <= len(text.split()) <= 4  # decoded new tokens only, not the prompt
    assert set(text.split()) <= {"answer", "机器人", "回本", "仓储", "the", "is", "[UNK]"}


def test_a_missing_model_directory_falls_back_and_names_the_setting(tmp_path):
    draft = LocalModelProvider(str(tmp_path / "nowhere")).answer(QUESTION, REFERENCES, language="en",
                                                                  nothing_fits=False)

    assert "LLM_MODEL" in draft.notice and str(tmp_path / "nowhere") in draft.notice
    assert draft.cited == [5]


@pytest.mark.parametrize("language", ["zh", "en"])
def test_nothing_fits_is_the_honest_no_answer_without_loading_a_model(tmp_path, language):
    draft = LocalModelProvider(str(tmp_path / "nowhere")).answer(QUESTION, REFERENCES, language=language,
                                                                  nothing_fits=True)

    assert draft.no_answer and draft.notice == "" and draft.text == extractive.no_answer_text(language)

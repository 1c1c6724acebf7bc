"""The enrichment pipeline: all fields in one write, idempotent, failures recorded, bad input safe."""
import datetime as dt
import os
import random

import numpy as np
import pytest
from django.core.management import call_command
from django.utils import timezone

from contentlib import services as library
from contentlib.models import Article, ArticleKeyword
from recommender import embeddings, services
from recommender.tasks import enrich_article

ZH = ("这家注塑企业把车间的注塑机全部换成伺服节能机型，又给模温机加装了余热回收装置。"
      "一年下来，单位能耗下降了百分之十八，注塑车间的电费账单第一次出现了下降。") * 3


def make(**fields):
    """An article saved without running enrichment, as a crawl would leave it."""
    defaults = {"title": "注塑车间节能改造", "text": ZH, "origin": Article.Origin.CRAWLED}
    defaults.update(fields)
    return Article.objects.create(content_hash="h" * 64, **defaults)


@pytest.mark.django_db
class TestEnrichArticle:
    def test_writes_every_field(self, categories_loaded):
        article = make()
        assert services.article_enrich(article_id=article.id) == "done"
        article.refresh_from_db()
        assert article.enrichment_status == "done" and article.enrichment_error == ""
        assert article.language == "zh"
        assert "注塑" in article.tokens.split() and article.tokens_dict_version.startswith("jieba+")
        assert article.summary and article.summary in ZH.replace("\n", "") or article.summary[:10] in ZH
        # The default model, multilingual-e5-small.
        assert article.embedding_model == "multilingual-e5-small-q4" == embeddings.model_name()
        assert article.embedding_dim == 384
        vector = embeddings.from_bytes(article.embedding)
        assert vector.shape == (384,) and abs(float(np.linalg.norm(vector)) - 1.0) < 1e-3
        assert article.category_id == categories_loaded["manufacturing"] and 0 < article.category_confidence <= 1
        stored = list(ArticleKeyword.objects.filter(article=article).order_by("rank"))
        assert stored and stored[0].rank == 1 and stored[0].method == "tfidf+mmr:lexical"

    def test_running_twice_gives_the_same_result(self, categories_loaded):
        article = make()
        services.article_enrich(article_id=article.id)
        first = (Article.objects.get(id=article.id).tokens,
                 list(ArticleKeyword.objects.filter(article=article).values_list("keyword__text", "weight", "rank")))
        enrich_article.delay(article.id)
        second = (Article.objects.get(id=article.id).tokens,
                  list(ArticleKeyword.objects.filter(article=article).values_list("keyword__text", "weight", "rank")))
        assert first == second

    def test_an_unchanged_passage_is_not_embedded_again(self, monkeypatch):
        article = make()
        services.article_enrich(article_id=article.id)
        first = Article.objects.get(id=article.id)
        assert first.embedding_passage_hash and first.embedding
        model = embeddings.encoder()
        encoded = []
        real_encode = model.encode
        monkeypatch.setattr(type(model), "encode", lambda self, texts, **kw: encoded.extend(texts) or real_encode(texts))

        services.article_enrich(article_id=article.id)  # same passage, same model: the vector is kept
        assert encoded == [] and bytes(Article.objects.get(id=article.id).embedding) == bytes(first.embedding)

        Article.objects.filter(id=article.id).update(embedding_model="another-model")
        services.article_enrich(article_id=article.id)  # another model's vector is never reused
        assert len(encoded) == 1
        Article.objects.filter(id=article.id).update(title="注塑车间节能改造（更新）", content_hash="c" * 64)
        services.article_enrich(article_id=article.id)  # a changed passage is embedded again
        assert len(encoded) == 2 and encoded[1].startswith("注塑车间节能改造（更新）")
        changed = Article.objects.get(id=article.id)
        assert changed.embedding_passage_hash != first.embedding_passage_hash
        assert changed.embedding_model == embeddings.model_name()

    def test_editor_category_is_never_overwritten(self, categories_loaded, editor):
        article = make()
        library.article_set_category(article_id=article.id, category_id=categories_loaded["finance"], actor=editor)
        services.article_enrich(article_id=article.id)
        article.refresh_from_db()
        assert article.category_id == categories_loaded["finance"] and article.category_confidence == 1.0

    def test_missing_article_is_ignored(self):
        assert services.article_enrich(article_id=987654) == "missing"

    def test_edit_during_enrichment_discards_the_stale_result(self):
        article = make()
        stale = Article.objects.get(id=article.id)
        Article.objects.filter(id=article.id).update(content_hash="e" * 64, text="编辑后的新正文。" * 5)
        assert services._write([(stale, services.compute([stale])[0])]) == {article.id: "superseded"}
        assert Article.objects.get(id=article.id).tokens == ""


@pytest.mark.django_db
class TestBadInput:
    def test_empty_text_is_a_recorded_failure(self):
        article = make(title=" ", text="   ")
        assert services.article_enrich(article_id=article.id) == "failed"
        article.refresh_from_db()
        assert article.enrichment_status == "failed" and "no text" in article.enrichment_error

    def test_binary_junk_is_a_permanent_failure_not_retried(self):
        rng = random.Random(7)
        junk = bytes(rng.randrange(1, 256) for _ in range(5000)).decode("latin-1")
        article = make(title="scan.bin", text=junk)
        result = enrich_article.apply(args=[article.id])  # eager, as a worker would run it
        assert result.successful() and result.result == "failed"
        article.refresh_from_db()
        assert article.enrichment_status == "failed" and "binary" in article.enrichment_error

    def test_one_megabyte_of_text_is_capped_and_enriched(self):
        article = make(text=(ZH + "\n") * (1_000_000 // len(ZH)))
        assert len(article.text) >= 990_000
        assert services.article_enrich(article_id=article.id) == "done"
        article.refresh_from_db()
        assert article.summary and article.tokens
        assert len(article.tokens) < 300_000, "tokens come from the capped text, not the whole megabyte"

    @pytest.mark.parametrize("text", [
        "我们的 MES 系统上线后，OEE 从 62% 提升到 78%. The plant manager said uptime improved a lot this year.",
        "跨境物流😀🚚📦 客户满意度大幅提升 🎉🎉 海外仓周转加快，退货处理时间缩短一半。",
        "<div class='x' onclick=\"alert(1)\">智能客服</div><p>大模型 <b>私有化部署</b></p> &amp; &lt;br&gt; 降低了成本。",
        "😀😀😀 !!! ??? 123",
    ])
    def test_mixed_emoji_and_markup_give_a_result_or_a_recorded_failure(self, text):
        article = make(text=text)
        outcome = services.article_enrich(article_id=article.id)
        article.refresh_from_db()
        assert outcome in ("done", "failed")
        assert article.enrichment_status == outcome
        if outcome == "failed":
            assert article.enrichment_error
        else:
            assert article.tokens and article.embedding_dim == embeddings.encoder().dim

    def test_transient_error_is_retried_and_then_recorded(self, monkeypatch):
        from django.db import OperationalError

        from contentlib.config.celery import app

        app.conf.task_eager_propagates = False  # the autouse fixture restores it
        article = make()
        calls = []

        def flaky(**kwargs):
            calls.append(1)
            raise OperationalError("server closed the connection unexpectedly")

        monkeypatch.setattr(services, "articles_enrich", flaky)
        result = enrich_article.apply(args=[article.id], throw=False)
        assert result.failed()
        assert len(calls) == enrich_article.max_retries + 1
        article.refresh_from_db()
        assert article.enrichment_status == "failed" and "OperationalError" in article.enrichment_error


@pytest.mark.django_db
def test_sweep_requeues_only_stale_articles(django_capture_on_commit_callbacks):
    stale = make()
    fresh = make()
    Article.objects.filter(id=stale.id).update(
        enrichment_status="running", enrichment_started_at=timezone.now() - dt.timedelta(hours=2))
    with django_capture_on_commit_callbacks(execute=True):
        assert services.stale_enrichment_requeue(older_than=dt.timedelta(minutes=30)) == 1
    assert Article.objects.get(id=stale.id).enrichment_status == "done"
    assert Article.objects.get(id=fresh.id).enrichment_status == "pending"


@pytest.mark.django_db
def test_enrich_command_missing_shows_a_summary(capsys):
    done = make()
    services.article_enrich(article_id=done.id)
    todo = [make(title=f"第{i}篇", text=ZH + str(i)) for i in range(3)]
    call_command("enrich", "--missing")
    out = capsys.readouterr().out
    assert "Enrichment (missing)" in out and "│ done       │        3 │" in out
    assert all(Article.objects.get(id=a.id).enrichment_status == "done" for a in todo)


@pytest.mark.django_db
def test_enrich_command_refuses_a_bad_date():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="is not a date"):
        call_command("enrich", "--since", "last tuesday")


@pytest.mark.django_db
def test_model_change_selects_articles_for_reembedding(settings):
    article = make()
    services.article_enrich(article_id=article.id)
    assert not services.enrichment_selection(mode="model").filter(id=article.id).exists()
    Article.objects.filter(id=article.id).update(embedding_model="old-model")
    assert services.enrichment_selection(mode="model").filter(id=article.id).exists()


def test_summary_model_error_falls_back_and_is_recorded(settings, tmp_path):
    from recommender import summary

    settings.SUMMARY_MODEL = str(tmp_path / "no-such-model")
    text, error = summary.summarize(ZH, "zh")
    assert text == summary.extractive(ZH, "zh")
    assert "failed" in error and "extractive" in error


def test_tiny_seq2seq_model_is_loaded_once_and_generates(settings, tmp_path):
    """A tiny random BART with a locally trained BPE tokenizer: nothing is downloaded."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import BartConfig, BartForConditionalGeneration, PreTrainedTokenizerFast

    from recommender import summary

    bpe = Tokenizer(models.BPE(unk_token="<unk>"))
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=300, special_tokens=["<s>", "<pad>", "</s>", "<unk>"])
    bpe.train_from_iterator([ZH, "cold chain logistics for vaccines"] * 20, trainer)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe, bos_token="<s>", eos_token="</s>",
                                        pad_token="<pad>", unk_token="<unk>")
    config = BartConfig(vocab_size=tokenizer.vocab_size, d_model=16, encoder_layers=1, decoder_layers=1,
                        encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=32,
                        decoder_ffn_dim=32, max_position_embeddings=600, pad_token_id=1, bos_token_id=0,
                        eos_token_id=2, decoder_start_token_id=2, forced_eos_token_id=2)
    directory = tmp_path / "tiny-bart"
    BartForConditionalGeneration(config).save_pretrained(directory)
    tokenizer.save_pretrained(directory)

    settings.SUMMARY_MODEL = str(directory)
    first = summary._model_summarizer()
    assert summary._model_summarizer() is first, "the model is loaded once per process"
    generated = first.summarize(ZH, max_new_tokens=8)
    assert isinstance(generated, str)
    text, error = summary.summarize(ZH, "zh")
    # A random model may produce only special tokens; then the fallback is used and says so.
    assert (error is None and text == summary.fit(first.summarize(ZH), "zh")) or (error and "empty" in error)
    assert len(text) <= summary.MAX_CHARS  # a model's summary is held to the same limit


def test_bundled_embedding_model_loads_offline(settings):
    settings.EMBEDDING_MODEL = "bundled"
    encoder = embeddings.encoder()
    assert (encoder.name, encoder.dim) == ("all-MiniLM-L6-v2", 384)
    vectors = encoder.encode(["cold chain for vaccines", "keeping vaccines cold in transit", "bond coupon rates"])
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]
    assert os.environ.get("HF_HUB_OFFLINE") != "0"


def test_bad_embedding_model_setting_says_what_to_do(settings):
    settings.EMBEDDING_MODEL = "/nonexistent/model-dir"
    with pytest.raises(RuntimeError, match="Set EMBEDDING_MODEL to 'bundled'"):
        embeddings.encoder()

"""Language, normalization and segmentation shared by indexing and querying."""
import pytest

from recommender.lexicon import lexicon_term_add, lexicon_term_deactivate, segmenter_refresh
from recommender.text import Segmenter, detect_language, normalize_text, tokenize


@pytest.mark.parametrize(("text", "language"), [
    ("供应链金融正在改变中小企业的融资方式。", "zh"),
    ("Predictive maintenance cut unplanned downtime at the stamping line.", "en"),
    ("我们在苏州的工厂上线了 MES 和 ERP 系统，AGV 负责物料配送。", "zh"),
    ("The plant in 苏州 now runs a new MES for its machining cells.", "en"),
    ("12345 !!! 😀", "other"),
    ("", "other"),
])
def test_detect_language(text, language):
    assert detect_language(text) == language


def test_normalization_folds_width_case_and_space():
    assert normalize_text("ＡＧＶ　Ｒｏｂｏｔ\n\t小车（二期）") == "agv robot 小车(二期)"


def test_two_character_term_is_found_in_the_middle_of_a_sentence():
    tokens = tokenize("今年园区的冷链仓储面积翻了一番")
    assert "冷链" in tokens


def test_search_mode_keeps_words_and_their_parts_without_stopwords_or_punctuation():
    tokens = tokenize("物流自动化是智能制造的关键，ＡＧＶ小车在仓库里跑。")
    assert {"自动化", "自动", "智能", "制造", "agv", "仓库"} <= set(tokens)
    assert "的" not in tokens and "，" not in tokens and "是" not in tokens


def test_english_tokens_are_lowercase_words_without_stopwords():
    assert tokenize("The Warehouse robots and the C++ code of B2B e-commerce") == [
        "warehouse", "robots", "c++", "code", "b2b", "commerce", "e-commerce"]


def test_emoji_and_markup_fragments_do_not_break_tokens():
    tokens = tokenize("<div onclick='x'>跨境电商😀物流</div> &amp; 🚚🚚")
    assert "跨境" in tokens and "物流" in tokens
    assert not any("😀" in t or "<" in t for t in tokens)


def test_segmenter_lexicon_term_stays_whole_and_version_changes():
    plain = Segmenter()
    with_term = Segmenter(["物流自动化"])
    assert "物流自动化" not in plain.tokens("物流自动化方案")
    assert "物流自动化" in with_term.tokens("物流自动化方案")
    assert plain.version != with_term.version
    with_term.load_terms([])  # removing a term rebuilds the dictionary
    assert "物流自动化" not in with_term.tokens("物流自动化方案") and with_term.version == plain.version


@pytest.mark.django_db
def test_added_lexicon_term_is_kept_whole_after_resegmentation(article_factory, django_capture_on_commit_callbacks):
    article = article_factory(title="仓储升级", text="这家工厂引入了物流自动化方案，物流自动化让拣选提速。")
    assert "物流自动化" not in article.tokens.split()
    with django_capture_on_commit_callbacks(execute=True):
        lexicon_term_add(term="物流自动化", source="campaign")
    article.refresh_from_db()
    assert "物流自动化" in article.tokens.split()
    assert article.tokens_dict_version == segmenter_refresh().version

    with django_capture_on_commit_callbacks(execute=True):
        lexicon_term_deactivate(term="物流自动化")
    article.refresh_from_db()
    assert "物流自动化" not in article.tokens.split()


@pytest.mark.django_db
def test_lexicon_refuses_unusable_terms():
    from contentlib.errors import ApplicationError

    for term in ("", "   ", "supply chain"):
        with pytest.raises(ApplicationError, match="not a usable lexicon term"):
            lexicon_term_add(term=term)


@pytest.mark.django_db
def test_editor_adds_a_lexicon_term_in_admin(client, django_capture_on_commit_callbacks, article_factory):
    from django.contrib.auth import get_user_model
    from django.urls import reverse

    article = article_factory(title="方案", text="我们的物流自动化方案覆盖三座仓库，物流自动化让效率翻倍。")
    admin_user = get_user_model().objects.create_superuser("boss", password="pw-for-tests-only")
    client.force_login(admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("admin:recommender_lexiconterm_add"),
                               {"term": "物流自动化", "source": "editor", "active": "on"}, follow=True)
    assert "将作为整词保留" in response.content.decode()  # the admin's message, in Chinese by default
    article.refresh_from_db()
    assert "物流自动化" in article.tokens.split()


@pytest.mark.django_db
def test_queries_use_lexicon_terms_added_after_start(django_capture_on_commit_callbacks, article_factory, editor):
    """A bid phrase added to the lexicon is one token on both sides: articles and queries."""
    from contentlib.services import article_approve
    from recommender.retrieval import retrieve
    from recommender.text import segmenter

    with django_capture_on_commit_callbacks(execute=True):
        article = article_factory(title="仓储方案", text="我们的物流自动化方案覆盖三座仓库，物流自动化让效率翻倍。" * 2)
        article_approve(article_id=article.id, actor=editor)
        lexicon_term_add(term="物流自动化", source="campaign")
    # A web process that started before the term was added: its segmenter does not know the phrase.
    from recommender import lexicon

    segmenter().load_terms([])
    lexicon._loaded_state = None
    assert "物流自动化" not in segmenter().tokens("物流自动化")
    assert [h.id for h in retrieve("物流自动化").hits] == [article.id]
    assert "物流自动化" in segmenter().tokens("物流自动化"), "the query refreshed the segmenter"

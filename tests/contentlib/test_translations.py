"""The admin and the site read in Chinese by default and in English on request: every model and field
name is translated, and the committed .mo file is the compiled .po file."""
import gettext
import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from django.apps import apps
from django.conf import settings
from django.urls import reverse
from django.utils import translation

OURS = ("contentlib", "site", "crawlers", "recommender", "ads", "payments",
        "axes")  # django-axes has no Chinese of its own: contentlib/config/axes.py
LOCALE = Path(settings.BASE_DIR, "locale", "zh_Hans", "LC_MESSAGES")
_CJK = re.compile(r"[\u4e00-\u9fff]")
SAME_IN_CHINESE = {"HTML", "ID"}  # Django's own Chinese for its id field is "ID"


def labels():
    """Every name the admin shows for our apps: apps, models, fields, choices, help texts."""
    for label in OURS:
        config = apps.get_app_config(label)
        yield f"app {label}", config.verbose_name
        for model in config.get_models():
            meta = model._meta
            yield f"{model.__name__}", meta.verbose_name
            yield f"{model.__name__} (plural)", meta.verbose_name_plural
            for field in meta.get_fields(include_hidden=False):
                if field.auto_created and not field.concrete:
                    continue  # reverse relations take the other model's names
                yield f"{model.__name__}.{field.name}", field.verbose_name
                if getattr(field, "help_text", ""):
                    yield f"{model.__name__}.{field.name} help", field.help_text
                for value, choice in getattr(field, "flatchoices", None) or ():
                    yield f"{model.__name__}.{field.name}={value}", choice


def test_every_model_and_field_name_is_translated():
    untranslated = []
    with translation.override("zh-hans"):
        for where, label in labels():
            shown = str(label)
            if shown not in SAME_IN_CHINESE and not _CJK.search(shown):
                untranslated.append(f"{where}: {shown!r}")
    assert untranslated == [], "add these to locale/zh_Hans/LC_MESSAGES/django.po (make messages)"


def test_english_is_available():
    from contentlib.models import Article

    with translation.override("en"):
        assert str(Article._meta.verbose_name_plural) == "articles"
        assert str(Article.Status.PENDING.label) == "Pending review"


def test_the_committed_mo_file_is_the_compiled_po_file():
    """A forgotten `make compile-messages` fails here (the site reads the .mo, people edit the .po)."""
    with open(LOCALE / "django.po", "rb") as po:
        catalog = read_po(po)
    with open(LOCALE / "django.mo", "rb") as mo:
        compiled = gettext.GNUTranslations(mo)
    for message in catalog:
        if not message.id or message.fuzzy:
            continue
        if message.pluralizable:
            assert compiled.ngettext(message.id[0], message.id[1], 2) == message.string[0], message.id
        elif message.context:  # pgettext: the same msgid may mean something else elsewhere
            assert compiled.pgettext(message.context, message.id) == message.string, (message.context, message.id)
        else:
            assert compiled.gettext(message.id) == message.string, message.id
    assert len(compiled._catalog) - 1 >= len([m for m in catalog if m.id]) > 200


@pytest.mark.django_db
class TestAdminInChinese:
    def test_the_admin_reads_in_chinese_without_english_model_names(self, client, editor, article_factory):
        article_factory()
        client.force_login(editor)
        index = client.get(reverse("admin:index")).content.decode()
        for chinese in ("内容库", "文章", "修订", "抓取记录", "抓取页面", "审核与数据"):
            assert chinese in index
        changelist = client.get(reverse("admin:contentlib_article_changelist")).content.decode()
        assert "选择 文章 来修改" in changelist
        assert not re.search(r"选择 [a-z]", changelist)  # the complaint was "选择 article 来修改"
        assert "通过所选文章" in changelist and "待审核" in changelist

    def test_english_on_request(self, client, editor):
        client.force_login(editor)
        page = client.get(reverse("admin:contentlib_article_changelist"), HTTP_ACCEPT_LANGUAGE="en")
        assert "Select article to change" in page.content.decode()

    def test_the_site_language_buttons_switch_to_english(self, client):
        from django.test import Client

        assert "行业内容库" in client.get("/").content.decode()
        response = client.post(reverse("set_language"), {"language": "en", "next": "/"})
        assert response.status_code == 302
        assert "Industry content library" in client.get("/").content.decode()
        assert "行业内容库" in Client().get("/").content.decode()  # everyone else still gets Chinese

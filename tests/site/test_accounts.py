"""Readers' accounts: sign-up by email with a signed link that expires, sign-in (throttled like the
admin's), sign-out, password reset; sign-ups and reset requests are rate-limited. Every refusal says
what went wrong and what to do, in the reader's language."""
import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail, signing
from django.core.cache import cache
from django.urls import reverse

from contentlib import services

User = get_user_model()


@pytest.fixture(autouse=True)
def _fresh_limits():
    cache.clear()
    yield
    cache.clear()


def _link(message) -> str:
    return re.search(r"https?://\S+", message.body).group(0)


def _shown(page: str, email: str) -> str:
    """The page as a stranger reads it: the address typed and the per-response CSRF mask taken out."""
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", page).replace(email, "X")


def sign_up(client, email="reader@example.com", password="a-long-reader-password", **extra):
    return client.post(reverse("site:signup"), {"email": email, "password": password}, **extra)


@pytest.mark.django_db
class TestSignup:
    def test_sign_up_confirm_and_sign_in(self, client):
        page = sign_up(client, email="Reader@Example.com").content.decode()
        assert "我们已向 reader@example.com 发送确认链接" in page
        user = User.objects.get(email="reader@example.com")
        assert not user.is_active and user.username == "reader@example.com"
        assert len(mail.outbox) == 1 and mail.outbox[0].to == ["reader@example.com"]
        assert mail.outbox[0].subject == "确认你在内容库的账号"

        # Before confirming: sign-in is refused with the reason and the way out.
        refused = client.post(reverse("site:login"), {"username": "reader@example.com",
                                                      "password": "a-long-reader-password"})
        assert "这个账号还没有确认" in refused.content.decode()

        confirmed = client.get(_link(mail.outbox[0]))
        assert confirmed.status_code == 200 and "你的账号已激活" in confirmed.content.decode()
        user.refresh_from_db()
        assert user.is_active

        signed_in = client.post(reverse("site:login"), {"username": "READER@example.com",
                                                        "password": "a-long-reader-password"})
        assert signed_in.status_code == 302 and client.session["_auth_user_id"] == str(user.id)
        assert "reader@example.com" in client.get(reverse("site:account")).content.decode()

        assert client.post(reverse("site:logout")).status_code == 302
        assert "_auth_user_id" not in client.session

    def test_an_expired_link_is_refused_and_says_what_to_do(self, client, settings):
        sign_up(client)
        link = _link(mail.outbox[0])
        settings.READER_CONFIRM_DAYS = 1
        from unittest import mock  # noqa: PLC0415

        with mock.patch("django.core.signing.time.time", return_value=signing.time.time() + 2 * 86400):
            response = client.get(link)
        assert response.status_code == 400
        assert "确认链接已过期。请用同一邮箱重新注册" in response.content.decode()
        assert not User.objects.get(email="reader@example.com").is_active

    def test_an_altered_link_is_refused(self, client):
        sign_up(client)
        user = User.objects.get()
        forged = signing.TimestampSigner(salt="another-salt").sign(str(user.pk))
        response = client.get(reverse("site:signup_confirm", args=[forged]))
        assert response.status_code == 400 and "确认链接无效" in response.content.decode()
        assert not User.objects.get().is_active

    def test_signing_up_again_before_confirming_sends_a_new_link(self, client):
        sign_up(client)
        sign_up(client, password="another-long-password")
        assert len(mail.outbox) == 2 and User.objects.count() == 1
        client.get(_link(mail.outbox[1]))
        response = client.post(reverse("site:login"), {"username": "reader@example.com",
                                                       "password": "another-long-password"})
        assert response.status_code == 302

    def test_a_taken_address_reads_like_a_new_one_and_its_owner_is_mailed(self, client):
        """The page must not tell a stranger who has an account here; the owner learns of the try."""
        services.reader_confirm(token=services.reader_signup(email="taken@example.com",
                                                             password="a-long-reader-password")[1],
                                max_age_seconds=60)
        owner = User.objects.get(email="taken@example.com")
        taken = sign_up(client, email="Taken@example.com", password="another-long-password").content.decode()
        new = sign_up(client, email="fresh@example.com", password="another-long-password").content.decode()
        assert _shown(taken, "taken@example.com") == _shown(new, "fresh@example.com")
        assert "我们已向 taken@example.com 发送确认链接" in taken
        to_owner, _to_new = mail.outbox
        assert to_owner.to == ["taken@example.com"] and to_owner.subject == "有人用你的邮箱尝试注册内容库"
        assert reverse("site:password_reset") in to_owner.body and reverse("site:login") in to_owner.body
        assert "/accounts/confirm/" not in to_owner.body and "signup" not in to_owner.body
        owner.refresh_from_db()
        assert owner.check_password("a-long-reader-password") and owner.is_active  # nothing changed
        assert User.objects.filter(email__iexact="taken@example.com").count() == 1

    def test_a_weak_password_reads_the_same_for_a_taken_address(self, client):
        services.reader_signup(email="taken@example.com", password="a-long-reader-password")
        User.objects.filter(email="taken@example.com").update(is_active=True)
        taken = sign_up(client, email="taken@example.com", password="12345678").content.decode()
        new = sign_up(client, email="fresh@example.com", password="12345678").content.decode()
        assert _shown(taken, "taken@example.com") == _shown(new, "fresh@example.com")
        assert len(mail.outbox) == 0

    def test_a_weak_password_is_refused_with_the_reason(self, client):
        page = sign_up(client, password="12345678").content.decode()
        assert "这个密码太常见了" in page or "密码只包含数字" in page
        assert not User.objects.exists()

    def test_sign_ups_are_rate_limited_per_client(self, client, settings):
        settings.ACCOUNT_EMAIL_RATE_LIMIT_PER_HOUR = 2
        for n in range(2):
            assert sign_up(client, email=f"r{n}@example.com").status_code == 200
        refused = sign_up(client, email="r9@example.com")
        assert refused.status_code == 429 and "注册次数过多" in refused.content.decode()
        assert not User.objects.filter(email="r9@example.com").exists() and len(mail.outbox) == 2


@pytest.mark.django_db
class TestSignInAndReset:
    @pytest.fixture
    def reader(self):
        return User.objects.create_user(username="reader@example.com", email="reader@example.com",
                                        password="a-long-reader-password")

    def test_a_wrong_password_says_what_to_check(self, client, reader):
        page = client.post(reverse("site:login"), {"username": "reader@example.com", "password": "nope"})
        assert "邮箱和密码不匹配任何账号" in page.content.decode()

    def test_reader_sign_in_is_throttled(self, client, reader, settings):
        for _ in range(settings.AXES_FAILURE_LIMIT):
            client.post(reverse("site:login"), {"username": "reader@example.com", "password": "nope"})
        locked = client.post(reverse("site:login"), {"username": "reader@example.com",
                                                     "password": "a-long-reader-password"})
        assert locked.status_code == 429 and "_auth_user_id" not in client.session

    def test_password_reset_by_email(self, client, reader):
        response = client.post(reverse("site:password_reset"), {"email": "reader@example.com"})
        assert response.status_code == 302 and response["Location"] == reverse("site:password_reset_done")
        assert mail.outbox[0].subject == "重置你在内容库的密码"
        link = _link(mail.outbox[0])
        form = client.get(link, follow=True)  # Django moves the token into the session, then shows the form
        assert "设置新密码" in form.content.decode()
        done = client.post(form.redirect_chain[-1][0], {"new_password1": "a-new-long-password",
                                                        "new_password2": "a-new-long-password"})
        assert done.status_code == 302
        assert client.post(reverse("site:login"), {"username": "reader@example.com",
                                                   "password": "a-new-long-password"}).status_code == 302
        used_again = client.get(link, follow=True).content.decode()
        assert "这个重置密码链接已使用过或已过期" in used_again

    def test_reset_requests_are_rate_limited(self, client, reader, settings):
        settings.ACCOUNT_EMAIL_RATE_LIMIT_PER_HOUR = 1
        client.post(reverse("site:password_reset"), {"email": "reader@example.com"})
        refused = client.post(reverse("site:password_reset"), {"email": "reader@example.com"})
        assert refused.status_code == 429 and len(mail.outbox) == 1

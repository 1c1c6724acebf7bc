"""Demo categories and demo accounts (used by `manage.py demo`, which crawls the demo website)."""
import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from contentlib import corpus
from contentlib.models import Category
from contentlib.roles import groups_ensure


def categories_ensure() -> int:
    """Creates or updates the categories of fixtures/corpus/categories.yaml; returns how many."""
    rows = corpus.categories()
    for row in rows:
        Category.objects.update_or_create(
            slug=row["slug"], defaults={"name": row["name"], "description": row["description"].strip()}
        )
    return len(rows)


def demo_users_ensure() -> tuple[str, list[str]]:
    """Creates or resets the local demo accounts; returns their shared new password and usernames."""
    groups_ensure()
    password = secrets.token_urlsafe(12)
    User = get_user_model()
    accounts = [("demo-admin", None, True), ("demo-editor", "Editors", False), ("demo-analyst", "Analysts", False)]
    for username, group, superuser in accounts:
        user, _ = User.objects.get_or_create(username=username)
        user.is_staff = True
        user.is_superuser = superuser
        user.set_password(password)
        user.save()
        if group:
            user.groups.set([Group.objects.get(name=group)])
    return password, [a[0] for a in accounts]



"""The staff roles: which permissions the Editors and Analysts groups hold.

A migration creates the groups; `groups_ensure` puts them back to this definition at any time
(after a database flush, or when a later app adds permissions).
"""
EDITORS = "Editors"
ANALYSTS = "Analysts"

GROUP_PERMISSIONS = {
    EDITORS: {
        "contentlib": [
            "view_article", "change_article", "moderate_article",
            "view_source", "add_source", "change_source",
            "view_category", "add_category", "change_category",
            "view_keyword", "view_articlekeyword", "view_moderationevent",
        ],
        "ads": ["view_advertiser"],
    },
    ANALYSTS: {
        "contentlib": [
            "view_article", "view_source", "view_category", "view_keyword", "view_articlekeyword",
            "view_moderationevent",
        ],
        "ads": ["view_advertiser"],
    },
}


def groups_ensure(group_model=None, permission_model=None) -> None:
    """Creates the groups and adds their permissions; takes historical models inside migrations."""
    if group_model is None:
        from django.contrib.auth.models import Group as group_model, Permission as permission_model  # noqa: N813

    for name, wanted in GROUP_PERMISSIONS.items():
        group, _ = group_model.objects.get_or_create(name=name)
        for app_label, codenames in wanted.items():
            perms = permission_model.objects.filter(content_type__app_label=app_label, codename__in=codenames)
            missing = set(codenames) - set(perms.values_list("codename", flat=True))
            if missing:
                raise RuntimeError(f"Permissions missing for {name}: {sorted(missing)}; run manage.py migrate.")
            group.permissions.add(*perms)

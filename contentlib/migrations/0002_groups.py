"""Creates the Editors and Analysts groups with their permissions (see contentlib.roles)."""
from django.db import migrations


# The groups as they were defined when this migration was written; later migrations add to them.
GROUPS = {
    "Editors": {
        "contentlib": [
            "view_article", "change_article", "moderate_article",
            "view_source", "add_source", "change_source",
            "view_category", "add_category", "change_category",
            "view_keyword", "view_articlekeyword", "view_moderationevent",
        ],
        "ads": ["view_advertiser"],
    },
    "Analysts": {
        "contentlib": [
            "view_article", "view_source", "view_category", "view_keyword", "view_articlekeyword",
            "view_moderationevent",
        ],
        "ads": ["view_advertiser"],
    },
}


def create_groups(apps, schema_editor):
    # Permissions are normally created after all migrations; create them now so groups can use them.
    from django.apps import apps as global_apps
    from django.contrib.auth.management import create_permissions

    from contentlib.roles import groups_ensure

    for label in ("contentlib", "ads"):
        create_permissions(global_apps.get_app_config(label), apps=apps, verbosity=0)
    groups_ensure(apps.get_model("auth", "Group"), apps.get_model("auth", "Permission"), GROUPS)


def remove_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=["Editors", "Analysts"]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("contentlib", "0001_initial"),
        ("ads", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]
    operations = [migrations.RunPython(create_groups, remove_groups)]

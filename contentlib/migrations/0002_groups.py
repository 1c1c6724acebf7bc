"""Creates the Editors and Analysts groups with their permissions (see contentlib.roles)."""
from django.db import migrations


def create_groups(apps, schema_editor):
    # Permissions are normally created after all migrations; create them now so groups can use them.
    from django.apps import apps as global_apps
    from django.contrib.auth.management import create_permissions

    from contentlib.roles import groups_ensure

    for label in ("contentlib", "ads"):
        create_permissions(global_apps.get_app_config(label), apps=apps, verbosity=0)
    groups_ensure(apps.get_model("auth", "Group"), apps.get_model("auth", "Permission"))


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

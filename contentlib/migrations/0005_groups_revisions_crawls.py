"""Editors and Analysts read revisions and crawl records (see contentlib.roles)."""
from django.db import migrations

ADDED = {
    "Editors": {"contentlib": ["view_articlerevision"], "crawlers": ["view_crawlrun", "view_crawlpage"]},
    "Analysts": {"contentlib": ["view_articlerevision"], "crawlers": ["view_crawlrun", "view_crawlpage"]},
}


def add_permissions(apps, schema_editor):
    from django.apps import apps as global_apps
    from django.contrib.auth.management import create_permissions

    from contentlib.roles import groups_ensure

    for label in ("contentlib", "crawlers"):
        create_permissions(global_apps.get_app_config(label), apps=apps, verbosity=0)
    groups_ensure(apps.get_model("auth", "Group"), apps.get_model("auth", "Permission"), ADDED)


def remove_permissions(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, wanted in ADDED.items():
        group = Group.objects.filter(name=name).first()
        if group is None:
            continue
        for app_label, codenames in wanted.items():
            group.permissions.remove(*Permission.objects.filter(content_type__app_label=app_label,
                                                                codename__in=codenames))


class Migration(migrations.Migration):
    dependencies = [
        ("contentlib", "0004_articlerevision"),
        ("crawlers", "0002_crawlpage_revised"),
    ]
    operations = [migrations.RunPython(add_permissions, remove_permissions)]

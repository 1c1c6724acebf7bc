"""Editors decide advertisers and review campaigns; Analysts read campaigns and the ledger (see contentlib.roles)."""
from django.db import migrations

ADDED = {
    "Editors": {"ads": [
        "decide_advertiser", "view_advertiseruser", "view_submission", "view_campaign", "review_campaign",
        "view_campaignkeyword", "view_promotion", "view_campaignreview", "view_campaignchange",
        "view_verifieddomain", "view_ledgerentry", "view_notice"]},
    "Analysts": {"ads": ["view_campaign", "view_campaignkeyword", "view_promotion", "view_campaignreview",
                         "view_campaignchange", "view_ledgerentry"]},
}


def add_permissions(apps, schema_editor):
    from django.apps import apps as global_apps
    from django.contrib.auth.management import create_permissions

    from contentlib.roles import groups_ensure

    create_permissions(global_apps.get_app_config("ads"), apps=apps, verbosity=0)
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
        ("ads", "0003_portal"),
        ("contentlib", "0005_groups_revisions_crawls"),
    ]
    operations = [migrations.RunPython(add_permissions, remove_permissions)]

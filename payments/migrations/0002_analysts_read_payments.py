"""Analysts read payments (members and subscription revenue by plan and month on /reports/vip/)."""
from django.db import migrations

ADDED = {"Analysts": {"payments": ["view_payment", "view_paymentorder", "view_plan"]}}


def add_permissions(apps, schema_editor):
    from django.apps import apps as global_apps
    from django.contrib.auth.management import create_permissions

    from contentlib.roles import groups_ensure

    create_permissions(global_apps.get_app_config("payments"), apps=apps, verbosity=0)
    groups_ensure(apps.get_model("auth", "Group"), apps.get_model("auth", "Permission"), ADDED)


def remove_permissions(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group = Group.objects.filter(name="Analysts").first()
    if group is not None:
        group.permissions.remove(*Permission.objects.filter(content_type__app_label="payments",
                                                            codename__in=ADDED["Analysts"]["payments"]))


class Migration(migrations.Migration):

    dependencies = [
        ("payments", "0001_initial"),
        ("contentlib", "0002_groups"),  # the Analysts group
    ]

    operations = [migrations.RunPython(add_permissions, remove_permissions)]

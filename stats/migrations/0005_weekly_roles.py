"""The groups cover what each role does week to week.

Press officers keep the media contacts up to date (add, edit, mark verified, import) beside their
draft releases; publishers also keep the programmes and metrics the figures belong to.
"""

from django.db import migrations

CONTACTS = [
    ("contacts", "add_mediacontact"),
    ("contacts", "change_mediacontact"),
    ("contacts", "import_mediacontact"),
]
PUBLISHERS_ONLY = [
    ("statistics", "add_programme"),
    ("statistics", "change_programme"),
    ("statistics", "add_metric"),
    ("statistics", "change_metric"),
]
GRANTS = {"Press officers": CONTACTS, "Publishers": CONTACTS + PUBLISHERS_ONLY}


def _permissions(apps, wanted):
    Permission = apps.get_model("auth", "Permission")
    return [
        Permission.objects.get(content_type__app_label=app_label, codename=codename)
        for app_label, codename in wanted
    ]


def grant(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for name, wanted in GRANTS.items():
        group = Group.objects.filter(name=name).first()
        if group is not None:
            group.permissions.add(*_permissions(apps, wanted))


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for name, wanted in GRANTS.items():
        group = Group.objects.filter(name=name).first()
        if group is not None:
            group.permissions.remove(*_permissions(apps, wanted))


class Migration(migrations.Migration):
    dependencies = [
        ("statistics", "0004_figure_value_below_limit"),
        ("statistics", "0003_import_export_permissions"),
        ("contacts", "0003_last_verified_help_text"),
    ]

    operations = [migrations.RunPython(grant, revoke)]

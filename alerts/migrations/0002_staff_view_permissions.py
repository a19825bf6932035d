"""Press officers and publishers see the subscribers (counts by topic) and the delivery log; nobody edits them."""

from django.db import migrations

WANTED = [("alerts", "view_subscriber"), ("alerts", "view_delivery")]
GROUPS = ("Press officers", "Publishers")


def _permissions(apps):
    from django.contrib.auth.management import create_permissions

    # Permissions are otherwise made after every migration has run: make this app's now.
    config = apps.get_app_config("alerts")
    models_module = getattr(config, "models_module", None)
    config.models_module = models_module or True
    try:
        create_permissions(config, apps=apps, verbosity=0)
    finally:
        config.models_module = models_module
    Permission = apps.get_model("auth", "Permission")
    return [
        Permission.objects.get(content_type__app_label=app_label, codename=codename)
        for app_label, codename in WANTED
    ]


def grant(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    groups = list(Group.objects.filter(name__in=GROUPS))
    if not groups:
        return
    permissions = _permissions(apps)
    for group in groups:
        group.permissions.add(*permissions)


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    permissions = Permission.objects.filter(
        content_type__app_label="alerts", codename__in=[codename for _, codename in WANTED]
    )
    for group in Group.objects.filter(name__in=GROUPS):
        group.permissions.remove(*permissions)


class Migration(migrations.Migration):
    dependencies = [
        ("alerts", "0001_initial"),
        ("statistics", "0005_weekly_roles"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(grant, revoke)]

"""Permissions to import and export spreadsheets, one pair per model (e.g. statistics.import_figure)."""

from django.db import migrations

MODELS = {
    ("statistics", "programme"): "programme",
    ("statistics", "metric"): "metric",
    ("statistics", "release"): "release",
    ("statistics", "figure"): "figure",
    ("statistics", "statement"): "statement",
    ("contacts", "mediacontact"): "media contact",
}


def add_permissions(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    for (app_label, model), name in MODELS.items():
        content_type, _ = ContentType.objects.get_or_create(app_label=app_label, model=model)
        for action in ("import", "export"):
            Permission.objects.get_or_create(
                content_type=content_type,
                codename=f"{action}_{model}",
                defaults={"name": f"Can {action} {name} spreadsheets"},
            )


def grant_to_groups(apps, schema_editor):
    """Both groups export everything and import figures; Publishers also import the rest."""
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    exports = [f"export_{model}" for (_app, model) in MODELS]
    imports = [f"import_{model}" for (_app, model) in MODELS]
    wanted = {
        "Press officers": exports + ["import_figure"],
        "Publishers": exports + imports,
    }
    for name, codenames in wanted.items():
        group = Group.objects.filter(name=name).first()
        if group is not None:
            group.permissions.add(*Permission.objects.filter(codename__in=codenames))


def remove_permissions(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    for (app_label, model) in MODELS:
        Permission.objects.filter(
            content_type__app_label=app_label, codename__in=[f"import_{model}", f"export_{model}"]
        ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("statistics", "0002_release_workflow"),
        ("contacts", "0002_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [
        migrations.RunPython(add_permissions, remove_permissions),
        migrations.RunPython(grant_to_groups, migrations.RunPython.noop),
    ]

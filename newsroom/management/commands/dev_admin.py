from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError

USERNAME = "admin"
PASSWORD = "newsroom-local"


class Command(BaseCommand):
    help = "Create a local superuser for development (refused unless DEBUG is on)."

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError("dev_admin only runs with DEBUG on; use createsuperuser in production.")
        user, created = get_user_model().objects.get_or_create(
            username=USERNAME, defaults={"is_staff": True, "is_superuser": True}
        )
        if created:
            user.set_password(PASSWORD)
            user.save()
        self.stdout.write(
            f"Admin: http://127.0.0.1:8000/admin/  username “{USERNAME}”, "
            f"password “{PASSWORD}”" + ("" if created else " (unless you changed it)")
        )
        # Two pairs of eyes: one person to write and submit, another to approve.
        for username, group in (("press", "Press officers"), ("publisher", "Publishers")):
            member, made = get_user_model().objects.get_or_create(
                username=username, defaults={"is_staff": True}
            )
            if made:
                member.set_password(PASSWORD)
                member.save()
            member.groups.add(Group.objects.get(name=group))
            self.stdout.write(f"{group}: username “{username}”, same password")

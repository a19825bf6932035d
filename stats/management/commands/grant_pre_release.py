"""Grant one person pre-release access to an approved release, as a named publisher; prints the link."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError

from stats.management.commands.release import period, user_and_release
from stats.publishing import prerelease
from stats.wording import ukclock


class Command(BaseCommand):
    help = (
        "Grant pre-release access: manage.py grant_pre_release 2010-03-10 --name 'Ann Lee' "
        "--email ann@example.org --role 'Special adviser' --organisation 'Department of Health' "
        "--reason 'Briefing the minister' --as publisher"
    )

    def add_arguments(self, parser):
        parser.add_argument("period", type=period, help="The release's period date, e.g. 2010-03-10.")
        parser.add_argument("--name", required=True)
        parser.add_argument("--email", required=True, help="Where the personal link is emailed.")
        parser.add_argument("--role", required=True, help="Job title: published with the release.")
        parser.add_argument("--organisation", required=True, help="Published with the release.")
        parser.add_argument("--reason", required=True, help="Why they need it before publication.")
        parser.add_argument("--as", dest="username", required=True, help="The publisher granting it.")

    def handle(self, *args, period, name, email, role, organisation, reason, username, **options):
        user, release = user_and_release(username, period)
        try:
            grant = prerelease.grant_access(
                release=release,
                by=user,
                name=name,
                job_title=role,
                organisation=organisation,
                email=email,
                reason=reason,
            )
        except PermissionDenied as error:
            raise CommandError(str(error)) from error
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error
        times = prerelease.window(release)
        opens, closes = ukclock.uk_label(times.opens), ukclock.uk_label(times.closes)
        self.stdout.write(
            f"Granted pre-release access to {grant.name} ({grant.job_title}, {grant.organisation}).\n"
            f"Opens {opens}; closes at publication, {closes}.\n"
            f"Personal link (also emailed to {grant.email}):\n{prerelease.link_url(grant)}"
        )

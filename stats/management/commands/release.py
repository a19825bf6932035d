"""Move a release through the publishing workflow from the command line, as a named user."""

import datetime as dt
from decimal import Decimal, InvalidOperation

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError

from stats.models import Release
from stats.publishing import services, workflow
from stats.wording import ukclock


def period(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as error:
        raise CommandError(f"“{value}” is not a date like 2010-03-10.") from error


def uk_time(value: str) -> dt.datetime:
    """'2010-03-10 09:30' read as UK time."""
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError as error:
        raise CommandError(f"“{value}” is not a time like “2010-03-10 09:30” (UK time).") from error
    return moment if moment.tzinfo else moment.replace(tzinfo=ukclock.UK)


def user_and_release(username: str, period_date: dt.date):
    """The named user and the release for the period, or a CommandError naming what is missing."""
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise CommandError(f"There is no user “{username}”.")
    release = Release.objects.filter(period_date=period_date).first()
    if release is None:
        raise CommandError(f"There is no release for {period_date.isoformat()}.")
    return user, release


class Command(BaseCommand):
    help = (
        "Publishing workflow: start-next, submit, approve, publish-now, return-to-draft, withdraw, "
        "change-date, cancel, correct-figure. Example: manage.py release submit 2010-03-10 --as alice"
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)

        def action(name, help_text):
            p = sub.add_parser(name, help=help_text)
            p.add_argument("period", type=period, help="The release's period date, e.g. 2010-03-10.")
            p.add_argument("--as", dest="username", required=True, help="Who is doing this (a username).")
            return p

        action("start-next", "Start the next release from this one.").add_argument(
            "--period-date", type=period
        )
        action("submit", "Submit a draft for review.").add_argument(
            "--acknowledge-warnings", action="store_true"
        )
        p = action("approve", "Approve and schedule.")
        p.add_argument("--at", type=uk_time, help="Publish time, UK time: “2010-03-10 09:30”.")
        p.add_argument("--reason", default="", help="Why the announced date moves, if it does.")
        p.add_argument("--acknowledge-warnings", action="store_true")
        p = action("publish-now", "Publish at once.")
        p.add_argument("--reason", default="")
        p.add_argument("--acknowledge-warnings", action="store_true")
        action("return-to-draft", "Send back to draft.").add_argument("--reason", default="")
        action("withdraw", "Withdraw a public release.").add_argument("--reason", required=True)
        p = action("change-date", "Move or confirm the publish time.")
        p.add_argument("--at", type=uk_time, required=True)
        p.add_argument("--reason", default="")
        p.add_argument("--confirm", action="store_true")
        action("cancel", "Cancel a coming release.").add_argument("--reason", required=True)
        # Any other step of the workflow's table: its name and an optional reason.
        for step in services.RELEASE_STEPS:
            if step not in sub.choices:
                action(step, f"{workflow.VERBS[step].capitalize()} a release.").add_argument(
                    "--reason", default=""
                )
        p = action("correct-figure", "Correct a figure of a public release.")
        p.add_argument("--metric", required=True)
        p.add_argument("--value", required=True)
        p.add_argument("--reason", required=True)

    def handle(self, *args, action, period, username, **options):
        user, release = user_and_release(username, period)
        try:
            result = self.run(action, release, user, options)
        except (ValidationError, PermissionDenied) as error:
            raise CommandError(" ".join(getattr(error, "messages", None) or [str(error)])) from error
        release = result if isinstance(result, Release) else release
        release.refresh_from_db()
        when = f", {ukclock.uk_label(release.publish_at)}" if release.publish_at else ""
        self.stdout.write(f"{release}: {release.get_status_display()}{when}")

    def run(self, action, release, user, options):
        if action == "correct-figure":
            figure = release.figures.filter(metric__slug=options["metric"]).first()
            if figure is None:
                raise CommandError(f"{release} has no figure for “{options['metric']}”.")
            try:
                value = Decimal(options["value"])
            except InvalidOperation as error:
                raise CommandError(f"“{options['value']}” is not a number.") from error
            return services.correct_figure(figure=figure, by=user, value=value, reason=options["reason"])
        return services.run_release_step(
            step=action,
            release=release,
            by=user,
            reason=options.get("reason", ""),
            publish_at=options.get("at"),
            confirm=options.get("confirm", False),
            period_date=options.get("period_date"),
            acknowledge_warnings=options.get("acknowledge_warnings", False),
        )

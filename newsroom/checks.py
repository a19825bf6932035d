"""The project's own deployment checks (`manage.py check --deploy`)."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Tags, Warning, register

# A relay on this machine (a local postfix, say) is reached without leaving it.
LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1"}


@register(Tags.security, deploy=True)
def mail_relay_encrypted(app_configs, **kwargs):
    """Production mail to a relay on another machine goes encrypted, or someone chose otherwise."""
    host = settings.EMAIL_HOST
    if settings.DEBUG or not host or host.lower() in LOOPBACK_HOSTS:
        return []
    if settings.EMAIL_USE_TLS or settings.EMAIL_USE_SSL:
        return []
    return [
        Warning(
            f"Email to the relay {host} is sent unencrypted: neither EMAIL_USE_TLS nor EMAIL_USE_SSL is set.",
            hint="Set EMAIL_USE_TLS=1 (STARTTLS, usually port 587) or EMAIL_USE_SSL=1 (usually port 465), "
            "as the relay's provider says, with EMAIL_PORT if it differs.",
            id="newsroom.W001",
        )
    ]

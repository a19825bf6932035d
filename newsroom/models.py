from django.db import models


class AccountSignInFailures(models.Model):
    """Failed sign-ins for one user name, from any address, since its last successful sign-in.

    Past the first few, each failure makes the next attempt for that user name wait longer
    (newsroom.auth): guessing one account's password from many addresses is slowed down, and
    nobody is locked out for good.
    """

    username = models.CharField(max_length=255, unique=True)
    failures = models.PositiveIntegerField(default=0)
    last_failure_at = models.DateTimeField()

    class Meta:
        verbose_name = "failed sign-ins for an account"
        verbose_name_plural = "failed sign-ins for accounts"

    def __str__(self):
        return f"{self.username}: {self.failures} failed sign-ins"

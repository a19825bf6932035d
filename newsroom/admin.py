"""The admin's user pages: Django's own, with a password summary that is valid HTML."""

from django.contrib import admin
from django.contrib.auth import admin as auth_admin
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import get_user_model


class PasswordSummary(auth_forms.ReadOnlyPasswordHashWidget):
    """How the password is stored, and a link to change it, without the `disabled` Django puts on
    its <div> (HTML allows it only on form controls; there is nothing here to type in)."""

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        context["widget"]["attrs"].pop("disabled", None)
        return context


class UserChangeForm(auth_forms.UserChangeForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        password = self.fields.get("password")
        if password is not None:
            password.widget = PasswordSummary(password.widget.attrs)


User = get_user_model()
admin.site.unregister(User)


@admin.register(User)
class UserAdmin(auth_admin.UserAdmin):
    form = UserChangeForm

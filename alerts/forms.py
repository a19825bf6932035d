from django import forms

from stats.models import Programme

TOPIC_REQUIRED = "Select what you want email alerts about: every release, corrections, or a programme"


class TopicsForm(forms.Form):
    """What a subscriber wants alerts about: at least one topic."""

    every_release = forms.BooleanField(
        required=False,
        label="Every release",
        help_text="The headline figures of every programme, each time a release is published",
    )
    corrections = forms.BooleanField(
        required=False,
        label="Corrections and date changes",
        help_text="When a published figure is corrected, or a release date moves or is cancelled",
    )
    programmes = forms.ModelMultipleChoiceField(
        queryset=Programme.objects.active(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Only releases about these programmes",
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "%s")
        super().__init__(*args, **kwargs)

    def clean(self):
        data = super().clean()
        if not (data.get("every_release") or data.get("corrections") or data.get("programmes")):
            raise forms.ValidationError(TOPIC_REQUIRED, code="no_topic")
        return data


class SubscribeForm(TopicsForm):
    email = forms.EmailField(
        label="Email address",
        max_length=254,
        help_text="We only use it to send the alerts you choose. You can unsubscribe at any time.",
        error_messages={
            "required": "Enter your email address",
            "invalid": "Enter an email address in the correct format, like name@example.com",
            "max_length": "Enter an email address of 254 characters or fewer",
        },
        widget=forms.EmailInput(attrs={"autocomplete": "email", "spellcheck": "false"}),
    )

    field_order = ["email", "every_release", "corrections", "programmes"]

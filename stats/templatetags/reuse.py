"""Data people can reuse, on the pages: the Dataset description (JSON-LD) and the release's citation."""

from django import template
from django.conf import settings
from django.urls import reverse

from stats.outputs import metadata

register = template.Library()


def _base(context) -> str:
    return context["request"].build_absolute_uri("/").rstrip("/")


@register.simple_tag(takes_context=True)
def dataset_json_ld(context):
    """The page's release or metric as a schema.org Dataset, with its downloads as its distribution."""
    base = _base(context)
    shared = {
        "download_list": context.get("downloads") or [],
        "base": base,
        "organisation": settings.NEWSROOM_ORGANISATION,
        "catalogue": {
            "name": f"{settings.NEWSROOM_ORGANISATION} deployment statistics",
            "url": base + reverse("statistics:archive"),
        },
    }
    if context.get("document") is not None:
        return metadata.json_ld(metadata.release_dataset(context["document"], **shared))
    if context.get("metric") is not None:
        return metadata.json_ld(metadata.metric_dataset(context["metric"], context.get("coverage"), **shared))
    return ""


@register.simple_tag(takes_context=True)
def release_citation(context, document) -> metadata.Citation:
    """How to cite the release: `{% release_citation document as citation %}`."""
    url = _base(context) + document.release.get_absolute_url()
    return metadata.release_citation(document, url=url, organisation=settings.NEWSROOM_ORGANISATION)


@register.filter
def json_ld(data):
    """A dict as a `<script type="application/ld+json">` element, escaped for HTML."""
    return metadata.json_ld(data)

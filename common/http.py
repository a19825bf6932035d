"""Answers that are only ever read: GET and HEAD, and 405 with an `Allow` header for anything else."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.http import HttpResponse, HttpResponseNotAllowed
from django.utils.log import log_response
from django.views.decorators.csrf import csrf_exempt

READ_METHODS = ("GET", "HEAD")


def read_only(view=None, *, refuse: Callable[[object], HttpResponse] | None = None):
    """Let GET and HEAD through to `view`; refuse every other method (POST, TRACE, OPTIONS…) with 405.

    Django's `require_safe`, answered from the view itself: exempt from the CSRF check, which would
    otherwise refuse POST, PUT, PATCH and DELETE with 403 before the view could say 405. Nothing
    past the method check runs for another method, so nothing is read or written. `refuse(request)`
    words the 405 (the API answers JSON); the `Allow` header is set either way.
    """

    def decorate(view):
        @wraps(view)
        def only_read(request, *args, **kwargs):
            if request.method in READ_METHODS:
                return view(request, *args, **kwargs)
            response = refuse(request) if refuse else HttpResponseNotAllowed(READ_METHODS)
            response.status_code = 405
            response["Allow"] = ", ".join(READ_METHODS)
            log_response(
                "Method Not Allowed (%s): %s",
                request.method,
                request.path,
                response=response,
                request=request,
            )
            return response

        return csrf_exempt(only_read)

    return decorate if view is None else decorate(view)

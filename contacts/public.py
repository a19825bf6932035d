"""Media contacts are public wherever they are shown (release pages, their PDFs and files, the
contacts page, vCards): every change to one is said to the public page cache by the code that makes
it (the admin's forms, list, actions and deletes, and imports), once it commits."""

from common.cache import invalidate


def contacts_changed() -> None:
    """A contact was added, edited, verified, hidden or removed, or its programmes changed: every page."""
    invalidate()

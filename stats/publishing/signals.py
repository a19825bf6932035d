"""The publishing workflow's events, sent once the change has committed. Other apps listen
(email alerts, say) without the workflow knowing them.

- `release_published(release_id)`: the release moment: the release is marked published and the
  public cache is warm. Sent by the worker at the publish time (or at once, when published now).
- `correction_published(correction_id)`: a public release was corrected.
- `release_date_changed(change_id)`: an announced date moved, or a release was cancelled.
- `catching_up()`: the periodic catch-up ran: listeners finish what a stopped worker left.
"""

from django.dispatch import Signal

release_published = Signal()
correction_published = Signal()
release_date_changed = Signal()
catching_up = Signal()

import datetime as dt

from stats.outputs.downloads import DATA_FORMATS


class IsoDateConverter:
    """A reporting period in URLs: 2010-03-03. Impossible dates do not match (404)."""

    regex = r"\d{4}-\d{2}-\d{2}"

    def to_python(self, value: str) -> dt.date:
        return dt.date.fromisoformat(value)  # ValueError means "no match"

    def to_url(self, value) -> str:
        return value.isoformat() if isinstance(value, dt.date) else str(value)


class DownloadFormatConverter:
    """The data formats a release or series downloads in (`downloads.DATA_FORMATS`: csv, xlsx, json)."""

    regex = "|".join(DATA_FORMATS)

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value) -> str:
        return str(value)

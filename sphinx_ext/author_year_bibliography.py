"""The bibliography labelled as the text cites: "Long et al., 2015", not "[LSD15]".

sphinxcontrib-bibtex cites author-year in the text (``bibtex_reference_style``), but
labels the bibliography's entries with pybtex's alpha keys. This registers a pybtex
label style that writes the same author-year text, and a formatting style
("author_year") that uses it and sorts the entries by their labels, as a reader
looks them up; ``_config.yml``
makes it the default (``bibtex_default_style``). An entry without a year reads
"n.d.", as in the text.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from pybtex.database import Entry, Person
from pybtex.plugin import register_plugin
from pybtex.richtext import Text
from pybtex.style.formatting.unsrt import Style as UnsrtStyle
from pybtex.style.labels import BaseLabelStyle
from pybtex.style.sorting import BaseSortingStyle

NO_YEAR = "n.d."


def _surname(person: Person) -> str:
    """A person's last names as plain text (BibTeX braces and accents resolved)."""
    return Text.from_latex(" ".join(person.last_names)).render_as("text")


def author_year(entry: Entry) -> str:
    """ "Surname, year", "Surname and Surname, year" or "Surname et al., year"."""
    surnames = [_surname(person) for person in entry.persons.get("author", [])]
    if len(surnames) > 2:
        names = f"{surnames[0]} et al."
    else:
        names = " and ".join(surnames)
    return f"{names}, {entry.fields.get('year', NO_YEAR)}"


class AuthorYearLabels(BaseLabelStyle):
    """Labels that read as the text's citations."""

    def format_labels(self, sorted_entries: Iterable[Entry]) -> Iterator[str]:
        for entry in sorted_entries:
            yield author_year(entry)


class ByLabel(BaseSortingStyle):
    """Entries in the order of their labels, ignoring case (BibTeX's braces around a
    name would otherwise sort it after every other)."""

    def sorting_key(self, entry: Entry) -> tuple[str, str]:
        return author_year(entry).lower(), entry.fields.get("title", "").lower()


class AuthorYearStyle(UnsrtStyle):
    """pybtex's unsrt entries, labelled author-year and sorted by label."""

    default_label_style = "author_year"
    default_sorting_style = "author_year_label"


def setup(app) -> dict:
    register_plugin("pybtex.style.labels", "author_year", AuthorYearLabels)
    register_plugin("pybtex.style.sorting", "author_year_label", ByLabel)
    register_plugin("pybtex.style.formatting", "author_year", AuthorYearStyle)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

"""Docstring parsing: summary paragraph and per-argument descriptions."""

from __future__ import annotations

from llmagentos.tools import parse_docstring


def test_google_style() -> None:
    doc = parse_docstring(
        """Search the notes
        for a phrase.

        Longer explanation that is not part of the description.

        Args:
            query (str): What to look for;
                may span lines.
            limit: At most this many hits.
            *extra: Ignored by schemas, still parsed.

        Returns:
            limit: not an argument, must not be picked up.
        """
    )
    assert doc.description == "Search the notes for a phrase."
    assert doc.params == {
        "query": "What to look for; may span lines.",
        "limit": "At most this many hits.",
        "extra": "Ignored by schemas, still parsed.",
    }


def test_rest_style() -> None:
    doc = parse_docstring(
        """Add two numbers.

        :param a: The first
            addend.
        :param int b: The second addend.
        :type b: int
        :returns: the sum
        """
    )
    assert doc.description == "Add two numbers."
    assert doc.params == {"a": "The first addend.", "b": "The second addend."}


def test_section_without_blank_line_ends_the_description() -> None:
    doc = parse_docstring("Do it now.\nArgs:\n    x: the thing\n")
    assert doc.description == "Do it now."
    assert doc.params == {"x": "the thing"}


def test_missing_or_empty_docstring() -> None:
    assert parse_docstring(None).description == ""
    assert parse_docstring("   ").params == {}


def test_other_headers_do_not_hold_arguments() -> None:
    doc = parse_docstring(
        """Summary.

        Raises:
            ValueError: when bad.
        Arguments:
            x: an x.
        """
    )
    assert doc.params == {"x": "an x."}

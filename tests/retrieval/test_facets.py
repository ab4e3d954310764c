"""A question's facets: one per outlet or date part, each with its own words and filters."""

from __future__ import annotations

import datetime as dt

from newsrag.retrieval.facets import Facet, facets_of
from newsrag.retrieval.outlets import Outlets
from newsrag.retrieval.question import read_question

OUTLETS = Outlets.of(
    {
        "The Verge": ["v"],
        "TechCrunch": ["t"],
        "Reuters": ["r"],
        "Fortune": ["f"],
        "The Harbour Gazette": ["h"],
    }
)
ARCHIVE = (dt.date(2023, 9, 1), dt.date(2023, 12, 20))


def facets(text: str) -> tuple[Facet, ...]:
    return facets_of(read_question(text, OUTLETS, archive=ARCHIVE), ARCHIVE)


def test_a_question_naming_no_outlet_and_one_date_has_no_facets() -> None:
    assert facets("What did the mayor say about the bridge?") == ()
    assert facets("What did the mayor say on October 3, 2023?") == ()


def test_one_outlet_is_one_facet_filtered_to_it() -> None:
    (facet,) = facets("How many jobs did Acme cut, according to The Verge?")
    assert facet.sources == ("The Verge",)
    assert "Acme" in facet.text and "Verge" not in facet.text


def test_two_outlets_reporting_two_things_are_two_facets_with_their_own_words() -> None:
    found = facets(
        "Did TechCrunch report that Acme cut 200 jobs, while The Verge reported that a "
        "supplier sued Acme over unpaid invoices?"
    )
    assert [f.sources for f in found] == [("TechCrunch",), ("The Verge",)]
    assert "200 jobs" in found[0].text and "invoices" not in found[0].text
    assert "invoices" in found[1].text and "200 jobs" not in found[1].text


def test_outlets_named_together_share_the_words() -> None:
    found = facets("Which airline, according to both Reuters and Fortune, grounded its fleet?")
    assert [f.sources for f in found] == [("Reuters",), ("Fortune",)]
    assert found[0].text == found[1].text
    assert "grounded its fleet" in found[0].text


def test_a_list_of_outlets_is_not_cut_at_its_commas() -> None:
    found = facets("Which club, covered by Reuters, Fortune, and The Verge, sold its stadium?")
    assert [f.sources for f in found] == [("Reuters",), ("Fortune",), ("The Verge",)]
    assert all("sold its stadium" in f.text for f in found)


def test_claims_after_a_bare_attribution_are_facets_of_their_own() -> None:
    found = facets(
        "Which insurer, according to articles from Reuters, raised its premiums, cut its "
        "workforce, and left the Australian market?"
    )
    claims = [f for f in found if f.text != found[0].text]
    assert [f.sources for f in claims] == [("Reuters",)] * 3
    assert ["premiums" in claims[0].text, "workforce" in claims[1].text] == [True, True]
    assert "Australian market" in claims[2].text and "premiums" not in claims[2].text


def test_an_attribution_that_closes_a_claim_takes_the_claim() -> None:
    found = facets(
        "Which bank was fined by the regulator, as reported by Reuters, and later cut its "
        "dividend, as reported by Fortune?"
    )
    by_source = {f.sources: f.text for f in found}
    assert "fined by the regulator" in by_source[("Reuters",)]
    assert "dividend" in by_source[("Fortune",)]
    assert "dividend" not in by_source[("Reuters",)]


def test_two_reports_of_one_outlet_on_two_dates() -> None:
    found = facets(
        "Between the TechCrunch report on the recall published on October 2, 2023, and the "
        "TechCrunch report on the lawsuit published on November 14, 2023, did the tone change?"
    )
    assert [(f.sources, f.after, f.before) for f in found] == [
        (("TechCrunch",), dt.date(2023, 10, 2), dt.date(2023, 10, 2)),
        (("TechCrunch",), dt.date(2023, 11, 14), dt.date(2023, 11, 14)),
    ]
    assert "recall" in found[0].text and "lawsuit" in found[1].text
    assert "October" not in found[0].text  # the date is a filter, not words to match


def test_one_outlet_twice_in_one_clause_is_cut_between() -> None:
    found = facets("Did TechCrunch report the recall before TechCrunch reported the lawsuit?")
    assert len(found) == 2
    assert "recall" in found[0].text and "lawsuit" not in found[0].text
    assert "lawsuit" in found[1].text


def test_a_date_part_without_an_outlet_takes_the_only_outlet_named() -> None:
    found = facets(
        "Has The Harbour Gazette changed its view between the report published on "
        "October 4, 2023, and the report published on December 1, 2023?"
    )
    assert [(f.sources, f.after) for f in found] == [
        (("The Harbour Gazette",), dt.date(2023, 10, 4)),
        (("The Harbour Gazette",), dt.date(2023, 12, 1)),
    ]


def test_dates_outside_the_archive_are_about_events_not_articles() -> None:
    (facet,) = facets("Which phone, reviewed by The Verge, sold a million units in March?")
    assert (facet.after, facet.before) == (None, None)
    assert "in March" in facet.text


def test_two_dates_without_an_outlet_are_two_facets() -> None:
    found = facets(
        "Did the report published on October 4, 2023 and the report published on "
        "October 20, 2023 agree on the cost?"
    )
    assert [(f.sources, f.after) for f in found] == [
        ((), dt.date(2023, 10, 4)),
        ((), dt.date(2023, 10, 20)),
    ]


def test_an_attribution_without_a_comma_takes_the_claims_before_it() -> None:
    found = facets(
        "Which club, known for its youth academy, was relegated after a late collapse "
        "according to articles from Reuters?"
    )
    texts = [f.text for f in found if f.sources == ("Reuters",)]
    assert "Which club known for its youth academy" in texts
    assert "Which club was relegated after a late collapse" in texts


def test_claims_before_an_attribution_are_not_shared_with_later_outlets() -> None:
    found = facets(
        "Who, previously at Acme and accused of fraud according to a lawsuit covered by "
        "TechCrunch, has since joined a startup reported by Fortune?"
    )
    by_source = {f.sources: f.text for f in found}
    assert "fraud" in by_source[("TechCrunch",)]
    assert "startup" in by_source[("Fortune",)] and "fraud" not in by_source[("Fortune",)]


def test_a_first_clause_that_makes_a_claim_is_a_facet_of_the_outlets_named() -> None:
    found = facets(
        "Who is the striker that won the cup in 2020 and is expected to start on Sunday, as "
        "reported by Reuters and Fortune?"
    )
    (own,) = [f for f in found if f.sources == ("Reuters", "Fortune")]
    assert "won the cup" in own.text and "Sunday" not in own.text


def test_an_attribution_that_makes_its_own_claim_leaves_the_shared_words_shared() -> None:
    found = facets(
        "Which company, founded in 1998 in Ohio, according to Reuters cut 500 jobs, while "
        "The Verge reported that it was sued by a supplier?"
    )
    by_source = {f.sources: f.text for f in found}
    assert "founded in 1998" in by_source[("The Verge",)] and "sued" in by_source[("The Verge",)]

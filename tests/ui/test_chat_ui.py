"""Browser tests of the chat web UI against the real service (see conftest.py).

Each test opens its own page; the server, with the bundled PinkNews article, is shared.
Element names follow service/static/index.html and app.js.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Locator, Page, Request, expect

pytestmark = pytest.mark.ui

PROJECT_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = PROJECT_ROOT / "test-artifacts"
README_SCREENSHOT = PROJECT_ROOT / "docs" / "screenshot.png"

# Same request body as app.js sends (chatBody), so /v1/ask gives the answer the UI shows.
UI_TOP_K = 5

HOSTILE_ID = "ui-test-hostile-document"
HOSTILE_TITLE = '<img src=x onerror="window.__pwned=1">Hostile <script>window.__pwned=2</script>'
HOSTILE_SENTENCE = (
    "On Tuesday the Little Wexcombe town council voted seven to two to turn the old bus depot "
    "into a public library."
)
HOSTILE_TEXT = (
    "<script>window.__pwned=3</script>\n\n"
    f"{HOSTILE_SENTENCE} The mayor said the building work would start in the spring.\n\n"
    "<img src=x onerror=window.__pwned=4>\n"
)
HOSTILE_QUESTION = "How did the Little Wexcombe town council vote on the bus depot?"


# ---------- helpers ----------


def open_app(page: Page) -> None:
    """Load the UI and wait until the document list has loaded."""
    page.goto("/")
    expect(page.locator("#doc-list > li").first).to_be_visible()
    expect(page.locator("#doc-status")).to_have_text("")


def answer(page: Page, number: int) -> Locator:
    return page.get_by_role("article", name=f"Answer {number}", exact=True)


def wait_for_answer(page: Page, number: int) -> Locator:
    """Wait until answer `number` has finished streaming; fail if it is an error."""
    article = answer(page, number)
    rendered = page.locator(f'article[aria-label="Answer {number}"][data-refused]')
    failed = article.locator(".error")
    expect(rendered.or_(failed)).to_be_visible()
    if failed.count():
        pytest.fail(f"answer {number} is an error: {failed.inner_text()}")
    expect(article).not_to_have_attribute("aria-busy", "true")
    return article


def ask(page: Page, question: str, number: int) -> Locator:
    page.get_by_role("textbox", name="Question").fill(question)
    page.get_by_role("button", name="Send", exact=True).click()
    return wait_for_answer(page, number)


def marker(article: Locator, citation_id: int) -> Locator:
    return article.get_by_role("button", name=re.compile(rf"^\[{citation_id}\] Source: "))


def source_region(page: Page) -> Locator:
    return page.get_by_role("region", name="Source", exact=True)


def api_ask(api: httpx.Client, question: str, **extra: Any) -> dict[str, Any]:
    body = {"question": question, "top_k": UI_TOP_K, "mode": "extractive", "history": [], **extra}
    response = api.post("/v1/ask", json=body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def active_element(page: Page) -> dict[str, Any]:
    described: dict[str, Any] = page.evaluate(
        """() => {
            const a = document.activeElement;
            return a ? {tag: a.tagName, id: a.id, cls: a.className,
                        label: a.getAttribute("aria-label"), text: a.textContent.slice(0, 60)} : {};
        }"""
    )
    return described


def assert_no_horizontal_scroll(page: Page, width: int) -> None:
    scroll_width = page.evaluate("document.scrollingElement.scrollWidth")
    if scroll_width > width + 1:
        wide = page.evaluate(
            """(width) => [...document.querySelectorAll("body *")]
                .filter((n) => n.getBoundingClientRect().right > width + 1)
                .slice(0, 10)
                .map((n) => `${n.tagName}#${n.id}.${n.className} `
                    + `right=${n.getBoundingClientRect().right}`)""",
            width,
        )
        pytest.fail(f"horizontal scroll: scrollWidth {scroll_width} > {width}; too wide: {wide}")


@pytest.fixture
def app_page(ui_page: Page) -> Iterator[Page]:
    """A page on the app that fails the test on any uncaught JavaScript error."""
    errors: list[str] = []
    ui_page.on("pageerror", lambda exc: errors.append(str(exc)))
    open_app(ui_page)
    yield ui_page
    assert not errors, f"uncaught JavaScript errors: {errors}"


# ---------- tests ----------


def test_answer_with_citation_opens_highlighted_source(app_page: Page, api: httpx.Client) -> None:
    page = app_page
    question = "What did the Kremlin say about the reports?"
    page.set_viewport_size({"width": 1280, "height": 800})

    article = ask(page, question, 1)
    expect(article).to_have_attribute("data-refused", "false")
    expect(article.locator(".badge")).to_have_count(0)

    expected = api_ask(api, question)
    assert not expected["refused"]
    assert expected["citations"], expected
    first = expected["citations"][0]
    assert first["id"] == 1
    # The UI shows the same answer as the API (markers render as "[n]" buttons).
    expect(article.locator(".answer-text")).to_have_text(expected["answer"])

    marker(article, 1).click()
    region = source_region(page)
    expect(region).to_be_visible()
    expect(region.get_by_role("heading")).to_have_text(first["title"])
    mark = region.locator("mark")
    expect(mark).to_have_count(1)
    expect(mark).to_be_visible()
    expect(mark).to_have_text(first["quote"])
    assert mark.text_content() == first["quote"]  # exact, not whitespace-normalised
    # The viewer shows the whole stored article, the mark at citation offsets.
    document = api.get(f"/v1/documents/{first['document_id']}").json()
    assert region.locator("#viewer-text").text_content() == document["text"]
    assert document["text"][first["start"] : first["end"]] == first["quote"]

    ARTIFACTS.mkdir(exist_ok=True)
    README_SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "source-viewer.png"))
    shutil.copyfile(ARTIFACTS / "source-viewer.png", README_SCREENSHOT)


@pytest.fixture
def hostile_document(api: httpx.Client) -> Iterator[dict[str, Any]]:
    response = api.post(
        "/v1/documents",
        json={"document_id": HOSTILE_ID, "title": HOSTILE_TITLE, "text": HOSTILE_TEXT},
    )
    assert response.status_code in (200, 201), response.text
    try:
        yield response.json()
    finally:
        deleted = api.delete(f"/v1/documents/{HOSTILE_ID}")
        assert deleted.status_code == 204, deleted.text


def test_hostile_document_is_shown_as_text(
    app_page: Page, api: httpx.Client, hostile_document: dict[str, Any]
) -> None:
    page = app_page
    csp_reports: list[str] = []
    requested_paths: list[str] = []
    page.on(
        "console",
        lambda msg: csp_reports.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    page.on("request", lambda request: requested_paths.append(urlparse(request.url).path))
    page.reload()  # the document was ingested after the page loaded
    expect(page.locator("#doc-status")).to_have_text("")

    # The header allows only same-origin scripts: no inline script could run anyway.
    csp = api.get("/").headers.get("content-security-policy", "")
    assert "script-src 'self'" in csp, csp
    script_src = next(d for d in csp.split(";") if d.strip().startswith("script-src"))
    assert "unsafe" not in script_src, csp

    # The title is listed literally, as text.
    title_label = page.locator("#doc-list label.doc-title", has_text="Hostile")
    expect(title_label).to_have_count(1)
    assert title_label.text_content() == HOSTILE_TITLE
    checkbox = page.get_by_role("checkbox", name=HOSTILE_TITLE, exact=True)
    checkbox.check()
    expect(page.locator("#filter-status")).to_have_text("Searching 1 selected document.")

    article = ask(page, HOSTILE_QUESTION, 1)
    expect(article).to_have_attribute("data-refused", "false")
    first = marker(article, 1)
    expect(first).to_have_attribute("aria-label", f"[1] Source: {HOSTILE_TITLE}")
    first.click()
    region = source_region(page)
    expect(region).to_be_visible()
    expect(region.locator("#viewer-title")).to_have_text(HOSTILE_TITLE)
    expect(region.locator("mark")).to_be_visible()
    stored = api.get(f"/v1/documents/{HOSTILE_ID}").json()
    assert region.locator("#viewer-text").text_content() == stored["text"]
    expect(region.locator("#viewer-text")).to_contain_text("<script>window.__pwned=3</script>")
    expect(region.locator("#viewer-text")).to_contain_text("<img src=x onerror=window.__pwned=4>")
    assert HOSTILE_SENTENCE in (region.locator("mark").text_content() or "")

    assert page.evaluate("typeof window.__pwned") == "undefined"
    for container in ("#thread", "#doc-list", "#source-viewer"):
        created = page.locator(f"{container} script, {container} img")
        expect(created, f"element created inside {container}").to_have_count(0)
    assert "/x" not in requested_paths, "an injected <img src=x> was loaded"
    assert not csp_reports, f"something tried to run inline script: {csp_reports}"


def test_keyboard_only_question_and_source(app_page: Page) -> None:
    page = app_page
    # From the start of the page: the first Tab reaches the skip link, which leads to the question.
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to question")).to_be_focused()
    page.keyboard.press("Enter")
    question_box = page.get_by_role("textbox", name="Question")
    expect(question_box).to_be_focused()

    page.keyboard.type("What did the Kremlin say about the reports?")
    page.keyboard.press("Enter")
    article = wait_for_answer(page, 1)
    expect(article).to_have_attribute("data-refused", "false")
    expect(question_box).to_have_value("")

    # The thread comes before the question box: Shift+Tab walks back to the first marker.
    first = marker(article, 1)
    for _ in range(20):
        page.keyboard.press("Shift+Tab")
        if first.evaluate("(node) => node === document.activeElement"):
            break
    else:
        pytest.fail(f"Shift+Tab never reached the [1] marker; focus is on {active_element(page)}")
    page.keyboard.press("Enter")

    region = source_region(page)
    expect(region).to_be_visible()
    expect(region.locator("mark")).to_be_visible()
    expect(page.locator("#viewer-title")).to_be_focused()
    # Escape closes the viewer and gives focus back to the marker that opened it.
    page.keyboard.press("Escape")
    expect(region).to_be_hidden()
    expect(first).to_be_focused()


def test_follow_up_sends_history(app_page: Page) -> None:
    page = app_page
    first_question = "Who signed the letter to Rex Tillerson?"
    first = ask(page, first_question, 1)
    expect(first).to_have_attribute("data-refused", "false")

    page.get_by_role("textbox", name="Question").fill("Which Republicans were among them?")

    def is_chat(request: Request) -> bool:
        return request.method == "POST" and urlparse(request.url).path == "/v1/chat"

    with page.expect_request(is_chat) as chat_request:
        page.get_by_role("button", name="Send", exact=True).click()
    body = chat_request.value.post_data_json
    assert isinstance(body, dict), chat_request.value.post_data
    assert body["question"] == "Which Republicans were among them?"
    history = body.get("history")
    assert history, f"the follow-up was sent without history: {json.dumps(body)}"
    assert history[0] == {"role": "user", "content": first_question}
    assert history[1]["role"] == "assistant"
    assert history[1]["content"].strip()

    second = wait_for_answer(page, 2)
    expect(second).to_have_attribute("data-refused", "false")


def test_refusal_is_marked_and_not_an_error(app_page: Page, api: httpx.Client) -> None:
    page = app_page
    question = "Who won the 2018 World Cup?"
    article = ask(page, question, 1)
    expect(article).to_have_attribute("data-refused", "true")
    expect(article).to_have_class(re.compile(r"\brefused\b"))
    expect(article.locator(".badge")).to_have_text("Not answered")
    expect(article.get_by_role("alert")).to_have_count(0)
    expect(article.locator(".error")).to_have_count(0)
    expect(article.locator("button.marker")).to_have_count(0)
    expect(article.locator(".citations")).to_have_count(0)
    expected = api_ask(api, question)
    assert expected["refused"] is True
    expect(article.locator(".answer-text")).to_have_text(expected["answer"])


def test_short_answer_is_shown_first_and_marked_in_its_quote(
    app_page: Page, api: httpx.Client
) -> None:
    page = app_page
    question = "How many members of Congress signed the letter?"
    expected = api_ask(api, question)
    short = expected["short_answer"]
    assert short is not None and short["text"] == "50"
    article = ask(page, question, 1)
    shown = article.locator(".short-answer")
    expect(shown.locator("strong")).to_have_text(short["text"])
    # it comes before the sentences, and its marker opens the citation that holds it
    assert shown.evaluate("(n) => n.nextElementSibling.classList.contains('answer-text')")
    expect(marker(shown, short["citation"])).to_be_visible()
    quote = article.locator(".citations li").nth(short["citation"] - 1).locator(".quote")
    expect(quote.locator("mark")).to_have_text(short["text"])


def _serious(results: dict[str, Any]) -> list[dict[str, Any]]:
    return [v for v in results["violations"] if v.get("impact") in ("serious", "critical")]


def _describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"[{violation['impact']}] {violation['id']}: {violation['help']}")
        lines.append(f"    {violation['helpUrl']}")
        for node in violation["nodes"][:5]:
            lines.append(f"    - {' '.join(map(str, node['target']))}: {node['html'][:160]}")
            summary = (node.get("failureSummary") or "").replace("\n", " ")
            if summary:
                lines.append(f"      {summary[:300]}")
    return "\n".join(lines)


def test_accessibility_has_no_serious_violations(app_page: Page) -> None:
    page = app_page
    article = ask(page, "What did the Kremlin say about the reports?", 1)
    axe = Axe()
    with_answer = _serious(axe.run(page).response)

    marker(article, 1).click()
    expect(source_region(page).locator("mark")).to_be_visible()
    with_source = _serious(axe.run(page).response)

    report = ""
    if with_answer:
        report += "With an answer shown:\n" + _describe(with_answer) + "\n"
    if with_source:
        report += "With the source viewer open:\n" + _describe(with_source) + "\n"
    if report:
        print(report)
    assert not report, "serious or critical accessibility violations:\n" + report


def test_phone_width_has_no_horizontal_scroll(ui_page: Page) -> None:
    page = ui_page
    width = 390
    page.set_viewport_size({"width": width, "height": 844})
    open_app(page)
    assert_no_horizontal_scroll(page, width)
    send = page.get_by_role("button", name="Send", exact=True)
    expect(send).to_be_visible()
    box = send.bounding_box()
    assert box is not None
    assert box["x"] >= 0 and box["x"] + box["width"] <= width, box

    # Long quotes and titles must wrap too, with an answer and the source viewer shown.
    article = ask(page, "What did the Kremlin say about the reports?", 1)
    marker(article, 1).click()
    expect(source_region(page).locator("mark")).to_be_visible()
    assert_no_horizontal_scroll(page, width)
    expect(send).to_be_visible()


FERRY_STORY = (
    "Ferry runs aground off Port Brannick\n\n"
    "A passenger ferry carrying 143 passengers and nine crew ran aground on a sandbank in the "
    "Tarrow Estuary on Monday night, the coastal safety authority said. Twelve people were "
    "taken to Brannick General Hospital with minor injuries. The ferry's captain, Aled Fenwick, "
    "has worked on the route for more than 20 years. All passengers were brought ashore by "
    "lifeboats within four hours. Sailings between Port Brannick and Inchmore are suspended "
    "until Friday while divers inspect the hull."
)
FERRY_CORRECTED = FERRY_STORY.replace("Twelve people", "Eleven people")
FERRY_COPY = FERRY_CORRECTED.replace(
    "Ferry runs aground off Port Brannick", "Inchmore ferry grounds\n\nBy Harbour Gazette staff"
)


@pytest.fixture
def newsroom_documents(api: httpx.Client) -> Iterator[None]:
    ids = ["ui-ferry-agency", "ui-ferry-gazette"]
    for document_id, text, source in (
        ("ui-ferry-agency", FERRY_STORY, "Meridian Press Agency"),
        ("ui-ferry-agency", FERRY_CORRECTED, "Meridian Press Agency"),
        ("ui-ferry-gazette", FERRY_COPY, "Harbour Gazette"),
    ):
        body = {"document_id": document_id, "text": text, "source": source}
        response = api.post("/v1/documents", json={**body, "published_at": "2017-06-12"})
        assert response.status_code in (200, 201), response.text
    yield
    for document_id in ids:
        api.delete(f"/v1/documents/{document_id}")


def test_cited_passage_shows_correction_and_other_copies(
    app_page: Page, newsroom_documents: None
) -> None:
    page = app_page
    page.reload()
    article = ask(page, "How many people were taken to Brannick General Hospital?", 1)
    expect(article).to_have_attribute("data-refused", "false")
    expect(article).to_contain_text("Eleven people")
    notes = article.locator(".citations .passage-note")
    expect(notes.filter(has_text="Corrected in version 2")).to_contain_text(
        "Previously: “Twelve people were taken"
    )
    expect(notes.filter(has_text="Also in:")).to_contain_text("Harbour Gazette 2017-06-12")
    expect(article.locator(".passage-meta").first).to_contain_text("2017-06-12")


@pytest.fixture
def two_outlets(api: httpx.Client) -> Iterator[None]:
    stories = {
        "ui-verge-cuts": (
            "The Verge",
            "2023-10-02",
            "Acme cuts drone jobs\n\nAcme Robotics cut 200 jobs in its drone unit on Monday. "
            "The company blamed weak demand from farms.",
        ),
        "ui-tc-round": (
            "TechCrunch",
            "2023-11-20",
            "Acme raises money\n\nAcme Robotics raised 50 million dollars from Northwind "
            "Capital. The round values the company at one billion dollars.",
        ),
    }
    for document_id, (source, published, text) in stories.items():
        body = {"document_id": document_id, "text": text, "source": source}
        response = api.post("/v1/documents", json={**body, "published_at": published})
        assert response.status_code in (200, 201), response.text
    yield
    for document_id in stories:
        api.delete(f"/v1/documents/{document_id}")


def test_an_answer_from_several_articles_groups_its_passages_by_outlet(
    app_page: Page, api: httpx.Client, two_outlets: None
) -> None:
    page = app_page
    page.reload()
    question = (
        "Did TechCrunch report that Acme Robotics raised money from Northwind Capital before "
        "The Verge reported that Acme Robotics cut drone jobs?"
    )
    expected = api_ask(api, question)
    assert expected["short_answer"]["text"] == "no", expected
    cited = {c["id"]: c["document_id"] for c in expected["citations"]}
    verdict_cites = {cited[i] for i in expected["short_answer"]["citations"]}
    assert verdict_cites == {"ui-verge-cuts", "ui-tc-round"}
    article = ask(page, question, 1)
    expect(article.locator(".short-answer strong")).to_have_text("No")
    groups = article.locator(".source-group")
    expect(groups).to_have_count(2)
    expect(article.locator(".sources-heading")).to_have_text("Cited passages from 2 articles")
    headings = groups.locator(".source-group-heading")
    expect(headings.filter(has_text="The Verge · 2023-10-02")).to_have_count(1)
    expect(headings.filter(has_text="TechCrunch · 2023-11-20")).to_have_count(1)
    verge = groups.filter(has_text="The Verge · 2023-10-02")
    expect(verge.locator(".quote")).to_contain_text("Acme Robotics cut 200 jobs")

"""The search page in a real headless Chromium (selenium): what it shows is what ``EmbeddingIndex.search`` returns.

Needs selenium and a chromedriver on PATH (Debian: ``apt-get install chromium chromium-driver``); skipped otherwise.
Run with ``python -m pytest -m browser tests/search/test_search_page.py``.
"""

from __future__ import annotations

import json
import shutil
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
from conftest import SENTENCES, build_tiny_bert, make_model, serving

from simcse_st.search import EmbeddingIndex, SearchHit
from simcse_st.search.index_server import make_server

pytestmark = pytest.mark.browser

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.common.exceptions import WebDriverException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.remote.webdriver import WebDriver  # noqa: E402
from selenium.webdriver.support import expected_conditions  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

MARKUP = "the <b>html</b> tag <img src=x onerror=alert(1)> is shown as text."
CORPUS = [*SENTENCES, MARKUP, "a girl rides a bicycle downhill.", "fresh bread smells wonderful."]
WAIT_S = 30


def chromedriver_path() -> str | None:
    return shutil.which("chromedriver") or (
        "/usr/bin/chromedriver" if Path("/usr/bin/chromedriver").is_file() else None
    )


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> EmbeddingIndex:
    model = make_model(build_tiny_bert(tmp_path_factory.mktemp("page") / "bert"))
    return EmbeddingIndex.build(model, CORPUS, show_progress_bar=False)


@pytest.fixture(scope="module")
def base(index: EmbeddingIndex) -> Iterator[str]:
    with serving(make_server(index, port=0, max_top_k=20)) as url:
        yield url


@pytest.fixture(scope="module")
def driver() -> Iterator[WebDriver]:
    path = chromedriver_path()
    if path is None:
        pytest.skip("no chromedriver on PATH (Debian: apt-get install chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--no-proxy-server"):
        options.add_argument(argument)
    options.add_argument("--window-size=1100,800")
    try:
        browser = webdriver.Chrome(service=webdriver.ChromeService(executable_path=path), options=options)
    except WebDriverException as error:
        pytest.skip(f"Chromium does not start here: {error.msg}")
    yield browser
    browser.quit()


def open_page(driver: WebDriver, base: str) -> WebDriverWait:
    driver.get(base + "/")
    wait = WebDriverWait(driver, WAIT_S)
    wait.until(lambda d: "sentences" in d.find_element(By.ID, "info").text)
    return wait


def type_into(driver: WebDriver, element_id: str, text: str) -> None:
    element = driver.find_element(By.ID, element_id)
    element.clear()
    if text:
        element.send_keys(text)


def search_on_page(driver: WebDriver, base: str, query: str, top_k: str = "5", threshold: str = "") -> WebDriverWait:
    """Open the page, fill the form and press Enter in the query box."""
    wait = open_page(driver, base)
    type_into(driver, "top-k", top_k)
    type_into(driver, "threshold", threshold)
    type_into(driver, "query", query)
    driver.find_element(By.ID, "query").send_keys(Keys.ENTER)
    return wait


def shown_hits(driver: WebDriver, wait: WebDriverWait, count: int) -> list[dict[str, str]]:
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#results li.hit")) == count)
    hits = []
    for item in driver.find_elements(By.CSS_SELECTOR, "#results li.hit"):
        part = {name: item.find_element(By.CSS_SELECTOR, f".{name}") for name in ("rank", "score", "sentence", "id")}
        hits.append(
            {name: element.get_property("textContent") for name, element in part.items()}
            | {"full_score": item.get_attribute("data-score")}
        )
    return hits


def assert_shown(shown: list[dict[str, str]], expected: list[SearchHit]) -> None:
    assert [hit["sentence"] for hit in shown] == [hit.sentence for hit in expected]
    assert [int(hit["id"]) for hit in shown] == [hit.id for hit in expected]
    assert [hit["rank"] for hit in shown] == [f"{rank}." for rank in range(1, len(expected) + 1)]
    for hit, direct in zip(shown, expected, strict=True):
        assert len(hit["score"].split(".")[1]) == 3  # 3 decimals
        assert abs(float(hit["score"]) - direct.score) <= 5e-4 + 1e-6
        assert float(hit["full_score"]) == pytest.approx(direct.score, abs=1e-6)


def server_error(base: str, **params: str) -> str:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        opener.open(f"{base}/api/search?{urlencode(params)}", timeout=30).close()
    except urllib.error.HTTPError as error:
        with error:
            return json.loads(error.read())["error"]
    raise AssertionError("the request was accepted")


def test_info_line(driver: WebDriver, base: str, index: EmbeddingIndex) -> None:
    open_page(driver, base)
    info = driver.find_element(By.ID, "info").text
    assert f"{len(index)} sentences" in info
    assert "exact index (float32, 32-d)" in info
    model = driver.find_element(By.ID, "model")
    assert model.get_attribute("title") == index.model_info["name"]  # a long path is shown as its last two parts
    assert model.text in info and index.model_info["name"].endswith(model.text.removeprefix("…"))
    assert driver.title
    assert not driver.find_element(By.ID, "error").is_displayed()


def test_enter_shows_the_ranked_hits_of_the_index(driver: WebDriver, base: str, index: EmbeddingIndex) -> None:
    query = "a man is playing music"
    wait = search_on_page(driver, base, query, top_k="7")
    assert_shown(shown_hits(driver, wait, 7), index.search(query, top_k=7))
    assert not driver.find_element(By.ID, "error").is_displayed()


def test_button_and_threshold(driver: WebDriver, base: str, index: EmbeddingIndex) -> None:
    query = "the cat on the mat"
    everything = index.search(query, top_k=len(CORPUS))
    threshold = f"{everything[len(everything) // 2].score:.4f}"
    expected = index.search(query, top_k=20, threshold=float(threshold))
    assert 0 < len(expected) < 20
    open_page(driver, base)
    type_into(driver, "top-k", "20")
    type_into(driver, "threshold", threshold)
    type_into(driver, "query", query)
    driver.find_element(By.ID, "search").click()
    assert_shown(shown_hits(driver, WebDriverWait(driver, WAIT_S), len(expected)), expected)


@pytest.mark.parametrize(("query", "top_k", "threshold"), [("a dog", "0", ""), ("a dog", "500", ""), ("", "5", "")])
def test_bad_request_shows_the_servers_error(
    driver: WebDriver, base: str, query: str, top_k: str, threshold: str
) -> None:
    wait = search_on_page(driver, base, "a first query", top_k="3")
    shown_hits(driver, wait, 3)  # results of a good search first: the bad one must clear them
    type_into(driver, "top-k", top_k)
    type_into(driver, "threshold", threshold)
    type_into(driver, "query", query)
    driver.find_element(By.ID, "search").click()
    error = wait.until(expected_conditions.visibility_of_element_located((By.ID, "error")))
    assert error.text == server_error(base, q=query, top_k=top_k)
    assert driver.find_elements(By.CSS_SELECTOR, "#results li.hit") == []


def test_markup_in_a_sentence_is_shown_as_text(driver: WebDriver, base: str, index: EmbeddingIndex) -> None:
    wait = search_on_page(driver, base, MARKUP, top_k="3")
    shown = shown_hits(driver, wait, 3)
    assert_shown(shown, index.search(MARKUP, top_k=3))
    assert shown[0]["sentence"] == MARKUP
    assert driver.find_elements(By.CSS_SELECTOR, "#results b, #results img") == []
    assert driver.execute_script("return document.querySelectorAll('img').length") == 0

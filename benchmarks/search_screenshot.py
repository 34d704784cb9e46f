"""A PNG screenshot of the search page (``simcse_st.search.index_server``) showing the results of one query.

Indexes the first ``--lines`` sentences of the wiki1m corpus of the data directory with the offline all-MiniLM-L6-v2,
serves the index on a free port of 127.0.0.1, searches it in headless Chromium (selenium; Debian: ``apt-get install
chromium chromium-driver``) and saves the window:

    python benchmarks/search_screenshot.py docs/img/search-page.png --data ../shared/data
"""

from __future__ import annotations

import argparse
import itertools
import shutil
import threading
from pathlib import Path

DEFAULT_QUERY = "summer camps for young people in the mountains"


def first_sentences(path: Path, count: int) -> list[str]:
    """The first ``count`` non-blank lines of ``path`` (only those lines are read)."""
    with path.open(encoding="utf-8") as handle:
        lines = (line.strip() for line in handle)
        return list(itertools.islice((line for line in lines if line), count))


def screenshot(
    output: Path, sentences: list[str], model: str, query: str, top_k: int, width: int, height: int
) -> None:
    """Serve an index of ``sentences``, search ``query`` on the page, and save the window to ``output``."""
    from selenium import webdriver
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    from simcse_st.search import EmbeddingIndex
    from simcse_st.search.index_server import make_server

    driver_path = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    index = EmbeddingIndex.build(model, sentences, show_progress_bar=False)
    server = make_server(index, port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    options = webdriver.ChromeOptions()
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--no-proxy-server"):
        options.add_argument(argument)
    options.add_argument(f"--window-size={width},{height}")
    driver = webdriver.Chrome(service=webdriver.ChromeService(executable_path=driver_path), options=options)
    try:
        host, port = server.server_address[:2]
        driver.get(f"http://{host}:{port}/")
        wait = WebDriverWait(driver, 60)
        wait.until(lambda d: "sentences" in d.find_element(By.ID, "info").text)
        top_k_box = driver.find_element(By.ID, "top-k")
        top_k_box.clear()
        top_k_box.send_keys(str(top_k))
        driver.find_element(By.ID, "query").send_keys(query, Keys.ENTER)
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#results li.hit")) > 0)
        output.parent.mkdir(parents=True, exist_ok=True)
        if not driver.save_screenshot(str(output)):
            raise SystemExit(f"the screenshot could not be written to {output}")
    finally:
        driver.quit()
        server.shutdown()
        server.server_close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", type=Path, help="the PNG file to write")
    parser.add_argument("--data", default=None, help="data directory (default: $SIMCSE_ST_DATA)")
    parser.add_argument("--model", default=None, help="model path (default: the offline all-MiniLM-L6-v2)")
    parser.add_argument("--lines", type=int, default=200, help="sentences indexed: the corpus's first lines")
    parser.add_argument("--query", default=DEFAULT_QUERY)
    parser.add_argument("--top-k", type=int, default=8)
    parser.add_argument("--width", type=int, default=1100)
    parser.add_argument("--height", type=int, default=800)
    args = parser.parse_args()

    from simcse_st import resolve_data_dir
    from simcse_st.data.data_dir import WIKI_CORPUS
    from simcse_st.inference.model_loading import offline_minilm_path

    data = resolve_data_dir(args.data)
    if data is None:
        raise SystemExit("pass --data DIR or set SIMCSE_ST_DATA")
    sentences = first_sentences(data / WIKI_CORPUS, args.lines)
    model = args.model or offline_minilm_path()
    screenshot(args.output, sentences, model, args.query, args.top_k, args.width, args.height)
    print(f"{args.output}: {len(sentences)} sentences indexed, query {args.query!r}")


if __name__ == "__main__":
    main()

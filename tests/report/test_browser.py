"""report.html of the demo run in a real headless Chromium (Debian ``chromium`` + chromedriver).

``EVALMT_DOCS_SCREENSHOT=1`` also copies the screenshot to
docs/report-screenshot.png. A missing browser skips these tests with a one-line
reason; ``.ci/run`` installs both and sets ``EVALMT_REQUIRE_TOOLS=1``, which
turns that skip into a failure (tests/testkit/tools.py). No network: the page is opened from a
file URL and Chromium's background services are switched off.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from testkit.tools import missing, require_tool

CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--window-size=1200,1100")
DOCS_SCREENSHOT = Path(__file__).parents[2] / "docs" / "report-screenshot.png"


def _binary(*names: str) -> str:
    return require_tool(*names, install="apt-get install chromium chromium-driver")


@pytest.fixture(scope="module")
def demo_report(demo_run_dir) -> Path:
    return demo_run_dir / "report.html"


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        missing("selenium is not installed (install: pip install -e '.[dev]')")
    options = webdriver.ChromeOptions()
    options.binary_location = _binary("chromium", "chromium-browser")
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(_binary("chromedriver")), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def _column(driver, table_id: str, index: int) -> list[str]:
    cells = driver.find_elements("css selector", f"#{table_id} tbody tr td:nth-child({index})")
    return [c.text for c in cells]


def test_demo_report_in_headless_chromium(demo_report, browser, tmp_path):
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(demo_report.as_uri())
    WebDriverWait(browser, 30).until(
        lambda d: d.find_element("tag name", "body").get_attribute("data-ready") == "1")
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []

    # summary table: one row per system, metrics as columns, sorted by a header click
    headers = [th.text for th in browser.find_elements("css selector", "#summary-table th")]
    assert headers == ["system", "BLEU", "chrF2", "chrF2++", "TER"]
    before = _column(browser, "summary-table", 1)
    assert before == ["dictionary-gloss", "copy-source"]  # the run's own order
    browser.find_element("css selector", "#summary-table th[data-col='0']").click()
    assert _column(browser, "summary-table", 1) == ["copy-source", "dictionary-gloss"]
    browser.find_element("css selector", "#summary-table th[data-col='4']").click()  # TER
    assert _column(browser, "summary-table", 1) == ["dictionary-gloss", "copy-source"]

    # chart: one drawn canvas per metric, systems × documents cells
    canvases = browser.find_elements("css selector", "#chart-panels canvas")
    assert [c.get_attribute("data-metric") for c in canvases] == headers[1:]
    assert all(c.get_attribute("data-cells") == "2" for c in canvases)  # 2 systems × 1 doc
    drawn = browser.execute_script(
        "var c = arguments[0], d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
        "var n = 0; for (var i = 3; i < d.length; i += 4) if (d[i]) n++; return n;", canvases[0])
    assert drawn > 1000
    # each column is labelled with its document, and a legend gives the colour scale: the
    # demo's one document scores (BLEU, from sacrebleu) 0.00 for the copy, worst, and the
    # gloss's score, best
    import sacrebleu

    bleu = {}
    for system in ("dictionary-gloss", "copy-source"):
        rows = [json.loads(line) for line in (demo_report.parent / "hypotheses" /
                f"{system}.jsonl").read_text(encoding="utf-8").splitlines()]
        bleu[system] = sacrebleu.corpus_bleu([r["hyp"] for r in rows],
                                             [[r["ref"] for r in rows]]).score
    assert [c.get_attribute("data-doc-labels") for c in canvases] == ["1"] * 4
    assert canvases[0].get_attribute("data-legend") == \
        f"{bleu['copy-source']:.2f} worse … better {bleu['dictionary-gloss']:.2f}"

    # segment viewer: source, reference and both outputs for each of the 3 segments
    segs = browser.find_elements("css selector", "#segment-viewer .seg")
    assert len(segs) == 3
    cells = segs[0].find_elements("css selector", ".seg-cell")
    assert [c.get_attribute("class") for c in cells] == [
        "seg-cell src", "seg-cell ref", "seg-cell hyp", "seg-cell hyp"]
    assert cells[1].text.startswith("reference\nOn May 14")
    assert segs[0].find_elements("css selector", ".hyp ins") \
        and segs[0].find_elements("css selector", ".hyp del")
    # a text filter narrows the segments
    browser.find_element("id", "seg-text").send_keys("presided")
    assert len(browser.find_elements("css selector", "#segment-viewer .seg")) == 1
    assert browser.find_element("id", "seg-count").text == "1 of 3 segments"

    # worst documents and the manifest
    assert len(browser.find_elements("css selector", "#worst-lists .worst-system")) == 2
    assert browser.find_elements("css selector", "#manifest-body details")
    # the sample page's three paragraphs were aligned 1-1; one pair of systems × 4 metrics
    kinds = browser.find_elements("css selector", "#alignment-table tbody td:nth-child(3)")
    assert [k.get_attribute("textContent") for k in kinds] == ["1-1"] * 3
    assert len(browser.find_elements("css selector", "#significance-table tbody tr")) == 4

    browser.execute_script("document.getElementById('seg-text').value = '';"
                           "document.getElementById('seg-text').dispatchEvent(new Event('input'));"
                           "window.scrollTo(0, 0);")
    shot = tmp_path / "report.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
    if os.environ.get("EVALMT_DOCS_SCREENSHOT"):  # refresh docs/report-screenshot.png on demand
        shutil.copy(shot, DOCS_SCREENSHOT)


def test_markup_in_outputs_stays_text(demo_report, browser, tmp_path):
    """An output holding ``</script><script>…`` is shown as text and never runs."""
    from selenium.webdriver.support.ui import WebDriverWait

    from evalmt.report.html import write_html_report

    run_dir = tmp_path / "run"
    shutil.copytree(demo_report.parent, run_dir)
    hostile = "</script><script>window.pwned = 1</script><img src=x onerror='window.pwned=2'>"
    path = run_dir / "hypotheses" / "copy-source.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    rows[0]["hyp"] = hostile
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    browser.get(write_html_report(run_dir).as_uri())
    WebDriverWait(browser, 30).until(
        lambda d: d.find_element("tag name", "body").get_attribute("data-ready") == "1")
    assert browser.execute_script("return window.pwned === undefined")
    cell = browser.find_element("css selector", ".seg .hyp[data-system='copy-source']")
    assert "window.pwned = 1</script><img" in cell.text.replace("\n", " ")


def _bench_module():
    import importlib.util

    path = Path(__file__).parents[2] / "scripts" / "bench" / "report.py"
    spec = importlib.util.spec_from_file_location("bench_report", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_many_documents_are_paginated_sorted_and_opened(browser, tmp_path):
    """120 documents × 3 systems (the benchmark's synthetic run, scaled down)."""
    from selenium.webdriver.support.ui import WebDriverWait

    from evalmt.report.html import write_html_report

    run_dir = _bench_module().make_run(tmp_path, docs=120, systems=3, per_doc=2)
    browser.get(write_html_report(run_dir).as_uri())
    WebDriverWait(browser, 30).until(
        lambda d: d.find_element("tag name", "body").get_attribute("data-ready") == "1")
    rows = browser.find_elements("css selector", "#doc-table tbody tr")
    assert len(rows) == 50  # one page, not 120 rows
    assert browser.find_element("id", "doc-count").text == "120 of 120 documents"
    assert len(browser.find_elements("css selector", "#segment-viewer .seg")) == 20
    assert "page 1 / 12" in browser.find_element("id", "seg-pager").text  # 240 segments
    # sort by system-01's score: the column becomes ascending, then descending
    browser.find_element("css selector", "#doc-table th[data-col='3']").click()
    first = [float(x) for x in _column(browser, "doc-table", 4)]
    assert first == sorted(first, reverse=True)  # higher-is-better columns start descending
    browser.find_element("css selector", "#doc-table th[data-col='3']").click()
    again = [float(x) for x in _column(browser, "doc-table", 4)]
    assert again == sorted(again) and again != first
    # filter "doc-001" matches doc-0010 … doc-0019; a click opens exactly one document
    browser.find_element("id", "doc-filter").send_keys("doc-001")
    assert browser.find_element("id", "doc-count").text == "10 of 120 documents"
    browser.find_element("css selector", "#doc-table tr[data-doc='doc-0011']").click()
    segs = browser.find_elements("css selector", "#segment-viewer .seg")
    assert [s.get_attribute("data-segment") for s in segs] == ["doc-0011/1", "doc-0011/2"]
    canvases = browser.find_elements("css selector", "#chart-panels canvas")
    assert [c.get_attribute("data-cells") for c in canvases] == ["30"] * 4  # 10 docs × 3


def test_dataset_picker_switches_every_section(demo_report, browser, tmp_path):
    """A run with two data sets (folders a/ and b/): the picker shows the chosen one."""
    from selenium.webdriver.support.ui import Select, WebDriverWait

    from evalmt.report.html import write_html_report

    demo = demo_report.parent
    manifest = json.loads((demo / "manifest.json").read_text(encoding="utf-8"))
    entry, results = manifest["datasets"].pop("sample"), manifest["results"].pop("sample")
    run_dir = tmp_path / "multi"
    for name in ("a", "b"):
        shutil.copytree(demo, run_dir / name, ignore=shutil.ignore_patterns("manifest.json"))
        manifest["datasets"][name] = {**entry, "folder": name}
        manifest["results"][name] = {s: {**r, "hypotheses": f"{name}/{r['hypotheses']}"}
                                     for s, r in results.items()}
    scores = json.loads((run_dir / "b" / "scores.json").read_text(encoding="utf-8"))
    scores["scores"][0]["score"] = 99.0  # dictionary-gloss BLEU in data set b only
    (run_dir / "b" / "scores.json").write_text(json.dumps(scores), encoding="utf-8")
    (run_dir / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    browser.get(write_html_report(run_dir).as_uri())
    WebDriverWait(browser, 30).until(
        lambda d: d.find_element("tag name", "body").get_attribute("data-ready") == "1")
    assert browser.find_element("id", "dataset-picker").is_displayed()
    cell = "#summary-table tbody tr[data-system='dictionary-gloss'] td:nth-child(2)"
    assert browser.find_element("css selector", cell).text.startswith("5.41")
    Select(browser.find_element("id", "dataset-select")).select_by_visible_text("b")
    assert browser.find_element("css selector", cell).text.startswith("99.00")
    assert len(browser.find_elements("css selector", "#segment-viewer .seg")) == 3

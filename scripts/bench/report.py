"""Benchmark report.html on a large synthetic run: file size, render time, browser load time.

    python scripts/bench/report.py [--docs 2000] [--systems 10] [--segments-per-doc 5]

Writes a synthetic finished run folder (manifest, scores.json, documents.csv,
segments.csv, hypotheses/*.jsonl; seeded random text and scores) to a
temporary folder, times ``write_html_report``, then opens the page in
headless Chromium (Debian chromium + chromedriver) and times the load until
the page marks itself ready, a sort click on the documents table and a page
turn in the segment viewer. Prints one line per measurement.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import shutil
import tempfile
import time
from pathlib import Path

METRICS = {"BLEU": "nrefs:1|bs:1000|seed:12345|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0",
           "chrF2": "nrefs:1|bs:1000|seed:12345|case:mixed|eff:yes|nc:6|nw:0|space:no|"
                    "version:2.6.0",
           "chrF2++": "nrefs:1|bs:1000|seed:12345|case:mixed|eff:yes|nc:6|nw:2|space:no|"
                      "version:2.6.0",
           "TER": "nrefs:1|bs:1000|seed:12345|case:lc|tok:tercom|norm:no|punct:yes|asian:no|"
                  "version:2.6.0"}
WORDS = ("the of and to in a is that for on with as by at from this be are was it an "
         "meeting foreign affairs office international city work report policy cooperation "
         "development economic trade government committee exchange center building").split()


def sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."


def make_run(root: Path, docs: int, systems: int, per_doc: int, seed: int = 12345) -> Path:
    rng = random.Random(seed)
    path = root / "bench-run"
    (path / "hypotheses").mkdir(parents=True)
    names = [f"system-{k:02d}" for k in range(systems)]
    segs = [(f"doc-{d:04d}", str(s + 1)) for d in range(docs) for s in range(per_doc)]
    refs = [sentence(rng, rng.randint(15, 40)) for _ in segs]
    srcs = ["源文" * rng.randint(15, 40) for _ in segs]
    manifest = {"status": "complete", "run": "bench-run", "started": "-", "finished": "-",
                "warnings": [], "results": {}, "systems": {},
                "datasets": {"bench": {"folder": ".", "src_lang": "zh", "tgt_lang": "en",
                                       "documents": docs, "segments": len(segs),
                                       "content_sha256": "0" * 64,
                                       "alignment_counts": {"1-1": len(segs)},
                                       "metrics": [{"name": m, "signature": s}
                                                   for m, s in METRICS.items()]}}}
    (path / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    scores = [{"system": s, "metric": m, "score": rng.uniform(10, 60), "signature": sig,
               "ci_low": 1.0, "ci_high": 2.0, "cluster": 1}
              for s in names for m, sig in METRICS.items()]
    (path / "scores.json").write_text(json.dumps(
        {"systems": names, "metrics": list(METRICS), "scores": scores}), encoding="utf-8")
    for name in names:
        with (path / "hypotheses" / f"{name}.jsonl").open("w", encoding="utf-8") as fh:
            for (doc, seg), src, ref in zip(segs, srcs, refs, strict=True):
                words = [w if rng.random() < 0.6 else rng.choice(WORDS) for w in ref.split()]
                fh.write(json.dumps({"doc_id": doc, "seg_id": seg, "src": src, "ref": ref,
                                     "refs": [ref], "hyp": " ".join(words)},
                                    ensure_ascii=False) + "\n")
    for table, keys in (("documents.csv", [(d, None) for d in dict.fromkeys(d for d, _ in segs)]),
                        ("segments.csv", segs)):
        with (path / table).open("w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["system", "metric", "doc_id"] + (["seg_id"] if table == "segments.csv"
                                                        else []) + ["score", "num_segments"])
            for name in names:
                for metric in METRICS:
                    for doc, seg in keys:
                        ids = [doc, seg] if seg else [doc]
                        w.writerow([name, metric, *ids, round(rng.uniform(0, 100), 6), per_doc])
    return path


def browser_times(page: Path, profile: Path) -> dict[str, float]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.support.ui import WebDriverWait

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "chromium"
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--window-size=1280,1600", f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    try:
        driver.set_page_load_timeout(300)
        started = time.perf_counter()
        driver.get(page.as_uri())
        WebDriverWait(driver, 300).until(
            lambda d: d.find_element("tag name", "body").get_attribute("data-ready") == "1")
        out = {"load_s": time.perf_counter() - started}
        out["dom_nodes"] = driver.execute_script("return document.getElementsByTagName('*').length")
        started = time.perf_counter()
        driver.find_element("css selector", "#doc-table th[data-col='2']").click()
        driver.execute_script("return 1")  # the click handler has run when this returns
        out["sort_documents_s"] = time.perf_counter() - started
        started = time.perf_counter()
        driver.find_elements("css selector", "#seg-pager button")[1].click()
        driver.execute_script("return 1")
        out["next_segment_page_s"] = time.perf_counter() - started
        return out
    finally:
        driver.quit()


def main() -> None:
    from evalmt.report.html import write_html_report

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=2000)
    parser.add_argument("--systems", type=int, default=10)
    parser.add_argument("--segments-per-doc", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run = make_run(Path(tmp), args.docs, args.systems, args.segments_per_doc)
        print(f"run: {args.docs} documents × {args.systems} systems, "
              f"{args.docs * args.segments_per_doc} segments, {len(METRICS)} metrics")
        started = time.perf_counter()
        page = write_html_report(run)
        print(f"render (python): {time.perf_counter() - started:.2f} s")
        print(f"report.html size: {page.stat().st_size / 2**20:.1f} MiB")
        for key, value in browser_times(page, Path(tmp) / "profile").items():
            print(f"chromium {key}: {value:.2f}" if isinstance(value, float)
                  else f"chromium {key}: {value}")


if __name__ == "__main__":
    main()

"""The page at /, in a real browser: Debian's chromium, headless, driven by Playwright (no
browser download). Typing the demo's prompt shows the completion, the next words, the
explanation and one heat-map row per prompt token. Set RNNCLI_SCREENSHOT=FILE to keep the
screenshot (docs/serve-page.png, shown in docs/serving.md, comes from this test)."""

import os
import shutil

import pytest
from serving import served

from rnncli.infer.predict import split_texts
from rnncli.store import model_folder

SEED_PROMPT = "My favourite dish is sushi. So, my favourite cuisine is"
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def browser_or_skip():
    """Playwright's sync API, or a skip where no browser is installed; in CI (CI=true) a
    missing browser fails the test instead: .ci/run installs it."""
    missing = None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing = "the playwright package is not installed (pip install -e '.[test]')"
    if not os.path.exists(CHROMIUM):
        missing = f"{CHROMIUM} is missing (apt-get install chromium)"
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"the page's browser test cannot run: {missing}")
        pytest.skip(missing)
    return sync_playwright


@pytest.mark.slow  # drives a browser
def test_typing_the_prompt_shows_the_memory_at_work(fixed_demo_model, tmp_path):
    sync_playwright = browser_or_skip()
    saved = model_folder.load(fixed_demo_model)
    tokens = split_texts(saved, [SEED_PROMPT], "prompt")[0]
    with served(fixed_demo_model) as (url, _), sync_playwright() as pw:
        browser = pw.chromium.launch_persistent_context(
            tmp_path / "profile", executable_path=CHROMIUM, args=FLAGS, headless=True,
            chromium_sandbox=False, viewport={"width": 1100, "height": 1000})  # a fresh profile
        try:
            page = browser.new_page()
            page.goto(url + "/")
            page.locator("#prompt").press_sequentially(SEED_PROMPT, delay=5)
            page.wait_for_function(
                "document.querySelector('#echo').textContent.endsWith('cuisine is')",
                timeout=60_000)
            assert "Japanese" in page.locator("#completion").text_content()
            rows = page.locator("#heatmap tr.hm-row")
            assert rows.count() == len(tokens) == 12
            assert [r.strip() for r in rows.locator("th").all_text_contents()] == tokens
            cells = rows.first.locator(".hm-cell")
            assert cells.count() == saved.model.H
            assert page.locator("#next .next-row").count() == 10
            assert page.locator("#next .word").first.text_content() == "Japanese"
            assert page.locator("#explain .why-col .word").all_text_contents() == tokens
            assert page.locator("#error").text_content() == ""
            shot = tmp_path / "serve-page.png"
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    assert shot.stat().st_size > 10_000
    if os.environ.get("RNNCLI_SCREENSHOT"):
        shutil.copyfile(shot, os.environ["RNNCLI_SCREENSHOT"])


@pytest.mark.slow  # drives a browser
def test_on_a_phone_nothing_scrolls_sideways_and_the_page_explains_itself(fixed_demo_model,
                                                                          tmp_path):
    """At 390 px (a phone): no sideways scrolling, the heat map's colour legend, a temperature
    of 0 is greedy (as in the API), and an empty completion says why."""
    sync_playwright = browser_or_skip()
    with served(fixed_demo_model) as (url, _), sync_playwright() as pw:
        browser = pw.chromium.launch_persistent_context(
            tmp_path / "profile", executable_path=CHROMIUM, args=FLAGS, headless=True,
            chromium_sandbox=False, viewport={"width": 390, "height": 844})
        try:
            page = browser.new_page()
            page.goto(url + "/")
            page.locator("#prompt").fill(SEED_PROMPT)
            page.wait_for_function(
                "document.querySelector('#heatmap tr.hm-row') !== null", timeout=60_000)
            greedy = page.locator("#completion").text_content()
            assert page.evaluate("document.documentElement.scrollWidth") <= 390
            assert page.locator("#legend .scale").is_visible()
            assert "blue -1" in page.locator("#legend").text_content()
            page.screenshot(path=str(tmp_path / "phone.png"), full_page=True)

            page.locator("#sample").check()
            page.locator("#temperature").fill("0")  # greedy: the same words, no error
            page.wait_for_timeout(1200)
            page.wait_for_function("document.querySelector('#status').textContent === ''",
                                   timeout=60_000)
            assert page.locator("#completion").text_content() == greedy
            assert page.locator("#error").text_content() == ""

            page.locator("#words").fill("0")
            page.wait_for_function(
                "document.querySelector('#empty').textContent.includes('word limit is 0')",
                timeout=60_000)
            assert page.locator("#completion").text_content() == ""
            assert page.evaluate("document.documentElement.scrollWidth") <= 390
        finally:
            browser.close()
    if os.environ.get("RNNCLI_SCREENSHOT"):
        shutil.copyfile(tmp_path / "phone.png",
                        os.environ["RNNCLI_SCREENSHOT"].replace(".png", "-phone.png"))

"""Screenshots of the rating page and the results page, taken by headless Chromium (Selenium).

  python -m experiments.results.mos.screenshots --rate_study=UNRATED_STUDY --results_study=RATED_STUDY \
      --output=experiments/results/mos

Serves each study with `sr_keras.mos.webapp.make_server` on 127.0.0.1 (a free port), opens rater
1's link, saves the first calibration image (rating_page_calibration.png), acknowledges the
calibration anchors with the keyboard and saves the first test image (rating_page.png); then
saves the owner's results page of the rated study (results_page.png, full page height).
The rated copy of the unrated study is left with rater 1's calibration ratings.
"""

from __future__ import annotations

import argparse
import os
import threading
import time

from sr_keras.mos import study, webapp
from tests.mos import browser
from tests.mos.conftest import tokens_of


def served(study_dir):
    server = webapp.make_server(study_dir, "127.0.0.1", 0, 4)
    threading.Thread(target=server.run, daemon=True).start()
    return server, f"http://127.0.0.1:{server.effective_port}"


def wait_image(driver, previous=None, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        src = driver.execute_script(
            "const p = document.getElementById('picture');"
            "return (p.complete && p.naturalWidth > 0 && p.style.visibility === 'visible') ? p.src : null;")
        if src and src != previous:
            return src
        time.sleep(0.05)
    raise TimeoutError("image did not load")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate_study", required=True)
    parser.add_argument("--results_study", required=True)
    parser.add_argument("--output", required=True)
    args = parser.parse_args()
    os.makedirs(args.output, exist_ok=True)
    from selenium.webdriver.common.action_chains import ActionChains

    driver = browser.start(1100, 820)
    try:
        server, url = served(args.rate_study)
        driver.get(f"{url}/rate/{tokens_of(args.rate_study)[0]}")
        src = wait_image(driver)
        driver.save_screenshot(os.path.join(args.output, "rating_page_calibration.png"))
        while driver.find_element("id", "phase").text == "Calibration":
            anchor = next(s for s in range(1, 6) if driver.find_element("id", f"score{s}").is_enabled())
            ActionChains(driver).send_keys(str(anchor)).perform()
            src = wait_image(driver, src)
        driver.save_screenshot(os.path.join(args.output, "rating_page.png"))
        server.close()
        server, url = served(args.results_study)
        driver.get(f"{url}/results/{study.owner_token(args.results_study)}")
        time.sleep(1.0)
        height = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(1100, min(height + 40, 4000))
        time.sleep(0.5)
        driver.save_screenshot(os.path.join(args.output, "results_page.png"))
        server.close()
    finally:
        driver.quit()


if __name__ == "__main__":
    main()

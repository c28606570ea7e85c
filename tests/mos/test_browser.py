"""A real headless browser goes through calibration and rates with the keyboard and the mouse;
what is stored is what it did; closing the tab and coming back resumes; images are at native size."""

import os
import re
import time

import pytest

from sr_keras.mos import database, study
from tests.mos import browser
from tests.mos.conftest import EVIDENCE_DIR, ServerProcess, make_study, stored_ratings, tokens_of

pytestmark = pytest.mark.skipif(not browser.available(), reason="needs Debian chromium + chromium-driver (.ci/run installs them)")


def wait_for_item(driver, previous=None, timeout=20):
    """Wait until the page shows a loaded image other than `previous`; returns its item id."""
    from selenium.webdriver.support.ui import WebDriverWait

    def ready(d):
        src = d.execute_script(
            "const p = document.getElementById('picture');"
            "return (p.complete && p.naturalWidth > 0 && p.style.visibility === 'visible' && p.src) ? p.src : null;")
        if src and src != previous:
            return src
        return False

    return WebDriverWait(driver, timeout).until(ready)


def item_id(src):
    return re.search(r"/([0-9a-f]{16})\.png$", src).group(1)


def press(driver, key):
    from selenium.webdriver.common.action_chains import ActionChains

    ActionChains(driver).send_keys(str(key)).perform()


def test_browser_calibration_rating_resume_and_results(tmp_path):
    directory = make_study(str(tmp_path), raters=2, test_images=4, break_every=5, seed=5)
    token = tokens_of(directory)[0]
    server = ServerProcess(directory).start()
    driver = browser.start()
    done = []  # (item id, score) in the order the browser rated
    try:
        driver.get(f"{server.url}/rate/{token}")
        # Calibration: two anchors (NN = 1, HR = 5); only the anchor's button is enabled.
        src = None
        for step in range(2):
            src = wait_for_item(driver, src)
            assert driver.find_element("id", "phase").text == "Calibration"
            note = driver.find_element("id", "note").text
            anchor = int(re.search(r"example of score (\d)", note).group(1))
            enabled = [s for s in range(1, 6) if driver.find_element("id", f"score{s}").is_enabled()]
            assert enabled == [anchor]
            if step == 0:
                press(driver, 6 - anchor)  # the wrong key: refused in the page, nothing sent
                assert "calibration image is a" in driver.find_element("id", "error").text
                if EVIDENCE_DIR:
                    driver.save_screenshot(os.path.join(EVIDENCE_DIR, "browser_test_calibration.png"))
                press(driver, anchor)  # keyboard
            else:
                driver.find_element("id", f"score{anchor}").click()  # mouse
            done.append((item_id(src), anchor))
        # Test images: native resolution (64 x 48 image pixels = CSS pixels at device scale 1).
        keys = [3, 4, 2, 5, 1]
        for index, score in enumerate(keys):
            src = wait_for_item(driver, src)
            assert driver.find_element("id", "phase").text == "Rating"
            assert driver.find_element("id", "count").text == f"{index + 1} / 13"
            size = driver.execute_script(
                "const p = document.getElementById('picture'), r = p.getBoundingClientRect();"
                "return [p.naturalWidth, p.naturalHeight, r.width * devicePixelRatio, r.height * devicePixelRatio];")
            assert size == [64, 48, 64, 48]
            press(driver, score)
            done.append((item_id(src), score))
        # After 5 test images: the break reminder; keys do nothing until "Continue".
        from selenium.webdriver.support.ui import WebDriverWait

        overlay = driver.find_element("id", "overlay")
        WebDriverWait(driver, 20).until(lambda d: overlay.is_displayed())
        assert "break" in overlay.text.lower()
        src = wait_for_item(driver, src)
        press(driver, 4)
        time.sleep(1.0)  # had the key gone through, its rating would be stored by now
        assert len(stored_ratings(directory)) == 7
        driver.find_element("id", "resume").click()
        for score in (2, 4):  # mouse
            driver.find_element("id", f"score{score}").click()
            done.append((item_id(src), score))
            src = wait_for_item(driver, src)
        # Close the tab and come back in a new one: the rater resumes at the 8th test image.
        rating_tab = driver.current_window_handle
        driver.switch_to.new_window("tab")
        fresh_tab = driver.current_window_handle
        driver.switch_to.window(rating_tab)
        driver.close()
        driver.switch_to.window(fresh_tab)
        driver.get(f"{server.url}/rate/{token}")
        resumed = wait_for_item(driver)
        assert resumed == src  # the first unrated item, same opaque id
        assert driver.find_element("id", "count").text == "8 / 13"
        if EVIDENCE_DIR:
            driver.save_screenshot(os.path.join(EVIDENCE_DIR, "browser_test_rating.png"))
        press(driver, 3)
        done.append((item_id(resumed), 3))
        wait_for_item(driver, resumed)
        # The stored ratings are exactly what the browser did, in its order.
        stored = stored_ratings(directory)
        assert [(r["presentation_id"], r["score"]) for r in stored if r["rater_id"] == 1] == done
        assert all(r["rater_id"] == 1 for r in stored)
        # The owner's live results page.
        driver.get(f"{server.url}/results/{study.owner_token(directory)}")
        body = driver.find_element("tag name", "body").text
        assert "MOS study: live results" in body and "nearest" in body and "bicubic" in body
        assert "2 raters (0 finished), 10 of 30 presentations rated" in body
        if EVIDENCE_DIR:
            driver.save_screenshot(os.path.join(EVIDENCE_DIR, "browser_test_results.png"))
        # A forged token shows nothing.
        driver.get(f"{server.url}/rate/{'B' * 22}")
        assert "unknown rater token" in driver.find_element("tag name", "body").text
    finally:
        driver.quit()
        server.stop()

#!/usr/bin/env python3
"""ui_pages.py URL [cold]: times the web UI's pages in headless chromium
by the browser's own clocks, for bench/ui_pages.sh: from the start of the
navigation (Navigation Timing's time origin) to the page's content drawn,
and for the repository to its chart built and to its chart painted (the
User Timing marks app.js sets; the chart's own share too, from its rows
in),
with the API call's own time (Resource Timing).  Median of 5 navigations.
With "cold", one navigation of the image page only: the first request of
its report, before the server kept its detail."""
import statistics
import sys

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

URL = sys.argv[1]
COLD = len(sys.argv) > 2 and sys.argv[2] == "cold"
o = webdriver.ChromeOptions()
o.binary_location = "/usr/bin/chromium"
for a in ("--headless=new", "--no-sandbox", "--disable-gpu",
          "--disable-dev-shm-usage", "--window-size=1280,900"):
    o.add_argument(a)
d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=o)

TIMES = """
const m = performance.getEntriesByName(arguments[0])[0];
const api = performance.getEntriesByType('resource')
	.filter(r => r.name.includes(arguments[1]));
return [m.startTime, api.length ? api[0].duration : -1];
"""


def once(frag, mark, api):
    """[ms to the mark, ms of the API call] of one navigation."""
    d.get("about:blank")
    d.get(URL + "/ui/" + frag)
    name = "customs-" + mark
    WebDriverWait(d, 120, poll_frequency=0.02).until(
        lambda _: d.execute_script(
            "return performance.getEntriesByName(arguments[0]).length",
            name))
    return d.execute_script(TIMES, name, api)


def timed(what, frag, mark, api, n=5):
    t = [once(frag, mark, api) for _ in range(n)]
    print("page %s: %.0f ms to drawn (API %s %.0f ms)%s" % (
        what, statistics.median(x[0] for x in t), api,
        statistics.median(x[1] for x in t),
        "" if n == 1 else ", median of %d" % n))


IMG = "#/image?name=bench%2Fmany&ref=latest"
if COLD:
    timed("image, first view (findings table, 200 rows drawn)", IMG,
          "shown", "/v2/_customs/image", n=1)
    d.quit()
    sys.exit(0)
timed("repositories", "#/", "shown", "/v2/_customs/repositories")
timed("repository (tags table, 50 of them)", "#/repo?name=bench%2Fmany",
      "shown", "/v2/_customs/tags")
timed("repository's chart of every tag", "#/repo?name=bench%2Fmany",
      "chart", "/v2/_customs/chart")
timed("repository's chart of every tag, laid out and painted",
      "#/repo?name=bench%2Fmany", "chart-painted", "/v2/_customs/chart")
SPANS = """
const t = n => performance.getEntriesByName('customs-' + n)[0].startTime;
return [t('chart') - t('chart-rows'), t('chart-painted') - t('chart')];
"""
t = []
for _ in range(5):
    once("#/repo?name=bench%2Fmany", "chart-painted", "/v2/_customs/chart")
    t.append(d.execute_script(SPANS))
print("the chart alone, from its rows in: %.0f ms to build, then %.0f ms to "
      "lay out and paint, median of 5" % (
          statistics.median(x[0] for x in t),
          statistics.median(x[1] for x in t)))
timed("image (findings table, 200 rows drawn)", IMG, "shown",
      "/v2/_customs/image")
timed("status", "#/status", "shown", "/v2/_customs/status")
# Filtering all the findings: type into the search box, wait for the count.
d.get(URL + "/ui/" + IMG)
WebDriverWait(d, 60, poll_frequency=0.02).until(
    lambda _: d.find_elements(By.ID, "findings-text"))
t0 = d.execute_script("return performance.now()")
d.find_element(By.ID, "findings-text").send_keys("BENCH-00042")
WebDriverWait(d, 60, poll_frequency=0.02).until(
    lambda _: d.find_element(By.ID, "findings-count").text.startswith("1 of"))
t1 = d.execute_script("return performance.now()")
print("filter the findings by text: %.0f ms (200 ms of it the pause "
      "the filter waits for)" % (t1 - t0))
d.quit()

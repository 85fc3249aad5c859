#!/usr/bin/env python3
"""ui_pages.py URL: times the web UI's pages in headless chromium, from
navigation to the rows drawn (median of 5), for bench/ui_pages.sh."""
import statistics
import sys
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

URL = sys.argv[1]
o = webdriver.ChromeOptions()
o.binary_location = "/usr/bin/chromium"
for a in ("--headless=new", "--no-sandbox", "--disable-gpu",
          "--disable-dev-shm-usage"):
    o.add_argument(a)
d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=o)


def timed(frag, css, n):
    ms = []
    for _ in range(5):
        d.get("about:blank")
        t0 = time.monotonic()
        d.get(URL + "/ui/" + frag)
        WebDriverWait(d, 60).until(
            lambda _: len(d.find_elements(By.CSS_SELECTOR, css)) >= n)
        ms.append((time.monotonic() - t0) * 1000)
    return statistics.median(ms)


print("page repository (50 of the tags drawn): %.0f ms" %
      timed("#/repo?name=bench%2Fmany", "#tags tbody tr", 50))
print("page repository with the chart of every tag: %.0f ms" %
      timed("#/repo?name=bench%2Fmany", "#chart svg.chart", 1))
print("page image (findings table, first 200 rows): %.0f ms" %
      timed("#/image?name=bench%2Fmany&ref=latest", "#findings tbody tr", 200))
print("page repositories: %.0f ms" % timed("#/", "#repos tbody tr", 1))
# Filtering the 5,000: type into the search box, wait for the count.
d.get(URL + "/ui/#/image?name=bench%2Fmany&ref=latest")
WebDriverWait(d, 60).until(lambda _: d.find_elements(By.ID, "findings-text"))
t0 = time.monotonic()
d.find_element(By.ID, "findings-text").send_keys("BENCH-00042")
WebDriverWait(d, 60).until(
    lambda _: d.find_element(By.ID, "findings-count").text.startswith("1 of"))
print("filter the findings by text: %.0f ms" % ((time.monotonic() - t0) * 1000))
d.quit()

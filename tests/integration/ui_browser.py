#!/usr/bin/env python3
"""ui_browser.py: drives Debian's chromium (headless, through chromedriver and
python3-selenium) over the web UI of a running customs, for t_ui_browser.sh.

  ui_browser.py URL DIR [token]
DIR holds what the shell test knows from the API and the reports (expect.json)
and receives the screenshots.  With "token" the server runs --auth token and
the browser signs in through the page's form (no header is injected).  Exits 0 when every check holds, 1 with the
first failure, 77 (skip) when chromium cannot start here, saying why.
"""
import base64
import json
import re
import sys
import time

URL, DIR = sys.argv[1], sys.argv[2]
EXP = json.load(open(DIR + "/expect.json"))

try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select, WebDriverWait
    from selenium.common.exceptions import (NoSuchElementException,
                                            StaleElementReferenceException)
except ImportError as e:
    print("python3-selenium is not installed: %s" % e)
    sys.exit(77)


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def start(user=None, pw=None):
    o = webdriver.ChromeOptions()
    o.binary_location = "/usr/bin/chromium"
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu",
              "--disable-dev-shm-usage", "--window-size=1280,900",
              "--no-first-run", "--disable-extensions",
              "--disable-background-networking", "--disable-sync",
              "--disable-component-update", "--disable-default-apps"):
        o.add_argument(a)
    o.set_capability("goog:loggingPrefs",
                     {"performance": "ALL", "browser": "ALL"})
    try:
        d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"),
                             options=o)
    except Exception as e:  # no display, no namespaces: say why
        print("chromium cannot run here: %s" % str(e).splitlines()[0])
        sys.exit(77)
    d.set_page_load_timeout(30)
    if user is None:
        return d
    # The test signs in with Basic, as a browser does after its prompt.
    d.execute_cdp_cmd("Network.enable", {})
    tok = base64.b64encode(("%s:%s" % (user, pw)).encode()).decode()
    d.execute_cdp_cmd("Network.setExtraHTTPHeaders",
                      {"headers": {"Authorization": "Basic " + tok}})
    return d


def wait(d, cond, what, t=20):
    try:
        return WebDriverWait(d, t, ignored_exceptions=(
            NoSuchElementException, StaleElementReferenceException)).until(
                lambda _: cond())
    except Exception:
        shot(d, "failed")
        fail("timed out waiting for " + what + "; page: " +
             d.find_element(By.ID, "main").text[:500])


def shot(d, name):
    d.save_screenshot("%s/%s.png" % (DIR, name))


def go(d, frag, title):
    d.get(URL + "/ui/" + frag)
    wait(d, lambda: d.find_element(By.CSS_SELECTOR, "main h1").text == title,
         "page " + title)


def rows(d, css):
    return d.find_elements(By.CSS_SELECTOR, css)


def cells(row):
    return [c.text for c in row.find_elements(By.TAG_NAME, "td")]


def check_logs(d, origin, refusals_ok=False):
    """No request left the origin; no console error (with refusals_ok, the
    network's 401, 403 and 404 that the page answers are not errors)."""
    for e in d.get_log("performance"):
        m = json.loads(e["message"])["message"]
        if m.get("method") != "Network.requestWillBeSent":
            continue
        u = m["params"]["request"]["url"]
        if not (u.startswith(origin + "/") or u.startswith("data:")):
            fail("a request left the origin: " + u)
    errs = [e for e in d.get_log("browser") if e["level"] == "SEVERE" and
            not (refusals_ok and e.get("source") == "network" and
                 any("status of %d" % c in e["message"]
                     for c in (401, 403, 404)))]
    if errs:
        fail("console errors: %s" % errs)


def tab_reaches(d, ids, n=200):
    """Tab from the top of the page; every id in ids gets the focus."""
    d.find_element(By.TAG_NAME, "body").click()
    d.execute_script("document.activeElement.blur(); window.scrollTo(0,0)")
    seen = set()
    for _ in range(n):
        d.switch_to.active_element.send_keys(Keys.TAB)
        el = d.switch_to.active_element
        seen.add(el.get_attribute("id") or el.get_attribute("href") or
                 el.text)
        if all(i in seen for i in ids):
            return
    fail("the keyboard does not reach %s (reached %s)" %
         (sorted(set(ids) - seen), sorted(seen)[:40]))


SEVS = ("critical", "high", "medium", "low", "unknown")


def said(t):
    """What the chart reads out for a tag of EXP["chart"]."""
    c = ["%d %s" % (t["counts"][s], s) for s in SEVS if t["counts"][s]]
    return t["tag"] + ": " + (", ".join(c) or "no findings")


def check_chart(d):
    """The chart of team/app: its tags in push order; each severity's path
    has one bar per tag with findings of it, at that tag's place, as tall
    as its count; the keyboard and the pointer read each tag's counts."""
    svg = d.find_element(By.CSS_SELECTOR, "#chart svg.chart")
    exp = EXP["chart"]
    tags = (svg.get_attribute("data-tags") or "").split()
    if tags != [t["tag"] for t in exp]:
        fail("chart tags %s, want push order %s" %
             (tags, [t["tag"] for t in exp]))
    big = max([sum(t["counts"].values()) for t in exp] + [1])
    bw = None
    bars = {}
    for p in rows(d, "svg.chart path"):
        sev = p.get_attribute("data-sev")
        path = p.get_attribute("d") or ""
        segs = re.findall(r"M([\d.]+) ([\d.]+)h([\d.]+)v([\d.]+)h-[\d.]+z",
                          path)
        if len(segs) != path.count("M"):
            fail("chart path %s: %s" % (sev, path))
        for x, _, w, hh in segs:
            bw = float(w)
            bars[(float(x), sev)] = float(hh)
    step = bw + (4 if bw and bw > 4 else 1) if bw else 1
    want = {}
    for i, t in enumerate(exp):
        for s in SEVS:
            if t["counts"][s]:
                want[(5 + i * step, s)] = t["counts"][s] / big * 110
    if sorted(bars) != sorted(want) or any(
            abs(bars[k] - want[k]) > 0.02 for k in want):
        fail("chart bars %s, want %s" % (sorted(bars.items()),
                                         sorted(want.items())))
    tip = d.find_element(By.ID, "chart-tip")
    tab_reaches(d, ["chart-bars"])
    keys = [Keys.HOME] + [Keys.ARROW_RIGHT] * len(exp)
    for i, k in enumerate(keys):
        d.switch_to.active_element.send_keys(k)
        t = exp[min(i, len(exp) - 1)]
        wait(d, lambda: tip.text == said(t), "the chart reading %s "
             "(reads %r)" % (said(t), tip.text))
    # The pointer over the first tag's bar reads that tag.
    ActionChains(d).move_to_element_with_offset(
        svg, 5 + bw / 2 - svg.size["width"] / 2, 0).perform()
    wait(d, lambda: tip.text == said(exp[0]),
         "the pointer reading %s (reads %r)" % (said(exp[0]), tip.text))


def root_pages():
    d = start("root", "root-pw")
    origin = URL
    # --- Repositories: rows, badges, filter, sort.
    go(d, "#/", "Repositories")
    got = [r.get_attribute("data-repo") for r in rows(d, "#repos tbody tr")]
    want = [r["name"] for r in EXP["repos_by_risk"]]
    if got != want:
        fail("repositories by risk: %s, want %s" % (got, want))
    for r in EXP["repos_by_risk"]:
        tr = d.find_element(By.CSS_SELECTOR, 'tr[data-repo="%s"]' % r["name"])
        c = cells(tr)
        if c[1] != str(r["tags"]) or c[2] != (r["last_push"] or "") or \
                c[4] != (r["worst"] or "none"):
            fail("row of %s: %s, want %s" % (r["name"], c, r))
    shot(d, "repositories")
    tab_reaches(d, ["repo-filter", "repo-sort", "nav-status"] +
                [URL + "/ui/#/repo?name=" + r["name"].replace("/", "%2F")
                 for r in EXP["repos_by_risk"]])
    f = d.find_element(By.ID, "repo-filter")
    f.send_keys("team")
    # The filter redraws once typing pauses.
    wait(d, lambda: [r.get_attribute("data-repo") for r in
                     rows(d, "#repos tbody tr")] ==
         [n for n in want if "team" in n], "the filter team")
    f.clear()
    f.send_keys(Keys.BACKSPACE)
    Select(d.find_element(By.ID, "repo-sort")).select_by_value("name")
    got = [r.get_attribute("data-repo") for r in rows(d, "#repos tbody tr")]
    if got != sorted(want):
        fail("sort by name: %s" % got)

    # --- Repository: tags, counts, chart, pages.
    go(d, "#/repo?name=team%2Fapp", "team/app")
    for t in EXP["tags"]:
        c = cells(d.find_element(By.CSS_SELECTOR, 'tr[data-tag="%s"]' % t["tag"]))
        if c[1] != t["digest"][7:19] or c[4] != t["pushed"] or \
                c[7:12] != [str(t["counts"][s]) for s in
                            ("critical", "high", "medium", "low", "unknown")]:
            fail("tag row %s: %s, want %s" % (t["tag"], c, t))
    # The chart: every tag in push order, each severity one path of bars.
    wait(d, lambda: d.find_elements(By.CSS_SELECTOR, "#chart svg.chart"),
         "the chart")
    check_chart(d)
    shot(d, "repository")
    go(d, "#/repo?name=team%2Fmany", "team/many")
    # The chart covers all tags, not the page of 50.
    wait(d, lambda: d.find_element(By.CSS_SELECTOR, "#chart .note").text ==
         "%d tags in push order" % EXP["many"], "the chart of team/many")
    n1 = len(rows(d, "#tags tbody tr"))
    d.find_element(By.LINK_TEXT, "Next →").click()
    wait(d, lambda: len(rows(d, "#tags tbody tr")) == EXP["many"] - 50,
         "the second page of team/many")
    if n1 != 50:
        fail("first page of team/many has %d rows" % n1)

    # --- Image: layers, findings, filters, sorting, compare.
    go(d, "#/image?name=team%2Fapp&ref=v2", "team/app:v2")
    if d.find_element(By.ID, "digest").text != EXP["deb"]:
        fail("image digest")
    nl = len(rows(d, "main > table:first-of-type tbody tr"))
    if nl != EXP["deb_layers"]:
        fail("layers: %d rows, want %d" % (nl, EXP["deb_layers"]))
    total = len(EXP["deb_findings"])
    cnt = d.find_element(By.ID, "findings-count").text
    if cnt != "%d of %d findings" % (total, total):
        fail("findings count: " + cnt)
    ids = sorted(f["id"] for f in EXP["deb_findings"])
    got = sorted(a.text for a in rows(d, "#findings tbody tr td:nth-child(2) > a"))
    if got != ids:
        fail("finding ids %s, want %s" % (got, ids))
    for a in rows(d, "#findings tbody a"):
        if not a.get_attribute("href").startswith("https://"):
            fail("advisory link " + a.get_attribute("href"))
    Select(d.find_element(By.ID, "findings-sev")).select_by_value("unknown")
    nu = sum(1 for f in EXP["deb_findings"] if f["severity"] == "unknown")
    if d.find_element(By.ID, "findings-count").text != "%d of %d findings" % (nu, total):
        fail("severity filter: " + d.find_element(By.ID, "findings-count").text)
    Select(d.find_element(By.ID, "findings-sev")).select_by_value("")
    one = EXP["deb_findings"][0]
    d.find_element(By.ID, "findings-text").send_keys(one["id"])
    wait(d, lambda: d.find_element(By.ID, "findings-count").text !=
         "%d of %d findings" % (total, total), "the text filter")
    got = [a.text for a in rows(d, "#findings tbody tr td:nth-child(2) > a")]
    if one["id"] not in got or len(got) >= total:
        fail("text filter %s: %s" % (one["id"], got))
    d.find_element(By.ID, "findings-text").clear()
    d.find_element(By.ID, "findings-text").send_keys(" ")
    d.find_element(By.ID, "findings-text").send_keys(Keys.BACKSPACE)
    # The redraw comes once typing pauses: rows read before it go stale.
    wait(d, lambda: d.find_element(By.ID, "findings-count").text ==
         "%d of %d findings" % (total, total), "the text filter cleared")
    d.find_element(By.CSS_SELECTOR, 'button[aria-label="Sort by Id"]').click()
    got = [a.text for a in rows(d, "#findings tbody tr td:nth-child(2) > a")]
    if got != sorted(got) or len(got) != total:
        fail("sort by id: %s" % got)
    shot(d, "image")
    tab_reaches(d, ["findings-sev", "findings-eco", "findings-fix",
                    "findings-text", "compare-with", "compare-go", "dl-json",
                    "dl-cdx"])
    wait(d, lambda: d.find_elements(By.CSS_SELECTOR,
                                    '#compare-with option[value="v1"]'),
         "the tags to compare with")
    Select(d.find_element(By.ID, "compare-with")).select_by_value("v1")
    d.find_element(By.ID, "compare-go").click()
    wait(d, lambda: d.find_elements(By.ID, "added-count"), "the comparison")
    a = d.find_element(By.ID, "added-count").text
    x = d.find_element(By.ID, "fixed-count").text
    na, nf = EXP["diff_added"], EXP["diff_fixed"]
    if a != "%d of %d findings" % (na, na) or x != "%d of %d findings" % (nf, nf):
        fail("compare v1..v2: added '%s', fixed '%s', want %d, %d" % (a, x, na, nf))
    shot(d, "compare")

    # --- An index: a link a platform, each its own image's findings.
    go(d, "#/image?name=team%2Fapp&ref=multi", "team/app:multi")
    nav = d.find_element(By.CSS_SELECTOR, 'nav[aria-label="Platforms"]')
    links = nav.find_elements(By.TAG_NAME, "a")
    if [a.text for a in links] != ["linux/amd64", "linux/arm64"] or \
            links[0].get_attribute("aria-current") != "page":
        fail("index platforms: %s" % [a.text for a in links])
    na, nd = EXP["alp_findings"], len(EXP["deb_findings"])
    if d.find_element(By.ID, "findings-count").text != \
            "%d of %d findings" % (na, na):
        fail("linux/amd64 findings: " +
             d.find_element(By.ID, "findings-count").text)
    links[1].click()
    wait(d, lambda: d.find_element(By.ID, "findings-count").text ==
         "%d of %d findings" % (nd, nd), "the linux/arm64 findings")
    cur = d.find_element(By.CSS_SELECTOR, 'nav[aria-label="Platforms"] '
                         'a[aria-current="page"]')
    if cur.text != "linux/arm64":
        fail("current platform: " + cur.text)
    shot(d, "image-platform")

    # --- Status.
    go(d, "#/status", "Status")
    if EXP["db_version"] not in d.find_element(By.ID, "db-version").text:
        fail("status DB version: " + d.find_element(By.ID, "db-version").text)
    if not d.find_elements(By.ID, "metrics"):
        fail("an admin's status page lacks the metrics")
    # Readable tables, not raw lines: the failures, the upstreams.
    f = [cells(r) for r in rows(d, "#failures tbody tr")]
    if [c[1] for c in f] != [x["repository"] for x in EXP["failures"]] or \
            any(c[4] != x["error"] for c, x in zip(f, EXP["failures"])):
        fail("status failures %s, want %s" % (f, EXP["failures"]))
    if not d.find_elements(By.ID, "upstreams-none"):
        fail("status: upstreams")
    shot(d, "status")
    check_logs(d, origin)
    d.quit()


def alice_pages():
    d = start("alice", "alice-pw")
    go(d, "#/", "Repositories")
    got = [r.get_attribute("data-repo") for r in rows(d, "#repos tbody tr")]
    if got != ["team/app", "team/bad", "team/many"]:
        fail("alice's repositories: %s" % got)
    if "secret" in d.find_element(By.ID, "main").text:
        fail("alice sees a hidden name")
    # Status without /metrics (an admin's), asked for or shown.
    go(d, "#/status", "Status")
    if d.find_elements(By.ID, "metrics"):
        fail("alice's status page shows the metrics")
    if [c[1] for c in map(cells, rows(d, "#failures tbody tr"))] != \
            ["team/bad"]:
        fail("alice's status failures: %s" %
             [cells(r) for r in rows(d, "#failures tbody tr")])
    check_logs(d, URL)
    # A direct URL: the 404 of a name that does not exist.
    for frag in ("#/repo?name=other%2Fsecret",
                 "#/image?name=other%2Fsecret&ref=v1"):
        go(d, frag, "Error")
        t = d.find_element(By.ID, "main").text
        if "404" not in t or "v1" in t.replace("ref=v1", ""):
            fail("alice at %s: %s" % (frag, t))
    shot(d, "alice-denied")
    d.quit()


def token_pages():
    """--auth token: the form gets a token; it is sent as a header and
    kept in sessionStorage, never in a cookie."""
    d = start()
    d.get(URL + "/ui/#/")
    wait(d, lambda: d.find_element(By.CSS_SELECTOR, "main h1").text ==
         "Sign in", "the sign-in form")
    tab_reaches(d, ["signin-user", "signin-pass", "signin-go"])
    d.find_element(By.ID, "signin-user").send_keys("alice")
    d.find_element(By.ID, "signin-pass").send_keys("wrong")
    d.find_element(By.ID, "signin-go").click()
    wait(d, lambda: d.find_element(By.ID, "signin-msg").text != "",
         "the refusal of a wrong password")
    d.find_element(By.ID, "signin-pass").clear()
    d.find_element(By.ID, "signin-pass").send_keys("alice-pw" + Keys.ENTER)
    wait(d, lambda: d.find_element(By.CSS_SELECTOR, "main h1").text ==
         "Repositories", "the repositories after signing in")
    got = [r.get_attribute("data-repo") for r in rows(d, "#repos tbody tr")]
    if got != ["team/app", "team/bad", "team/many"]:
        fail("alice's repositories with a token: %s" % got)
    shot(d, "token-repositories")
    kept = d.execute_script("return sessionStorage.getItem('customs-auth')")
    if not kept or not kept.startswith("Bearer "):
        fail("no bearer token kept: %r" % kept)
    if d.get_cookies():
        fail("the UI set cookies: %s" % d.get_cookies())
    go(d, "#/image?name=team%2Fapp&ref=v2", "team/app:v2")
    wait(d, lambda: d.find_elements(By.CSS_SELECTOR,
                                    '#compare-with option[value="v1"]'),
         "the tags to compare with")
    go(d, "#/status", "Status")
    go(d, "#/repo?name=other%2Fsecret", "Error")
    d.find_element(By.ID, "nav-signout").click()
    wait(d, lambda: d.find_element(By.CSS_SELECTOR, "main h1").text ==
         "Sign in", "the form after signing out")
    if d.execute_script("return sessionStorage.getItem('customs-auth')"):
        fail("signing out kept the token")
    check_logs(d, URL, refusals_ok=True)
    d.quit()


if len(sys.argv) > 3 and sys.argv[3] == "token":
    token_pages()
else:
    root_pages()
    alice_pages()
print("browser checks passed")

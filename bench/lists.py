#!/usr/bin/env python3
"""`make bench` helper: times listing and searching one account's tokens through the server function the tokens
page calls (`POST /rpc/token_table`: the page, its requests (30 d), the expiring-soon notice), over HTTP with the
session cookie, exactly as the browser calls it.

Usage: lists.py BASE_URL USERNAME PASSWORD TOKENS CALLS
       lists.py BASE_URL USERNAME PASSWORD TOKENS SECONDS under_load
The first form times every sort and search, CALLS calls each after one warm-up call (and a second's pause for a
search), then the search right after a change of the account's names (a rename between calls, ending on the name
it started with). The second times the first page (newest first) every quarter of a second for SECONDS, for a
run beside a verification load (the caller's).
Prints one line per scenario: `list_NAME p50_ms p95_ms rows_matching`.
"""

import http.cookiejar
import json
import statistics
import sys
import time
import urllib.parse
import urllib.request


def main():
    base, username, password, total, calls = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))

    def post(path, fields):
        request = urllib.request.Request(
            base + path,
            data=urllib.parse.urlencode(fields).encode(),
            headers={"Origin": base, "Content-Type": "application/x-www-form-urlencoded"},
        )
        with opener.open(request, timeout=30) as response:
            return response.read()

    post("/rpc/login", {"username": username, "password": password})
    if len(sys.argv) > 6 and sys.argv[6] == "under_load":
        fields = page_fields("", "created", True, 1)
        matching = json.loads(post("/rpc/token_table", fields)).get("total", "?")
        times, deadline = [], time.monotonic() + calls
        while time.monotonic() < deadline:
            due = time.monotonic() + 0.25
            start = time.perf_counter()
            post("/rpc/token_table", fields)
            times.append((time.perf_counter() - start) * 1000)
            time.sleep(max(0.0, due - time.monotonic()))
        report("first_page_under_load", times, matching)
        return
    last_page = (total + 19) // 20
    scenarios = []
    for sort in ("created", "name", "expires", "last_used", "requests"):
        for descending in (True, False):
            direction = "desc" if descending else "asc"
            scenarios.append((f"{sort}_{direction}_first_page", "", sort, descending, 1))
        scenarios.append((f"{sort}_desc_last_page", "", sort, True, last_page))
    for label, search in (("prefix", "backup-"), ("infix", "-04217"), ("no_match", "zzz-nothing")):
        scenarios.append((f"search_{label}", search, "created", True, 1))

    for name, search, sort, descending, page in scenarios:
        fields = page_fields(search, sort, descending, page)
        body = post("/rpc/token_table", fields)  # warm-up, and the total
        matching = json.loads(body).get("total", "?")
        # A big account's first search starts reading its names into memory, in the background (the database
        # answers meanwhile): the timed calls start once that is done, as for a person typing on an open page.
        # The search right after a change of the names is timed on its own below.
        if search:
            time.sleep(1)
        times = []
        for _ in range(calls):
            start = time.perf_counter()
            post("/rpc/token_table", fields)
            times.append((time.perf_counter() - start) * 1000)
        report(name, times, matching)

    # A big account's search is answered from its names in memory, read again after any change to them: each call
    # here follows a rename (not timed) of one of the account's tokens, so every search pays for that reading.
    fields = page_fields("backup-", "created", True, 1)
    names = ("deploy-000000", "deploy-000000-renamed")
    times = []
    for call in range(calls + calls % 2):
        post("/rpc/rename_token", {"name": names[call % 2], "new_name": names[(call + 1) % 2]})
        start = time.perf_counter()
        body = post("/rpc/token_table", fields)
        times.append((time.perf_counter() - start) * 1000)
    report("search_prefix_after_a_rename", times, json.loads(body).get("total", "?"))


def page_fields(search, sort, descending, page):
    return {
        "query[search]": search,
        "query[sort]": sort,
        "query[descending]": "true" if descending else "false",
        "query[page]": str(page),
        "query[per_page]": "20",
    }


def report(name, times, matching):
    times.sort()
    p95 = times[min(len(times) - 1, int(round(0.95 * len(times))) - 1)]
    print(f"list_{name} {statistics.median(times):.2f} {p95:.2f} {matching}", flush=True)


if __name__ == "__main__":
    main()

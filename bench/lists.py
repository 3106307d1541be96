#!/usr/bin/env python3
"""`make bench` helper: times listing and searching one account's tokens through the app's server function
(`POST /rpc/list_tokens`), over HTTP with the session cookie, exactly as the browser calls it.

Usage: lists.py BASE_URL USERNAME PASSWORD PAGES_OF_20 CALLS
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
        fields = {
            "query[search]": search,
            "query[sort]": sort,
            "query[descending]": "true" if descending else "false",
            "query[page]": str(page),
            "query[per_page]": "20",
        }
        body = post("/rpc/list_tokens", fields)  # warm-up, and the total
        matching = json.loads(body).get("total", "?")
        times = []
        for _ in range(calls):
            start = time.perf_counter()
            post("/rpc/list_tokens", fields)
            times.append((time.perf_counter() - start) * 1000)
        times.sort()
        p95 = times[min(len(times) - 1, int(round(0.95 * len(times))) - 1)]
        print(f"list_{name} {statistics.median(times):.2f} {p95:.2f} {matching}", flush=True)


if __name__ == "__main__":
    main()

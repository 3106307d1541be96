"""A soak of the running server (issue 16): mixed traffic for a while, sampled every few seconds.

Traffic, all at steady rates: token verifications (forward-auth, cycling through several tokens), token creation
and revocation through the native API, sign-ins to the web app, and list and search calls. Every sample records
the server's resident memory, its open file descriptors, the database's size on disk and the p99 latency of the
verifications in that window. At the end: a Markdown report with a table and a PNG plot, and a verdict:

- no request failed (every answer what it should be);
- resident memory and descriptors flat after the warm-up (the first quarter): memory at the end (its floor over
  the last three samples) at most 10% (and 8 MiB) above its floor at the end of the warm-up, descriptors at most 8
  above;
- the p99 of verifications in the last window within 2x that of the first minute (or 2 ms, whichever is larger:
  below that, scheduling noise on a 2-core machine dominates).

Usage: soak.py BASE_URL SERVER_PID DB_FILE TOKEN_FILE MANAGER_TOKEN PASSWORD SECONDS REPORT.md
(scripts/soak.sh starts the server and passes these). Exits 1 when the verdict fails.
"""

import asyncio
import os
import sys
import time

import httpx

SAMPLE_EVERY = 10
VERIFY_RATE = 200  # per second
WRITE_RATE = 2  # token creations per second (each revoked a moment later)
SIGN_IN_EVERY = 5  # seconds
LIST_RATE = 2  # per second


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def db_bytes(path):
    return sum(os.path.getsize(p) for p in (path, path + "-wal", path + "-shm") if os.path.exists(p))


def p99(values):
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


class Soak:
    def __init__(self, base, tokens, manager, password, seconds):
        self.base, self.tokens, self.manager, self.password = base, tokens, manager, password
        self.seconds = seconds
        self.latencies = []  # verifications in the current window, ms
        self.errors = []
        self.counts = {"verify": 0, "create": 0, "revoke": 0, "sign_in": 0, "list": 0}
        self.stop_at = time.monotonic() + seconds

    def fail(self, what, response):
        if len(self.errors) < 20:
            self.errors.append(f"{what}: {response}")

    async def paced(self, rate, action):
        interval = 1.0 / rate
        due = time.monotonic()
        tasks = set()
        while due < self.stop_at:
            task = asyncio.create_task(action())
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            due += interval
            await asyncio.sleep(max(0.0, due - time.monotonic()))
        if tasks:
            await asyncio.gather(*tasks)

    async def verify(self, client):
        token = self.tokens[self.counts["verify"] % len(self.tokens)]
        self.counts["verify"] += 1
        started = time.perf_counter()
        try:
            response = await client.get("/api/v1/auth", headers={"Authorization": f"Bearer {token}"})
        except httpx.HTTPError as err:
            return self.fail("verify", repr(err))
        self.latencies.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            self.fail("verify", response.status_code)

    async def create_and_revoke(self, client):
        n = self.counts["create"]
        self.counts["create"] += 1
        auth = {"Authorization": f"Bearer {self.manager}"}
        body = {"name": f"soak-{n}", "expires": "never", "privileges": ["list-accts"]}
        try:
            created = await client.post("/api/v1/tokens", json=body, headers=auth)
            if created.status_code != 201:
                return self.fail("create", created.status_code)
            await asyncio.sleep(0.2)
            revoked = await client.delete(f"/api/v1/tokens/soak-{n}", headers=auth)
            self.counts["revoke"] += 1
            if revoked.status_code != 204:
                self.fail("revoke", revoked.status_code)
        except httpx.HTTPError as err:
            self.fail("create/revoke", repr(err))

    async def sign_in(self, _client):
        self.counts["sign_in"] += 1
        # A browser of its own (its own cookies); the sign-in throttle counts failures only.
        async with httpx.AsyncClient(base_url=self.base, timeout=30) as browser:
            try:
                response = await browser.post("/rpc/login", data={"username": "soak", "password": self.password})
                if response.status_code >= 400:
                    return self.fail("sign-in", response.status_code)
                me = await browser.post("/rpc/current_account")
                if me.status_code != 200 or "soak" not in me.text:
                    self.fail("signed in", me.status_code)
            except httpx.HTTPError as err:
                self.fail("sign-in", repr(err))

    async def list_and_search(self, client):
        n = self.counts["list"]
        self.counts["list"] += 1
        query = "?per_page=100" if n % 2 else f"?search=soak-{n % 7}&sort=name"
        try:
            response = await client.get(f"/api/v1/tokens{query}", headers={"Authorization": f"Bearer {self.manager}"})
            if response.status_code != 200:
                self.fail("list", response.status_code)
        except httpx.HTTPError as err:
            self.fail("list", repr(err))

    async def run(self, pid, db_path):
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=32)
        samples = []
        async with httpx.AsyncClient(base_url=self.base, timeout=30, limits=limits) as client:
            async def sampler():
                started = time.monotonic()
                while time.monotonic() < self.stop_at:
                    await asyncio.sleep(SAMPLE_EVERY)
                    window, self.latencies = self.latencies, []
                    samples.append(
                        {
                            "t": round(time.monotonic() - started),
                            "rss_mib": rss_kib(pid) / 1024,
                            "fds": fds(pid),
                            "db_kib": db_bytes(db_path) / 1024,
                            "p99_ms": p99(window),
                            "verifications": len(window),
                        }
                    )

            await asyncio.gather(
                self.paced(VERIFY_RATE, lambda: self.verify(client)),
                self.paced(WRITE_RATE, lambda: self.create_and_revoke(client)),
                self.paced(1 / SIGN_IN_EVERY, lambda: self.sign_in(client)),
                self.paced(LIST_RATE, lambda: self.list_and_search(client)),
                sampler(),
            )
        return samples


def verdict(samples, errors):
    problems = []
    if errors:
        problems.append(f"{len(errors)} failed request(s), first: {errors[0]}")
    if len(samples) < 4:
        problems.append(f"only {len(samples)} samples")
        return problems
    q = max(0, len(samples) // 4 - 1)
    warm = samples[q]
    last = samples[-1]
    # Memory is compared by its floor over three samples: a sample taken while a sign-in hashes holds Argon2's
    # 19 MiB for a moment, which a leak would not give back.
    warm_rss = min(s["rss_mib"] for s in samples[q : q + 3])
    last_rss = min(s["rss_mib"] for s in samples[-3:])
    rss_bound = max(warm_rss * 1.10, warm_rss + 8)
    if last_rss > rss_bound:
        problems.append(f"memory grew from {warm_rss:.1f} to {last_rss:.1f} MiB after the warm-up")
    if last["fds"] > warm["fds"] + 8:
        problems.append(f"descriptors grew from {warm['fds']} to {last['fds']} after the warm-up")
    first_minute = [s["p99_ms"] for s in samples if s["t"] <= 60] or [samples[0]["p99_ms"]]
    p99_bound = max(2 * max(first_minute), 2.0)
    if last["p99_ms"] > p99_bound:
        problems.append(f"p99 {last['p99_ms']:.2f} ms in the last window, over {p99_bound:.2f} ms")
    return problems


def report(path, samples, counts, errors, problems, seconds):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    png = os.path.splitext(path)[0] + ".png"
    t = [s["t"] for s in samples]
    figure, axes = plt.subplots(4, 1, figsize=(8, 9), sharex=True)
    for axis, key, label in zip(
        axes,
        ["rss_mib", "fds", "db_kib", "p99_ms"],
        ["resident memory (MiB)", "open descriptors", "database on disk (KiB)", "verification p99 (ms)"],
    ):
        axis.plot(t, [s[key] for s in samples], marker=".")
        axis.set_ylabel(label)
        axis.set_ylim(bottom=0)
        axis.grid(True, alpha=0.3)
    axes[-1].set_xlabel("seconds")
    figure.suptitle(f"Tessera soak, {seconds // 60} min of mixed traffic")
    figure.tight_layout()
    figure.savefig(png, dpi=90)

    rows = "\n".join(
        f"| {s['t']} | {s['rss_mib']:.1f} | {s['fds']} | {s['db_kib']:.0f} | {s['p99_ms']:.2f} | {s['verifications']} |"
        for s in samples
    )
    verdict_text = "**passed**" if not problems else "**failed**: " + "; ".join(problems)
    with open(path, "w") as out:
        out.write(
            f"""# Soak

Written by `make soak` (scripts/soak.sh, scripts/soak.py). Do not edit by hand; rerun it.

- **Date:** {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}
- **Length:** {seconds} s of mixed traffic against the release binary on SQLite: {VERIFY_RATE} verifications/s
  (forward-auth), {WRITE_RATE} token creations/s each revoked 0.2 s later (native API), a sign-in every
  {SIGN_IN_EVERY} s (web app), {LIST_RATE} list or search calls/s.
- **Requests:** {counts['verify']} verifications, {counts['create']} creations, {counts['revoke']} revocations,
  {counts['sign_in']} sign-ins, {counts['list']} lists; {len(errors)} failed.
- **Verdict:** {verdict_text} (memory and descriptors flat after the first quarter, within 10% / 8 MiB and 8
  descriptors; no failed request; the last window's p99 within 2x the first minute's, or 2 ms).

![Memory, descriptors, database size and p99 over time]({os.path.basename(png)})

| seconds | RSS (MiB) | descriptors | database (KiB) | p99 (ms) | verifications in window |
|---:|---:|---:|---:|---:|---:|
{rows}
"""
        )


def main():
    base, pid, db_path, token_file, manager, password, seconds, out = sys.argv[1:9]
    with open(token_file) as f:
        tokens = [line.strip() for line in f if line.strip()]
    seconds = int(seconds)
    soak = Soak(base, tokens, manager, password, seconds)
    samples = asyncio.run(soak.run(int(pid), db_path))
    problems = verdict(samples, soak.errors)
    report(out, samples, soak.counts, soak.errors, problems, seconds)
    print(open(out).read())
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()

"""The locust users of ``bench/worklist.py`` (run by it; see there). ``BENCH_USERS_FILE``: the usernames,
password and caseloads the seeding wrote; ``BENCH_PAUSE``: seconds between a user's pages, ``"0"`` or
``"low,high"``.

- ``Probe``: ``GET /healthz`` (touches neither the database nor a template), the ceiling of the app.
- ``CareManager``: signs in as its own care manager, then opens the worklist and a patient of its
  caseload in turn. Statistics are reset when the last user has signed in, so sign-in is not measured.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
from typing import Any

import gevent.event
from locust import FastHttpUser, between, constant, task
from locust.env import Environment

SETUP = json.loads(open(os.environ["BENCH_USERS_FILE"]).read())  # noqa: SIM115
_low, _, _high = os.environ.get("BENCH_PAUSE", "0").partition(",")
PAUSE = constant(float(_low)) if not _high else between(float(_low), float(_high))
LONGEST_PAUSE = float(_high or _low)
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_usernames = itertools.cycle(sorted(u for u, caseload in SETUP["caseloads"].items() if caseload))
_signed_in = 0
_all_in = gevent.event.Event()


def _everyone_in(environment: Environment) -> None:
    global _signed_in
    _signed_in += 1
    runner = environment.runner
    if runner is not None and _signed_in >= runner.target_user_count:
        environment.stats.reset_all()
        _all_in.set()


class Probe(FastHttpUser):
    wait_time = PAUSE

    @task
    def healthz(self) -> None:
        self.client.get("/healthz", name="/healthz")


class CareManager(FastHttpUser):
    wait_time = PAUSE

    def on_start(self) -> None:
        self.username = next(_usernames)
        self.caseload: list[str] = SETUP["caseloads"][self.username]
        form = self.client.get("/login", name="sign-in")
        match = CSRF.search(form.text or "")
        if match is None:
            raise RuntimeError("no csrf_token on /login")
        data: dict[str, Any] = {
            "username": self.username,
            "password": SETUP["password"],
            "csrf_token": match.group(1),
            "next": "",
        }
        self.client.post("/login", data=data, name="sign-in")
        # A server runs for hours: warm it (templates compiled, statements cached in every worker) with
        # each page once before measuring, as sign-in is not measured either.
        self.client.get("/worklist", name="sign-in")
        self.client.get(f"/patients/{random.choice(self.caseload)}", name="sign-in")
        _everyone_in(self.environment)
        _all_in.wait()
        # People do not all open their worklist in the same instant: each starts somewhere within one
        # pause, as it would have had the run been going for a while (no herd at the start of measuring).
        gevent.sleep(random.uniform(0, LONGEST_PAUSE))

    @task
    def worklist_then_patient(self) -> None:
        with self.client.get("/worklist", name="/worklist", catch_response=True) as response:
            if "Worklist" not in (response.text or "") or "/login" in (response.url or ""):
                response.failure("not the worklist (signed out?)")
        self.wait()
        patient = random.choice(self.caseload)
        with self.client.get(
            f"/patients/{patient}", name="/patients/{uuid}", catch_response=True
        ) as response:
            if response.status_code != 200:
                response.failure(f"status {response.status_code}")

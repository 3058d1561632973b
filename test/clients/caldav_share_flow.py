"""Bob's session with Debian's python3-caldav (0.11) on a calendar Alice shared with him read-write.

Usage: /usr/bin/python3 caldav_share_flow.py ROOT_URL USER PASSWORD

Discovers Bob's principal and calendars from the root URL, finds the shared calendar among them,
saves an event into it, searches it by date (Alice's event and Bob's must both be found), edits
Bob's event, and checks the UID clash with Alice's event is refused. Prints one JSON object:
{"ok": bool, "steps": {name: {"ok": bool, "error"?: str, ...details}}}; exits 1 when a step failed.
"""
import json
import sys
import traceback
from datetime import datetime, timezone

import caldav

ROOT, USER, PASSWORD = sys.argv[1].rstrip("/") + "/", sys.argv[2], sys.argv[3]

BOBS_EVENT = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//gitdav tests//python3-caldav//EN
BEGIN:VEVENT
UID:bob-lunch
DTSTAMP:20260101T000000Z
DTSTART:20261202T120000Z
DTEND:20261202T130000Z
SUMMARY:Lunch (added by Bob)
END:VEVENT
END:VCALENDAR
"""

steps = {}
state = {}


def step(name):
    def wrap(fn):
        try:
            steps[name] = {"ok": True, **(fn() or {})}
        except Exception as exc:  # each step reports its own failure
            steps[name] = {"ok": False, "error": f"{type(exc).__name__}: {exc}", "trace": traceback.format_exc()}
        return fn
    return wrap


@step("discovery")
def _():
    client = caldav.DAVClient(url=ROOT, username=USER, password=PASSWORD)
    principal = client.principal()
    state["calendars"] = principal.calendars()
    return {"principal": str(principal.url), "calendars": sorted(str(c.url) for c in state["calendars"])}


@step("save")
def _():
    shared = next(c for c in state["calendars"] if str(c.url).rstrip("/").endswith("~calendar"))
    state["shared"] = shared
    event = shared.save_event(BOBS_EVENT)
    state["event"] = event
    return {"url": str(event.url)}


@step("date_search")
def _():
    found = state["shared"].date_search(
        start=datetime(2026, 12, 1, tzinfo=timezone.utc), end=datetime(2026, 12, 3, tzinfo=timezone.utc), expand=False
    )
    return {"summaries": sorted(str(e.vobject_instance.vevent.summary.value) for e in found)}


@step("edit")
def _():
    event = state["event"]
    event.load()
    event.vobject_instance.vevent.summary.value = "Long lunch (edited by Bob)"
    event.save()
    again = state["shared"].event_by_uid("bob-lunch")
    return {"summary": str(again.vobject_instance.vevent.summary.value)}


@step("uid_clash")
def _():
    clash = BOBS_EVENT.replace("UID:bob-lunch", "UID:team-meeting")
    try:
        state["shared"].save_event(clash)
    except Exception as exc:
        return {"refused": True, "error": type(exc).__name__}
    return {"refused": False}


ok = all(s["ok"] for s in steps.values())
print(json.dumps({"ok": ok, "steps": steps}))
sys.exit(0 if ok else 1)

"""One CalDAV session with Debian's python3-caldav (0.11), the way scripts and sync tools use it.

Usage: /usr/bin/python3 caldav_flow.py ROOT_URL

Runs the steps in order, each in its own try block so that one failing step (say, a REPORT the server
lacks) does not hide the others. Prints one JSON object: {"ok": bool, "steps": {name: {"ok": bool,
"error"?: str, ...details}}} and exits 1 when any step failed. Details are what the test asserts on,
so a failure message says what the client actually saw.
"""
import json
import sys
import traceback
from datetime import datetime, timezone

import caldav
from caldav import error as caldav_error
from caldav.elements import dav

ROOT = sys.argv[1].rstrip("/") + "/"
CAL_ID = "pyflow"
CAL_NAME = "Python Flow"

VTIMEZONE_NY = """BEGIN:VTIMEZONE
TZID:America/New_York
BEGIN:DAYLIGHT
TZOFFSETFROM:-0500
TZOFFSETTO:-0400
TZNAME:EDT
DTSTART:19700308T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU
END:DAYLIGHT
BEGIN:STANDARD
TZOFFSETFROM:-0400
TZOFFSETTO:-0500
TZNAME:EST
DTSTART:19701101T020000
RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU
END:STANDARD
END:VTIMEZONE
"""


def vcal(body, extra=""):
    text = "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//gitdav tests//python-caldav//EN\n" + extra + body + "END:VCALENDAR\n"
    return text.replace("\n", "\r\n")


# UID -> iCalendar text. Times in UTC unless said otherwise.
EVENTS = {
    # a plain one-hour event on 1 Dec 2026, 10:00-11:00Z
    "pyflow-alpha": vcal(
        "BEGIN:VEVENT\nUID:pyflow-alpha\nDTSTAMP:20260101T000000Z\nDTSTART:20261201T100000Z\n"
        "DTEND:20261201T110000Z\nSUMMARY:Alpha\nEND:VEVENT\n"
    ),
    # another on 15 Dec 2026
    "pyflow-beta": vcal(
        "BEGIN:VEVENT\nUID:pyflow-beta\nDTSTAMP:20260101T000000Z\nDTSTART:20261215T100000Z\n"
        "DTEND:20261215T110000Z\nSUMMARY:Beta\nEND:VEVENT\n"
    ),
    # weekly, four Mondays: 2, 9, 16, 23 Nov 2026, 09:00-10:00Z (DTSTART itself is outside most ranges)
    "pyflow-weekly": vcal(
        "BEGIN:VEVENT\nUID:pyflow-weekly\nDTSTAMP:20260101T000000Z\nDTSTART:20261102T090000Z\n"
        "DTEND:20261102T100000Z\nRRULE:FREQ=WEEKLY;COUNT=4\nSUMMARY:Weekly\nEND:VEVENT\n"
    ),
    # 23:00-23:30 New York time on 3 Dec 2026 = 04:00-04:30Z on 4 Dec
    "pyflow-gamma": vcal(
        "BEGIN:VEVENT\nUID:pyflow-gamma\nDTSTAMP:20260101T000000Z\n"
        "DTSTART;TZID=America/New_York:20261203T230000\nDTEND;TZID=America/New_York:20261203T233000\n"
        "SUMMARY:Gamma\nEND:VEVENT\n",
        VTIMEZONE_NY,
    ),
    # all day on 20 Dec 2026
    "pyflow-delta": vcal(
        "BEGIN:VEVENT\nUID:pyflow-delta\nDTSTAMP:20260101T000000Z\nDTSTART;VALUE=DATE:20261220\n"
        "DTEND;VALUE=DATE:20261221\nSUMMARY:Delta\nEND:VEVENT\n"
    ),
}


def utc(*a):
    return datetime(*a, tzinfo=timezone.utc)


# name -> (start, end, {uid: number of instances expected in the answer})
RANGES = {
    "alpha-only": (utc(2026, 11, 30), utc(2026, 12, 2), {"pyflow-alpha": 1}),
    "one-weekly-instance": (utc(2026, 11, 15), utc(2026, 11, 17), {"pyflow-weekly": 1}),
    "after-the-last-weekly": (utc(2026, 11, 24), utc(2026, 11, 30), {}),
    "end-is-exclusive": (utc(2026, 12, 1, 9), utc(2026, 12, 1, 10), {}),
    "gamma-in-utc": (utc(2026, 12, 4, 3, 30), utc(2026, 12, 4, 5), {"pyflow-gamma": 1}),
    "gamma-wall-clock-as-utc": (utc(2026, 12, 3, 22), utc(2026, 12, 4, 3, 30), {}),
    "all-day": (utc(2026, 12, 20, 6), utc(2026, 12, 20, 18), {"pyflow-delta": 1}),
    "everything": (
        utc(2026, 11, 1),
        utc(2027, 1, 1),
        {"pyflow-alpha": 1, "pyflow-beta": 1, "pyflow-weekly": 4, "pyflow-gamma": 1, "pyflow-delta": 1},
    ),
}

# Count calls of the client's own RRULE expansion: python-caldav falls back to it when the server
# answers an <C:expand> request with the RRULE still in place.
client_expansions = []
_orig_expand_rrule = caldav.objects.CalendarObjectResource.expand_rrule


def _counting_expand_rrule(self, *a, **kw):
    client_expansions.append(str(self.url))
    return _orig_expand_rrule(self, *a, **kw)


caldav.objects.CalendarObjectResource.expand_rrule = _counting_expand_rrule

steps = {}
state = {}


def step(name):
    def wrap(fn):
        details = {}
        try:
            fn(details)
            details["ok"] = True
        except Exception as e:  # noqa: BLE001 - every failure becomes a reported step
            details["ok"] = False
            details["error"] = "%s: %s" % (type(e).__name__, e)
            details["trace"] = traceback.format_exc(limit=4)
        steps[name] = details
        return fn

    return wrap


def check(cond, message):
    if not cond:
        raise AssertionError(message)


def uids_in(obj):
    """(uid -> number of VEVENTs) in one returned calendar object's data."""
    counts = {}
    for comp in obj.vobject_instance.components():
        if comp.name == "VEVENT":
            uid = comp.uid.value
            counts[uid] = counts.get(uid, 0) + 1
    return counts


def path_of(url):
    return str(caldav.lib.url.URL.objectify(url).path)


client = caldav.DAVClient(url=ROOT, username="user", password="ignored")


@step("discovery")
def _(d):
    principal = client.principal()
    state["principal"] = principal
    d["principal"] = str(principal.url)
    # 0.11 quietly uses the root when the server names no principal: insist on the real one.
    check(path_of(principal.url) == "/principals/user/", "principal is %s" % principal.url)
    home = principal.calendar_home_set
    d["home"] = str(home.url)
    check(path_of(home.url) == "/calendars/user/", "calendar-home-set is %s" % home.url)


@step("calendars")
def _(d):
    cals = state["principal"].calendars()
    d["calendars"] = sorted(path_of(c.url) for c in cals)
    check("/calendars/user/calendar/" in d["calendars"], "default calendar missing")
    check("/calendars/user/" not in d["calendars"], "the home is listed as a calendar")


@step("make_calendar")
def _(d):
    cal = state["principal"].make_calendar(name=CAL_NAME, cal_id=CAL_ID, supported_calendar_component_set=["VEVENT"])
    state["cal"] = cal
    d["url"] = path_of(cal.url)
    check(d["url"] == "/calendars/user/%s/" % CAL_ID, "new calendar at %s" % d["url"])
    d["displayname"] = cal.get_property(dav.DisplayName())
    check(d["displayname"] == CAL_NAME, "displayname %r" % d["displayname"])
    listed = sorted(path_of(c.url) for c in state["principal"].calendars())
    d["listed"] = listed
    check(d["url"] in listed, "new calendar not listed by calendars()")


@step("save_event")
def _(d):
    cal = state["cal"]
    urls = {}
    for uid, ical in EVENTS.items():
        e = cal.save_event(ical)
        urls[uid] = str(e.url)
    state["urls"] = urls
    d["urls"] = {uid: path_of(u) for uid, u in urls.items()}
    for uid, u in urls.items():
        check(path_of(u).startswith("/calendars/user/%s/" % CAL_ID), "%s saved at %s" % (uid, u))
        r = client.request(u)  # plain GET
        check(r.status == 200, "GET %s: %s" % (u, r.status))
        body = r.raw.decode("utf-8") if isinstance(r.raw, bytes) else str(r.raw)
        check("UID:%s" % uid in body, "GET %s does not hold its UID" % u)
        check(r.headers.get("Content-Type", "").startswith("text/calendar"), "Content-Type %s" % r.headers.get("Content-Type"))


@step("list_by_sync_token")
def _(d):
    objs = state["cal"].objects_by_sync_token(load_objects=True)
    found = {}
    for o in objs:
        found.update(uids_in(o))
    d["uids"] = sorted(found)
    d["sync_token"] = str(objs.sync_token)
    check(d["uids"] == sorted(EVENTS), "sync-collection listed %s" % d["uids"])


@step("events")
def _(d):
    found = {}
    for o in state["cal"].events():
        found.update(uids_in(o))
    d["uids"] = sorted(found)
    check(d["uids"] == sorted(EVENTS), "events() listed %s" % d["uids"])


@step("date_search")
def _(d):
    results = {}
    wrong = []
    before = len(client_expansions)
    for name, (start, end, expected) in RANGES.items():
        got = {}
        for o in state["cal"].date_search(start=start, end=end):
            for uid, n in uids_in(o).items():
                got[uid] = got.get(uid, 0) + n
        results[name] = {"got": got, "expected": expected}
        if got != expected:
            wrong.append(name)
    d["ranges"] = results
    d["client_side_expansions"] = len(client_expansions) - before
    check(not wrong, "wrong hits for %s: %s" % (wrong, {n: results[n] for n in wrong}))


@step("event_by_uid")
def _(d):
    e = state["cal"].event_by_uid("pyflow-beta")
    d["url"] = path_of(e.url)
    check(d["url"] == path_of(state["urls"]["pyflow-beta"]), "event_by_uid found %s" % d["url"])


@step("event_by_url_and_update")
def _(d):
    url = state["urls"]["pyflow-alpha"]
    e = state["cal"].event_by_url(url)
    check(e.vobject_instance.vevent.summary.value == "Alpha", "loaded summary %r" % e.vobject_instance.vevent.summary.value)
    e.vobject_instance.vevent.summary.value = "Alpha edited"
    e.save()
    again = state["cal"].event_by_url(url)
    d["summary"] = again.vobject_instance.vevent.summary.value
    check(d["summary"] == "Alpha edited", "after update the server has %r" % d["summary"])
    listed = sorted(path_of(o.url) for o in state["cal"].objects_by_sync_token())
    d["listed"] = listed
    check(len(listed) == len(EVENTS), "an update changed the number of objects: %s" % listed)


@step("delete_event")
def _(d):
    url = state["urls"]["pyflow-alpha"]
    state["cal"].event_by_url(url).delete()
    try:
        state["cal"].event_by_url(url)
        gone = False
    except caldav_error.NotFoundError:
        gone = True
    check(gone, "event still loadable after delete")
    remaining = {}
    for o in state["cal"].objects_by_sync_token(load_objects=True):
        remaining.update(uids_in(o))
    d["remaining"] = sorted(remaining)
    check(d["remaining"] == sorted(set(EVENTS) - {"pyflow-alpha"}), "left after delete: %s" % d["remaining"])


@step("date_search_after_delete")
def _(d):
    start, end, _ = RANGES["alpha-only"]
    hits = [o for o in state["cal"].date_search(start=start, end=end)]
    d["hits"] = [path_of(o.url) for o in hits]
    check(hits == [], "the deleted event is still found: %s" % d["hits"])


@step("delete_calendar")
def _(d):
    cal_url = str(state["cal"].url)
    state["cal"].delete()
    r = client.request(cal_url, "PROPFIND", '<propfind xmlns="DAV:"><prop><resourcetype/></prop></propfind>', {"Depth": "0"})
    d["propfind_status"] = r.status
    check(r.status == 404, "PROPFIND on the deleted calendar: %s" % r.status)
    listed = sorted(path_of(c.url) for c in client.principal().calendars())
    d["listed"] = listed
    check(path_of(cal_url) not in listed, "deleted calendar still listed")
    check("/calendars/user/calendar/" in listed, "default calendar went too")


ok = all(s["ok"] for s in steps.values())
print(json.dumps({"ok": ok, "steps": steps}, indent=1, sort_keys=True, default=str))
sys.exit(0 if ok else 1)

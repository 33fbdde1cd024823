"""Applications and application versions (BOINC's manage_apps and
manage_app_versions pages).

Per app: deprecated, beta, weight, homogeneous redundancy and
homogeneous_app_version.  Per app version: deprecated, beta,
min/max_core_version (the client versions it is sent to) and plan class.
Unlike BOINC's pages, every change creates ``reread_db`` so the feeder
reloads its catalog at once, and a change the feeder would refuse (and
exit on) is refused here first.  A plan class that neither the built-in
list nor plan_class_spec.xml knows is shown as an error: the scheduler
would log "Unknown plan class" and never send that version.
"""

import math
import os
import re

from .. import shmem
from ..feeder import HR_NTYPES, REREAD_DB
from ..scheduler.plans import known_plan_class
from ..start import launch
from . import figures
from .app import HttpError
from .html import checkbox, form, hidden, join, select, table, tag, text_input, when

PLAN_CLASS_RE = re.compile(r"[A-Za-z0-9_.+-]{0,128}\Z")
HR_TYPES = ((0, "0: off"), (1, "1: fine"), (2, "2: coarse"))


def touch_reread_db(req):
    """Create PROJECT/reread_db; the error text if we can't."""
    path = req.path(REREAD_DB)
    try:
        with open(path, "a"):
            pass
    except OSError as exc:
        return ("couldn't create %s (%s): the feeder sees the change only when restarted; "
                "bin/check_project says how to let the web server write there"
                % (path, exc.strerror))
    return None


def apps_page(req):
    db, cfg = req.db, req.cfg
    apps = db.query("SELECT * FROM app ORDER BY id")
    versions = db.query(
        "SELECT av.id, av.appid, av.version_num, av.platformid, av.min_core_version, "
        "av.max_core_version, av.deprecated, av.plan_class, av.beta, av.create_time, "
        "app.name AS app_name, p.name AS platform FROM app_version av "
        "LEFT JOIN app ON app.id=av.appid LEFT JOIN platform p ON p.id=av.platformid "
        "ORDER BY av.appid, av.platformid, av.plan_class, av.version_num DESC")
    cache = figures.cache_state(cfg)
    cached = set(cache.get("app_version_ids") or ())
    if os.path.exists(req.path(REREAD_DB)):
        req.notes.append("reread_db is waiting for the feeder: the cache shows the old "
                         "catalog until it has reloaded (within a few seconds if it runs).")
    if cache.get("error"):
        req.problems.append("The feeder's cache can't be read: %s" % cache["error"])

    app_rows = []
    for a in apps:
        fid = "app-%d" % a["id"]
        app_rows.append([
            a["id"], a["name"], a["user_friendly_name"],
            checkbox("deprecated", a["deprecated"], fid),
            checkbox("beta", a["beta"], fid),
            text_input("weight", "%g" % a["weight"], 5, fid),
            select("homogeneous_redundancy", HR_TYPES, a["homogeneous_redundancy"], fid),
            checkbox("homogeneous_app_version", a["homogeneous_app_version"], fid),
            "yes" if a["name"] in (cache.get("apps") or ()) else "no",
            form(req, "app_update", hidden("id", a["id"]), "Save", id_=fid, cls="inline"),
        ])

    bad = []
    av_rows = []
    for v in versions:
        fid = "av-%d" % v["id"]
        known = known_plan_class(cfg, v["plan_class"])
        plan = [text_input("plan_class", v["plan_class"], 14, fid)]
        if not known:
            plan.append(tag("div", "unknown plan class", class_="error"))
            if not v["deprecated"]:
                bad.append(v)
        toggle = form(req, "app_version_update",
                      join([hidden("id", v["id"]), hidden("toggle", "1")]),
                      "Undeprecate" if v["deprecated"] else "Deprecate",
                      id_="avtoggle-%d" % v["id"], cls="inline")
        av_rows.append({"class": "disabled" if v["deprecated"] else "", "cells": [
            v["id"], v["app_name"] or "?%d" % v["appid"], v["platform"] or v["platformid"],
            v["version_num"], join(plan),
            text_input("min_core_version", v["min_core_version"], 6, fid, "number", min="0"),
            text_input("max_core_version", v["max_core_version"], 6, fid, "number", min="0"),
            checkbox("beta", v["beta"], fid), checkbox("deprecated", v["deprecated"], fid),
            when(v["create_time"]), "yes" if v["id"] in cached else "no",
            join([form(req, "app_version_update", hidden("id", v["id"]), "Save", id_=fid,
                       cls="inline"), " ", toggle]),
        ]})
    for v in bad:
        req.problems.append(
            "App version #%d (%s %d, %s) has plan class '%s', which the scheduler doesn't "
            "know (not built in, not in plan_class_spec.xml): clients would never get it. "
            "Add it to plan_class_spec.xml, or change or deprecate the version."
            % (v["id"], v["app_name"], v["version_num"], v["platform"], v["plan_class"]))
    body = join([
        tag("h2", "Applications"),
        table(("id", "name", "description", "deprecated", "beta", "weight",
               "homogeneous redundancy", "homogeneous app version", "in feeder cache", ""),
              app_rows, numeric=(0,)),
        tag("h2", "Application versions"),
        tag("p", "min/max_core_version: the client versions (major*10000+minor*100+release) "
                 "a version is sent to; 0 means no limit."),
        table(("id", "app", "platform", "version", "plan class", "min core version",
               "max core version", "beta", "deprecated", "created", "in feeder cache", ""),
              av_rows, numeric=(0, 3), id_="app_versions"),
    ])
    return req.page("Applications and versions", body, here="apps")


def _flag(req, name):
    return 1 if req.field(name) not in ("", "0") else 0


def _feeder_has(cfg, option):
    for d in cfg.daemons:
        words = d.cmd.split()
        if words and launch.base_name(d.cmd) == "feeder" and \
                any(w.lstrip("-") == option for w in words):
            return True
    return False


def feeder_objection(cfg, apps):
    """Why the feeder would refuse (and exit on) these app rows, or None."""
    live = [a for a in apps if not a["deprecated"]]
    hrs = {a["homogeneous_redundancy"] for a in live}
    if cfg.homogeneous_redundancy and any(hrs):
        return ("config.xml sets <homogeneous_redundancy> for all apps; the feeder refuses "
                "per-app homogeneous redundancy as well")
    if len(hrs) > 1 and not _feeder_has(cfg, "allapps"):
        return ("apps would have different homogeneous redundancy, which the feeder accepts "
                "only with --allapps (add it to the feeder's <cmd> in config.xml first)")
    room = int(cfg.get("shmem_max_apps") or shmem.DEFAULT_MAX["apps"])
    if len(live) > room:
        return ("%d apps in use, but the feeder's cache has room for %d (raise "
                "<shmem_max_apps> in config.xml and restart the project)" % (len(live), room))
    return None


def app_update(req):
    db = req.db
    appid = req.int_field("id")
    app = db.query_one("SELECT * FROM app WHERE id=%s", (appid,))
    if app is None:
        raise HttpError("404 Not Found", "no app with id %s" % appid)
    try:
        weight = float(req.field("weight", "1"))
    except ValueError:
        weight = -1
    if not (weight >= 0 and math.isfinite(weight)):
        return req.redirect("apps", problem="weight must be a number >= 0")
    hr = req.int_field("homogeneous_redundancy", 0)
    if not 0 <= hr < HR_NTYPES:
        return req.redirect("apps", problem="homogeneous redundancy must be 0 to %d"
                            % (HR_NTYPES - 1))
    new = dict(deprecated=_flag(req, "deprecated"), beta=_flag(req, "beta"), weight=weight,
               homogeneous_redundancy=hr,
               homogeneous_app_version=_flag(req, "homogeneous_app_version"))
    others = db.query("SELECT id, deprecated, homogeneous_redundancy FROM app WHERE id<>%s",
                      (appid,))
    objection = feeder_objection(req.cfg, others + [new])
    if objection:
        return req.redirect("apps", problem="App %s not changed: %s" % (app["name"], objection))
    db.execute("UPDATE app SET deprecated=%s, beta=%s, weight=%s, homogeneous_redundancy=%s, "
               "homogeneous_app_version=%s WHERE id=%s",
               (new["deprecated"], new["beta"], weight, hr, new["homogeneous_app_version"],
                appid))
    req.log("app %s (#%d) set to %s" % (app["name"], appid, new))
    return _done(req, "App %s saved." % app["name"])


def _done(req, note):
    error = touch_reread_db(req)
    if error:
        return req.redirect("apps", note=note, problem=error)
    return req.redirect("apps", note=note + " The feeder will reload its catalog (reread_db).")


def app_version_update(req):
    db, cfg = req.db, req.cfg
    avid = req.int_field("id")
    av = db.query_one("SELECT av.*, app.name AS app_name FROM app_version av "
                      "LEFT JOIN app ON app.id=av.appid WHERE av.id=%s", (avid,))
    if av is None:
        raise HttpError("404 Not Found", "no app version with id %s" % avid)
    what = "App version #%d (%s %d)" % (avid, av["app_name"], av["version_num"])
    if req.field("toggle"):
        new = dict(deprecated=0 if av["deprecated"] else 1, beta=av["beta"],
                   min_core_version=av["min_core_version"],
                   max_core_version=av["max_core_version"], plan_class=av["plan_class"])
    else:
        new = dict(deprecated=_flag(req, "deprecated"), beta=_flag(req, "beta"),
                   min_core_version=req.int_field("min_core_version", 0),
                   max_core_version=req.int_field("max_core_version", 0),
                   plan_class=req.field("plan_class"))
    if new["min_core_version"] < 0 or new["max_core_version"] < 0:
        return req.redirect("apps", problem="%s not changed: core versions can't be negative"
                            % what)
    if not PLAN_CLASS_RE.match(new["plan_class"]):
        return req.redirect("apps", problem="%s not changed: a plan class is up to 128 "
                            "letters, digits and _ . + -" % what)
    if not new["deprecated"] and not known_plan_class(cfg, new["plan_class"]):
        return req.redirect("apps", problem=(
            "%s not changed: the scheduler doesn't know plan class '%s' (not built in, not "
            "in plan_class_spec.xml); add it there first" % (what, new["plan_class"])))
    clash = db.scalar("SELECT id FROM app_version WHERE appid=%s AND platformid=%s AND "
                      "version_num=%s AND plan_class=%s AND id<>%s",
                      (av["appid"], av["platformid"], av["version_num"], new["plan_class"],
                       avid))
    if clash:
        return req.redirect("apps", problem="%s not changed: version #%d already has that "
                            "app, platform, version number and plan class" % (what, clash))
    db.execute("UPDATE app_version SET deprecated=%s, beta=%s, min_core_version=%s, "
               "max_core_version=%s, plan_class=%s WHERE id=%s",
               (new["deprecated"], new["beta"], new["min_core_version"],
                new["max_core_version"], new["plan_class"], avid))
    req.log("app version #%d set to %s" % (avid, new))
    verb = "saved"
    if new["deprecated"] != av["deprecated"]:
        verb = "deprecated" if new["deprecated"] else "undeprecated"
    return _done(req, "%s %s." % (what, verb))

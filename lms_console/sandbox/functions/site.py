"""``core_webservice_get_site_info``: who the token belongs to and what its service offers."""

from __future__ import annotations

import hashlib

from ..context import fullname
from ..registry import FUNCTIONS, ws
from ..validation import ALPHANUMEXT, DEFAULT, Multiple, Value

ADVANCED_FEATURES = [("usecomments", 1), ("usetags", 1), ("enablenotes", 1), ("messaging", 1), ("enableblogs", 1),
                     ("enablecompletion", 1), ("enablebadges", 1), ("messagingallusers", 0),
                     ("enablecustomreports", 1), ("enableglobalsearch", 0), ("mnet_dispatcher_mode", 0),
                     ("enablecompetencies", 1)]


@ws("core_webservice_get_site_info",
    serviceshortnames=Multiple(Value(ALPHANUMEXT), DEFAULT, []))
def get_site_info(ctx, serviceshortnames):
    conn = ctx.conn
    names = [r[0] for r in conn.execute("SELECT functionname FROM external_services_functions"
                                        " WHERE externalserviceid = ? ORDER BY id", (ctx.service["id"],))]
    functions = [{"name": n, "version": FUNCTIONS[n].version if n in FUNCTIONS else "2026020500"} for n in names]
    admin = ctx.is_admin
    user = ctx.user
    key = hashlib.md5(f"{ctx.token['token']}-private".encode()).hexdigest()
    info = {
        "sitename": ctx.store.get_config(conn, "sitename", ctx.settings.sitename),
        "username": user["username"], "firstname": user["firstname"], "lastname": user["lastname"],
        "fullname": fullname(user), "lang": user["lang"] or "en", "userid": user["id"], "siteurl": ctx.site_url,
        "userpictureurl": ctx.image_url("f1"), "functions": functions,
        "downloadfiles": ctx.service["downloadfiles"], "uploadfiles": ctx.service["uploadfiles"],
        "release": "5.2dev (Build: 20260205)", "version": "2026020500", "mobilecssurl": "",
        "advancedfeatures": [{"name": n, "value": v} for n, v in ADVANCED_FEATURES],
        "usercanmanageownfiles": True,
        "userquota": 0 if admin else ctx.settings.user_quota_bytes,
        "usermaxuploadfilesize": -1 if admin else ctx.settings.max_upload_file_bytes,
        "userhomepage": 1, "userprivateaccesskey": key, "siteid": 1, "sitecalendartype": "gregorian",
        "usercalendartype": user["calendartype"] or "gregorian", "userissiteadmin": admin, "theme": "boost",
        "limitconcurrentlogins": 0, "policyagreed": 0, "usercanchangeconfig": admin, "usercanviewconfig": admin,
    }
    if admin:
        info["sitesecret"] = ""
    return info

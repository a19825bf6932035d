# Varnish in front of the site (gunicorn, or nginx before it), as the README's "Deploying" section
# sets it up. Needs Varnish 7 and the xkey module (Debian: varnish, varnish-modules).
#
# The site says how long each public page may be kept (s-maxage, never past the next publish
# second) and tags it with surrogate keys (xkey); when something public changes it sends
# `PURGE /` with the keys of the pages that show it (common/frontcache.py). Edit the backend's
# address and the purgers acl for your machines: nothing else.

vcl 4.1;

import std;
import xkey;

backend default {
    .host = "127.0.0.1";
    .port = "8000";
    .connect_timeout = 2s;
    .first_byte_timeout = 30s;
}

# Who may purge: the site's own servers.
acl purgers {
    "127.0.0.1";
    "::1";
}

sub vcl_recv {
    if (req.method == "PURGE") {
        if (client.ip !~ purgers) {
            return (synth(403, "Not allowed to purge."));
        }
        if (req.http.xkey-purge) {
            set req.http.n-gone = xkey.purge(req.http.xkey-purge);
            return (synth(200, "Purged " + req.http.n-gone + " objects."));
        }
        return (synth(400, "Name the keys to purge in an xkey-purge header."));
    }
    if (req.method != "GET" && req.method != "HEAD") {
        return (pass);
    }
    # Signed-in people (the session cookie) are never served a kept page, nor are personal links,
    # previews or the admin; the site marks those private in any case.
    if (req.http.Cookie ~ "(^|;\s*)sessionid=" || req.url ~ "^/(admin|statistics/preview|statistics/pre-release|subscribe)(/|$)") {
        return (pass);
    }
    # Campaign tags never split what is kept (the same list as common/cache.py TRACKING_PARAMETERS).
    if (req.url ~ "[?&](utm_[a-z_]+|gclid|fbclid|mc_cid|mc_eid)=") {
        set req.url = regsuball(req.url, "(?<=[?&])(utm_[a-z_]+|gclid|fbclid|mc_cid|mc_eid)=[^&]*&?", "");
        set req.url = regsub(req.url, "[?&]+$", "");
    }
    # Anonymous readers' other cookies (a CSRF token from a form) do not change a public page.
    unset req.http.Cookie;
    return (hash);
}

sub vcl_backend_response {
    # What the site marks public, for as long as its s-maxage says; nothing past its time.
    if (beresp.http.Set-Cookie || beresp.http.Cache-Control ~ "(private|no-store|no-cache)") {
        set beresp.uncacheable = true;
        set beresp.ttl = 0s;
        return (deliver);
    }
    set beresp.grace = 0s;
    set beresp.keep = 0s;
    return (deliver);
}

sub vcl_deliver {
    # The keys are for purging here, not for readers.
    unset resp.http.xkey;
    if (obj.hits > 0) {
        set resp.http.X-Front-Cache = "hit";
    } else {
        set resp.http.X-Front-Cache = "miss";
    }
}

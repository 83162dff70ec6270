/* The agent's desk: poll the CRM for the user's live calls and show them as a pop-up.
 *
 * The container (#xvb-desk, in templates/admin/base_site.html) carries the poll URL in
 * data-poll-url; the server renders the pop-up's HTML (translations, locale formats) and says
 * how often to ask (poll_seconds). No polling while the tab is hidden; "Dismiss" hides a call
 * for the rest of the browser session (sessionStorage). No inline script: CSP-friendly.
 */
(function () {
    "use strict";

    var container = document.getElementById("xvb-desk");
    if (!container || !window.fetch) {
        return;
    }
    var pollUrl = container.dataset.pollUrl;
    var STORAGE_KEY = "xvb-desk-dismissed";
    var MAX_BACKOFF_SECONDS = 60;
    var pollSeconds = 2;
    var failures = 0;
    var timer = null;
    var inFlight = false;
    var stopped = false;
    var lastHtml = null;

    function dismissed() {
        try {
            return JSON.parse(window.sessionStorage.getItem(STORAGE_KEY) || "[]");
        } catch (error) {
            return [];
        }
    }

    function remember(callids) {
        try {
            window.sessionStorage.setItem(STORAGE_KEY, JSON.stringify(callids));
        } catch (error) {
            /* storage full or disabled: the call is hidden until the next render only */
        }
    }

    function render(data) {
        var live = data.callids || [];
        // Forget dismissed calls that have ended, so the list never grows.
        var hidden = dismissed().filter(function (callid) { return live.indexOf(callid) >= 0; });
        remember(hidden);
        var html = data.html || "";
        if (html !== lastHtml) {
            container.innerHTML = html;
            lastHtml = html;
        }
        container.querySelectorAll(".xvb-desk-call").forEach(function (card) {
            card.hidden = hidden.indexOf(card.dataset.callid) >= 0;
        });
        var visible = container.querySelectorAll(".xvb-desk-call:not([hidden])").length;
        container.classList.toggle("xvb-desk-active", visible > 0);
    }

    function schedule(seconds) {
        window.clearTimeout(timer);
        timer = null;
        if (!stopped && !document.hidden) {
            timer = window.setTimeout(poll, seconds * 1000);
        }
    }

    function poll() {
        if (inFlight || stopped || document.hidden) {
            return;
        }
        inFlight = true;
        fetch(pollUrl, {
            credentials: "same-origin",
            cache: "no-store",
            headers: {"Accept": "application/json"}
        }).then(function (response) {
            if (response.status === 401 || response.status === 403) {
                stopped = true;  // logged out (or not staff any more): nothing to show
                render({callids: [], html: ""});
                return null;
            }
            if (!response.ok) {
                throw new Error("poll answered " + response.status);
            }
            return response.json();
        }).then(function (data) {
            inFlight = false;
            if (data) {
                failures = 0;
                if (data.poll_seconds > 0) {
                    pollSeconds = data.poll_seconds;
                }
                render(data);
            }
            schedule(pollSeconds);
        }).catch(function () {
            inFlight = false;
            failures += 1;
            schedule(Math.min(pollSeconds * Math.pow(2, failures), MAX_BACKOFF_SECONDS));
        });
    }

    container.addEventListener("click", function (event) {
        var button = event.target.closest(".xvb-desk-dismiss");
        if (!button) {
            return;
        }
        var hidden = dismissed();
        if (hidden.indexOf(button.dataset.callid) < 0) {
            hidden.push(button.dataset.callid);
        }
        remember(hidden);
        var card = button.closest(".xvb-desk-call");
        if (card) {
            card.hidden = true;
        }
        var visible = container.querySelectorAll(".xvb-desk-call:not([hidden])").length;
        container.classList.toggle("xvb-desk-active", visible > 0);
    });

    document.addEventListener("visibilitychange", function () {
        if (document.hidden) {
            window.clearTimeout(timer);
            timer = null;
        } else {
            poll();  // back on the tab: ask at once
        }
    });

    poll();
}());

"""The consent page: one self-contained HTML document, no script, no external asset.

The user sees which client asks (its name and the host it will send them back to), enters the
Ontraport App ID and API key, picks an access level, and approves or denies.  The form carries
the pending request's id and its CSRF token (bound to that request; only its hash is stored).

Headers (``page_headers``): a CSP that allows nothing but the inline style, frames nobody
(``frame-ancestors 'none'``), posts only to this server — and to the client's redirect origin,
because browsers apply ``form-action`` to the redirect that follows the POST — plus
``no-store``, ``no-referrer`` and ``nosniff``.  The API key is never written back into a page.
"""

from __future__ import annotations

import re
from html import escape
from typing import Final
from urllib.parse import urlsplit

from .levels import LEVEL_LABELS, LEVEL_ORDER, Level

_SOURCE: Final = re.compile(
    r"^[a-z][a-z0-9+.-]*:(//[A-Za-z0-9.\-]+(:\d{1,5})?|//\[[0-9A-Fa-f:.]+\](:\d{1,5})?)?$"
)

_STYLE: Final = """
body{font:16px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;
background:#f4f5f7;color:#1d2330}
main{max-width:28rem;margin:0 auto;padding:1.25rem}
.card{background:#fff;border-radius:12px;padding:1.25rem;box-shadow:0 1px 4px rgba(0,0,0,.08)}
h1{font-size:1.3rem;margin:0 0 .75rem}
p{margin:.5rem 0}
label{display:block;font-weight:600;margin:.9rem 0 .3rem}
input[type=text],input[type=password]{box-sizing:border-box;width:100%;font-size:1rem;
padding:.6rem;border:1px solid #b8bfcc;border-radius:8px}
fieldset{border:1px solid #d5d9e0;border-radius:8px;margin:1rem 0;padding:.5rem .75rem}
legend{font-weight:600;padding:0 .3rem}
.choice{display:flex;gap:.5rem;align-items:flex-start;font-weight:400;margin:.5rem 0}
.choice input{margin-top:.3rem}
.buttons{display:flex;gap:.75rem;margin-top:1.25rem}
button{flex:1;font-size:1rem;padding:.7rem;border-radius:8px;border:1px solid #1f5fd1;
background:#1f5fd1;color:#fff;cursor:pointer}
button.deny{background:#fff;color:#1f5fd1}
.alert{border-radius:8px;padding:.6rem .8rem;margin:.75rem 0;background:#fdecea;color:#8a1c12}
.muted{color:#5b6475;font-size:.9rem}
code{word-break:break-all}
"""


def redirect_host(redirect_uri: str) -> str:
    """What the page names as the destination: the host, or the app scheme of a native client."""
    parts = urlsplit(redirect_uri)
    return parts.netloc or f"{parts.scheme}:"


def _document(title: str, body: str) -> str:
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="referrer" content="no-referrer">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f'<body><main><div class="card">{body}</div></main></body></html>\n'
    )


def consent_page(
    *,
    client_name: str,
    redirect_uri: str,
    request_id: str,
    csrf: str,
    level: Level,
    app_id: str = "",
    alert: str = "",
) -> str:
    """The form.  ``app_id`` may be shown again after a refusal; the API key never is."""
    choices = "".join(
        '<label class="choice"><input type="radio" name="access" '
        f'value="{name}"{" checked" if name == level else ""}>'
        f"<span><strong>{name}</strong> — {escape(LEVEL_LABELS[name])}</span></label>"
        for name in LEVEL_ORDER
    )
    alert_html = f'<p class="alert" role="alert">{escape(alert)}</p>' if alert else ""
    body = (
        "<h1>Connect to your Ontraport account</h1>"
        f"<p><strong>{escape(client_name)}</strong> asks to use your Ontraport account.</p>"
        f'<p class="muted">After you approve, you return to '
        f"<code>{escape(redirect_host(redirect_uri))}</code>.</p>"
        f"{alert_html}"
        '<form method="post" action="/authorize" autocomplete="on">'
        f'<input type="hidden" name="request_id" value="{escape(request_id)}">'
        f'<input type="hidden" name="csrf_token" value="{escape(csrf)}">'
        '<label for="app_id">Ontraport App ID</label>'
        f'<input type="text" id="app_id" name="app_id" value="{escape(app_id)}" '
        'autocomplete="username" required maxlength="200" spellcheck="false">'
        '<label for="api_key">Ontraport API key</label>'
        '<input type="password" id="api_key" name="api_key" autocomplete="current-password" '
        'required maxlength="500">'
        f"<fieldset><legend>Access</legend>{choices}</fieldset>"
        '<p class="muted">The server checks the key with Ontraport before it grants anything, '
        "and keeps it encrypted. You can revoke this access at any time.</p>"
        '<div class="buttons"><button type="submit" name="action" value="approve">Approve'
        '</button><button type="submit" name="action" value="deny" class="deny" formnovalidate>'
        "Deny</button></div></form>"
    )
    return _document("Connect to Ontraport", body)


def error_page(title: str, message: str) -> str:
    """A dead end the user can read (a bad client, an expired request): nothing to submit."""
    body = f"<h1>{escape(title)}</h1><p>{escape(message)}</p>"
    return _document(title, body)


def page_headers(redirect_uri: str | None = None) -> dict[str, str]:
    """Security headers of every page; ``redirect_uri`` widens ``form-action`` to its origin."""
    targets = ["'self'"]
    if redirect_uri:
        parts = urlsplit(redirect_uri)
        origin = f"{parts.scheme}://{parts.netloc}" if parts.netloc else f"{parts.scheme}:"
        if _SOURCE.match(origin):  # never lets a crafted URI add a directive
            targets.append(origin)
    csp = (
        "default-src 'none'; style-src 'unsafe-inline'; "
        f"form-action {' '.join(targets)}; frame-ancestors 'none'; base-uri 'none'"
    )
    return {
        "Content-Security-Policy": csp,
        "X-Frame-Options": "DENY",
        "Cache-Control": "no-store",
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
    }

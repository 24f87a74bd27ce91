"""The HTML of the browser sign-in: the form and the error page, with their security headers.

Every value is escaped; the page loads nothing and runs no script, so its Content-Security-Policy
allows nothing but its own inline style and a form post to the gateway itself. ``no-store`` keeps
the form (and its CSRF token) out of caches; ``frame-ancestors 'none'`` stops it being framed.
"""

from __future__ import annotations

from html import escape

from fastapi.responses import HTMLResponse

STYLE = """
body{font:15px/1.4 system-ui,sans-serif;background:#f4f6f8;color:#1d2733;margin:0}
main{max-width:360px;margin:10vh auto;background:#fff;border-radius:8px;padding:28px;
box-shadow:0 1px 4px #0002}
h1{font-size:20px;margin:0 0 4px}p{margin:6px 0 18px;color:#52606d}
label{display:block;margin:12px 0 4px;font-weight:600}
input{width:100%;box-sizing:border-box;padding:8px;border:1px solid #9aa5b1;border-radius:4px}
button{margin-top:20px;width:100%;padding:10px;border:0;border-radius:4px;background:#1f6feb;color:#fff;
font-weight:600;cursor:pointer}.error{color:#b42318;background:#fee4e2;padding:8px;border-radius:4px}
.demo{font-size:13px;color:#52606d;margin-top:16px}
"""


def _headers(form_action: str) -> dict[str, str]:
    policy = (
        "default-src 'none'; style-src 'unsafe-inline'; "
        f"form-action {form_action}; frame-ancestors 'none'; base-uri 'none'"
    )
    return {
        "Content-Security-Policy": policy,
        "Cache-Control": "no-store",
        "Pragma": "no-cache",
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }


def _page(title: str, body: str) -> str:
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body><main>{body}</main></body></html>"
    )


def signin_form(
    *,
    client_id: str,
    request_id: str,
    csrf: str,
    redirect_origin: str,
    username: str = "",
    error: str | None = None,
    demo_hint: bool = True,
    status: int = 200,
) -> HTMLResponse:
    """The sign-in form; the browser may follow the post's redirect to the client's origin only."""
    problem = f"<p class=error role=alert id=signin-error>{escape(error)}</p>" if error else ""
    hint = "<p class=demo>Sandbox mode: demo users are listed in the README.</p>" if demo_hint else ""
    body = (
        "<h1>Sign in to revbridge</h1>"
        f"<p>for <strong>{escape(client_id)}</strong></p>{problem}"
        '<form method=post action="/oauth/authorize" autocomplete=on>'
        f'<input type=hidden name=request_id value="{escape(request_id)}">'
        f'<input type=hidden name=csrf value="{escape(csrf)}">'
        "<label for=username>User name</label>"
        f'<input id=username name=username required autocomplete=username value="{escape(username)}">'
        "<label for=password>Password</label>"
        "<input id=password name=password type=password required autocomplete=current-password>"
        "<button type=submit id=signin>Sign in</button></form>"
        f"{hint}"
    )
    return HTMLResponse(
        _page("Sign in · revbridge", body), status_code=status, headers=_headers(f"'self' {redirect_origin}")
    )


def error_page(status: int, message: str) -> HTMLResponse:
    """A request that can't be sent back to a client (unknown client, unregistered redirect URI...)."""
    body = f"<h1>Sign-in request refused</h1><p class=error role=alert id=signin-error>{escape(message)}</p>"
    return HTMLResponse(
        _page("Sign-in refused · revbridge", body), status_code=status, headers=_headers("'none'")
    )

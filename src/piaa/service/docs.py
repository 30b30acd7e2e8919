"""The API documentation pages (``/docs`` Swagger UI, ``/redoc``) with their assets served by this server.

FastAPI's pages load Swagger UI and ReDoc from a CDN, so ``/docs`` was blank without internet. The assets come
from the ``fastapi-offline`` package (Swagger UI 5, which reads OpenAPI 3.1, and ReDoc) and are served from
``/docs/assets``; nothing on these pages leaves the server.

Both pages carry their own Content-Security-Policy (the app's policy allows no inline script, and Swagger UI's
page starts with one): scripts only from this server plus the one inline start-up script by its SHA-256, styles
inline too (ReDoc injects its own), no framing (``frame-ancestors 'none'`` and ``X-Frame-Options: DENY``).
"""
from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

from fastapi import FastAPI, HTTPException
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse

ASSETS = ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js", "favicon.png")


def assets_dir() -> Path:
    import fastapi_offline

    return Path(fastapi_offline.__file__).resolve().parent / "static"


_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)


def policy_for(html: str) -> str:
    """The Content-Security-Policy of a docs page: its inline scripts allowed by hash, nothing else inline."""
    hashes = " ".join("'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'"
                      for body in _INLINE_SCRIPT.findall(html))
    return (f"default-src 'self'; script-src 'self' {hashes}; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
            "frame-ancestors 'none'; form-action 'self'")


def _page(resp) -> HTMLResponse:
    html = resp.body.decode()
    return HTMLResponse(html, headers={"Content-Security-Policy": policy_for(html), "X-Frame-Options": "DENY",
                                       "Cache-Control": "no-cache"})


def install_docs(app: FastAPI) -> None:
    base = "/docs/assets"

    @app.get("/docs", include_in_schema=False)
    def swagger():
        return _page(get_swagger_ui_html(openapi_url=app.openapi_url, title=f"{app.title} — API",
                                         swagger_js_url=f"{base}/swagger-ui-bundle.js",
                                         swagger_css_url=f"{base}/swagger-ui.css",
                                         swagger_favicon_url=f"{base}/favicon.png",
                                         swagger_ui_parameters={"persistAuthorization": False}))

    @app.get("/redoc", include_in_schema=False)
    def redoc():
        return _page(get_redoc_html(openapi_url=app.openapi_url, title=f"{app.title} — API",
                                    redoc_js_url=f"{base}/redoc.standalone.js",
                                    redoc_favicon_url=f"{base}/favicon.png", with_google_fonts=False))

    @app.get(base + "/{name}", include_in_schema=False)
    def asset(name: str):
        if name not in ASSETS:
            raise HTTPException(404, "not found")
        return FileResponse(assets_dir() / name, headers={"Cache-Control": "public, max-age=86400"})

"""The API documentation pages (``/docs`` Swagger UI, ``/redoc``) with their assets served by this server.

FastAPI's pages load Swagger UI and ReDoc from a CDN, so ``/docs`` was blank without internet. The assets come
from the ``fastapi-offline`` package (Swagger UI 5, which reads OpenAPI 3.1, and ReDoc) and are served from
``/docs/assets``; nothing on these pages leaves the server.
"""
from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, HTTPException
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import FileResponse

ASSETS = ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js", "favicon.png")


def assets_dir() -> Path:
    import fastapi_offline

    return Path(fastapi_offline.__file__).resolve().parent / "static"


def install_docs(app: FastAPI) -> None:
    base = "/docs/assets"

    @app.get("/docs", include_in_schema=False)
    def swagger():
        return get_swagger_ui_html(openapi_url=app.openapi_url, title=f"{app.title} — API",
                                   swagger_js_url=f"{base}/swagger-ui-bundle.js",
                                   swagger_css_url=f"{base}/swagger-ui.css",
                                   swagger_favicon_url=f"{base}/favicon.png",
                                   swagger_ui_parameters={"persistAuthorization": False})

    @app.get("/redoc", include_in_schema=False)
    def redoc():
        return get_redoc_html(openapi_url=app.openapi_url, title=f"{app.title} — API",
                              redoc_js_url=f"{base}/redoc.standalone.js", redoc_favicon_url=f"{base}/favicon.png",
                              with_google_fonts=False)

    @app.get(base + "/{name}", include_in_schema=False)
    def asset(name: str):
        if name not in ASSETS:
            raise HTTPException(404, "not found")
        return FileResponse(assets_dir() / name, headers={"Cache-Control": "public, max-age=86400"})

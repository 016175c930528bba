"""The HTTP API for campaigns, the suppression list, saved templates and contact groups (/v1),
authenticated with API keys."""

from aiohttp import web

from bot.api import campaigns, chart, edit, export, library, optouts
from bot.api.openapi import openapi


def register(app: web.Application) -> None:
    app.router.add_get("/v1/openapi.json", openapi, allow_head=False)
    campaigns.register(app)
    edit.register(app)
    export.register(app)
    optouts.register(app)
    library.register(app)
    chart.register(app)

"""The HTTP API for campaigns and the suppression list (/v1), authenticated with API keys."""

from aiohttp import web

from bot.api import campaigns, chart, optouts
from bot.api.openapi import openapi


def register(app: web.Application) -> None:
    app.router.add_get("/v1/openapi.json", openapi, allow_head=False)
    campaigns.register(app)
    optouts.register(app)
    chart.register(app)

"""The campaign domain: models, storage, recipients, templates, segments, rules and services.

Nothing here imports Slack, Twilio, arq or aiohttp code.
"""

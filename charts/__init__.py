"""The delivery chart: a small PNG of a campaign's sent, delivered and failed messages over time.

matplotlib costs tens of MB to import, more than the worker's memory target leaves, so neither the
worker nor the web process ever imports it: `charts.renderer` runs `charts.draw` in a short-lived
child process, fed JSON on stdin, answering PNG bytes on stdout.
"""

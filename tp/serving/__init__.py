"""Serving: one FastAPI app with a REST API under /api/v1 and a Gradio demo at "/".

`tp.serving.app.create_app()` builds it from `ServerSettings` (environment, prefix `TP_`); models load
in the app's lifespan, in a background thread, so importing anything here stays cheap.
"""

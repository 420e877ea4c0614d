"""`voxtwin serve`: an HTTP API and a web page for checking voice messages (detect/service/app.py).

Needs the `serve` extra: pip install -e ".[serve]" (FastAPI, uvicorn, python-multipart).
"""

"""Pretrained cloning backends fetched on purpose with `voxtwin voice models pull NAME`.

catalog.py  what can be pulled: hub repo, files, pinned revision, licence, size, languages, backend
store.py    the local model folder (VOXTWIN_HOME), pulls through huggingface_hub, lock files with SHA-256
choice.py   `--backend auto`: the best pulled backend for the language, else the built-in one
"""

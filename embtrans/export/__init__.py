"""Exports of embedding datasets to other systems (chroma.py: ChromaDB)."""

"""Persistence (SQLAlchemy models, repositories, crypto). Built by the storage issue."""

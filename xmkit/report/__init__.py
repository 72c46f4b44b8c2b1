"""The client report's content: context and sections (view data), templates, charts, portfolio."""

__all__ = []

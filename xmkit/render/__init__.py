"""Turning notebooks into reports: papermill execution, the warm-kernel engine, PDF printing."""

__all__ = []

"""Reading and writing: response files, metrics, questionnaires, safe paths and atomic writes."""

__all__ = []

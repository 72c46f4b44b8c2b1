"""The packaged notebooks (report, portfolio, self-assessment); ``templates/`` holds the same."""

__all__ = []

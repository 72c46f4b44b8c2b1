"""Analysis on tidy tables: statistics, scores, next steps, targets, EX-CX linkage and waves."""

__all__ = []

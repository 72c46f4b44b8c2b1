"""Batch rendering: one report per business unit plus a portfolio, with resume and clean-up."""

__all__ = []

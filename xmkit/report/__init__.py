"""The client report's content: report context and sections, charts, the portfolio page."""

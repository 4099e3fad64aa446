"""``evalkit report``: a run (or two) as one self-contained HTML page."""

from evalkit.page.page import REPORT_NAME, build_report, write_report

__all__ = ["REPORT_NAME", "build_report", "write_report"]

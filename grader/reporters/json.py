"""``--format json``: the report as JSON, nothing else on stdout."""

import json

from grader.report import Report
from grader.reporters import shown


def render(report: Report) -> str:
    return json.dumps(shown(report).to_dict(), indent=2, ensure_ascii=False, allow_nan=False)

"""``--format json``: the report as JSON, nothing else on stdout."""

import json

from grader.report import Report


def render(report: Report) -> str:
    return json.dumps(report.to_dict(), indent=2, ensure_ascii=False)

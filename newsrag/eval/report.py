"""A self-contained HTML report: figures, charts (inline SVG), and every case with its citations."""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

from newsrag.eval.gates import PairedResult
from newsrag.eval.metrics import percentile
from newsrag.eval.summary import notes

STYLE = """body{font:14px/1.45 system-ui,sans-serif;margin:2rem;color:#1a1a1a}
table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #ccc;padding:.3rem .5rem;
vertical-align:top;text-align:left}th{background:#f3f3f3}.pass{color:#0a6b2d}.fail{color:#a4161a;
font-weight:600}mark{background:#fff3a3}.quote{font-size:12px;color:#333}.bad{background:#fde2e1}
svg text{font:11px system-ui}"""


def _bar_chart(title: str, values: dict[str, float], maximum: float = 1.0, unit: str = "") -> str:
    height = 22 * len(values) + 30
    rows = [f'<svg role="img" aria-label="{escape(title)}" width="520" height="{height}">']
    rows.append(f'<text x="0" y="14" font-weight="600">{escape(title)}</text>')
    for i, (label, value) in enumerate(values.items()):
        y = 24 + i * 22
        width = 0 if maximum <= 0 else max(0.0, min(1.0, value / maximum)) * 300
        rows.append(f'<text x="0" y="{y + 13}">{escape(label)}</text>')
        rows.append(f'<rect x="150" y="{y}" width="{width:.1f}" height="16" fill="#3b6ea5"/>')
        rows.append(f'<text x="{155 + width:.1f}" y="{y + 13}">{value:g}{unit}</text>')
    rows.append("</svg>")
    return "".join(rows)


def _latency_histogram(latencies: list[float]) -> str:
    if not latencies:
        return ""
    edges = [percentile(latencies, q) for q in (0, 25, 50, 75, 90, 95, 99, 100)]
    labels = ["min", "p25", "p50", "p75", "p90", "p95", "p99", "max"]
    return _bar_chart(
        "Latency per question (ms)", dict(zip(labels, edges, strict=True)), max(edges), " ms"
    )


def _case_row(case: dict[str, Any]) -> str:
    status = (
        '<span class="pass">pass</span>' if case["passed"] else '<span class="fail">FAIL</span>'
    )
    citations = "".join(
        f'<div class="quote">[{c["id"]}] <mark>{escape(c["quote"])}</mark> '
        f"({escape(c['document_id'])} {c['start']}–{c['end']}, score {c['score']})</div>"
        for c in case["citations"]
    )
    history = "".join(
        f'<div class="quote">{escape(t["role"])}: {escape(t["content"])}</div>'
        for t in case["history"]
    )
    checks = []
    if not case["valid"]:
        checks.append("invalid citations")
    if case["answerable"] and case["refused"]:
        checks.append("wrongly refused")
    if case["answerable"] and not case["fact_ok"] and not case["refused"]:
        checks.append("expected fact missing")
    if case.get("evidence_cited") is False:
        checks.append("evidence not cited")
    if not case["answerable"] and not case["refused"]:
        checks.append("should refuse")
    if case.get("verdict_ok") is False and not case["refused"]:
        checks.append("wrong or no yes/no verdict")
    if case.get("all_evidence") is False:
        checks.append(f"evidence articles cited: {case['evidence_recall']:.0%}")
    short = case.get("short_answer")
    if short is not None:
        match = "" if case.get("short_answer_match") else " (no match)"
        checks.append(f"short answer: {short.get('text')!r}{match}")
    row_class = "" if case["passed"] else ' class="bad"'
    return (
        f"<tr{row_class}><td>{status}</td><td>{escape(case['id'])}<br><small>"
        f"{escape(', '.join(case['tags']))}</small></td>"
        f"<td>{history}{escape(case['question'])}</td>"
        f"<td>{escape(case['answer'])}{citations}</td><td>{escape('; '.join(checks))}</td>"
        f"<td>{case['latency_ms']}</td></tr>"
    )


def paired_line(paired: dict[str, Any]) -> str:
    return PairedResult(**paired).line()


def write_html(payload: dict[str, Any], path: Path) -> None:
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>newsrag eval report</title><style>{STYLE}</style></head><body>",
        f"<h1>newsrag eval report</h1><p>Generated {escape(payload['generated_at'])}.</p>",
    ]
    if payload.get("failures"):
        items = "".join(f"<li>{escape(f)}</li>" for f in payload["failures"])
        parts.append(f"<h2 class='fail'>Gates failed</h2><ul>{items}</ul>")
    elif payload.get("not_run"):
        parts.append("<p class='pass'>All gates met by the runs that ran (see NOT RUN).</p>")
    else:
        parts.append("<p class='pass'>All gates met.</p>")
    if payload.get("paired"):
        items = "".join(f"<li>{escape(paired_line(p))}</li>" for p in payload["paired"])
        parts.append(f"<h2>Paired with the baseline</h2><ul>{items}</ul>")
    if payload.get("regressions"):
        items = "".join(f"<li>{escape(r)}</li>" for r in payload["regressions"])
        parts.append(f"<h2 class='fail'>Cases lost against the baseline</h2><ul>{items}</ul>")
    for title, key in (("What each gate can detect", "effects"), ("Targets", "targets")):
        if payload.get(key):
            items = "".join(f"<li>{escape(line)}</li>" for line in payload[key])
            parts.append(f"<h2>{title}</h2><ul>{items}</ul>")
    for name, note in notes(payload):
        parts.append(f"<p><strong>{escape(name)}</strong>: {escape(note)}</p>")
    for name, data in payload["sets"].items():
        summary = data["summary"]
        parts.append(f"<h2>Set: {escape(name)}</h2><table><tr><th>metric</th><th>value</th></tr>")
        for key, value in summary.items():
            if key != "by_tag":
                shown = "—" if value is None else str(value)
                parts.append(f"<tr><td>{escape(key)}</td><td>{escape(shown)}</td></tr>")
        parts.append("</table>")
        by_tag = {t: v["pass_rate"] or 0.0 for t, v in summary["by_tag"].items()}
        parts.append(_bar_chart("Pass rate by tag", by_tag))
        parts.append(_latency_histogram([c["latency_ms"] for c in data["cases"]]))
        parts.append(
            "<table><tr><th>result</th><th>case</th><th>question</th><th>answer and citations"
            "</th><th>why</th><th>ms</th></tr>"
        )
        parts.extend(_case_row(case) for case in data["cases"])
        parts.append("</table>")
    parts.append("</body></html>")
    path.write_text("".join(parts), encoding="utf-8")

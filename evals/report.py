"""Eval outputs: the JSON result, a one-file HTML report, a Markdown summary and JUnit XML."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET


def write_all(result: dict[str, Any], directory: Path) -> dict[str, Path]:
    """Write result.json, report.html, summary.md and junit.xml; return their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = {
        "json": directory / "result.json",
        "html": directory / "report.html",
        "markdown": directory / "summary.md",
        "junit": directory / "junit.xml",
    }
    paths["json"].write_text(json.dumps(result, ensure_ascii=False, indent=1), "utf-8")
    paths["html"].write_text(to_html(result), "utf-8")
    paths["markdown"].write_text(to_markdown(result), "utf-8")
    paths["junit"].write_text(to_junit(result), "utf-8")
    return paths


def to_markdown(result: dict[str, Any]) -> str:
    s, gate, prov = result["summary"], result["gate"], result["provenance"]
    low, high = s["pass_rate_ci95"]
    dirty = " (dirty)" if prov["git_dirty"] else ""
    lines = [
        f"## Eval `{result['suite']['name']}`: {'PASS' if gate['passed'] else 'FAIL'}",
        "",
        f"- {s['passed']}/{s['scenarios']} scenarios passed ({s['pass_rate']:.1%}, "
        f"95% CI {low:.1%}–{high:.1%}), {s['repetitions']} runs, {s['flaky']} flaky",
        f"- latency p50 {s['latency_ms']['p50']:.0f} ms, p95 {s['latency_ms']['p95']:.0f} ms; "
        f"tokens {s['tokens']}; model fallbacks {s['fallbacks']}",
        f"- commit `{(prov['git_commit'] or 'unknown')[:12]}`{dirty},"
        f" provider {prov['provider']}, model {prov['model']}, rules {prov['rule_set_version']},"
        f" repeat {prov['repeat']}",
        "",
        "| family | scenarios | pass rate |",
        "| --- | ---: | ---: |",
        *[f"| {k} | {v['n']} | {v['pass_rate']:.1%} |" for k, v in s["by_family"].items()],
    ]
    failed = [x for x in result["scenarios"] if not x["passed"]]
    if failed:
        lines += ["", "### Failed scenarios", ""]
        for x in failed:
            bad = {
                sc["name"]: sc["detail"]
                for r in x["repetitions"]
                for sc in r["scores"]
                if not sc["passed"]
            }
            lines.append(f"- `{x['id']}`: " + "; ".join(f"{k} ({v})" for k, v in bad.items()))
    if gate["reasons"]:
        lines += ["", "### Gate", "", *[f"- {r}" for r in gate["reasons"]]]
    return "\n".join(lines) + "\n"


def to_junit(result: dict[str, Any]) -> str:
    s = result["summary"]
    suite = ET.Element(
        "testsuite",
        name=f"eval.{result['suite']['name']}",
        tests=str(s["scenarios"]),
        failures=str(s["scenarios"] - s["passed"]),
        time=f"{sum(x['latency_ms_p50'] for x in result['scenarios']) / 1000:.3f}",
    )
    for x in result["scenarios"]:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"eval.{x['family']}",
            name=x["id"],
            time=f"{x['latency_ms_p50'] / 1000:.3f}",
        )
        if not x["passed"]:
            bad = [
                f"{sc['name']}: {sc['detail']}"
                for r in x["repetitions"]
                for sc in r["scores"]
                if not sc["passed"]
            ]
            failure = ET.SubElement(case, "failure", message=bad[0] if bad else "failed")
            failure.text = "\n".join(bad)
    return ET.tostring(suite, encoding="unicode", xml_declaration=True)


def _bar_chart(values: list[tuple[str, float]], unit: str, colour: str) -> str:
    """A horizontal SVG bar chart, no script needed."""
    if not values:
        return ""
    top = max(v for _, v in values) or 1.0
    rows = []
    for i, (label, value) in enumerate(values):
        width = 300 * value / top
        rows.append(
            f'<text x="0" y="{i * 18 + 12}" font-size="11">{html.escape(label)}</text>'
            f'<rect x="190" y="{i * 18 + 2}" width="{width:.1f}" height="12" fill="{colour}"/>'
            f'<text x="{195 + width:.1f}" y="{i * 18 + 12}" font-size="11">{value:.1f}{unit}</text>'
        )
    return f'<svg width="560" height="{len(values) * 18 + 4}" role="img">{"".join(rows)}</svg>'


PAGE = (Path(__file__).resolve().parent / "report.html").read_text("utf-8")


def _row(x: dict[str, Any]) -> str:
    result = "pass" if x["passed"] else "fail"
    first = x["repetitions"][0]
    text = html.escape(f"{x['id']} {x['family']} {' '.join(x['tags'])}".lower())
    scores = "".join(
        f'<li class="{"pass" if sc["passed"] else "fail"}">{html.escape(sc["name"])}: '
        f"{html.escape(str(sc['detail']))}</li>"
        for sc in first["scores"]
    )
    detail = (
        f"<div><b>trajectory</b> {html.escape(' → '.join(first['trajectory']))}</div>"
        f"<div><b>plan</b> <code>{html.escape(json.dumps(first['plan']))}</code></div>"
        f"<div><b>verdict</b> {first['verdict']}; <b>decisions</b> "
        f"{html.escape(json.dumps(first['decisions'], ensure_ascii=False))}</div><ul>{scores}</ul>"
    )
    return (
        f'<tr class="scenario" data-text="{text}" data-result="{result}"><td>{html.escape(x["id"])}'
        f"</td><td>{html.escape(x['family'])}</td><td>{html.escape(', '.join(x['tags']))}</td>"
        f'<td class="{result}">{result}</td><td>{x["pass_hat_k"]:.2f}</td>'
        f"<td>{x['classification']}</td><td>{first['final_status']}</td>"
        f"<td>{x['latency_ms_p50']:.0f}</td></tr>"
        f'<tr class="detail"><td colspan="8">{detail}</td></tr>'
    )


def to_html(result: dict[str, Any]) -> str:
    s, gate = result["summary"], result["gate"]
    low, high = s["pass_rate_ci95"]
    cards = "".join(
        f'<div class="card"><div>{k}</div><b>{v}</b></div>'
        for k, v in [
            ("scenarios", s["scenarios"]),
            ("passed", f"{s['passed']} ({s['pass_rate']:.1%})"),
            ("95% CI", f"{low:.1%}–{high:.1%}"),
            ("flaky", s["flaky"]),
            ("critical failures", len(s["critical_failures"])),
            (
                "latency p50 / p95",
                f"{s['latency_ms']['p50']:.0f} / {s['latency_ms']['p95']:.0f} ms",
            ),
            ("tokens", s["tokens"]),
        ]
    )
    return PAGE.format(
        name=html.escape(result["suite"]["name"]),
        gate="PASS" if gate["passed"] else "FAIL",
        gate_class="pass" if gate["passed"] else "fail",
        cards=cards,
        node_chart=_bar_chart(list(s["node_latency_ms_p50"].items()), " ms", "#4f6bed"),
        family_chart=_bar_chart(
            [(k, v["pass_rate"] * 100) for k, v in s["by_family"].items()], "%", "#2e8b57"
        ),
        rows="".join(_row(x) for x in result["scenarios"]),
        provenance=html.escape(json.dumps(result["provenance"], indent=1, ensure_ascii=False)),
    )

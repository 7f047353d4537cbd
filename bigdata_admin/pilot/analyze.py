"""The pilot's analyses (PILOT.md §4) and a report a student can open (HTML + PNG charts).

Impala analyses: the day's symptoms, the fastest car per area, the day's emergency checks and the
month's purchases. Spark SQL analyses: average speed per area, and the areas at or above a speed.
Each query is a packaged `.sql` file under `sql/analysis/`; both engines speak HiveServer2's protocol.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bigdata_admin.pilot import mart

IMPALA_ANALYSES = ("symptom", "fastest_car", "emergency", "purchases")
SPARK_ANALYSES = ("area_speed", "fast_areas")
TITLES = {
    "symptom": "Driving symptoms per car (Impala)",
    "fastest_car": "Fastest car per area (Impala)",
    "emergency": "Emergency checks (Impala)",
    "purchases": "Purchases of the month per item (Impala)",
    "area_speed": "Average speed per area (Spark SQL)",
    "fast_areas": "Areas at or above the speed threshold (Spark SQL)",
}
IMPALA_TABLES = ("Managed_SmartCar_Symptom_Info", "Managed_SmartCar_Drive_Info",
                 "Managed_SmartCar_Emergency_Check_Info", "Managed_SmartCar_Item_BuyList_Info")
DEFAULT_MIN_SPEED = 60


@dataclass
class Analysis:
    name: str
    title: str
    engine: str
    columns: list[str]
    rows: list[tuple[Any, ...]]


def run(impala_conn: Any, spark_conn: Any, day: str, *, min_speed: float = DEFAULT_MIN_SPEED,
        impala_is_impala: bool = True,
        progress: Callable[[Analysis], None] | None = None) -> list[Analysis]:
    """Run every analysis. impala_is_impala=False when a HiveServer2-like server stands in for Impala."""
    params = mart.params_for(day, min_speed=float(min_speed))
    results: list[Analysis] = []
    if impala_is_impala:
        # Impala caches the metastore: make it see what Hive just wrote.
        for table in IMPALA_TABLES:
            mart.execute(impala_conn, f"INVALIDATE METADATA {table}")
    plan = ((IMPALA_ANALYSES, impala_conn, "impala"), (SPARK_ANALYSES, spark_conn, "spark"))
    for names, conn, engine in plan:
        for name in names:
            sql = mart.render(mart.sql_text(f"analysis/{name}.sql"), params)
            statement = mart.split_statements(sql)[0]
            columns, rows = mart.query(conn, statement)
            result = Analysis(name, TITLES[name], engine, columns, rows)
            results.append(result)
            if progress:
                progress(result)
    return results


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.2f}"
    return "" if value is None else str(value)


def _charts(by_name: dict[str, Analysis], out: Path) -> dict[str, str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    files: dict[str, str] = {}

    def save(fig: Any, name: str) -> None:
        fig.tight_layout()
        fig.savefig(out / f"{name}.png", dpi=100)
        plt.close(fig)
        files[name] = f"{name}.png"

    a = by_name.get("area_speed")
    if a and a.rows:
        fig, ax = plt.subplots(figsize=(10, 4))
        ax.bar([str(r[0]) for r in a.rows], [float(r[1]) for r in a.rows], color="#4477aa")
        ax.set_ylabel("km/h")
        ax.set_title("Average speed per area")
        ax.tick_params(axis="x", rotation=90)
        save(fig, "area_speed")
    f = by_name.get("fastest_car")
    if f and f.rows:
        fig, ax = plt.subplots(figsize=(10, 4))
        ax.bar([f"{r[0]}\n{r[1]}" for r in f.rows], [float(r[2]) for r in f.rows], color="#cc6677")
        ax.set_ylabel("average km/h")
        ax.set_title("Fastest car per area")
        ax.tick_params(axis="x", labelsize=6, rotation=90)
        save(fig, "fastest_car")
    s = by_name.get("symptom")
    if s and s.rows:
        labels = ["accelerator", "brake", "sharp steering"]
        idx = [s.columns.index(c) for c in
               ("speed_p_symptom_score", "break_p_symptom_score", "steer_p_symptom_score")]
        abnormal = [sum(1 for r in s.rows if r[i] == "abnormal") for i in idx]
        normal = [len(s.rows) - a for a in abnormal]
        fig, ax = plt.subplots(figsize=(6, 4))
        ax.bar(labels, normal, label="normal", color="#88ccee")
        ax.bar(labels, abnormal, bottom=normal, label="abnormal", color="#cc3311")
        ax.set_ylabel("cars")
        ax.set_title("Driving symptoms")
        ax.legend()
        save(fig, "symptom")
    e = by_name.get("emergency")
    if e is not None:
        causes = ["tire", "light", "engine", "brake", "battery"]
        i = e.columns.index("checks") if "checks" in e.columns else len(e.columns) - 1
        counts = [sum(1 for r in e.rows if c in str(r[i]).split()) for c in causes]
        fig, ax = plt.subplots(figsize=(6, 4))
        ax.bar(causes, counts, color="#ddaa33")
        ax.set_ylabel("cars")
        ax.set_title(f"Emergency checks ({len(e.rows)} cars)")
        save(fig, "emergency")
    return files


def write_report(results: list[Analysis], out: Path, day: str, max_rows: int = 200) -> Path:
    """Write out/index.html (tables + PNG charts) and out/results.json; returns the HTML path."""
    out.mkdir(parents=True, exist_ok=True)
    by_name = {r.name: r for r in results}
    charts = _charts(by_name, out)
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>Smart-car pilot {html.escape(day)}</title>",
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;font-size:13px}"
        "td,th{border:1px solid #ccc;padding:2px 6px}th{background:#eee}.abnormal{color:#c00;"
        "font-weight:bold}img{max-width:100%}</style></head><body>",
        f"<h1>Smart-car pilot: analysis of {html.escape(day)}</h1>",
    ]
    if (out / "deidentification.html").is_file():  # written by `pilot deidentify`
        parts.append("<p><a href='deidentification.html'>De-identification and adequacy assessment</a></p>")
    for name in ("area_speed", "fastest_car", "symptom", "emergency"):
        if name in charts:
            parts.append(f"<img src='{charts[name]}' alt='{html.escape(TITLES[name])}'>")
    for r in results:
        parts.append(f"<h2>{html.escape(r.title)}</h2><p>{len(r.rows)} rows</p><table><tr>")
        parts.extend(f"<th>{html.escape(c)}</th>" for c in r.columns)
        parts.append("</tr>")
        for row in r.rows[:max_rows]:
            cells = []
            for v in row:
                cls = " class='abnormal'" if v == "abnormal" else ""
                cells.append(f"<td{cls}>{html.escape(_fmt(v))}</td>")
            parts.append("<tr>" + "".join(cells) + "</tr>")
        parts.append("</table>")
        if len(r.rows) > max_rows:
            parts.append(f"<p>... {len(r.rows) - max_rows} more rows in results.json</p>")
    parts.append("</body></html>")
    index = out / "index.html"
    index.write_text("\n".join(parts), encoding="utf-8")
    (out / "results.json").write_text(json.dumps(
        {r.name: {"title": r.title, "engine": r.engine, "columns": r.columns, "rows": r.rows}
         for r in results},
        indent=1, default=str, ensure_ascii=False) + "\n", encoding="utf-8")
    return index

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
        areas = [str(r[0]) for r in a.rows]
        speeds = [float(r[1]) for r in a.rows]
        fig, ax = plt.subplots(figsize=(max(8.0, 0.22 * len(areas) + 1.5), 4))
        ax.bar(areas, speeds, color="#4477aa")
        ax.set_ylabel("km/h")
        ax.set_title(f"Average speed per area ({len(areas)} areas)")
        ax.tick_params(axis="x", rotation=90, labelsize=8)
        ax.set_xlim(-0.6, len(areas) - 0.4)
        _zoom(ax, speeds)
        save(fig, "area_speed")
    f = by_name.get("fastest_car")
    if f and f.rows:
        # One horizontal bar per area, labelled "area  car": every label stays readable however many
        # areas there are (the chart grows in height).
        rows = sorted(f.rows, key=lambda r: (str(r[0]), str(r[1])))
        labels = [f"{r[0]}  {r[1]}" for r in rows]
        speeds = [float(r[2]) for r in rows]
        fig, ax = plt.subplots(figsize=(8, max(3.0, 0.2 * len(rows) + 1.2)))
        ax.barh(range(len(rows)), speeds, color="#cc6677")
        ax.set_yticks(range(len(rows)), labels, fontsize=8, family="monospace")
        ax.invert_yaxis()
        ax.set_ylim(len(rows) - 0.4, -0.6)
        ax.set_xlabel("average km/h of the fastest car")
        ax.set_title("Fastest car per area (area  car)")
        _zoom(ax, speeds, axis="x")
        save(fig, "fastest_car")
    s = by_name.get("symptom")
    if s and s.rows:
        # What differs between cars: which measures are abnormal for which car. One row per car with
        # at least one abnormal measure; the x labels count the abnormal cars per measure.
        labels = ["accelerator", "brake", "sharp steering"]
        idx = [s.columns.index(c) for c in
               ("speed_p_symptom_score", "break_p_symptom_score", "steer_p_symptom_score")]
        flagged = [r for r in s.rows if any(r[i] == "abnormal" for i in idx)]
        counts = [sum(1 for r in s.rows if r[i] == "abnormal") for i in idx]
        ticks = [f"{label}\n{n} of {len(s.rows)} cars" for label, n in zip(labels, counts, strict=True)]
        fig, ax = plt.subplots(figsize=(6, max(2.5, 0.28 * len(flagged) + 1.6)))
        if flagged:
            from matplotlib.colors import ListedColormap

            grid = [[1 if r[i] == "abnormal" else 0 for i in idx] for r in flagged]
            ax.imshow(grid, cmap=ListedColormap(["#e8f1f8", "#cc3311"]), vmin=0, vmax=1, aspect="auto")
            ax.set_yticks(range(len(flagged)), [str(r[0]) for r in flagged], fontsize=8, family="monospace")
            ax.set_xticks(range(3), ticks, fontsize=9)
            ax.set_xticks([x + 0.5 for x in range(2)], minor=True)
            ax.set_yticks([y + 0.5 for y in range(len(flagged) - 1)], minor=True)
            ax.grid(which="minor", color="white", linewidth=2)
            ax.tick_params(which="minor", length=0)
            ax.set_title(f"Abnormal driving (red): {len(flagged)} of {len(s.rows)} cars")
        else:
            ax.axis("off")
            ax.text(0.5, 0.5, f"no abnormal driving among {len(s.rows)} cars", ha="center", va="center")
        save(fig, "symptom")
    e = by_name.get("emergency")
    if e is not None:
        causes = ["tire", "light", "engine", "brake", "battery"]
        i = e.columns.index("checks") if "checks" in e.columns else len(e.columns) - 1
        counts = [sum(1 for r in e.rows if c in str(r[i]).split()) for c in causes]
        fig, ax = plt.subplots(figsize=(6, 4))
        bars = ax.bar(causes, counts, color="#ddaa33")
        ax.bar_label(bars)
        ax.set_ylabel("cars")
        ax.set_ylim(0, max([*counts, 1]) * 1.15)
        ax.set_title(f"Emergency checks ({len(e.rows)} cars)")
        save(fig, "emergency")
    return files


def _zoom(ax: Any, values: list[float], axis: str = "y") -> None:
    """Start the value axis near the data, so that differences between bars show (the axis says
    where it starts); bars all near the same height would look identical from zero."""
    if not values:
        return
    low, high = min(values), max(values)
    span = high - low
    start = max(0.0, low - max(span * 0.5, 1.0)) if span < 0.3 * high else 0.0
    if axis == "y":
        ax.set_ylim(start, high + max(span * 0.05, 0.5))
    else:
        ax.set_xlim(start, high + max(span * 0.05, 0.5))


def write_report(results: list[Analysis], out: Path, day: str, max_rows: int = 200,
                 models: list[dict[str, Any]] | None = None) -> Path:
    """Write out/index.html (tables + PNG charts) and out/results.json; returns the HTML path.

    `models`: the pilot's trained models as rows {"model", "name", "version", "where", "seconds",
    "metrics" (one line)}, shown in a "Models" section and kept in results.json under "models"."""
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
    if models:
        parts.append("<h2>Models</h2><table><tr><th>model</th><th>name</th><th>version</th>"
                     "<th>trained on</th><th>seconds</th><th>metrics</th></tr>")
        for m in models:
            parts.append("<tr>" + "".join(
                f"<td>{html.escape(_fmt(m.get(k)))}</td>"
                for k in ("model", "name", "version", "where", "seconds", "metrics")) + "</tr>")
        parts.append("</table>")
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
    data: dict[str, Any] = {r.name: {"title": r.title, "engine": r.engine, "columns": r.columns,
                                     "rows": r.rows} for r in results}
    if models:
        data["models"] = models
    (out / "results.json").write_text(json.dumps(
        data,
        indent=1, default=str, ensure_ascii=False) + "\n", encoding="utf-8")
    return index

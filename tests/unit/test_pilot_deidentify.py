"""`pilot deidentify` on the book's own files: pseudonyms that keep joins, generalisation, k/l, the policy.

The book's CarMaster.txt, CarMaster2Income.txt, purchases and the simulator's samples are read from
`../shared/pilot/reference-data` (skipped when absent); k and l are checked against a direct count.
"""

from __future__ import annotations

import json
import re
import stat
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from bigdata_admin.cli import app
from bigdata_admin.errors import BadInput
from bigdata_admin.pilot import deidentify as deid

pytest.importorskip("pycanon")

DAY = "20200322"
BOOK_FILES = {
    "CarMaster.txt": "CarMaster.txt",
    "CarMaster2Income.txt": "CarMaster2Income.txt",
    "CarItemBuyList_202003.txt": "CarItemBuyList_202003.txt",
    "SmartCarStatusInfo_20200322.sample.txt": f"SmartCarStatusInfo_{DAY}.txt",
    "SmartCarDriverInfo.sample.log": "SmartCarDriverInfo.log",
}
CAR = re.compile(r"(?<![A-Za-z0-9])[A-Z]\d{4}(?![0-9])")
EDGES = {"18", "30", "40", "50", "60"}
QIS = (1, 2, 3, 4)  # sex, age, marriage, region


def _book_day(reference: Path, where: Path) -> Path:
    day = where / DAY
    day.mkdir(parents=True)
    for src, name in BOOK_FILES.items():
        (day / name).symlink_to(reference / src)
    return day


def _rows(path: Path, sep: str, skip_header: bool = False) -> list[list[str]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.split(sep) for line in (lines[1:] if skip_header else lines) if line]


def _log_cars(path: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.split(",")[1] for line in lines if line[:1].isdigit()]


@pytest.fixture(scope="module")
def book(pilot_reference: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    base = tmp_path_factory.mktemp("deid-book")
    day = _book_day(pilot_reference, base)
    key = deid.ensure_key(base / "secrets" / deid.KEY_NAME)
    result = deid.deidentify(DAY, day, key, deid.load_policy(None))
    return {"base": base, "day": day, "out": day / deid.OUT_DIR, "key": key, "result": result,
            "names": deid.Pseudonyms(key)}


def test_joins_between_data_sets_survive_pseudonymisation(book: dict[str, Any]) -> None:
    day, out, names = book["day"], book["out"], book["names"]
    master = {r[0]: r for r in _rows(day / "CarMaster.txt", "|")}
    adults = {c for c, r in master.items() if int(r[2]) >= 18}
    for log in (f"SmartCarStatusInfo_{DAY}.txt", "SmartCarDriverInfo.log"):
        before, after = _log_cars(day / log), _log_cars(out / log)
        assert [names.of(c) for c in before] == after  # every record, in order, same pseudonym per car
    out_master = {r[0]: r for r in _rows(out / "CarMaster.txt", "|")}
    assert set(out_master) == {names.of(c) for c in adults}
    status_cars = set(_log_cars(day / f"SmartCarStatusInfo_{DAY}.txt"))
    joined_before = {names.of(c) for c in status_cars & adults}
    joined_after = set(_log_cars(out / f"SmartCarStatusInfo_{DAY}.txt")) & set(out_master)
    assert joined_after == joined_before and joined_before
    buy_before = Counter(names.of(r[0]) for r in _rows(day / "CarItemBuyList_202003.txt", ","))
    buy_after = Counter(r[0] for r in _rows(out / "CarItemBuyList_202003.txt", ","))
    assert buy_after == buy_before and len(buy_after) == 2600
    income_cars = {r[0] for r in _rows(out / "CarMaster2Income.txt", "|", skip_header=True)}
    income_adults = {names.of(r[0]) for r in _rows(day / "CarMaster2Income.txt", "|", skip_header=True)
                     if int(r[2]) >= 18}
    assert income_cars == income_adults
    by_name = {d.dataset: d for d in book["result"].datasets}
    assert by_name["status"].headers > 0 and by_name["status"].malformed == 0
    assert by_name["master"].dropped_rows == len(master) - len(adults)


def test_same_key_same_pseudonyms_another_key_others(book: dict[str, Any], tmp_path: Path) -> None:
    again = deid.deidentify(DAY, book["day"], book["key"], deid.load_policy(None), out_dir=tmp_path / "a")
    for d in again.datasets:
        assert Path(d.output).read_bytes() == (book["out"] / Path(d.output).name).read_bytes(), d.dataset
    other_key = deid.ensure_key(tmp_path / "other.key")
    assert deid.key_id(other_key) != again.key_id
    deid.deidentify(DAY, book["day"], other_key, deid.load_policy(None), out_dir=tmp_path / "b")
    first = [r[0] for r in _rows(book["out"] / "CarMaster.txt", "|")]
    second = [r[0] for r in _rows(tmp_path / "b" / "CarMaster.txt", "|")]
    assert len(first) == len(second) and not set(first) & set(second)
    assert all(deid.PSEUDONYM.match(p) for p in first + second)


def test_no_original_car_number_or_exact_age_remains(book: dict[str, Any]) -> None:
    out, names = book["out"], book["names"]
    for path in out.iterdir():
        text = path.read_text(encoding="utf-8")
        assert not CAR.search(text), f"{path.name}: {CAR.search(text)}"
    original = {names.of(r[0]): r for r in _rows(book["day"] / "CarMaster2Income.txt", "|", skip_header=True)}
    for row in _rows(out / "CarMaster2Income.txt", "|", skip_header=True):
        src = original[row[0]]
        assert row[2] in EDGES
        upper = min([int(e) for e in EDGES if int(e) > int(row[2])] + [999])
        assert int(row[2]) <= int(src[2]) < upper  # the right band
        assert row[4] in ("수도권", "충청강원", "호남제주", "영남")
        assert int(row[9]) % 500 == 0 and abs(int(row[9]) - int(src[9])) <= 250
        assert row[5:9] == src[5:9] and row[1] == src[1] and row[3] == src[3]
    ages = Counter(r[2] for r in _rows(out / "CarMaster.txt", "|"))
    assert set(ages) == EDGES


@pytest.mark.parametrize(("file", "sensitive", "header"), [("CarMaster.txt", 5, False),
                                                          ("CarMaster2Income.txt", 9, True)])
def test_k_and_l_match_a_direct_count(book: dict[str, Any], file: str, sensitive: int, header: bool) -> None:
    sizes: Counter[tuple[str, ...]] = Counter()
    values: dict[tuple[str, ...], set[str]] = defaultdict(set)
    for row in _rows(book["out"] / file, "|", skip_header=header):
        key = tuple(row[i] for i in QIS)
        sizes[key] += 1
        values[key].add(row[sensitive])
    result = next(d for d in book["result"].datasets if Path(d.output).name == file)
    assert (result.k, result.l) == (min(sizes.values()), min(len(v) for v in values.values()))
    assert result.k >= 5 and result.l >= 3 and result.passed and not result.offending_groups


def test_strict_thresholds_fail_name_groups_by_counts_and_block_the_load(book: dict[str, Any],
                                                                        tmp_path: Path) -> None:
    strict = deid.DEFAULT_POLICY.replace("k: 5 ", "k: 40 ").replace("l: 3 ", "l: 7 ")
    result = deid.deidentify(DAY, book["day"], book["key"], deid.parse_policy(strict, "strict.yml"),
                             out_dir=tmp_path / "s")
    master = next(d for d in result.datasets if d.dataset == "master")
    assert not result.passed and "master" in result.failed and master.offending_groups
    rows = _rows(tmp_path / "s" / "CarMaster.txt", "|")
    sizes = Counter(tuple(r[i] for i in QIS) for r in rows)
    assert sum(1 for n in sizes.values() if n < 40) == sum("k" in g["fails"] for g in master.offending_groups)
    jobs = {r[5] for r in rows}
    for g in master.offending_groups:
        assert set(g) == {"group", "records", "distinct_sensitive", "fails"}
        assert list(g["group"]) == ["sex", "age", "marriage", "region"]
        assert not jobs & set(map(str, g["group"].values()))  # no sensitive value in the report
        assert sizes[tuple(g["group"].values())] == g["records"]
    with pytest.raises(BadInput, match="master"):
        deid.check_loadable(tmp_path / "s")
    assert deid.check_loadable(tmp_path / "s", allow_inadequate=True)["datasets"]


def test_follow_up_record_and_report_hold_no_key(book: dict[str, Any], tmp_path: Path) -> None:
    record = json.loads((book["out"] / deid.RECORD).read_text(encoding="utf-8"))
    assert record["key_id"] == deid.key_id(book["key"]) and record["thresholds"] == {"k": 5, "l": 3}
    assessment = record["policy"]["policy"]["assessment"]
    assert assessment["quasi_identifiers"] == ["sex", "age", "marriage", "region"]
    assert {d["dataset"] for d in record["datasets"]} == {"status", "drive", "master", "buy", "income"}
    page = deid.write_report(book["result"], tmp_path / "report")
    history = (book["out"] / deid.HISTORY).read_text(encoding="utf-8")
    key_hex = book["key"].hex()
    for text in (json.dumps(record), page.read_text(encoding="utf-8"), history,
                 (tmp_path / "report" / deid.REPORT_JSON).read_text(encoding="utf-8")):
        assert key_hex not in text
    assert "master" in page.read_text(encoding="utf-8")
    from bigdata_admin.pilot import analyze

    index = analyze.write_report([], tmp_path / "report", DAY)  # `pilot analyze` links the assessment
    assert "href='deidentification.html'" in index.read_text(encoding="utf-8")


# --------------------------------------------------------------------------------------------------
# Policy, key and the command line (no reference files needed)

@pytest.mark.parametrize(("text", "line", "needle"), [
    ("fields:\n  sex: keep\n  salary: keep\n", 3, "unknown field 'salary'"),
    ("fields:\n  age:\n    technique: blur\n", 3, "unknown technique 'blur'"),
    ("fields:\n  age:\n    technique: band\n    edges: [20, 40]\n", 4, "lack 18"),
    ("fields:\n  region:\n    technique: round\n    to: 5\n", 3, "not numeric"),
    ("fields:\n  car_number: keep\n", 2, "technique keep is not allowed"),
    ("assessment:\n  k: 5\n  m: 2\n", 3, "unknown assessment setting 'm'"),
    ("assessment:\n  quasi_identifiers: [sex, shoe]\n", 2, "quasi-identifier 'shoe'"),
    ("drop_rows:\n  - field: age\n    above: 70\n", 3, "`field` and `below`"),
    ("fields: [a\n", 2, "not valid YAML"),
    ("colour: blue\n", 1, "unknown section 'colour'"),
])
def test_bad_policy_names_the_line(text: str, line: int, needle: str) -> None:
    with pytest.raises(BadInput) as err:
        deid.parse_policy(text, "p.yml")
    assert f"p.yml:{line}:" in err.value.message and needle in err.value.message, err.value.message
    assert err.value.fix


def test_default_policy_is_the_documented_one() -> None:
    policy = deid.load_policy(None)
    assert (policy.k, policy.l, policy.quasi_identifiers) == (5, 3, ("sex", "age", "marriage", "region"))
    assert policy.sensitive == {"master": "job", "income": "income"}
    assert len(set(policy.fields["region"].groups)) == 17 and policy.drop_rows[0].below == 18
    assert deid.transform_value("income", "4249", policy.fields["income"]) == "4000"
    assert deid.transform_value("income", "4250", policy.fields["income"]) == "4500"
    assert [deid.transform_value("age", a, policy.fields["age"]) for a in ("18", "29", "30", "70")] == \
        ["18", "18", "30", "60"]


def test_key_is_made_0600_and_a_readable_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "secrets" / "c1" / deid.KEY_NAME
    key = deid.ensure_key(path)
    assert len(key) == 32 and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert deid.ensure_key(path) == key
    path.chmod(0o644)
    with pytest.raises(BadInput, match="others can read"):
        deid.ensure_key(path)


def _generate(tmp_path: Path) -> Path:
    from bigdata_admin.pilot import generate

    generate.generate(generate.GenerateOptions(day=DAY, cars=12, hours=0.05, purchases=300, incidents=50),
                      tmp_path / "data")
    return tmp_path / "data"


def test_cli_deidentifies_a_generated_day_and_load_refuses_a_failing_one(tmp_path: Path) -> None:
    data = _generate(tmp_path)
    runner = CliRunner()
    key = tmp_path / "pilot.key"
    args = ["pilot", "deidentify", "--day", DAY, "--data", str(data), "--key", str(key),
            "--report", str(tmp_path / "report")]
    res = runner.invoke(app, [*args, "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["passed"] and {d["dataset"] for d in out["datasets"]} == {
        "status", "drive", "master", "buy", "income", "incident"}
    assert key.read_text().strip() not in res.output and out["key_id"] in res.output
    assert (tmp_path / "report" / "deidentification.html").is_file()
    assert not CAR.search((data / deid.OUT_DIR / "SmartCarDriverInfo.log").read_text())
    # human output: the table and the record's place
    res = runner.invoke(app, args)
    assert res.exit_code == 0 and "master" in res.output and "record" in res.output

    policy = tmp_path / "strict.yml"
    policy.write_text(deid.DEFAULT_POLICY.replace("k: 5 ", "k: 500 "), encoding="utf-8")
    res = runner.invoke(app, [*args, "--policy", str(policy)])
    assert res.exit_code == 1, res.output
    assert "under the thresholds" in res.output and "group" in res.output
    res = runner.invoke(app, ["pilot", "load", "-i", str(tmp_path / "no-inventory"), "--day", DAY,
                              "--data", str(data), "--deidentified"])
    assert res.exit_code == 2 and "master" in res.output and "--allow-inadequate" in res.output


@pytest.mark.parametrize(("extra", "needle"), [
    ((), "no pseudonym key"),
    (("--key", "K", "--policy", "POLICY"), "bad.yml:2:"),
])
def test_cli_bad_input_exits_2(tmp_path: Path, extra: tuple[str, ...], needle: str) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("fields:\n  nickname: keep\n", encoding="utf-8")
    args = [a.replace("POLICY", str(bad)).replace("K", str(tmp_path / "k")) if a in ("POLICY", "K") else a
            for a in extra]
    res = CliRunner().invoke(app, ["pilot", "deidentify", "--day", DAY, "--data", str(tmp_path), *args])
    assert res.exit_code == 2, res.output
    assert needle in res.output and "fix:" in res.output


def test_cli_show_policy_prints_the_default() -> None:
    res = CliRunner().invoke(app, ["pilot", "deidentify", "--show-policy"])
    assert res.exit_code == 0 and res.stdout == deid.DEFAULT_POLICY
    deid.parse_policy(res.stdout)

"""The pilot's generator against PILOT.md §1 and the book's own files in ../shared/pilot/reference-data."""

from __future__ import annotations

import hashlib
import re
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from bigdata_admin.errors import BadInput
from bigdata_admin.pilot import generate as gen

DAY = "20200322"
CARS = 40
STATUS_RE = re.compile(r"^\d{14},[A-Z]\d{4},(\d{1,3},){4}([12],){4}[ABC],[ABC],\d{1,3}$")
Rows = dict[str, list[list[str]]]
Files = dict[str, Path]
DRIVE_RE = re.compile(r"^\d{14},[A-Z]\d{4},[0-5],[0-3],(F|L[123]|R[123]),[NLR],\d{1,3},[A-F](0[1-9]|10)$")


@pytest.fixture(scope="module")
def day_files(tmp_path_factory: pytest.TempPathFactory) -> Files:
    out = tmp_path_factory.mktemp("gen")
    result = gen.generate(gen.GenerateOptions(day=DAY, cars=CARS, seed=11, hours=2, purchases=100_000,
                                              incidents=50_000), out)
    return {f.dataset: Path(f.path) for f in result.files}


@pytest.fixture(scope="module")
def status(day_files: Files) -> Rows:
    per: Rows = defaultdict(list)
    for line in day_files["status"].read_text().splitlines():
        f = line.split(",")
        per[f[1]].append(f)
    return per


@pytest.fixture(scope="module")
def drive(day_files: Files) -> Rows:
    per: Rows = defaultdict(list)
    for line in day_files["drive"].read_text().splitlines():
        f = line.split(",")
        per[f[1]].append(f)
    return per


def _text_lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def _ref_lines(ref: Path, name: str) -> list[list[str]]:
    return [ln.split(",") for ln in _text_lines(ref / name) if ln[:14].isdigit()]


def test_status_log_format_and_timeline(day_files: Files, status: Rows) -> None:
    lines = day_files["status"].read_text().splitlines()
    assert len(lines) == CARS * 21_601
    bad = [ln for ln in lines[:: 97] if not STATUS_RE.match(ln)]
    assert not bad
    for rows in status.values():
        assert len(rows) == 21_601
        assert rows[0][0] == f"{DAY}000000" and rows[1][0] == f"{DAY}000004"
        assert rows[-1][0] == f"{DAY}240000"  # the book's simulator writes the day's end like this
    values = [int(f[i]) for rows in status.values() for f in rows[::50] for i in (2, 3, 4, 5, 12)]
    assert min(values) >= 0 and max(values) <= 100


def _first_fault(rows: list[list[str]], i: int) -> int | None:
    if i in (2, 3, 4, 5, 12):
        limit = 70 if i != 12 else 50
        return next((n for n, f in enumerate(rows) if len(f[i]) < 3 and int(f[i]) < limit), None)
    return next((n for n, f in enumerate(rows) if f[i] in ("2", "C")), None)


def test_faults_are_sticky_and_hit_about_a_third_of_cars(status: Rows) -> None:
    cars_with_fault = 0
    for rows in status.values():
        any_fault = False
        for i in range(2, 13):
            n = _first_fault(rows, i)
            if n is None:
                continue
            any_fault = True
            tail = [f[i] for f in rows[n:]]
            if i in (2, 3, 4, 5):
                assert all(int(v) < 70 for v in tail)
            elif i == 12:
                assert all(int(v) < 50 for v in tail)
            else:
                assert set(tail) == {rows[n][i]}
        cars_with_fault += any_fault
    # P(car faults) = 1 - (1 - 2e-6) ** (11 * 21601) = 0.38; 40 cars: 15 +- 9 (3 sigma).
    assert 6 <= cars_with_fault <= 26


def test_status_category_weights_match_pilot_and_reference(status: Rows,
                                                           pilot_reference: Path) -> None:
    rows = [f for r in status.values() for f in r[:5000]]
    ref = _ref_lines(pilot_reference, "SmartCarStatusInfo_20200322.sample.txt")

    def shares(data: list[list[str]]) -> tuple[float, float, float]:
        tires = [int(f[i]) for f in data for i in (2, 3, 4, 5) if int(f[i]) >= 70]
        batt = [int(f[12]) for f in data if int(f[12]) >= 50]
        eng = [f[10] for f in data if f[10] != "C"]
        return (sum(t >= 80 for t in tires) / len(tires), sum(b >= 80 for b in batt) / len(batt),
                eng.count("A") / len(eng))

    ours, theirs = shares(rows), shares(ref)
    assert ours == pytest.approx((0.8, 0.9, 0.8), abs=0.01)
    assert ours == pytest.approx(theirs, abs=0.04)  # the reference sample has only 1,997 records


def test_driving_log_format_and_dynamics(drive: Rows) -> None:
    congested = set(gen.CONGESTED_AREAS)
    wild_like = []
    for car, rows in drive.items():
        assert len(rows) == 2 * 1800
        assert len({f[7][0] for f in rows}) == 1, f"{car} left its area group"
        assert all(DRIVE_RE.match(",".join(f)) for f in rows[::37])
        assert all(f[3] == "0" for f in rows if f[2] != "0"), "brake while accelerating"
        share_hard = sum(int(f[2]) >= 3 for f in rows) / len(rows)
        wild = share_hard > 0.5   # normal: P(acc >= 3) = 0.30, wild: 0.70
        wild_like.append(wild)
        add = gen.ACC_ADD["wild" if wild else "normal"]
        sub = gen.BRAKE_SUB["wild" if wild else "normal"]
        speed = 0
        for f in rows:  # the logged speed follows the book's rule, congestion judged on the logged area
            speed = min(250, max(0, speed + add[int(f[2])] - sub[int(f[3])]))
            if f[7] in congested:
                speed = speed * 3 // 10
            assert int(f[6]) == speed, (car, f)
        if not wild:
            follows = {"F": "N", "L": "L", "R": "R"}
            assert all(f[5] == follows[f[4][0]] for f in rows)
    assert sum(wild_like) == 4  # 10 % of 40 cars
    normal_cars = [car for car, wild in zip(drive, wild_like, strict=True) if not wild]
    normal_acc = Counter(f[2] for car in normal_cars for f in drive[car])
    total = sum(normal_acc.values())
    for step, weight in enumerate(gen.ACC_WEIGHTS["normal"]):
        assert normal_acc[str(step)] / total == pytest.approx(weight / 100, abs=0.01)


def test_car_numbers_are_stable_and_join_the_master(day_files: Files, drive: Rows, status: Rows,
                                                    pilot_reference: Path) -> None:
    master = [ln.split("|") for ln in day_files["master"].read_text(encoding="utf-8").splitlines()]
    ref = [ln.split("|") for ln in _text_lines(pilot_reference / "CarMaster.txt")]
    assert [m[0] for m in master] == [r[0] for r in ref]  # A0001..Z0100, the book's order
    assert set(drive) == set(status) <= {m[0] for m in master}
    assert gen.car_number(0) == "A0001" and gen.car_number(26) == "A0002" and gen.car_number(2599) == "Z0100"
    for col in (1, 3, 4, 5, 6, 8):  # sex, marriage, region, job, capacity, model: the book's value sets
        assert {m[col] for m in master} == {r[col] for r in ref}, col
    for col in (2, 7):  # age 15-70, year 2000-2016
        assert min(int(m[col]) for m in master) == min(int(r[col]) for r in ref)
        assert max(int(m[col]) for m in master) == max(int(r[col]) for r in ref)


def test_purchases_income_and_incidents_follow_the_book(day_files: Files, pilot_reference: Path) -> None:
    buy = [ln.split(",") for ln in day_files["buy"].read_text().splitlines()]
    ref = [ln.split(",") for ln in (pilot_reference / "CarItemBuyList_202003.txt").read_text().splitlines()]
    assert len(buy) == 100_000 and {b[3] for b in buy} == {DAY[:6]}
    assert {b[1] for b in buy} == {r[1] for r in ref} and {b[2] for b in buy} == {r[2] for r in ref}
    ours, theirs = Counter(b[1] for b in buy), Counter(r[1] for r in ref)
    for item in theirs:
        assert ours[item] / len(buy) == pytest.approx(theirs[item] / len(ref), abs=0.004)

    income = day_files["income"].read_text(encoding="utf-8").splitlines()
    assert income[0] == (pilot_reference / "CarMaster2Income.txt").read_text(encoding="utf-8").splitlines()[0]
    plain = 0
    for line in income[1:]:
        f = line.split("|")
        cap, inc = int(f[6]), int(f[9])
        exact = [round(cap * k) for k in (1.1, 1.2, 1.3)]
        if inc in exact:
            plain += 1
        else:
            assert any(100 <= inc - e <= 1000 for e in exact), line
    assert plain / (len(income) - 1) == pytest.approx(0.8, abs=0.03)

    rows = [ln.split(",") for ln in day_files["incident"].read_text().splitlines()]
    assert rows[0] == _text_lines(pilot_reference / "CarDrivingIncidentInfo_Test.csv")[0].split(",")
    data = [[int(x) for x in r] for r in rows[1:]]
    assert all(gen.incident_label(r[:10]) == r[10] for r in data)
    wea = Counter(r[0] for r in data)
    assert [wea[k] / len(data) for k in range(3)] == pytest.approx([0.5, 0.4, 0.1], abs=0.01)


def test_incident_rule_matches_the_books_labels(pilot_reference: Path) -> None:
    rows = [ln.split(",") for ln in _text_lines(pilot_reference / "CarDrivingIncidentInfo_Test.csv")]
    for r in rows[1:]:
        assert gen.incident_label([int(x) for x in r[:10]]) == int(r[10])


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    def digest(seed: int, out: Path) -> str:
        result = gen.generate(gen.GenerateOptions(day=DAY, cars=3, seed=seed, hours=0.05, purchases=50,
                                                  incidents=50), out)
        h = hashlib.sha256()
        for f in result.files:
            h.update(Path(f.path).read_bytes())
        return h.hexdigest()

    assert digest(5, tmp_path / "a") == digest(5, tmp_path / "b")
    assert digest(5, tmp_path / "a") != digest(6, tmp_path / "c")


def test_bad_options_are_refused() -> None:
    with pytest.raises(BadInput, match="YYYYMMDD"):
        gen.GenerateOptions(day="2020-03-22").validate()
    with pytest.raises(BadInput, match="cars"):
        gen.GenerateOptions(day=DAY, cars=0).validate()
    with pytest.raises(BadInput, match="hours"):
        gen.GenerateOptions(day=DAY, hours=30).validate()
    with pytest.raises(BadInput, match="data set"):
        gen.GenerateOptions(day=DAY, datasets=("status", "nope")).validate()

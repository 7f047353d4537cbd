"""Generate the smart-car pilot's data sets (PILOT.md §1), deterministic for a seed.

The logs are built with numpy: every record is laid out in a fixed-width byte matrix (fields padded
with NUL bytes), then the NULs are dropped and the bytes go to disk. A status log is written one car
at a time and a driving log one block of time steps at a time, so memory stays constant whatever the
number of cars or hours.

Fixes of the book's simulator: car numbers are stable (car i is the i-th of A0001, B0001, ..., Z0001,
A0002, ... so every car joins `CarMaster.txt`), and congestion is judged on the logged area.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from bigdata_admin.errors import BadInput

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

STATUS_STEP_S = 4
STATUS_RECORDS_PER_DAY = 24 * 3600 // STATUS_STEP_S + 1  # 00:00:00 .. 24:00:00 inclusive
DRIVE_STEP_S = 2
FAULT_P = 2e-6
"""Chance per field per record that a healthy part develops its (sticky) fault."""
WILD_SHARE = 0.1
MASTER_CARS = 2600
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
AREA_GROUPS = "ABCDEF"
CONGESTED_AREAS = ("A10", "B02", "C04", "D05", "E10", "F06")
CONGESTION_FACTOR = 0.3  # speed drops by 70 %
SHARP_STEERING = ("L2", "L3", "R2", "R3")

# Driving dynamics (PILOT.md §1b): (weights, effect) per step value.
ACC_WEIGHTS = {"normal": (30, 30, 10, 20, 5, 5), "wild": (10, 10, 10, 30, 25, 15)}
ACC_ADD = {"normal": (0, 5, 10, 15, 20, 25), "wild": (0, 5, 10, 20, 30, 40)}
BRAKE_WEIGHTS = {"normal": (30, 45, 20, 5), "wild": (10, 10, 50, 30)}
BRAKE_SUB = {"normal": (0, 10, 20, 30), "wild": (0, 5, 10, 20)}
WHEELS = ("F", "L1", "L2", "L3", "R1", "R2", "R3")
WHEEL_WEIGHTS = {"normal": (70, 5, 5, 5, 5, 5, 5), "wild": (40, 10, 10, 10, 10, 10, 10)}
SIGNALS = ("N", "L", "R")
WILD_SIGNAL_WEIGHTS = (60, 20, 20)

# Master data (value sets of the book's CarMaster.txt).
SEXES = ("남", "여")
MARRIAGES = ("기혼", "미혼")
REGIONS = ("서울", "부산", "대구", "인천", "광주", "대전", "울산", "세종", "경기", "강원", "충북", "충남",
           "전북", "전남", "경북", "경남", "제주")
JOBS = ("회사원", "공무원", "개인사업", "전문직", "프리랜서", "주부", "학생")
CAPACITIES = (1000, 1200, 1500, 1700, 2000, 2500, 3000, 3500)
MODELS = tuple("ABCDEFGH")
ITEMS = tuple(f"Item-{i:03d}" for i in range(1, 31))

INCIDENT_FEATURES = ("wea", "temp", "hum", "arrCar", "timeSlot", "acciArea", "drvCond", "innCond",
                     "carSpd", "steeAng")
INCIDENT_WEIGHTS = {
    "wea": (50, 40, 10), "arrCar": (50, 40, 10), "timeSlot": (50, 40, 10),
    "temp": (60, 35, 5), "hum": (60, 35, 5), "steeAng": (60, 35, 5),
    "acciArea": (30, 30, 40), "drvCond": (30, 30, 40), "innCond": (30, 30, 40), "carSpd": (30, 30, 40),
}
INCIDENT_BONUS_FEATURES = ("acciArea", "drvCond", "innCond", "carSpd")

# Defaults of `pilot generate`, chosen so that every mart and analysis has something to show.
DEFAULT_CARS = 100
DEFAULT_HOURS = 4.0
DEFAULT_PURCHASES = 100_000
DEFAULT_INCIDENTS = 200_000

# Stream ids: each data set (and each car) draws from its own stream, so outputs do not depend on
# chunk sizes or on which other data sets were generated.
_STATUS, _DRIVE, _MASTER, _BUY, _INCOME, _INCIDENT, _CARS = range(7)


def car_number(index: int) -> str:
    """The stable number of car `index` (0-based): A0001, B0001, ..., Z0001, A0002, ..."""
    if not 0 <= index < MASTER_CARS:
        raise BadInput(f"car index {index} is outside 0..{MASTER_CARS - 1}",
                       fix=f"Generate at most {MASTER_CARS} cars (the master has {MASTER_CARS}).")
    return f"{LETTERS[index % 26]}{index // 26 + 1:04d}"


def master_car_numbers() -> list[str]:
    """A0001..A0100, B0001..B0100, ..., Z0100: the master's 2,600 cars, in the book's order."""
    return [f"{letter}{n:04d}" for letter in LETTERS for n in range(1, 101)]


def parse_day(day: str) -> date:
    try:
        if len(day) != 8 or not day.isdigit():
            raise ValueError
        return datetime.strptime(day, "%Y%m%d").date()
    except ValueError:
        raise BadInput(f"day {day!r} is not a date written YYYYMMDD",
                       fix="Pass e.g. --day 20200322.") from None


@dataclass
class GenerateOptions:
    day: str
    cars: int = DEFAULT_CARS
    seed: int = 0
    hours: float = DEFAULT_HOURS
    purchases: int = DEFAULT_PURCHASES
    incidents: int = DEFAULT_INCIDENTS
    datasets: Sequence[str] = ("status", "drive", "master", "buy", "income", "incident")

    def validate(self) -> None:
        parse_day(self.day)
        if not 1 <= self.cars <= MASTER_CARS:
            raise BadInput(f"--cars {self.cars} is outside 1..{MASTER_CARS}",
                           fix=f"Pick 1..{MASTER_CARS} cars; at least 6 let a z-score exceed 2.")
        if not 0 < self.hours <= 24:
            raise BadInput(f"--hours {self.hours} is outside (0, 24]", fix="Pick e.g. --hours 4.")
        if self.purchases < 0 or self.incidents < 0:
            raise BadInput("--purchases and --incidents must be >= 0", fix="Pass a non-negative count.")
        unknown = set(self.datasets) - set(DATASETS)
        if unknown:
            raise BadInput(f"unknown data set(s): {', '.join(sorted(unknown))}",
                           fix=f"Choose among {', '.join(DATASETS)}.")


@dataclass
class GeneratedFile:
    dataset: str
    path: str
    lines: int
    bytes: int
    seconds: float


@dataclass
class GenerateResult:
    out_dir: str
    options: dict[str, object]
    cars: list[str]
    wild_cars: list[str]
    files: list[GeneratedFile] = field(default_factory=list)


# --------------------------------------------------------------------------------------------------
# Byte-matrix helpers

def _lut(strings: Sequence[str], width: int) -> npt.NDArray[np.uint8]:
    """Rows of ASCII bytes, left-aligned, padded with NUL (0) to `width`."""
    import numpy as np

    out = np.zeros((len(strings), width), dtype=np.uint8)
    for i, s in enumerate(strings):
        b = s.encode("ascii")
        out[i, : len(b)] = np.frombuffer(b, dtype=np.uint8)
    return out


def _number_lut(hi: int, width: int = 3) -> npt.NDArray[np.uint8]:
    return _lut([str(i) for i in range(hi + 1)], width)


def _weighted_table(weights: Sequence[float], values: Sequence[int]) -> npt.NDArray[np.int64]:
    """A table where each value appears in proportion to its integer weight (sample by uniform index)."""
    import numpy as np

    return np.repeat(np.asarray(values, dtype=np.int64), np.asarray(weights, dtype=np.int64))


def _compact(matrix: npt.NDArray[np.uint8]) -> bytes:
    # bytes.replace() drops the NUL padding several times faster than a numpy boolean mask.
    return matrix.tobytes().replace(b"\0", b"")


def _time_lut(day: str, first_s: int, count: int, step_s: int) -> npt.NDArray[np.uint8]:
    """`yyyyMMddHHmmss` of `count` instants from `first_s` seconds after the day's midnight, as bytes.

    Like the book's simulator, the end of the day is written `<day>240000`, not as the next midnight.
    """
    import numpy as np

    secs = first_s + step_s * np.arange(count, dtype=np.int64)
    out = np.empty((count, 14), dtype=np.uint8)
    out[:, 0:8] = np.frombuffer(day.encode("ascii"), dtype=np.uint8)
    for pos, value in ((8, secs // 3600), (10, secs // 60 % 60), (12, secs % 60)):
        out[:, pos] = value // 10 + ord("0")
        out[:, pos + 1] = value % 10 + ord("0")
    return out


def _word_lut(values: Sequence[str]) -> npt.NDArray[np.uint32]:
    """Each string (at most 4 ASCII bytes, NUL padded) as one native uint32 word."""
    import numpy as np

    return _lut(values, 4).view(np.dtype("<u4")).reshape(-1).astype("=u4")


# --------------------------------------------------------------------------------------------------
# Status log

def status_log_chunks(day: str, cars: Sequence[str], seed: int) -> Iterator[bytes]:
    """The day's status log, one car at a time (21,601 lines per car), as bytes."""
    import numpy as np

    n = STATUS_RECORDS_PER_DAY
    parse_day(day)
    # Row layout, 56 bytes = 14 words: time,car, (3 NUL) | tire, x4 (word 6-9) | 1,1,1,1,A,A, (40-51)
    # | battery\n (word 13). Variable-width fields are whole words so one store writes each.
    base = np.zeros((n, 56), dtype=np.uint8)
    base[:, 0:14] = _time_lut(day, 0, n, STATUS_STEP_S)
    base[:, [14, 20]] = ord(",")
    base[:, 40:52] = np.frombuffer(b"1,1,1,1,A,A,", dtype=np.uint8)
    tire_words = _word_lut([f"{i}," for i in range(101)])
    batt_words = _word_lut([f"{i}\n" for i in range(101)])
    # Tire: 80-100 with weight 80, 70-79 with weight 20 -> 21 values x 40, 10 values x 21 (of 1050).
    tire_table = np.concatenate([np.repeat(np.arange(80, 101), 40), np.repeat(np.arange(70, 80), 21)])
    # Battery: 80-100 weight 90, 50-79 weight 10 -> 21 x 90, 30 x 7 (of 2100).
    batt_table = np.concatenate([np.repeat(np.arange(80, 101), 90), np.repeat(np.arange(50, 80), 7)])
    tire_table_w = tire_words[tire_table]
    batt_table_w = batt_words[batt_table]
    m = np.empty_like(base)
    words = m.view(np.uint32)
    for index, car in enumerate(cars):
        rng = np.random.default_rng([seed, _STATUS, index])
        np.copyto(m, base)
        m[:, 15:20] = np.frombuffer(car.encode("ascii"), dtype=np.uint8)
        # First fault index per field (geometric, 0-based); >= n means no fault that day.
        first = rng.geometric(FAULT_P, size=11) - 1
        for k in range(4):  # tires
            w = tire_table_w[rng.integers(0, tire_table.size, n, dtype=np.uint16)]
            if first[k] < n:
                w[first[k]:] = tire_words[rng.integers(0, 70, n - first[k])]
            words[:, 6 + k] = w
        for k in range(4):  # lights
            if first[4 + k] < n:
                m[first[4 + k]:, 40 + 2 * k] = ord("2")
        for k in range(2):  # engine, brake
            col = 48 + 2 * k
            m[:, col] = np.where(rng.integers(0, 5, n, dtype=np.uint8) < 4, ord("A"), ord("B"))
            if first[8 + k] < n:
                m[first[8 + k]:, col] = ord("C")
        w = batt_table_w[rng.integers(0, batt_table.size, n, dtype=np.uint16)]
        if first[10] < n:
            w[first[10]:] = batt_words[rng.integers(0, 50, n - first[10])]
        words[:, 13] = w
        yield _compact(m)


# --------------------------------------------------------------------------------------------------
# Driving log

def choose_wild(cars: int, seed: int) -> list[int]:
    """Indexes of the wild drivers: about 10 % of the cars (at least one when there are 2 or more)."""
    import numpy as np

    count = max(1, round(cars * WILD_SHARE)) if cars >= 2 else 0
    rng = np.random.default_rng([seed, _CARS])
    return sorted(int(i) for i in rng.choice(cars, size=count, replace=False))


def drive_log_chunks(day: str, cars: Sequence[str], seed: int, hours: float = DEFAULT_HOURS,
                     block: int = 1800) -> Iterator[bytes]:
    """The driving log from 00:00:00 for `hours`, one line per car every 2 s, in time order."""
    import numpy as np

    n_cars = len(cars)
    steps = round(hours * 3600 / DRIVE_STEP_S)
    parse_day(day)
    wild = np.zeros(n_cars, dtype=bool)
    wild[choose_wild(n_cars, seed)] = True
    rng = np.random.default_rng([seed, _DRIVE])
    group = rng.integers(0, len(AREA_GROUPS), n_cars)
    speed = np.zeros(n_cars, dtype=np.int64)

    acc_tab = {k: _weighted_table(ACC_WEIGHTS[k], range(6)) for k in ACC_WEIGHTS}
    brk_tab = {k: _weighted_table(BRAKE_WEIGHTS[k], range(4)) for k in BRAKE_WEIGHTS}
    whl_tab = {k: _weighted_table(WHEEL_WEIGHTS[k], range(7)) for k in WHEEL_WEIGHTS}
    sig_tab = _weighted_table(WILD_SIGNAL_WEIGHTS, range(3))
    acc_add = {k: np.asarray(v) for k, v in ACC_ADD.items()}
    brk_sub = {k: np.asarray(v) for k, v in BRAKE_SUB.items()}
    wheel_signal = np.array([0, 1, 1, 1, 2, 2, 2])  # F->N, L*->L, R*->R
    congested = np.zeros((len(AREA_GROUPS), 10), dtype=bool)
    for area in CONGESTED_AREAS:
        congested[AREA_GROUPS.index(area[0]), int(area[1:]) - 1] = True

    num = _number_lut(250)
    digit = _number_lut(9, 1)
    wheel_lut = _lut(WHEELS, 2)
    sig_lut = _lut(SIGNALS, 1)
    area_lut = _lut([f"{g}{i:02d}" for g in AREA_GROUPS for i in range(1, 11)], 3)
    car_lut = _lut(list(cars), 5)
    width = 14 + 1 + 5 + 1 + 1 + 1 + 1 + 1 + 2 + 1 + 1 + 1 + 3 + 1 + 3 + 1  # 38

    def draw(tables: dict[str, npt.NDArray[np.int64]], shape: tuple[int, int]) -> npt.NDArray[np.int64]:
        normal = tables["normal"][rng.integers(0, tables["normal"].size, shape)]
        wildv = tables["wild"][rng.integers(0, tables["wild"].size, shape)]
        return np.where(wild[None, :], wildv, normal)

    for t0 in range(0, steps, block):
        b = min(block, steps - t0)
        shape = (b, n_cars)
        acc = draw(acc_tab, shape)
        brk = np.where(acc == 0, draw(brk_tab, shape), 0)
        whl = draw(whl_tab, shape)
        sig = np.where(wild[None, :], sig_tab[rng.integers(0, sig_tab.size, shape)], wheel_signal[whl])
        area_no = rng.integers(0, 10, shape)
        cong = congested[group[None, :], area_no]
        delta = np.where(wild[None, :], acc_add["wild"][acc], acc_add["normal"][acc]) - np.where(
            wild[None, :], brk_sub["wild"][brk], brk_sub["normal"][brk])
        spd = np.empty(shape, dtype=np.int64)
        for i in range(b):  # the speed is a running state: one vector step per time step
            speed = np.clip(speed + delta[i], 0, 250)
            speed = np.where(cong[i], (speed * 3) // 10, speed)
            spd[i] = speed
        times = _time_lut(day, t0 * DRIVE_STEP_S, b, DRIVE_STEP_S)
        m = np.zeros((b, n_cars, width), dtype=np.uint8)
        m[:, :, 0:14] = times[:, None, :]
        m[:, :, [14, 20, 22, 24, 27, 29, 33]] = ord(",")
        m[:, :, 15:20] = car_lut[None, :, :]
        m[:, :, 21] = digit[acc][..., 0]
        m[:, :, 23] = digit[brk][..., 0]
        m[:, :, 25:27] = wheel_lut[whl]
        m[:, :, 28] = sig_lut[sig][..., 0]
        m[:, :, 30:33] = num[spd]
        m[:, :, 34:37] = area_lut[group[None, :] * 10 + area_no]
        m[:, :, 37] = ord("\n")
        yield _compact(m)


# --------------------------------------------------------------------------------------------------
# Master, purchases, income, accident risk

def master_rows(seed: int) -> list[tuple[str, str, int, str, str, str, int, int, str]]:
    import numpy as np

    rng = np.random.default_rng([seed, _MASTER])
    n = MASTER_CARS
    sex = rng.integers(0, 2, n)
    age = rng.integers(15, 71, n)
    mar = rng.integers(0, 2, n)
    reg = rng.integers(0, len(REGIONS), n)
    job = rng.integers(0, len(JOBS), n)
    cap = rng.integers(0, len(CAPACITIES), n)
    year = rng.integers(2000, 2017, n)
    model = rng.integers(0, len(MODELS), n)
    return [
        (car, SEXES[sex[i]], int(age[i]), MARRIAGES[mar[i]], REGIONS[reg[i]], JOBS[job[i]],
         CAPACITIES[cap[i]], int(year[i]), MODELS[model[i]])
        for i, car in enumerate(master_car_numbers())
    ]


def master_text(seed: int) -> str:
    return "".join("|".join(str(v) for v in row) + "\n" for row in master_rows(seed))


def buy_list_chunks(month: str, seed: int, rows: int, block: int = 200_000) -> Iterator[bytes]:
    import numpy as np

    cars = np.array(master_car_numbers())
    rng = np.random.default_rng([seed, _BUY])
    for s in range(0, rows, block):
        b = min(block, rows - s)
        car = cars[rng.integers(0, cars.size, b)]
        item = rng.integers(1, 31, b)
        score = rng.integers(1, 6, b)
        yield "".join(f"{c},Item-{i:03d},{sc},{month}\n" for c, i, sc in
                      zip(car.tolist(), item.tolist(), score.tolist(), strict=True)).encode()


def income_text(seed: int) -> str:
    import numpy as np

    rows = master_rows(seed)
    rng = np.random.default_rng([seed, _INCOME])
    factor = rng.choice([1.1, 1.2, 1.3], len(rows))
    extra = np.where(rng.random(len(rows)) < 0.2, rng.integers(100, 1001, len(rows)), 0)
    lines = ["carNum|sex|age|marriage|region|job|capacity|year|type|income\n"]
    for i, row in enumerate(rows):
        income = round(float(row[6] * factor[i])) + int(extra[i])
        lines.append("|".join(str(v) for v in row) + f"|{income}\n")
    return "".join(lines)


def incident_label(features: Sequence[int]) -> int:
    """The book's accident-risk label for one row of the ten features (PILOT.md §1c)."""
    total = sum(features)
    named = dict(zip(INCIDENT_FEATURES, features, strict=True))
    if any(named[f] == 2 for f in INCIDENT_BONUS_FEATURES):
        total += 5
    return 2 if total > 15 else 1 if total > 12 else 0


def incident_chunks(seed: int, rows: int, block: int = 200_000) -> Iterator[bytes]:
    import numpy as np

    rng = np.random.default_rng([seed, _INCIDENT])
    yield (",".join(INCIDENT_FEATURES) + ",acciPos\n").encode()
    for s in range(0, rows, block):
        b = min(block, rows - s)
        cols = []
        for name in INCIDENT_FEATURES:
            table = _weighted_table(INCIDENT_WEIGHTS[name], range(3))
            cols.append(table[rng.integers(0, table.size, b)])
        x = np.stack(cols, axis=1)
        bonus = (x[:, [INCIDENT_FEATURES.index(f) for f in INCIDENT_BONUS_FEATURES]] == 2).any(axis=1)
        total = x.sum(axis=1) + 5 * bonus
        label = np.where(total > 15, 2, np.where(total > 12, 1, 0))
        full = np.concatenate([x, label[:, None]], axis=1)
        digits = (full + ord("0")).astype(np.uint8)
        m = np.full((b, 22), ord(","), dtype=np.uint8)
        m[:, 0::2] = digits
        m[:, 21] = ord("\n")
        yield m.tobytes()


# --------------------------------------------------------------------------------------------------

DATASETS = ("status", "drive", "master", "buy", "income", "incident")


def file_names(day: str) -> dict[str, str]:
    return {
        "status": f"SmartCarStatusInfo_{day}.txt",
        "drive": "SmartCarDriverInfo.log",
        "master": "CarMaster.txt",
        "buy": f"CarItemBuyList_{day[:6]}.txt",
        "income": "CarMaster2Income.txt",
        "incident": "CarDrivingIncidentInfo.csv",
    }


def _write(path: Path, chunks: Iterator[bytes]) -> tuple[int, int]:
    lines = size = 0
    tmp = path.with_name(path.name + ".part")
    with tmp.open("wb") as f:
        out: BinaryIO = f
        for chunk in chunks:
            out.write(chunk)
            lines += chunk.count(b"\n")
            size += len(chunk)
    tmp.replace(path)
    return lines, size


def generate(options: GenerateOptions, out_dir: Path,
             progress: Callable[[str, GeneratedFile], None] | None = None) -> GenerateResult:
    """Write the chosen data sets under out_dir (created) and a manifest.json describing them."""
    import time

    options.validate()
    try:
        import numpy  # noqa: F401
    except ImportError:
        raise BadInput("the generator needs numpy, which is not installed",
                       fix="pip install 'bigdata-admin[clients]' (or `pip install numpy`).") from None
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    cars = [car_number(i) for i in range(options.cars)]
    wild = [cars[i] for i in choose_wild(options.cars, options.seed)]
    result = GenerateResult(str(out_dir), asdict(options) | {"datasets": list(options.datasets)}, cars, wild)
    names = file_names(options.day)
    makers: dict[str, Callable[[], Iterator[bytes]]] = {
        "status": lambda: status_log_chunks(options.day, cars, options.seed),
        "drive": lambda: drive_log_chunks(options.day, cars, options.seed, options.hours),
        "master": lambda: iter([master_text(options.seed).encode()]),
        "buy": lambda: buy_list_chunks(options.day[:6], options.seed, options.purchases),
        "income": lambda: iter([income_text(options.seed).encode()]),
        "incident": lambda: incident_chunks(options.seed, options.incidents),
    }
    for name in DATASETS:
        if name not in options.datasets:
            continue
        t = time.perf_counter()
        path = out_dir / names[name]
        lines, size = _write(path, makers[name]())
        entry = GeneratedFile(name, str(path), lines, size, round(time.perf_counter() - t, 3))
        result.files.append(entry)
        if progress:
            progress(name, entry)
    manifest = asdict(result)
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    return result

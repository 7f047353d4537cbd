"""The checksum parser: every layout Apache publishes, corrupt files, wrong hashes."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from bigdata_admin.checksum import (
    Checksum,
    ChecksumFileError,
    ChecksumMismatch,
    algorithm_for_suffix,
    file_digest,
    parse_checksum,
    parse_checksum_file,
    verify_file,
)

DATA = b"release bytes\n" * 1000
SHA512 = hashlib.sha512(DATA).hexdigest()
SHA256 = hashlib.sha256(DATA).hexdigest()
SHA1 = hashlib.sha1(DATA).hexdigest()
NAME = "kafka_2.13-4.0.0.tgz"


def gpg_print_md(name: str, hexdigest: str) -> str:
    """What `gpg --print-md SHA512 FILE` writes: upper case, groups of 8, wrapped and indented."""
    groups = [hexdigest.upper()[i:i + 8] for i in range(0, len(hexdigest), 8)]
    prefix = f"{name}: "
    lines, current = [], prefix
    for g in groups:
        if len(current) + len(g) + 1 > 79:
            lines.append(current.rstrip())
            current = " " * len(prefix)
        current += g + " "
    lines.append(current.rstrip())
    return "\n".join(lines) + "\n"


def test_gnu_layout_two_spaces() -> None:
    assert parse_checksum(f"{SHA512}  {NAME}\n", NAME) == Checksum("sha512", SHA512)


def test_gnu_layout_binary_marker_and_upper_case() -> None:
    assert parse_checksum(f"{SHA512.upper()} *{NAME}\n", NAME, "sha512").hexdigest == SHA512


def test_gnu_layout_picks_the_named_file_among_several() -> None:
    other = hashlib.sha512(b"x").hexdigest()
    text = f"{other}  spark-3.5.5-bin-hadoop2.tgz\n{SHA512}  spark-3.5.5-bin-hadoop3.tgz\n"
    assert parse_checksum(text, "spark-3.5.5-bin-hadoop3.tgz").hexdigest == SHA512


def test_bsd_layout() -> None:
    text = f"SHA512 (hadoop-3.3.6.tar.gz) = {SHA512}\n"
    assert parse_checksum(text, "hadoop-3.3.6.tar.gz", "sha512") == Checksum("sha512", SHA512)


def test_openssl_layout() -> None:
    text = f"SHA2-256(apache-hive-3.1.3-bin.tar.gz)= {SHA256}\n"
    assert parse_checksum(text, "apache-hive-3.1.3-bin.tar.gz") == Checksum("sha256", SHA256)


def test_gpg_print_md_multi_line() -> None:
    text = gpg_print_md(NAME, SHA512)
    assert text.count("\n") >= 2, "the fixture must wrap like gpg does"
    assert parse_checksum(text, NAME, "sha512") == Checksum("sha512", SHA512)


def test_gpg_print_md_with_long_name_on_its_own_line() -> None:
    name = "hbase-2.5.10-hadoop3-bin.tar.gz"
    groups = " ".join(SHA512.upper()[i:i + 8] for i in range(0, 128, 8))
    text = f"{name}:\n{groups[:71]}\n{groups[72:]}\n"
    assert parse_checksum(text, name).hexdigest == SHA512


def test_bare_hash_maven_sha1() -> None:
    assert parse_checksum(f"{SHA1}\n", "postgresql-42.7.4.jar", "sha1") == Checksum("sha1", SHA1)


def test_hive_sha256_file(tmp_path: Path) -> None:
    f = tmp_path / "apache-hive-3.1.3-bin.tar.gz.sha256"
    f.write_text(f"{SHA256}  apache-hive-3.1.3-bin.tar.gz\n")
    assert parse_checksum_file(f, "apache-hive-3.1.3-bin.tar.gz") == Checksum("sha256", SHA256)


def test_temurin_sha256_txt_suffix() -> None:
    assert algorithm_for_suffix("OpenJDK11U-jdk_x64_linux_hotspot_11.0.25_9.tar.gz.sha256.txt") == "sha256"
    assert algorithm_for_suffix("x.tgz.sha512") == "sha512"
    assert algorithm_for_suffix("x.jar.sha1") == "sha1"
    assert algorithm_for_suffix("x.asc") is None


@pytest.mark.parametrize("text", [
    "<html><body>404 Not Found</body></html>\n",
    f"{SHA512[:100]}  {NAME}\n",
    "",
    f"{NAME}: ZZZZ\n",
])
def test_corrupt_checksum_file(text: str) -> None:
    with pytest.raises(ChecksumFileError) as exc:
        parse_checksum(text, NAME, "sha512")
    assert exc.value.fix


def test_wrong_algorithm_length_is_named() -> None:
    with pytest.raises(ChecksumFileError, match="expected a sha512 hash"):
        parse_checksum(f"{SHA256}  {NAME}\n", NAME, "sha512")


def test_checksum_of_another_file_is_rejected() -> None:
    with pytest.raises(ChecksumFileError, match="not kafka"):
        parse_checksum(f"{SHA512}  kafka_2.13-3.9.0.tgz\n", NAME)


def test_verify_file_ok_and_wrong_hash(tmp_path: Path) -> None:
    f = tmp_path / NAME
    f.write_bytes(DATA)
    seen: list[int] = []
    verify_file(f, Checksum("sha512", SHA512), progress=seen.append)
    assert sum(seen) == len(DATA)
    assert file_digest(f, "sha256") == SHA256
    f.write_bytes(DATA + b"tampered")
    with pytest.raises(ChecksumMismatch) as exc:
        verify_file(f, Checksum("sha512", SHA512))
    assert "mismatch" in exc.value.message and "artifacts fetch" in (exc.value.fix or "")

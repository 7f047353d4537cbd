"""Spark on YARN for real, on the main job's lab (session fixture `main_lab`): Spark from the pyspark
wheel, YARN and HDFS from Maven bundles.

The main job's smoke already runs the PySpark job on YARN (smoke_spark_yarn). Here: that job passes
within 90 s; what HDFS holds under the YARN directory is what the Spark host's jars zip to (same size
and SHA-256 as the deploy's record, the same on every Spark host); the archive helper run again
changes nothing; `spark-submit` uploads none of Spark's jars (no `__spark_libs__` zip in its log).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bigdata_admin import deployment, inventory
from bigdata_admin.health import remote, smoke_spark_yarn

pytestmark = [pytest.mark.integration, pytest.mark.lab, pytest.mark.slow]


@pytest.fixture(scope="module")
def yarn_lab(main_lab: dict[str, Any]) -> inventory.Cluster:
    assert main_lab["rc"] == 0, str(main_lab["out"])[-5000:]
    cluster = inventory.load(Path(main_lab["inventory"]))
    absent = deployment.not_deployed(cluster)
    for group in ("hdfs_namenode", "yarn_resourcemanager", "yarn_nodemanager", "spark_master"):
        assert group not in absent, f"{group} must be deployed by the main job: {absent.get(group)}"
    assert smoke_spark_yarn.yarn_in_use(cluster, absent)
    return cluster


def _sh(host: inventory.Host, command: str, timeout: float = 300) -> str:
    result = remote.run(host, ["sh", "-c", command], become=True, timeout=timeout)
    assert result.ok, f"{host.name}: {command}: {result.stdout[-1500:]} {result.stderr[-1500:]}"
    return result.stdout


def test_a_pyspark_job_runs_on_yarn_within_90_s(yarn_lab: inventory.Cluster) -> None:
    data: dict[str, Any] = {}
    detail = smoke_spark_yarn.spark_yarn_job(yarn_lab, data)
    assert data["state"] == "FINISHED" and data["final_status"] == "SUCCEEDED", detail
    assert data["sum"] == smoke_spark_yarn.expected_sum()
    assert data["submit_s"] < 90, detail
    assert not [u for u in data["uploaded"] if "__spark_libs__" in u or u.endswith(".jar")], data["uploaded"]


def test_the_archives_on_hdfs_are_the_spark_hosts_and_a_second_upload_changes_nothing(
        yarn_lab: inventory.Cluster) -> None:
    spark_hosts = sorted({h for g in ("spark_master", "spark_worker", "spark_thrift")
                          for h in yarn_lab.groups.get(g, [])})
    root = yarn_lab.var("bigdata_install_root", "/opt/bigdata")
    version = yarn_lab.version("spark")
    hdfs_dir = f"/user/spark/yarn/spark-{version}"
    listings = {h: _sh(yarn_lab.hosts[h], f"cd {root}/spark-current/jars && ls -l --time-style=+ *.jar "
                                          "| awk '{print $5, $6}' | sort")
                for h in spark_hosts}
    assert len(set(listings.values())) == 1, "the Spark hosts hold different jars"
    nn = yarn_lab.first("hdfs_namenode")
    assert nn is not None
    nn_http = nn.var("hdfs_namenode_http_port") or yarn_lab.var("hdfs_namenode_http_port", 9870)
    spec = {"spark_home": f"{root}/spark-current", "cache_dir": "/var/lib/bigdata/spark/yarn-archives",
            "hdfs_dir": hdfs_dir, "staging_dir": "/tmp/spark-staging", "user": "spark",
            "namenodes": [f"http://{h.name}:{nn_http}/webhdfs/v1"
                          for h in yarn_lab.hosts_in("hdfs_namenode")],
            "archive": f"spark-{version}-jars.zip", "pyspark": "pyspark.zip",
            "py4j": "py4j-0.10.9.7-src.zip"}
    uploader = yarn_lab.hosts[spark_hosts[0]]
    again = json.loads(_sh(uploader, f"echo '{json.dumps(spec)}' | python3 {root}/bin/spark-yarn-archives"))
    assert again["changed"] is False and again["uploaded"] == [], again
    record = json.loads(_sh(uploader, f"python3 -c \"import urllib.request;print(urllib.request.urlopen("
                                      f"'{spec['namenodes'][0]}{hdfs_dir}/.bigdata-admin-archives.json"
                                      "?op=OPEN&user.name=spark').read().decode())\""))
    assert record == again["files"]
    cache_zip = f"{spec['cache_dir']}/{spec['archive']}"
    local = _sh(uploader, f"sha256sum {cache_zip} && stat -c %s {cache_zip}").split()
    assert local[0] == record[spec["archive"]]["sha256"]
    assert int(local[-1]) == record[spec["archive"]]["size"] > 100 * 1024 * 1024

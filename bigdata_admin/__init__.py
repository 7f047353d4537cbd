"""bigdata-admin: deploy and operate a Hadoop-stack cluster with Ansible."""

__version__ = "0.1.0"

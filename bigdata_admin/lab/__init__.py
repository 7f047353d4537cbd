"""The local lab: real multi-host test clusters on one machine (systemd-nspawn hosts).

Python API (root needed; `NeedsRoot`, a `BadInput`, otherwise):

    from bigdata_admin import lab

    lb = lab.up(name="x", nodes=3)   # idempotent; builds/caches the base image on first use
    lb.inventory                    # Path of the Ansible inventory written for it (inventories/lab-x/)
    lb.hosts                        # {"h1": "10.213.K.11", "h2": ..., "h3": ...}
    lb.gateway                      # control host address on the lab bridge (relay + artifacts)
    lb.artifact_url, lb.proxy_url   # http://GATEWAY:8765 (artifact cache), http://GATEWAY:3142 (apt)
    lb.ssh_command("h1", "uptime")  # argv for ssh as the `deploy` user (NOPASSWD sudo)
    lb.changed                      # what `up` had to do ([] when it was already up)
    lab.get("x")                    # the recorded lab or None, from any process
    lab.status("x")                 # dict: hosts, addresses, state, PSS memory, relay
    lab.list_labs()
    lab.down("x", keep_state=False) # stop it, remove processes, mounts, netns, veths, bridge, cgroups,
                                    # relay (and disks + unchanged inventory unless keep_state)

Each lab name gets its own bridge `bdlabK` and subnet 10.213.K.0/24 (K derived from the name,
recorded in `<state dir>/lab/labs/NAME/state.json`); hosts are h1..hN at 10.213.K.11.. .
"""

from __future__ import annotations

from bigdata_admin.lab.machines import Lab, down, get, list_labs, status, up

__all__ = ["Lab", "down", "get", "list_labs", "status", "up"]

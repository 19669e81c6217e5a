{
  "targets": [
    {
      "target_name": "sockdiag",
      "sources": ["src/collect/netlink/sockdiag.c", "src/collect/bpf/owners.c"],
      "cflags": ["-O2", "-Wall", "-Wextra"]
    }
  ]
}

{
  "targets": [
    {
      "target_name": "sockdiag",
      "sources": ["src/collect/netlink/sockdiag.c"],
      "cflags": ["-O2", "-Wall", "-Wextra"]
    }
  ]
}

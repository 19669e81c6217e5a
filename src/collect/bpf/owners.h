// What owners.c (the BPF reader) shares with sockdiag.c (the /proc walk): their result arrays, and
// how a link that is not a socket's is read (io_uring instances, network namespace files).
#ifndef LSM_OWNERS_H
#define LSM_OWNERS_H
#include <node_api.h>
#include <stddef.h>

typedef struct { double *v; size_t len, cap; } doubles;

int push(doubles *d, double x);
napi_value to_float64(napi_env env, doubles *d);
/* Reads /proc/<pid>/fd/<fd> under `root` as walkFds does: (pid, fd) to `uring` for an io_uring
 * instance, (pid, fd, inode) to `netns` for a network namespace file; -1: out of memory. */
int fd_link_kind(int root, int pid, int fd, doubles *uring, doubles *netns);
void register_socket_owners(napi_env env, napi_value exports);
/* An Error whose code is the errno's name ('EPERM'), with this message (sockdiag.c). */
napi_value throw_named(napi_env env, int err, const char *msg);
/* The (procRoot, pids) arguments: 1, or 0 with a TypeError naming `usage` thrown (sockdiag.c). */
int root_and_pids(napi_env env, napi_callback_info info, char *root_path, size_t size, napi_value *pids, const char *usage);
#endif

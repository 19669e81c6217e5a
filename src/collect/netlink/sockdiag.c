// The one thing Node cannot do itself: talk netlink. query(nsFile, inode, protocol, requests)
// opens a netlink socket of `protocol` inside the network namespace `nsFile` names (a netlink
// socket stays bound to the namespace it was created in, so only the socket() call happens there:
// setns on this thread, socket, setns back), sends each request (a whole nlmsghdr built by the
// caller) and returns, per request, the concatenated reply messages as a Buffer, or the errno the
// kernel answered (a number). Parsing is the caller's: this file only moves bytes.
// inspect(pid, fds, inodes) looks at sockets that are in no table; walkFds(procRoot, pids) reads
// every process's fd links, sameFiles(pid, tids) which threads share their process's fd table;
// digest(...) is query() for lsm watch's probe, handing back a keyed hash of each reply instead of
// its bytes: see below.
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <linux/packet_diag.h>
#include <linux/vm_sockets.h>
#include <sys/random.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <node_api.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>
#include "../bpf/owners.h"

#define RECV_SIZE 65536
#define MAX_REPLY (1u << 30) /* bound on one dump: 1 GiB */

/* Throws an Error whose code is the errno's name, as Node's own ('EACCES'; its number where the C
 * library cannot name it), with this message. Shared with owners.c. */
napi_value throw_named(napi_env env, int err, const char *msg) {
  char code[32];
  const char *name = NULL;
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
  name = strerrorname_np(err);
#endif
  if (name) snprintf(code, sizeof code, "%s", name);
  else snprintf(code, sizeof code, "%d", err);
  napi_throw_error(env, code, msg);
  return NULL;
}

/* As throw_named, the message saying what failed and why. */
static napi_value throw_errno(napi_env env, const char *what, int err) {
  char msg[4400];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  return throw_named(env, err, msg);
}

/* (procRoot: string, pids: number[]), the arguments of walkFds and socketOwners: root_path filled
 * and *pids set, or a TypeError naming `usage` thrown and 0 returned. Shared with owners.c. */
int root_and_pids(napi_env env, napi_callback_info info, char *root_path, size_t size, napi_value *pids, const char *usage) {
  size_t argc = 2;
  napi_value argv[2];
  bool is_array = false;
  size_t root_len = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2
      || napi_get_value_string_utf8(env, argv[0], root_path, size, &root_len) != napi_ok
      || root_len >= size - 1 || napi_is_array(env, argv[1], &is_array) != napi_ok || !is_array) {
    napi_throw_type_error(env, NULL, usage);
    return 0;
  }
  *pids = argv[1];
  return 1;
}

/* A netlink socket made here: its fd, or -errno (never -1, which the caller would take for EPERM). */
static int netlink_socket(int protocol) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol);
  return fd < 0 ? -errno : fd;
}

/* A netlink socket in the namespace of nsFile (NULL: this thread's own); -errno on failure. */
static int open_in_namespace(const char *ns_file, double want_inode, int protocol) {
  if (ns_file == NULL) return netlink_socket(protocol);
  int target = open(ns_file, O_RDONLY | O_CLOEXEC);
  if (target < 0) return -errno;
  struct stat ts, cs;
  if (fstat(target, &ts) < 0) { int e = errno; close(target); return -e; }
  // the file may have been replaced (a pid reused) since the caller found it
  if (want_inode > 0 && (double)ts.st_ino != want_inode) { close(target); return -ESTALE; }
  int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (self < 0) { int e = errno; close(target); return -e; }
  if (fstat(self, &cs) == 0 && cs.st_ino == ts.st_ino && cs.st_dev == ts.st_dev) {
    close(target); close(self);
    return netlink_socket(protocol);
  }
  if (setns(target, CLONE_NEWNET) < 0) { int e = errno; close(target); close(self); return -e; }
  int fd = netlink_socket(protocol);
  if (setns(self, CLONE_NEWNET) < 0) {
    // this thread would go on in a namespace not its own: nothing after could be trusted
    fprintf(stderr, "lsm: cannot return to the own network namespace: %s\n", strerror(errno));
    abort();
  }
  close(target); close(self);
  return fd;
}

/* A socket for dumps (query, digest): a dump never waits on a peer; its receive is bounded anyway. */
static int open_dump_socket(const char *ns_file, double want_inode, int protocol) {
  int fd = open_in_namespace(ns_file, want_inode, protocol);
  if (fd >= 0) {
    struct timeval timeout = { .tv_sec = 10 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  }
  return fd;
}

/* The nsFile argument: a path (copied into path) or anything else for this thread's own namespace.
 * false, with a TypeError thrown, for a path that does not fit. */
static bool ns_file_arg(napi_env env, napi_value v, char *path, size_t size, const char **ns_file) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  *ns_file = NULL;
  if (t != napi_string) return true;
  size_t len;
  if (napi_get_value_string_utf8(env, v, path, size, &len) != napi_ok || len >= size - 1) {
    napi_throw_type_error(env, NULL, "nsFile: a path of less than 4095 bytes");
    return false;
  }
  *ns_file = path;
  return true;
}

typedef struct { char *data; size_t len, cap; } bytes;

static int append(bytes *b, const void *p, size_t n) {
  if (b->len + n > MAX_REPLY) return -EFBIG;
  if (b->len + n > b->cap) {
    size_t cap = b->cap ? b->cap : RECV_SIZE;
    while (cap < b->len + n) cap *= 2;
    char *d = realloc(b->data, cap);
    if (!d) return -ENOMEM;
    b->data = d; b->cap = cap;
  }
  memcpy(b->data + b->len, p, n);
  b->len += n;
  return 0;
}

/*
 * Send one request, collect every reply until NLMSG_DONE: 0, or -errno. With `dropped` (inet
 * dumps), a socket whose state is not in `keep` is not copied: only its inode goes to `dropped`
 * (at 100k sockets most of a dump of every state is established connections the caller only
 * needs to know exist: megabytes less to copy and to hand to JS).
 */
static int dump(int fd, const void *req, size_t req_len, bytes *out, char *buf, uint32_t keep, bytes *dropped) {
  struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
  if (sendto(fd, req, req_len, 0, (struct sockaddr *)&kernel, sizeof kernel) < 0) return -errno;
  __u32 seq = ((const struct nlmsghdr *)req)->nlmsg_seq;
  for (;;) {
    struct sockaddr_nl from;
    struct iovec iov = { buf, RECV_SIZE };
    struct msghdr msg = { .msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov, .msg_iovlen = 1 };
    ssize_t n = recvmsg(fd, &msg, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno == EAGAIN ? -ETIMEDOUT : -errno;
    }
    if (n == 0) return -EPIPE;
    if (msg.msg_flags & MSG_TRUNC) return -EMSGSIZE;
    if (from.nl_pid != 0) continue; // not the kernel
    for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
      if (h->nlmsg_seq != seq) continue;
      if (h->nlmsg_type == NLMSG_DONE) {
        if (h->nlmsg_len >= NLMSG_LENGTH(sizeof(int))) {
          int err = *(int *)NLMSG_DATA(h);
          if (err < 0) return err;
        }
        return 0;
      }
      if (h->nlmsg_type == NLMSG_ERROR) {
        if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct nlmsgerr))) return -EBADMSG;
        int err = ((struct nlmsgerr *)NLMSG_DATA(h))->error;
        return err < 0 ? err : -EBADMSG;
      }
      if (dropped != NULL && h->nlmsg_len >= NLMSG_LENGTH(72)) {
        const unsigned char *m = NLMSG_DATA(h);
        unsigned state = m[1];
        if (state > 31 || (keep & (1u << state)) == 0) {
          uint32_t inode;
          memcpy(&inode, m + 68, sizeof inode); /* inet_diag_msg.idiag_inode */
          if (inode != 0) { int r = append(dropped, &inode, sizeof inode); if (r < 0) return r; }
          continue;
        }
      }
      int r = append(out, h, NLMSG_ALIGN(h->nlmsg_len) <= (size_t)n ? NLMSG_ALIGN(h->nlmsg_len) : h->nlmsg_len);
      if (r < 0) return r;
    }
  }
}

// query(nsFile: string | null, inode: number, protocol: number, requests: Buffer[], keep?: (number | null)[]): (Buffer | number)[]
// keep[i], for an inet request: the states whose sockets are returned whole (a bit each); the
// inodes of the others are in the reply's `dropped` (a Uint32Array).
static napi_value query(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 4) {
    napi_throw_type_error(env, NULL, "query(nsFile, inode, protocol, requests)");
    return NULL;
  }
  char path[4096];
  const char *ns_file = NULL;
  if (!ns_file_arg(env, argv[0], path, sizeof path, &ns_file)) return NULL;
  double inode = 0;
  int32_t protocol = 0;
  uint32_t count = 0;
  bool is_array = false;
  napi_get_value_double(env, argv[1], &inode);
  napi_get_value_int32(env, argv[2], &protocol);
  napi_is_array(env, argv[3], &is_array);
  if (!is_array) { napi_throw_type_error(env, NULL, "requests: an array of Buffers"); return NULL; }
  napi_get_array_length(env, argv[3], &count);

  int fd = open_dump_socket(ns_file, inode, protocol);
  if (fd < 0) return throw_errno(env, ns_file ? ns_file : "netlink", -fd);
  char *buf = malloc(RECV_SIZE);
  if (!buf) { close(fd); return throw_errno(env, "netlink", ENOMEM); }

  napi_value result;
  napi_create_array_with_length(env, count, &result);
  for (uint32_t i = 0; i < count; i++) {
    napi_value req, item;
    void *data;
    size_t len;
    bool is_buffer = false;
    napi_get_element(env, argv[3], i, &req);
    napi_is_buffer(env, req, &is_buffer);
    if (!is_buffer || napi_get_buffer_info(env, req, &data, &len) != napi_ok || len < sizeof(struct nlmsghdr)) {
      free(buf); close(fd);
      napi_throw_type_error(env, NULL, "a request is a Buffer holding one nlmsghdr");
      return NULL;
    }
    bytes out = { NULL, 0, 0 }, dropped = { NULL, 0, 0 };
    uint32_t keep = 0;
    bool filtered = false;
    if (argc >= 5) {
      bool keep_array = false;
      napi_value k;
      napi_valuetype kt;
      napi_is_array(env, argv[4], &keep_array);
      if (keep_array && napi_get_element(env, argv[4], i, &k) == napi_ok && napi_typeof(env, k, &kt) == napi_ok && kt == napi_number) {
        napi_get_value_uint32(env, k, &keep);
        filtered = true;
      }
    }
    int r = dump(fd, data, len, &out, buf, keep, filtered ? &dropped : NULL);
    if (r < 0) napi_create_int32(env, -r, &item);
    else {
      napi_create_buffer_copy(env, out.len, out.len ? out.data : "", NULL, &item);
      if (filtered) {
        napi_value ab, arr;
        void *d;
        size_t count = dropped.len / sizeof(uint32_t);
        napi_create_arraybuffer(env, dropped.len, &d, &ab);
        if (dropped.len) memcpy(d, dropped.data, dropped.len);
        napi_create_typedarray(env, napi_uint32_array, count, ab, 0, &arr);
        napi_set_named_property(env, item, "dropped", arr);
      }
    }
    free(out.data);
    free(dropped.data);
    napi_set_element(env, result, i, item);
  }
  free(buf);
  close(fd);
  return result;
}

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

static void set_int(napi_env env, napi_value obj, const char *name, double v) {
  napi_value n;
  napi_create_double(env, v, &n);
  napi_set_named_property(env, obj, name, n);
}

// A vsock socket's own address, from the copy inspect() holds: vsock has no table lsm reads (its
// sock_diag module, vsock_diag, is often not built: CONFIG_VSOCKETS_DIAG), and its ports are one
// space for the whole host, not per network namespace. Sets vsockCid and vsockPort (the local ones:
// 4294967295 is VMADDR_CID_ANY, or VMADDR_PORT_ANY when unbound) and vsockState (1 listening,
// 2 connected, 0 neither) on inspect's item.
static void vsock_address(napi_env env, int sfd, napi_value item) {
  struct sockaddr_vm vm, peer;
  socklen_t len = sizeof vm, plen = sizeof peer;
  memset(&vm, 0, sizeof vm);
  if (getsockname(sfd, (struct sockaddr *)&vm, &len) != 0 || vm.svm_family != AF_VSOCK) return;
  int listening = 0;
  socklen_t ilen = sizeof listening;
  if (getsockopt(sfd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &ilen) != 0) listening = 0;
  bool connected = getpeername(sfd, (struct sockaddr *)&peer, &plen) == 0;
  set_int(env, item, "vsockCid", (double)vm.svm_cid);
  set_int(env, item, "vsockPort", (double)vm.svm_port);
  set_int(env, item, "vsockState", listening ? 1 : connected ? 2 : 0);
}

// inspect(pid: number, fds: number[], inodes: number[], known: number[]): ({ domain, type, protocol,
// port, tcpState, netns, nsfd } | null)[]
// A socket in no table lsm read is either in a namespace nothing else leads to (only a socket holds
// it) or one no table lists (never bound, closed, a family without a table). A copy of the holder's
// fd (pidfd_getfd, Linux 5.6+; root) answers which: the socket's own namespace (SIOCGSKNS, as an
// open fd the caller reads the namespace through and closes), its family, type, protocol, local
// port and TCP state. The copy is closed at once; the holder's socket is not touched. null for an fd
// that is no longer that socket (closed, reused) or that the kernel would not hand over. nsfd is
// given only for a namespace not in `known` and not given before in this call, at most MAX_NSFDS
// (a process may hold sockets of thousands of namespaces: the fds must stay bounded).
#define MAX_NSFDS 64
static napi_value inspect(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 4) {
    napi_throw_type_error(env, NULL, "inspect(pid, fds, inodes, known)");
    return NULL;
  }
  int32_t pid = 0;
  uint32_t count = 0, count2 = 0, nknown = 0;
  bool a1 = false, a2 = false, a3 = false;
  napi_get_value_int32(env, argv[0], &pid);
  napi_is_array(env, argv[1], &a1);
  napi_is_array(env, argv[2], &a2);
  napi_is_array(env, argv[3], &a3);
  if (pid <= 0 || !a1 || !a2 || !a3) { napi_throw_type_error(env, NULL, "inspect(pid, fds, inodes, known)"); return NULL; }
  napi_get_array_length(env, argv[1], &count);
  napi_get_array_length(env, argv[2], &count2);
  napi_get_array_length(env, argv[3], &nknown);
  double given[MAX_NSFDS];
  int ngiven = 0;
  if (count != count2) { napi_throw_type_error(env, NULL, "fds and inodes: arrays of one length"); return NULL; }
  int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  // a thread with an fd table of its own (threads.ts): its tid opens with PIDFD_THREAD (Linux 6.9;
  // without it a tid is refused with EINVAL, or ENOENT on later kernels)
  if (pidfd < 0 && (errno == EINVAL || errno == ENOENT)) pidfd = (int)syscall(SYS_pidfd_open, pid, 0x80 /* PIDFD_THREAD */);
  if (pidfd < 0) return throw_errno(env, "pidfd_open", errno);
  napi_value result, item, v;
  napi_create_array_with_length(env, count, &result);
  for (uint32_t i = 0; i < count; i++) {
    int32_t target = -1;
    double want = 0;
    napi_get_element(env, argv[1], i, &v);
    napi_get_value_int32(env, v, &target);
    napi_get_element(env, argv[2], i, &v);
    napi_get_value_double(env, v, &want);
    napi_get_null(env, &item);
    int sfd = target < 0 ? -1 : (int)syscall(SYS_pidfd_getfd, pidfd, target, 0); // close-on-exec
    struct stat st;
    if (sfd >= 0 && fstat(sfd, &st) == 0 && S_ISSOCK(st.st_mode) && (double)st.st_ino == want) {
      int domain = -1, type = -1, protocol = -1, port = -1, tcp_state = -1;
      socklen_t len = sizeof(int);
      getsockopt(sfd, SOL_SOCKET, SO_DOMAIN, &domain, &len);
      len = sizeof(int);
      getsockopt(sfd, SOL_SOCKET, SO_TYPE, &type, &len);
      len = sizeof(int);
      getsockopt(sfd, SOL_SOCKET, SO_PROTOCOL, &protocol, &len);
      struct sockaddr_storage ss;
      socklen_t slen = sizeof ss;
      memset(&ss, 0, sizeof ss);
      if ((domain == AF_INET || domain == AF_INET6) && getsockname(sfd, (struct sockaddr *)&ss, &slen) == 0) {
        port = ntohs(domain == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port : ((struct sockaddr_in6 *)&ss)->sin6_port);
        if (protocol == IPPROTO_TCP) {
          struct tcp_info ti;
          socklen_t tlen = sizeof ti;
          if (getsockopt(sfd, IPPROTO_TCP, TCP_INFO, &ti, &tlen) == 0 && tlen >= 1) tcp_state = ti.tcpi_state;
        }
      }
      int nsfd = ioctl(sfd, SIOCGSKNS);
      struct stat ns;
      double netns = -1;
      if (nsfd >= 0) {
        fcntl(nsfd, F_SETFD, FD_CLOEXEC);
        if (fstat(nsfd, &ns) == 0) netns = (double)ns.st_ino; else { close(nsfd); nsfd = -1; }
      }
      bool keep = nsfd >= 0 && ngiven < MAX_NSFDS;
      for (int k = 0; keep && k < ngiven; k++) if (given[k] == netns) keep = false;
      for (uint32_t k = 0; keep && k < nknown; k++) {
        double d = 0;
        napi_get_element(env, argv[3], k, &v);
        napi_get_value_double(env, v, &d);
        if (d == netns) keep = false;
      }
      if (keep) given[ngiven++] = netns;
      else if (nsfd >= 0) { close(nsfd); nsfd = -1; }
      napi_create_object(env, &item);
      set_int(env, item, "domain", domain);
      set_int(env, item, "type", type);
      set_int(env, item, "protocol", protocol);
      set_int(env, item, "port", port);
      set_int(env, item, "tcpState", tcp_state);
      set_int(env, item, "netns", netns);
      set_int(env, item, "nsfd", nsfd);
      if (domain == AF_VSOCK) vsock_address(env, sfd, item);
    }
    if (sfd >= 0) close(sfd);
    napi_set_element(env, result, i, item);
  }
  close(pidfd);
  return result;
}

int push(doubles *d, double x) {
  if (d->len == d->cap) {
    size_t cap = d->cap ? d->cap * 2 : 4096;
    double *v = realloc(d->v, cap * sizeof *v);
    if (!v) return -1;
    d->v = v; d->cap = cap;
  }
  d->v[d->len++] = x;
  return 0;
}

/* The number `s[0..len)` spells in decimal digits only (1 to max_digits of them), else -1. */
static double decimal(const char *s, size_t len, size_t max_digits) {
  if (len == 0 || len > max_digits) return -1;
  double v = 0;
  for (size_t i = 0; i < len; i++) {
    if (s[i] < '0' || s[i] > '9') return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

#define SOCKET_PREFIX "socket:["
#define IO_URING_LINK "anon_inode:[io_uring]"
#define NET_NS_PREFIX "net:["
#define LINK_BUF 64 /* any link this long or longer is none of the three above */

/* A link that is not a socket's: (pid, fd) to `uring` for an io_uring instance, (pid, fd, inode)
 * to `netns` for a network namespace file; -1: out of memory. */
static int other_link(const char *link, size_t len, double pid, double fd, doubles *uring, doubles *netns) {
  if (len == sizeof IO_URING_LINK - 1 && memcmp(link, IO_URING_LINK, len) == 0) return push(uring, pid) || push(uring, fd) ? -1 : 0;
  if (len > sizeof NET_NS_PREFIX && memcmp(link, NET_NS_PREFIX, sizeof NET_NS_PREFIX - 1) == 0 && link[len - 1] == ']') {
    double inode = decimal(link + sizeof NET_NS_PREFIX - 1, len - sizeof NET_NS_PREFIX, 15);
    if (inode >= 0 && (push(netns, pid) || push(netns, fd) || push(netns, inode))) return -1;
  }
  return 0;
}

int fd_link_kind(int root, int pid, int fd, doubles *uring, doubles *netns) {
  char path[48], link[LINK_BUF];
  snprintf(path, sizeof path, "%d/fd/%d", pid, fd);
  ssize_t len = readlinkat(root, path, link, sizeof link);
  if (len < 0 || (size_t)len >= sizeof link) return 0; /* closed meanwhile, or none of the forms */
  return other_link(link, (size_t)len, pid, fd, uring, netns);
}

/*
 * One process's fd directory, appended to `out` as: pid, n (-1: gone, -2: the directory could not
 * be read), denied (links that could not be read, not counting ENOENT: closed meanwhile), then n
 * pairs (socket inode, fd); (pid, fd) to `uring` for each io_uring instance; (pid, fd, namespace
 * inode) to `netns` for each open network namespace file (threads.ts: a namespace only an fd holds). Entries whose name
 * is not an fd number (a fixture tree, a hostile mount) are skipped, as fds.ts's JS walk does.
 */
static int walk_one(int root, int32_t pid, doubles *out, doubles *uring, doubles *netns) {
  char path[32];
  snprintf(path, sizeof path, "%d/fd", (int)pid);
  size_t head = out->len;
  if (push(out, pid) || push(out, 0) || push(out, 0)) return -1;
  int dfd = openat(root, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *dir = dfd < 0 ? NULL : fdopendir(dfd);
  if (dir == NULL) {
    int e = errno;
    if (dfd >= 0) close(dfd);
    out->v[head + 1] = e == ENOENT || e == ESRCH ? -1 : -2;
    return 0;
  }
  double n = 0, denied = 0;
  char link[LINK_BUF];
  for (;;) {
    errno = 0;
    struct dirent *de = readdir(dir);
    if (de == NULL) break; /* the end, or the process went away while listed: what was read stands */
    double fd = decimal(de->d_name, strlen(de->d_name), 10);
    if (fd < 0 || fd > 2147483647) continue;
    ssize_t len = readlinkat(dirfd(dir), de->d_name, link, sizeof link);
    if (len < 0) {
      if (errno != ENOENT) denied++;
      continue;
    }
    if ((size_t)len >= sizeof link) continue; /* truncated: longer than either form */
    size_t plen = sizeof SOCKET_PREFIX - 1;
    if ((size_t)len > plen + 1 && memcmp(link, SOCKET_PREFIX, plen) == 0 && link[len - 1] == ']') {
      double inode = decimal(link + plen, (size_t)len - plen - 1, 15);
      if (inode < 0) continue;
      if (push(out, inode) || push(out, fd)) { closedir(dir); return -1; }
      n++;
    } else if (other_link(link, (size_t)len, pid, fd, uring, netns)) { closedir(dir); return -1; }
  }
  closedir(dir);
  out->v[head + 1] = n;
  out->v[head + 2] = denied;
  return 0;
}

napi_value to_float64(napi_env env, doubles *d) {
  napi_value ab, arr;
  void *data;
  napi_create_arraybuffer(env, d->len * sizeof(double), &data, &ab);
  if (d->len) memcpy(data, d->v, d->len * sizeof(double));
  napi_create_typedarray(env, napi_float64_array, d->len, ab, 0, &arr);
  return arr;
}

// walkFds(procRoot: string, pids: number[]): [Float64Array, Float64Array, Float64Array]
// The socket fds of every process in one call, as numbers (records: see walk_one), instead of a
// string per fd link; the second array holds (pid, fd) of each io_uring instance, the third (pid,
// fd, inode) of each open network namespace file.
static napi_value walk_fds(napi_env env, napi_callback_info info) {
  char root_path[4096];
  napi_value pids;
  if (!root_and_pids(env, info, root_path, sizeof root_path, &pids, "walkFds(procRoot, pids)")) return NULL;
  uint32_t count = 0;
  napi_get_array_length(env, pids, &count);
  int root = open(root_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root < 0) return throw_errno(env, root_path, errno);
  doubles out = { NULL, 0, 0 }, uring = { NULL, 0, 0 }, netns = { NULL, 0, 0 };
  int failed = 0;
  for (uint32_t i = 0; i < count && !failed; i++) {
    napi_value v;
    int32_t pid = 0;
    if (napi_get_element(env, pids, i, &v) != napi_ok || napi_get_value_int32(env, v, &pid) != napi_ok || pid <= 0) continue;
    failed = walk_one(root, pid, &out, &uring, &netns);
  }
  close(root);
  if (failed) { free(out.v); free(uring.v); free(netns.v); return throw_errno(env, "walkFds", ENOMEM); }
  napi_value result;
  napi_create_array_with_length(env, 3, &result);
  napi_set_element(env, result, 0, to_float64(env, &out));
  napi_set_element(env, result, 1, to_float64(env, &uring));
  napi_set_element(env, result, 2, to_float64(env, &netns));
  free(out.v); free(uring.v); free(netns.v);
  return result;
}

// sameFiles(pid, tids: number[]): number[]: per thread, 1 when it shares the fd table of `pid`, 0
// when its table is another (it unshared CLONE_FILES, or the leader exited: threads.ts), -1 when
// the kernel would not compare them (gone, no kcmp). /proc names no table, so kcmp is the only way.
static napi_value same_files(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], result, v;
  int32_t pid = 0;
  bool is_array = false;
  uint32_t count = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 || napi_get_value_int32(env, argv[0], &pid) != napi_ok
      || pid <= 0 || napi_is_array(env, argv[1], &is_array) != napi_ok || !is_array) {
    napi_throw_type_error(env, NULL, "sameFiles(pid, tids)");
    return NULL;
  }
  napi_get_array_length(env, argv[1], &count);
  napi_create_array_with_length(env, count, &result);
  for (uint32_t i = 0; i < count; i++) {
    int32_t tid = 0;
    napi_get_element(env, argv[1], i, &v);
    napi_get_value_int32(env, v, &tid);
    long r = tid > 0 ? syscall(SYS_kcmp, pid, tid, 2 /* KCMP_FILES */, 0, 0) : -1;
    napi_create_int32(env, r == 0 ? 1 : r > 0 ? 0 : -1, &v);
    napi_set_element(env, result, i, v);
  }
  return result;
}

/* SipHash-2-4 (Aumasson and Bernstein), keyed at load with random bytes: a local user who chooses
 * ports, addresses and names cannot make two different replies hash alike without the key. */
static uint64_t sip_key[2];
#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND do { v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32); v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2; \
  v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0; v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32); } while (0)
static uint64_t siphash(const unsigned char *in, size_t len) {
  uint64_t v0 = 0x736f6d6570736575ULL ^ sip_key[0], v1 = 0x646f72616e646f6dULL ^ sip_key[1];
  uint64_t v2 = 0x6c7967656e657261ULL ^ sip_key[0], v3 = 0x7465646279746573ULL ^ sip_key[1];
  const unsigned char *end = in + len - (len % 8);
  for (; in != end; in += 8) {
    uint64_t m;
    memcpy(&m, in, 8); /* the host's order: a hash compared only within this process */
    v3 ^= m; SIPROUND; SIPROUND; v0 ^= m;
  }
  uint64_t b = ((uint64_t)len) << 56;
  for (size_t i = 0; i < len % 8; i++) b |= ((uint64_t)in[i]) << (8 * i);
  v3 ^= b; SIPROUND; SIPROUND; v0 ^= b;
  v2 ^= 0xff; SIPROUND; SIPROUND; SIPROUND; SIPROUND;
  return v0 ^ v1 ^ v2 ^ v3;
}

enum { DIGEST_INET = 0, DIGEST_UDP = 1, DIGEST_UNIX = 2, DIGEST_PACKET = 3 };

/* The kept messages of a reply, compacted in place, with what changes by itself zeroed (the
 * query's seq and port id; an inet socket's timers and queues); the recorded inodes to `inodes`.
 * unix: only named sockets that listen, are unconnected, or are datagram (snapshot/select.ts);
 * udp: a socket without a port is hashed but records nothing. Returns the kept length, or -errno. */
static long normalize(bytes *b, int kind, bytes *inodes) {
  size_t kept = 0;
  for (size_t at = 0; at + NLMSG_HDRLEN <= b->len;) {
    struct nlmsghdr *h = (struct nlmsghdr *)(b->data + at);
    size_t len = h->nlmsg_len;
    if (len < NLMSG_HDRLEN || at + len > b->len) break;
    size_t step = NLMSG_ALIGN(len) <= b->len - at ? NLMSG_ALIGN(len) : len;
    h->nlmsg_seq = 0;
    h->nlmsg_pid = 0;
    bool keep = true;
    uint32_t inode = 0;
    /* an inet reply to the compat TCPDIAG_GETSOCK request has that type */
    if (h->nlmsg_type == SOCK_DIAG_BY_FAMILY || (h->nlmsg_type == TCPDIAG_GETSOCK && kind == DIGEST_INET)) {
      size_t body = len - NLMSG_HDRLEN;
      if (kind == DIGEST_UNIX) {
        keep = false;
        if (body >= sizeof(struct unix_diag_msg)) {
          struct unix_diag_msg *m = NLMSG_DATA(h);
          bool named = false;
          int alen = (int)(body - NLMSG_ALIGN(sizeof *m));
          for (struct rtattr *a = (struct rtattr *)((char *)m + NLMSG_ALIGN(sizeof *m)); RTA_OK(a, alen); a = RTA_NEXT(a, alen)) {
            if ((a->rta_type & 0x3fff) == UNIX_DIAG_NAME && RTA_PAYLOAD(a) > 0) { named = true; break; }
          }
          keep = named && (m->udiag_state == 10 || m->udiag_state == 7 || m->udiag_type == SOCK_DGRAM);
          inode = m->udiag_ino;
        }
      } else if (kind == DIGEST_PACKET) {
        if (body >= sizeof(struct packet_diag_msg)) inode = ((struct packet_diag_msg *)NLMSG_DATA(h))->pdiag_ino;
      } else if (body >= sizeof(struct inet_diag_msg)) {
        struct inet_diag_msg *m = NLMSG_DATA(h);
        m->idiag_timer = 0; m->idiag_retrans = 0;
        m->idiag_expires = 0; m->idiag_rqueue = 0; m->idiag_wqueue = 0;
        if (!(kind == DIGEST_UDP && m->id.idiag_sport == 0)) inode = m->idiag_inode;
      }
    }
    if (keep) {
      if (inode != 0) { int r = append(inodes, &inode, sizeof inode); if (r < 0) return r; }
      if (kept != at) memmove(b->data + kept, b->data + at, step); /* forward only: nothing unread is overwritten */
      kept += step;
    }
    at += step;
  }
  return (long)kept;
}

// digest(nsFile: string | null, inode: number, protocol: number, requests: Buffer[], kinds: number[],
//   wantInodes: boolean): ([hash: string, recorded: number, inodes: Uint32Array | null] | number)[]
// As query(), but each reply is kept as lsm watch's probe compares it (normalize above) and handed
// back as a 16-hex-digit keyed hash, the count of recorded sockets and, when asked, their inodes:
// nothing of the bytes crosses into JS (at 10k sockets, half a megabyte a look otherwise).
static napi_value digest(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 6) {
    napi_throw_type_error(env, NULL, "digest(nsFile, inode, protocol, requests, kinds, wantInodes)");
    return NULL;
  }
  char path[4096];
  const char *ns_file = NULL;
  if (!ns_file_arg(env, argv[0], path, sizeof path, &ns_file)) return NULL;
  double inode = 0;
  int32_t protocol = 0;
  uint32_t count = 0, nkinds = 0;
  bool is_array = false, kinds_array = false, want = false;
  napi_get_value_double(env, argv[1], &inode);
  napi_get_value_int32(env, argv[2], &protocol);
  napi_is_array(env, argv[3], &is_array);
  napi_is_array(env, argv[4], &kinds_array);
  napi_get_value_bool(env, argv[5], &want);
  if (!is_array || !kinds_array) { napi_throw_type_error(env, NULL, "requests, kinds: arrays"); return NULL; }
  napi_get_array_length(env, argv[3], &count);
  napi_get_array_length(env, argv[4], &nkinds);
  if (nkinds != count) { napi_throw_type_error(env, NULL, "requests and kinds: arrays of one length"); return NULL; }

  int fd = open_dump_socket(ns_file, inode, protocol);
  if (fd < 0) return throw_errno(env, ns_file ? ns_file : "netlink", -fd);
  /* kept from call to call (a look a second): a reply's buffer past glibc's mmap threshold would
   * be mapped, faulted in page by page and unmapped again at every look */
  static __thread char *buf = NULL;
  static __thread bytes out = { NULL, 0, 0 }, inodes = { NULL, 0, 0 };
  if (!buf) buf = malloc(RECV_SIZE);
  if (!buf) { close(fd); return throw_errno(env, "netlink", ENOMEM); }
  napi_value result;
  napi_create_array_with_length(env, count, &result);
  for (uint32_t i = 0; i < count; i++) {
    napi_value req, k, item;
    void *data;
    size_t len;
    bool is_buffer = false;
    int32_t kind = -1;
    napi_get_element(env, argv[3], i, &req);
    napi_is_buffer(env, req, &is_buffer);
    napi_get_element(env, argv[4], i, &k);
    napi_get_value_int32(env, k, &kind);
    if (!is_buffer || napi_get_buffer_info(env, req, &data, &len) != napi_ok || len < sizeof(struct nlmsghdr) || kind < DIGEST_INET || kind > DIGEST_PACKET) {
      close(fd);
      napi_throw_type_error(env, NULL, "a request is a Buffer holding one nlmsghdr, its kind 0 to 3");
      return NULL;
    }
    out.len = 0;
    inodes.len = 0;
    int r = dump(fd, data, len, &out, buf, 0, NULL);
    long kept = r < 0 ? r : normalize(&out, kind, &inodes);
    if (kept < 0) napi_create_int32(env, (int32_t)-kept, &item);
    else {
      char hex[17];
      snprintf(hex, sizeof hex, "%016llx", (unsigned long long)siphash((const unsigned char *)out.data, (size_t)kept));
      napi_value h, n, list;
      napi_create_string_latin1(env, hex, 16, &h);
      napi_create_uint32(env, (uint32_t)(inodes.len / sizeof(uint32_t)), &n);
      if (want) {
        napi_value ab;
        void *d;
        napi_create_arraybuffer(env, inodes.len, &d, &ab);
        if (inodes.len) memcpy(d, inodes.data, inodes.len);
        napi_create_typedarray(env, napi_uint32_array, inodes.len / sizeof(uint32_t), ab, 0, &list);
      } else napi_get_null(env, &list);
      napi_create_array_with_length(env, 3, &item);
      napi_set_element(env, item, 0, h);
      napi_set_element(env, item, 1, n);
      napi_set_element(env, item, 2, list);
    }
    napi_set_element(env, result, i, item);
  }
  /* a one-off large dump does not stay in memory */
  if (out.cap > (8u << 20)) { free(out.data); out.data = NULL; out.cap = 0; }
  if (inodes.cap > (8u << 20)) { free(inodes.data); inodes.data = NULL; inodes.cap = 0; }
  out.len = inodes.len = 0;
  close(fd);
  return result;
}

// socketsIn(nsFile: string, inode: number): number
// How many sockets processes made in the namespace nsFile names (if it still is `inode`): the
// kernel's count ("sockets: used" of its sockstat, read from inside it: setns on this thread, read
// /proc/thread-self/net/sockstat, setns back), or -1 when that cannot be told. 0 means it holds no
// socket at all, so nothing a snapshot records: the watch probe's look skips its dumps.
static napi_value sockets_in(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], result;
  char path[4096];
  size_t len = 0;
  double want = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2
      || napi_get_value_string_utf8(env, argv[0], path, sizeof path, &len) != napi_ok || len >= sizeof path - 1
      || napi_get_value_double(env, argv[1], &want) != napi_ok) {
    napi_throw_type_error(env, NULL, "socketsIn(nsFile, inode)");
    return NULL;
  }
  long used = -1;
  int target = open(path, O_RDONLY | O_CLOEXEC);
  int self = target < 0 ? -1 : open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  struct stat ts;
  if (self >= 0 && fstat(target, &ts) == 0 && (double)ts.st_ino == want && setns(target, CLONE_NEWNET) == 0) {
    char text[1024];
    int fd = open("/proc/thread-self/net/sockstat", O_RDONLY | O_CLOEXEC);
    ssize_t n = fd < 0 ? -1 : read(fd, text, sizeof text - 1);
    if (fd >= 0) close(fd);
    if (setns(self, CLONE_NEWNET) < 0) {
      fprintf(stderr, "lsm: cannot return to the own network namespace: %s\n", strerror(errno));
      abort();
    }
    if (n > 0) {
      text[n] = 0;
      const char *at = strstr(text, "sockets: used ");
      if (at == text) {
        char *end;
        long v = strtol(at + 14, &end, 10);
        if (end != at + 14 && *end == '\n' && v >= 0) used = v;
      }
    }
  }
  if (self >= 0) close(self);
  if (target >= 0) close(target);
  napi_create_double(env, (double)used, &result);
  return result;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "query", NAPI_AUTO_LENGTH, query, NULL, &fn);
  napi_set_named_property(env, exports, "query", fn);
  napi_create_function(env, "inspect", NAPI_AUTO_LENGTH, inspect, NULL, &fn);
  napi_set_named_property(env, exports, "inspect", fn);
  napi_create_function(env, "walkFds", NAPI_AUTO_LENGTH, walk_fds, NULL, &fn);
  napi_set_named_property(env, exports, "walkFds", fn);
  napi_create_function(env, "sameFiles", NAPI_AUTO_LENGTH, same_files, NULL, &fn);
  napi_set_named_property(env, exports, "sameFiles", fn);
  napi_create_function(env, "socketsIn", NAPI_AUTO_LENGTH, sockets_in, NULL, &fn);
  napi_set_named_property(env, exports, "socketsIn", fn);
  register_socket_owners(env, exports);
  if (getrandom(sip_key, sizeof sip_key, 0) != (ssize_t)sizeof sip_key) {
    /* no key: no digest (the probe compares the bytes instead) */
  } else {
    napi_create_function(env, "digest", NAPI_AUTO_LENGTH, digest, NULL, &fn);
    napi_set_named_property(env, exports, "digest", fn);
  }
  return exports;
}

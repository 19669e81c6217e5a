// The one thing Node cannot do itself: talk netlink. query(nsFile, inode, protocol, requests)
// opens a netlink socket of `protocol` inside the network namespace `nsFile` names (a netlink
// socket stays bound to the namespace it was created in, so only the socket() call happens there:
// setns on this thread, socket, setns back), sends each request (a whole nlmsghdr built by the
// caller) and returns, per request, the concatenated reply messages as a Buffer, or the errno the
// kernel answered (a number). Parsing is the caller's: this file only moves bytes.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <node_api.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#define RECV_SIZE 65536
#define MAX_REPLY (1u << 30) /* bound on one dump: 1 GiB */

static napi_value throw_errno(napi_env env, const char *what, int err) {
  char msg[4400];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  char code[16];
  snprintf(code, sizeof code, "%d", err);
  napi_throw_error(env, code, msg);
  return NULL;
}

/* A netlink socket in the namespace of nsFile (NULL: this thread's own); -errno on failure. */
static int open_in_namespace(const char *ns_file, double want_inode, int protocol) {
  if (ns_file == NULL) return socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol);
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
    return socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol);
  }
  if (setns(target, CLONE_NEWNET) < 0) { int e = errno; close(target); close(self); return -e; }
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol);
  int e = errno;
  if (setns(self, CLONE_NEWNET) < 0) {
    // this thread would go on in a namespace not its own: nothing after could be trusted
    fprintf(stderr, "lsm: cannot return to the own network namespace: %s\n", strerror(errno));
    abort();
  }
  close(target); close(self);
  return fd < 0 ? -e : fd;
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

/* Send one request, collect every reply until NLMSG_DONE: 0, or -errno. */
static int dump(int fd, const void *req, size_t req_len, bytes *out, char *buf) {
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
      int r = append(out, h, NLMSG_ALIGN(h->nlmsg_len) <= (size_t)n ? NLMSG_ALIGN(h->nlmsg_len) : h->nlmsg_len);
      if (r < 0) return r;
    }
  }
}

// query(nsFile: string | null, inode: number, protocol: number, requests: Buffer[]): (Buffer | number)[]
static napi_value query(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 4) {
    napi_throw_type_error(env, NULL, "query(nsFile, inode, protocol, requests)");
    return NULL;
  }
  char path[4096];
  const char *ns_file = NULL;
  napi_valuetype t;
  napi_typeof(env, argv[0], &t);
  if (t == napi_string) {
    size_t len;
    if (napi_get_value_string_utf8(env, argv[0], path, sizeof path, &len) != napi_ok || len >= sizeof path - 1) {
      napi_throw_type_error(env, NULL, "nsFile: a path of less than 4095 bytes");
      return NULL;
    }
    ns_file = path;
  }
  double inode = 0;
  int32_t protocol = 0;
  uint32_t count = 0;
  bool is_array = false;
  napi_get_value_double(env, argv[1], &inode);
  napi_get_value_int32(env, argv[2], &protocol);
  napi_is_array(env, argv[3], &is_array);
  if (!is_array) { napi_throw_type_error(env, NULL, "requests: an array of Buffers"); return NULL; }
  napi_get_array_length(env, argv[3], &count);

  int fd = open_in_namespace(ns_file, inode, protocol);
  if (fd < 0) return throw_errno(env, ns_file ? ns_file : "netlink", -fd);
  struct timeval timeout = { .tv_sec = 10 }; // a dump never waits on a peer; bound it anyway
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
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
    bytes out = { NULL, 0, 0 };
    int r = dump(fd, data, len, &out, buf);
    if (r < 0) napi_create_int32(env, -r, &item);
    else napi_create_buffer_copy(env, out.len, out.len ? out.data : "", NULL, &item);
    free(out.data);
    napi_set_element(env, result, i, item);
  }
  free(buf);
  close(fd);
  return result;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "query", NAPI_AUTO_LENGTH, query, NULL, &fn);
  napi_set_named_property(env, exports, "query", fn);
  return exports;
}

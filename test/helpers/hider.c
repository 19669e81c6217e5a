// Hostile ways to hold a listener that no /proc/<pid>/fd link names (issue 18, hostile review):
//   hider inflight PORT [away]  a listener sent by SCM_RIGHTS into a unix socket's queue, its own
//                               fd closed: only the queue holds it (this process holds the
//                               receiving socket)
//   hider regring PORT [away]   a listener in a ring's fixed-file table, the ring's own fd closed
//                               after IORING_REGISTER_RING_FDS: no fdinfo names the ring any more
//   hider bigring PORT [away]   a listener in a ring's fixed-file table beside 512 slots of a file
//                               whose escaped path is ~20 KiB long (made under the current
//                               directory): the ring's fdinfo runs to ~10 MiB; the listener's fd closed
//   hider backlog PORT [away]   the listener sent by SCM_RIGHTS over a unix connection not yet
//                               accepted, both ends' fds then closed: only the waiting connection
//                               in a unix listener's accept queue holds it (this process holds
//                               that listener, bound to an autobound abstract name)
//   hider passonce PORT         the listener sent into a socketpair's queue, received back (and
//                               closed) on SIGUSR1: a pass that ends, as systemd's and dbus's do
//   hider passing PORT          the listener sent and received back at once, every millisecond
// away: the listener is made by a thread in a network namespace of its own (a user namespace
// first when not root), which then exits: only the listener keeps that namespace alive.
// Prints "ready <pid>" and sleeps until killed. Exit 2: the kernel refused a step this needs.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>
#include <linux/io_uring.h>

static int port;
static int listener = -1;

static void die(const char *what, int code) { fprintf(stderr, "hider: %s: %s\n", what, strerror(errno)); exit(code); }

static volatile sig_atomic_t take_back;
static void on_usr1(int sig) { (void)sig; take_back = 1; }

// one SCM_RIGHTS message carrying fd, into `to`
static void send_fd(int to, int fd) {
  char byte = 0;
  struct iovec iov = { &byte, 1 };
  char ctl[CMSG_SPACE(sizeof(int))];
  memset(ctl, 0, sizeof ctl);
  struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof ctl };
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof(int));
  if (sendmsg(to, &msg, 0) != 1) die("sendmsg", 1);
}

// receive one message from `from` and close the fd it carried
static void receive_fd(int from) {
  char byte;
  struct iovec iov = { &byte, 1 };
  char ctl[CMSG_SPACE(sizeof(int))];
  struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof ctl };
  if (recvmsg(from, &msg, 0) != 1) die("recvmsg", 1);
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  int fd;
  if (c == NULL || c->cmsg_type != SCM_RIGHTS) die("no fd received", 1);
  memcpy(&fd, CMSG_DATA(c), sizeof(int));
  close(fd);
}

static void *make_listener(void *away) {
  if (away && unshare(CLONE_NEWNET) != 0) die("unshare net", 2);
  int s = socket(AF_INET, SOCK_STREAM, 0);
  if (s < 0) die("socket", 1);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((unsigned short)port);
  if (bind(s, (struct sockaddr *)&a, sizeof a) != 0) die("bind", 1);
  if (listen(s, 8) != 0) die("listen", 1);
  listener = s;
  return NULL;
}

int main(int argc, char **argv) {
  if (argc < 3) { fprintf(stderr, "usage: hider inflight|regring|bigring PORT [away]\n"); return 1; }
  port = atoi(argv[2]);
  int away = argc > 3 && strcmp(argv[3], "away") == 0;
  if (away && geteuid() != 0 && unshare(CLONE_NEWUSER) != 0) die("unshare user", 2);
  pthread_t t;
  // a thread's own namespace goes with it: the listener is all that is left of it
  if (pthread_create(&t, NULL, make_listener, away ? (void *)1 : NULL) != 0 || pthread_join(t, NULL) != 0) die("thread", 1);
  if (strcmp(argv[1], "inflight") == 0) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) != 0) die("socketpair", 1);
    send_fd(sv[1], listener);
    close(listener);
    close(sv[1]); // sv[0] holds the message, and in it the listener
  } else if (strcmp(argv[1], "backlog") == 0) {
    int l = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    socklen_t alen = sizeof(sa_family_t); // autobind: an abstract name the kernel picks
    if (l < 0 || bind(l, (struct sockaddr *)&a, alen) != 0 || listen(l, 4) != 0) die("unix listener", 1);
    alen = sizeof a;
    if (getsockname(l, (struct sockaddr *)&a, &alen) != 0) die("getsockname", 1);
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    if (c < 0 || connect(c, (struct sockaddr *)&a, alen) != 0) die("connect", 1);
    send_fd(c, listener);
    close(listener);
    close(c); // the connection waits in l's queue, never accepted, the listener in its message
  } else if (strcmp(argv[1], "passonce") == 0 || strcmp(argv[1], "passing") == 0) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) != 0) die("socketpair", 1);
    if (argv[1][4] == 'i') {
      printf("ready %d\n", (int)getpid());
      fflush(stdout);
      for (;;) { send_fd(sv[1], listener); receive_fd(sv[0]); usleep(1000); }
    }
    signal(SIGUSR1, on_usr1);
    send_fd(sv[1], listener);
    printf("ready %d\n", (int)getpid());
    fflush(stdout);
    for (;;) { pause(); if (take_back) { take_back = 0; receive_fd(sv[0]); } }
  } else if (strcmp(argv[1], "regring") == 0) {
    struct io_uring_params p;
    memset(&p, 0, sizeof p);
    int ring = (int)syscall(__NR_io_uring_setup, 4, &p);
    if (ring < 0) die("io_uring_setup", errno == ENOSYS || errno == EPERM ? 2 : 1);
    int files[1] = { listener };
    if (syscall(__NR_io_uring_register, ring, IORING_REGISTER_FILES, files, 1) != 0) die("IORING_REGISTER_FILES", 1);
    struct io_uring_rsrc_update up = { .offset = -1U, .data = (unsigned long long)ring };
    if (syscall(__NR_io_uring_register, ring, IORING_REGISTER_RING_FDS, &up, 1) != 1) die("IORING_REGISTER_RING_FDS", 2);
    close(listener);
    close(ring); // the ring lives on in this task's registered rings only
  } else if (strcmp(argv[1], "bigring") == 0) {
    // a file 20 directories of 255 backslashes deep, under the current directory: the kernel prints
    // each backslash as 4 bytes, so each slot holding it is a line of ~20 KiB
    char name[256];
    memset(name, '\\', 255);
    name[255] = 0;
    for (int depth = 0; depth < 20; depth++) {
      if (mkdir(name, 0700) != 0 && errno != EEXIST) die("mkdir", 1);
      if (chdir(name) != 0) die("chdir", 1);
    }
    int big = open("f", O_RDONLY | O_CREAT, 0600);
    if (big < 0) die("open", 1);
    struct io_uring_params p;
    memset(&p, 0, sizeof p);
    int ring = (int)syscall(__NR_io_uring_setup, 4, &p);
    if (ring < 0) die("io_uring_setup", errno == ENOSYS || errno == EPERM ? 2 : 1);
    enum { SLOTS = 512 }; // ~10 MiB of fdinfo
    int files[SLOTS + 1];
    files[0] = listener;
    for (int i = 1; i <= SLOTS; i++) files[i] = big;
    if (syscall(__NR_io_uring_register, ring, IORING_REGISTER_FILES, files, SLOTS + 1) != 0) die("IORING_REGISTER_FILES", 1);
    close(listener);
    close(big);
  } else {
    fprintf(stderr, "hider: unknown mode %s\n", argv[1]);
    return 1;
  }
  printf("ready %d\n", (int)getpid());
  fflush(stdout);
  for (;;) pause();
}

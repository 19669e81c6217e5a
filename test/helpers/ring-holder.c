// A listener hidden in an io_uring's fixed-file table (issue 18.3), with raw syscalls (no liburing):
//   ring-holder PORT stay   listen on 0.0.0.0:PORT here, register it in a ring, close the plain fd
//   ring-holder PORT leave  the same in a new network namespace (unshare), then go back to the one
//                           it started in: only the ring keeps that namespace alive
//   ring-holder PORT leave-sqpoll  the same with an IORING_SETUP_SQPOLL ring, whose kernel thread
//                           (iou-sqp-<pid>) stays in the namespace the ring was made in
//   ring-holder 0 probe     only say whether io_uring can be set up here (exit 0 or 2)
// then prints "ready <pid> <ring fd>" and sleeps until killed. Exit 2: io_uring refused (the
// message says why: ENOSYS, or EPERM with kernel.io_uring_disabled), exit 1: anything else.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/io_uring.h>

static int fail(const char *what) { fprintf(stderr, "ring-holder: %s: %s\n", what, strerror(errno)); return 1; }

int main(int argc, char **argv) {
  if (argc != 3) { fprintf(stderr, "usage: ring-holder PORT stay|leave|leave-sqpoll|probe\n"); return 1; }
  int leave = strncmp(argv[2], "leave", 5) == 0;
  int home = -1;
  if (leave) {
    home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    if (home < 0) return fail("open own netns");
    if (unshare(CLONE_NEWNET) != 0) return fail("unshare");
  }
  struct io_uring_params p;
  memset(&p, 0, sizeof p);
  if (strcmp(argv[2], "leave-sqpoll") == 0) p.flags = IORING_SETUP_SQPOLL;
  int ring = (int)syscall(__NR_io_uring_setup, 4, &p);
  if (ring < 0) {
    fprintf(stderr, "ring-holder: io_uring_setup: %s\n", strerror(errno));
    return errno == ENOSYS || errno == EPERM ? 2 : 1;
  }
  if (strcmp(argv[2], "probe") == 0) return 0;
  int s = socket(AF_INET, SOCK_STREAM, 0);
  if (s < 0) return fail("socket");
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((unsigned short)atoi(argv[1]));
  if (bind(s, (struct sockaddr *)&a, sizeof a) != 0) return fail("bind");
  if (listen(s, 8) != 0) return fail("listen");
  int files[1] = { s };
  if (syscall(__NR_io_uring_register, ring, IORING_REGISTER_FILES, files, 1) != 0) return fail("IORING_REGISTER_FILES");
  close(s); // from here on only the ring holds the listener
  if (leave) {
    if (setns(home, CLONE_NEWNET) != 0) return fail("setns back");
    close(home);
  }
  printf("ready %d %d\n", (int)getpid(), ring);
  fflush(stdout);
  for (;;) pause();
}

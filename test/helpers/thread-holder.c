// A listener held by a thread that does not share its process's view (collect/threads.ts):
//   thread-holder PORT files        the thread unshares CLONE_FILES: its fd table is its own
//   thread-holder PORT files-same-count  the same, and it closes one fd of its copy: its table has
//                                   as many fds as the leader's (stat's size of both fd dirs agree)
//   thread-holder PORT net          CLONE_FILES and CLONE_NEWNET: its own table and namespace
//   thread-holder PORT net-back     the same, then it goes back to the process's namespace: only
//                                   its own fd keeps the new namespace alive
//   thread-holder PORT leader-exit  files, then the main thread calls pthread_exit (a zombie leader)
// The thread listens on 0.0.0.0:PORT (lo up in a new namespace), then the process prints
// "ready <pid> <tid>" and sleeps until killed. Exit 1 on any failure, with the reason on stderr.
#define _GNU_SOURCE
#include <fcntl.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

static const char *mode;
static int port, ready, tid;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t done = PTHREAD_COND_INITIALIZER;

static void die(const char *what) { fprintf(stderr, "thread-holder: %s: %s\n", what, strerror(errno)); exit(1); }

static void lo_up(void) {
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  strcpy(ifr.ifr_name, "lo");
  if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) != 0) die("lo");
  ifr.ifr_flags |= IFF_UP;
  if (ioctl(s, SIOCSIFFLAGS, &ifr) != 0) die("lo up");
  close(s);
}

static void *run(void *arg) {
  (void)arg;
  int net = strncmp(mode, "net", 3) == 0;
  int home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (home < 0) die("open own netns");
  if (unshare(CLONE_FILES | (net ? CLONE_NEWNET : 0)) != 0) die("unshare");
  if (net) lo_up();
  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
  if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) != 0 || listen(s, 5) != 0) die("listen");
  if (strcmp(mode, "net-back") == 0 && setns(home, CLONE_NEWNET) != 0) die("setns back");
  if (strcmp(mode, "files-same-count") == 0) close(home); // one in, one out: the leader's count
  pthread_mutex_lock(&lock);
  tid = (int)syscall(SYS_gettid);
  ready = 1;
  pthread_cond_signal(&done);
  pthread_mutex_unlock(&lock);
  for (;;) pause();
  return NULL;
}

int main(int argc, char **argv) {
  if (argc != 3) { fprintf(stderr, "usage: thread-holder PORT files|files-same-count|net|net-back|leader-exit\n"); return 1; }
  port = atoi(argv[1]);
  mode = argv[2];
  pthread_t t;
  if (pthread_create(&t, NULL, run, NULL) != 0) die("pthread_create");
  pthread_mutex_lock(&lock);
  while (!ready) pthread_cond_wait(&done, &lock);
  pthread_mutex_unlock(&lock);
  printf("ready %d %d\n", getpid(), tid);
  fflush(stdout);
  if (strcmp(mode, "leader-exit") == 0) pthread_exit(NULL);
  for (;;) pause();
}

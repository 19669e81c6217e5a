// socketOwners(procRoot, pids): what walkFds (sockdiag.c) reads with one readlink per open file,
// read from the kernel in one pass by a BPF task_file iterator (Linux >= 5.8, BTF): every
// (process, fd, socket inode), and the (process, fd) of each anon-inode and nsfs file, whose
// link is then read as walkFds reads it (io_uring instances, network namespace files).
// Built with a C compiler alone: the program is assembled here as struct bpf_insn[], every struct
// offset it needs comes from the running kernel's BTF (/sys/kernel/btf/vmlinux), and it is loaded
// with the raw bpf() syscall. Any refusal (not root, no BTF, an older kernel, the verifier) is
// thrown as an Error whose message says why; the caller then walks /proc.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <node_api.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "owners.h"

#define SOCKFS_MAGIC 0x534F434B
#define ANON_INODE_FS_MAGIC 0x09041934
#define NSFS_MAGIC 0x6e736673
#define OTHER_FILE 0x80000000u /* in a record's pid: not a socket, read its link */
#define MAX_LEVELS 33 /* pid namespaces nest 32 deep (MAX_PID_NS_LEVEL) below the first */
#define MAX_RECORDS (1u << 26)  /* 1 GiB of records: beyond any host */

/* ---- BTF: the running kernel's types ---- */

struct btf_header_ { uint16_t magic; uint8_t version, flags; uint32_t hdr_len, type_off, type_len, str_off, str_len; };
struct btf_type_ { uint32_t name_off, info, size_or_type; };
struct btf_member_ { uint32_t name_off, type, offset; };
struct btf_param_ { uint32_t name_off, type; };
struct btf_array_ { uint32_t type, index_type, nelems; };

enum { K_INT = 1, K_PTR, K_ARRAY, K_STRUCT, K_UNION, K_ENUM, K_FWD, K_TYPEDEF, K_VOLATILE, K_CONST, K_RESTRICT,
       K_FUNC, K_FUNC_PROTO, K_VAR, K_DATASEC, K_FLOAT, K_DECL_TAG, K_TYPE_TAG, K_ENUM64 };

typedef struct {
  char *raw;
  void *map; /* raw, when mapped */
  size_t map_len;
  const char *strs;
  uint32_t str_len, count;
  const struct btf_type_ **types; /* by id; types[0] unused (void) */
} btf;

#define KIND(t) (((t)->info >> 24) & 0x1f)
#define VLEN(t) ((t)->info & 0xffff)
#define KFLAG(t) ((t)->info >> 31)

static const char *btf_name(const btf *b, uint32_t off) { return off < b->str_len ? b->strs + off : ""; }

static void btf_free(btf *b) { if (b->map) munmap(b->map, b->map_len); else free(b->raw); free(b->types); }

/* Reads and indexes /sys/kernel/btf/vmlinux; 0, or an errno with `why` set. */
static int btf_load(btf *b, char *why, size_t why_size) {
  memset(b, 0, sizeof *b);
  int fd = open("/sys/kernel/btf/vmlinux", O_RDONLY | O_CLOEXEC);
  if (fd < 0) { int e = errno; snprintf(why, why_size, "no kernel BTF (/sys/kernel/btf/vmlinux: %s)", strerror(e)); return e; }
  /* mapped where the kernel allows it (6.16), else read: sysfs hands it out a page a read() */
  struct stat st;
  size_t len = 0;
  if (fstat(fd, &st) == 0 && st.st_size > 0 && st.st_size < (256 << 20)) {
    void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (m != MAP_FAILED) { b->map = m; b->map_len = len = (size_t)st.st_size; b->raw = m; }
  }
  for (size_t cap = 8u << 20; b->map == NULL;) {
    if (b->raw == NULL && (b->raw = malloc(cap)) == NULL) { close(fd); return ENOMEM; }
    if (len == cap) { if (cap >= (256u << 20)) break; char *r = realloc(b->raw, cap *= 2); if (!r) { close(fd); return ENOMEM; } b->raw = r; }
    ssize_t n = read(fd, b->raw + len, cap - len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) { int e = errno; close(fd); snprintf(why, why_size, "kernel BTF unreadable: %s", strerror(e)); return e; }
    if (n == 0) break;
    len += (size_t)n;
  }
  close(fd);
  struct btf_header_ h;
  if (len < sizeof h) goto bad;
  memcpy(&h, b->raw, sizeof h);
  if (h.magic != 0xeB9F || h.hdr_len > len || (uint64_t)h.hdr_len + h.type_off + h.type_len > len
      || (uint64_t)h.hdr_len + h.str_off + h.str_len > len || h.str_len == 0) goto bad;
  b->strs = b->raw + h.hdr_len + h.str_off;
  b->str_len = h.str_len;
  const char *p = b->raw + h.hdr_len + h.type_off, *end = p + h.type_len;
  size_t tcap = 1u << 17;
  b->types = malloc(tcap * sizeof *b->types);
  if (!b->types) return ENOMEM;
  b->count = 1;
  while (p + sizeof(struct btf_type_) <= end) {
    const struct btf_type_ *t = (const void *)p;
    size_t extra;
    switch (KIND(t)) {
      case K_INT: case K_VAR: case K_DECL_TAG: extra = 4; break;
      case K_ARRAY: extra = sizeof(struct btf_array_); break;
      case K_STRUCT: case K_UNION: extra = VLEN(t) * sizeof(struct btf_member_); break;
      case K_ENUM: extra = VLEN(t) * 8; break;
      case K_FUNC_PROTO: extra = VLEN(t) * sizeof(struct btf_param_); break;
      case K_DATASEC: case K_ENUM64: extra = VLEN(t) * 12; break;
      case K_PTR: case K_FWD: case K_TYPEDEF: case K_VOLATILE: case K_CONST: case K_RESTRICT:
      case K_FUNC: case K_FLOAT: case K_TYPE_TAG: extra = 0; break;
      default: goto bad; /* a kind this reader does not know: the offsets after it would be guesses */
    }
    if (p + sizeof *t + extra > end) goto bad;
    if (b->count == tcap) {
      tcap *= 2;
      const struct btf_type_ **more = realloc(b->types, tcap * sizeof *more);
      if (!more) return ENOMEM;
      b->types = more;
    }
    b->types[b->count++] = t;
    p += sizeof *t + extra;
  }
  return 0;
bad:
  snprintf(why, why_size, "kernel BTF not understood");
  return EINVAL;
}

static const struct btf_type_ *btf_type(const btf *b, uint32_t id) { return id > 0 && id < b->count ? b->types[id] : NULL; }

/* The id of the type of `kind` named `name`, 0 when none (a STRUCT only with members: not a forward). */
static uint32_t btf_find(const btf *b, uint32_t kind, const char *name) {
  for (uint32_t id = 1; id < b->count; id++) {
    const struct btf_type_ *t = b->types[id];
    if (KIND(t) == kind && strcmp(btf_name(b, t->name_off), name) == 0 && (kind != K_STRUCT || VLEN(t) > 0)) return id;
  }
  return 0;
}

/* Through typedefs and qualifiers to the type itself. */
static uint32_t btf_resolve(const btf *b, uint32_t id) {
  for (int guard = 0; guard < 32; guard++) {
    const struct btf_type_ *t = btf_type(b, id);
    if (!t) return 0;
    int k = KIND(t);
    if (k != K_TYPEDEF && k != K_VOLATILE && k != K_CONST && k != K_RESTRICT && k != K_TYPE_TAG) return id;
    id = t->size_or_type;
  }
  return 0;
}

static uint64_t btf_size(const btf *b, uint32_t id) {
  const struct btf_type_ *t = btf_type(b, btf_resolve(b, id));
  if (!t) return 0;
  switch (KIND(t)) {
    case K_PTR: return 8;
    case K_INT: case K_STRUCT: case K_UNION: case K_ENUM: case K_ENUM64: return t->size_or_type;
    case K_ARRAY: { const struct btf_array_ *a = (const void *)(t + 1); return a->nelems * btf_size(b, a->type); }
    default: return 0;
  }
}

/* Member `name` of struct/union `id` (also inside anonymous members): its byte offset and type. */
static int btf_member(const btf *b, uint32_t id, const char *name, uint32_t *off, uint32_t *type, int depth) {
  const struct btf_type_ *t = btf_type(b, btf_resolve(b, id));
  if (!t || (KIND(t) != K_STRUCT && KIND(t) != K_UNION) || depth > 8) return -1;
  const struct btf_member_ *m = (const void *)(t + 1);
  for (uint32_t i = 0; i < VLEN(t); i++) {
    uint32_t bits = KFLAG(t) ? m[i].offset & 0xffffff : m[i].offset;
    if (KFLAG(t) && (m[i].offset >> 24) != 0) continue; /* a bitfield */
    const char *n = btf_name(b, m[i].name_off);
    uint32_t inner_off, inner_type;
    if (*n == 0 && btf_member(b, m[i].type, name, &inner_off, &inner_type, depth + 1) == 0) {
      if (bits % 8) return -1;
      *off = bits / 8 + inner_off; *type = inner_type; return 0;
    }
    if (strcmp(n, name) == 0) {
      if (bits % 8) return -1;
      *off = bits / 8; *type = m[i].type; return 0;
    }
  }
  return -1;
}

/* ---- the program ---- */

typedef struct { int32_t off; int size; } field; /* a load: byte offset and width (1, 2, 4 or 8) */

typedef struct {
  field ctx_meta, ctx_task, ctx_fd, ctx_file, meta_seq, task_leader, task_pid, file_inode, inode_mode, inode_sb, inode_ino, sb_magic;
  field pid_level;
  field pid_nr[MAX_LEVELS]; /* pid.numbers[level].nr: a process's number in the namespace of that level */
  uint32_t attach_id;
} layout;

/* A struct member as a load, its width from its type; 0, or -1 with `why` set. */
static int load_of(const btf *b, const char *st, const char *name, field *f, char *why, size_t why_size) {
  uint32_t id = btf_find(b, K_STRUCT, st), off, type;
  uint64_t size;
  if (id == 0 || btf_member(b, id, name, &off, &type, 0) != 0 || ((size = btf_size(b, type)) != 1 && size != 2 && size != 4 && size != 8) || off > 0x7fff) {
    snprintf(why, why_size, "kernel BTF has no usable %s.%s", st, name);
    return -1;
  }
  f->off = (int32_t)off; f->size = (int)size;
  return 0;
}

/* Offsets of everything the program reads, from BTF. */
static int resolve(const btf *b, layout *l, char *why, size_t why_size) {
  uint32_t func = btf_find(b, K_FUNC, "bpf_iter_task_file");
  const struct btf_type_ *proto = func ? btf_type(b, btf_type(b, func)->size_or_type) : NULL;
  if (!proto || KIND(proto) != K_FUNC_PROTO) { snprintf(why, why_size, "kernel has no BPF task_file iterator (Linux >= 5.8)"); return -1; }
  l->attach_id = func;
  /* the iterator's context: one 8-byte slot per argument of bpf_iter_task_file, by name */
  const struct btf_param_ *p = (const void *)(proto + 1);
  field *slots[4] = { &l->ctx_meta, &l->ctx_task, &l->ctx_fd, &l->ctx_file };
  const char *names[4] = { "meta", "task", "fd", "file" };
  for (int k = 0; k < 4; k++) {
    slots[k]->off = -1;
    for (uint32_t i = 0; i < VLEN(proto); i++) {
      if (strcmp(btf_name(b, p[i].name_off), names[k]) != 0) continue;
      uint64_t size = btf_size(b, p[i].type);
      slots[k]->off = (int32_t)(8 * i);
      slots[k]->size = size == 4 ? 4 : 8; /* fd: u32; the pointers 8 */
    }
    if (slots[k]->off < 0) { snprintf(why, why_size, "bpf_iter_task_file has no argument %s", names[k]); return -1; }
  }
  if (load_of(b, "bpf_iter_meta", "seq", &l->meta_seq, why, why_size) || load_of(b, "task_struct", "group_leader", &l->task_leader, why, why_size)
      || load_of(b, "task_struct", "thread_pid", &l->task_pid, why, why_size) || load_of(b, "file", "f_inode", &l->file_inode, why, why_size)
      || load_of(b, "inode", "i_mode", &l->inode_mode, why, why_size) || load_of(b, "inode", "i_sb", &l->inode_sb, why, why_size)
      || load_of(b, "inode", "i_ino", &l->inode_ino, why, why_size) || load_of(b, "super_block", "s_magic", &l->sb_magic, why, why_size)
      || load_of(b, "pid", "level", &l->pid_level, why, why_size)) return -1;
  /* struct pid { ...; struct upid numbers[]; }, struct upid { int nr; ... } */
  uint32_t pid = btf_find(b, K_STRUCT, "pid"), upid = btf_find(b, K_STRUCT, "upid"), off, type, nr_off, nr_type;
  const struct btf_type_ *arr;
  if (!pid || !upid || btf_member(b, pid, "numbers", &off, &type, 0) || !(arr = btf_type(b, btf_resolve(b, type))) || KIND(arr) != K_ARRAY
      || btf_resolve(b, ((const struct btf_array_ *)(arr + 1))->type) != upid || btf_member(b, upid, "nr", &nr_off, &nr_type, 0) || btf_size(b, nr_type) != 4) {
    snprintf(why, why_size, "kernel BTF has no usable pid.numbers[].nr");
    return -1;
  }
  for (int level = 0; level < MAX_LEVELS; level++) {
    uint64_t at = off + (uint64_t)level * btf_size(b, upid) + nr_off;
    if (at > 0x7fff || btf_size(b, upid) == 0) { snprintf(why, why_size, "kernel BTF has an odd struct upid"); return -1; }
    l->pid_nr[level].off = (int32_t)at; l->pid_nr[level].size = 4;
  }
  return 0;
}

#define INSN(c, d, s, o, i) ((struct bpf_insn){ .code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i) })
static int bpf_width(int size) { return size == 1 ? BPF_B : size == 2 ? BPF_H : size == 4 ? BPF_W : BPF_DW; }
#define LDX(d, s, f) INSN(BPF_LDX | BPF_MEM | bpf_width((f).size), d, s, (f).off, 0)
#define STX(size, d, s, o) INSN(BPF_STX | BPF_MEM | (size), d, s, o, 0)
#define MOV_REG(d, s) INSN(BPF_ALU64 | BPF_MOV | BPF_X, d, s, 0, 0)
#define MOV_IMM(d, i) INSN(BPF_ALU64 | BPF_MOV | BPF_K, d, 0, 0, i)
#define ALU_IMM(op, d, i) INSN(BPF_ALU64 | (op) | BPF_K, d, 0, 0, i)
#define OR_REG(d, s) INSN(BPF_ALU64 | BPF_OR | BPF_X, d, s, 0, 0)
#define JMP_IMM(op, d, i, label) INSN(BPF_JMP | (op) | BPF_K, d, 0, label, i)
#define JMP_REG(op, d, s, label) INSN(BPF_JMP | (op) | BPF_X, d, s, label, 0)
#define JA(label) INSN(BPF_JMP | BPF_JA, 0, 0, label, 0)
#define CALL(f) INSN(BPF_JMP | BPF_CALL, 0, 0, 0, f)
#define EXIT() INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)

enum { L_EXIT = 1, L_SOCKET, L_OTHER, L_WRITE, L_GOT, L_LEVEL }; /* a jump's off holds its label until placed */

/*
 * For each open file of a thread group leader (the iterator skips threads sharing its table; a
 * thread with a table of its own is read through /proc by threads.ts): a socket of sockfs
 * (superblock magic and S_IFSOCK: an O_PATH fd of a socket file on disk is no socket) writes
 * {pid, fd, inode}; an anon-inode or nsfs file writes {pid | OTHER_FILE, fd, inode}. The pid is
 * the number the reader's pid namespace gives (the iterator runs in the reader: its own level).
 */
static int assemble(const layout *l, struct bpf_insn *out, int max) {
  struct bpf_insn p[256];
  int n = 0, at[L_LEVEL + MAX_LEVELS] = { 0 };
  p[n++] = MOV_REG(6, 1);                       /* r6 = ctx */
  p[n++] = LDX(7, 6, l->ctx_file);              /* r7 = file */
  p[n++] = JMP_IMM(BPF_JEQ, 7, 0, L_EXIT);
  p[n++] = LDX(8, 6, l->ctx_task);              /* r8 = task */
  p[n++] = JMP_IMM(BPF_JEQ, 8, 0, L_EXIT);
  p[n++] = LDX(1, 8, l->task_leader);
  p[n++] = JMP_REG(BPF_JNE, 1, 8, L_EXIT);      /* leaders only */
  p[n++] = LDX(9, 7, l->file_inode);            /* r9 = inode */
  p[n++] = JMP_IMM(BPF_JEQ, 9, 0, L_EXIT);
  p[n++] = LDX(1, 9, l->inode_sb);
  p[n++] = JMP_IMM(BPF_JEQ, 1, 0, L_EXIT);
  p[n++] = LDX(2, 1, l->sb_magic);              /* r2 = its filesystem */
  p[n++] = JMP_IMM(BPF_JEQ, 2, SOCKFS_MAGIC, L_SOCKET);
  p[n++] = JMP_IMM(BPF_JEQ, 2, ANON_INODE_FS_MAGIC, L_OTHER);
  p[n++] = JMP_IMM(BPF_JEQ, 2, NSFS_MAGIC, L_OTHER);
  p[n++] = JA(L_EXIT);
  at[L_OTHER] = n;
  p[n++] = MOV_IMM(7, 1);
  p[n++] = ALU_IMM(BPF_LSH, 7, 31);             /* r7 = OTHER_FILE */
  p[n++] = JA(L_WRITE);
  at[L_SOCKET] = n;
  p[n++] = LDX(4, 9, l->inode_mode);
  p[n++] = ALU_IMM(BPF_AND, 4, 0xf000);
  p[n++] = JMP_IMM(BPF_JNE, 4, 0xc000, L_EXIT); /* S_IFSOCK */
  p[n++] = MOV_IMM(7, 0);
  at[L_WRITE] = n;
  p[n++] = CALL(BPF_FUNC_get_current_task_btf);  /* the reader */
  p[n++] = LDX(0, 0, l->task_pid);
  p[n++] = JMP_IMM(BPF_JEQ, 0, 0, L_EXIT);
  p[n++] = LDX(4, 0, l->pid_level);             /* r4 = the reader's pid namespace level */
  p[n++] = LDX(1, 8, l->task_pid);              /* struct pid of the leader: the tgid */
  p[n++] = JMP_IMM(BPF_JEQ, 1, 0, L_EXIT);
  p[n++] = LDX(5, 1, l->pid_level);
  p[n++] = JMP_REG(BPF_JLT, 5, 4, L_EXIT);      /* not in the reader's namespace */
  for (int k = 0; k < MAX_LEVELS; k++) p[n++] = JMP_IMM(BPF_JEQ, 4, k, L_LEVEL + k);
  p[n++] = JA(L_EXIT);
  for (int k = 0; k < MAX_LEVELS; k++) {
    at[L_LEVEL + k] = n;
    p[n++] = LDX(1, 1, l->pid_nr[k]);           /* its number there */
    p[n++] = JA(L_GOT);
  }
  at[L_GOT] = n;
  p[n++] = OR_REG(1, 7);
  p[n++] = STX(BPF_W, 10, 1, -16);
  p[n++] = LDX(1, 6, l->ctx_fd);
  p[n++] = STX(BPF_W, 10, 1, -12);
  p[n++] = LDX(1, 9, l->inode_ino);
  p[n++] = STX(l->inode_ino.size == 8 ? BPF_DW : BPF_W, 10, 1, -8);
  if (l->inode_ino.size != 8) { p[n++] = MOV_IMM(1, 0); p[n++] = STX(BPF_W, 10, 1, -4); }
  p[n++] = LDX(1, 6, l->ctx_meta);
  p[n++] = LDX(1, 1, l->meta_seq);              /* r1 = seq */
  p[n++] = MOV_REG(2, 10);
  p[n++] = ALU_IMM(BPF_ADD, 2, -16);
  p[n++] = MOV_IMM(3, 16);
  p[n++] = CALL(BPF_FUNC_seq_write);
  at[L_EXIT] = n;
  p[n++] = MOV_IMM(0, 0);
  p[n++] = EXIT();
  if (n > max) return -1;
  for (int i = 0; i < n; i++) {
    int cls = BPF_CLASS(p[i].code), op = BPF_OP(p[i].code);
    if (cls == BPF_JMP && op != BPF_CALL && op != BPF_EXIT) p[i].off = (int16_t)(at[p[i].off] - i - 1);
    out[i] = p[i];
  }
  return n;
}

static long sys_bpf(int cmd, union bpf_attr *attr) { return syscall(SYS_bpf, cmd, attr, sizeof *attr); }

/* This process's effective capabilities, from /proc/self/status; -1 when not there. */
static int read_caps(int root, uint64_t *caps) {
  int fd = openat(root, "self/status", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  char buf[8192];
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return -1;
  buf[n] = 0;
  char *cap = strstr(buf, "\nCapEff:");
  if (!cap) return -1;
  *caps = strtoull(cap + 8, NULL, 16);
  return 0;
}

#define CAP_SYS_ADMIN_BIT (1ull << 21)
#define CAP_PERFMON_BIT (1ull << 38)
#define CAP_BPF_BIT (1ull << 39)

/* The iterator link, made once per process: its fd, or -1 with `failure` (and `failure_code`) set. */
static int link_fd = -1;
static char failure[512];
static int failure_code;

static int setup(int root) {
  if (link_fd >= 0 || failure[0]) return link_fd;
  char why[256] = "";
  uint64_t caps = 0;
  int known = read_caps(root, &caps);
  btf b;
  layout l;
  struct bpf_insn insns[256];
  int n = -1, err;
  if (known < 0) { failure_code = EINVAL; snprintf(failure, sizeof failure, "no CapEff in /proc/self/status"); return -1; }
  /* a tracing program needs CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN): asked before the BTF is read */
  if (!(caps & CAP_SYS_ADMIN_BIT) && (caps & (CAP_BPF_BIT | CAP_PERFMON_BIT)) != (CAP_BPF_BIT | CAP_PERFMON_BIT)) {
    failure_code = EPERM; snprintf(failure, sizeof failure, "BPF needs CAP_BPF and CAP_PERFMON (root)"); return -1;
  }
  if ((err = btf_load(&b, why, sizeof why)) != 0 || (err = resolve(&b, &l, why, sizeof why) ? EINVAL : 0) != 0 || (n = assemble(&l, insns, 256)) < 0) {
    btf_free(&b);
    failure_code = err ? err : EINVAL;
    snprintf(failure, sizeof failure, "%s", why[0] ? why : "program not assembled");
    return -1;
  }
  btf_free(&b);
  union bpf_attr attr;
  for (int verbose = 0; verbose < 2; verbose++) {
    static char log[1 << 16];
    memset(&attr, 0, sizeof attr);
    attr.prog_type = BPF_PROG_TYPE_TRACING;
    attr.expected_attach_type = BPF_TRACE_ITER;
    attr.attach_btf_id = l.attach_id;
    attr.insns = (uintptr_t)insns;
    attr.insn_cnt = (uint32_t)n;
    attr.license = (uintptr_t)"GPL";
    memcpy(attr.prog_name, "lsm_owners", 11);
    if (verbose) { log[0] = 0; attr.log_level = 1; attr.log_buf = (uintptr_t)log; attr.log_size = sizeof log; }
    int prog = (int)sys_bpf(BPF_PROG_LOAD, &attr);
    if (prog < 0) {
      failure_code = errno;
      if (!verbose && errno != EPERM && errno != ENOSYS) continue; /* again, for the verifier's words */
      /* the verifier's last line says why */
      size_t len = strlen(log);
      while (len > 0 && log[len - 1] == '\n') log[--len] = 0;
      char *last = verbose ? strrchr(log, '\n') : NULL;
      snprintf(failure, sizeof failure, "BPF program refused: %s%s%s", strerror(failure_code), verbose && len ? ": " : "", verbose && len ? (last ? last + 1 : log) : "");
      return -1;
    }
    memset(&attr, 0, sizeof attr);
    attr.link_create.prog_fd = (uint32_t)prog;
    attr.link_create.attach_type = BPF_TRACE_ITER;
    int link = (int)sys_bpf(BPF_LINK_CREATE, &attr);
    failure_code = errno;
    close(prog); /* the link holds it */
    if (link < 0) { snprintf(failure, sizeof failure, "BPF iterator link refused: %s", strerror(failure_code)); return -1; }
    fcntl(link, F_SETFD, FD_CLOEXEC);
    link_fd = link;
    return link;
  }
  return -1;
}

typedef struct { uint32_t pid, fd; uint64_t ino; } record;

/* Every record the iterator writes now, in one buffer; their count, or -errno. */
static long read_records(int link, record **out) {
  union bpf_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.iter_create.link_fd = (uint32_t)link;
  int fd = (int)sys_bpf(BPF_ITER_CREATE, &attr);
  if (fd < 0) return -errno;
  size_t cap = 1u << 16, len = 0;
  char *buf = malloc(cap);
  long result = 0;
  for (;;) {
    if (!buf) { result = -ENOMEM; break; }
    if (cap - len < (1u << 15)) {
      if (cap >= (size_t)MAX_RECORDS * sizeof(record)) { result = -E2BIG; break; }
      char *more = realloc(buf, cap * 2);
      if (!more) { result = -ENOMEM; break; }
      buf = more; cap *= 2;
    }
    ssize_t n = read(fd, buf + len, cap - len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) { result = -errno; break; }
    if (n == 0) break;
    len += (size_t)n;
  }
  close(fd);
  if (result < 0 || len % sizeof(record)) { free(buf); return result < 0 ? result : -EIO; }
  *out = (record *)buf;
  return (long)(len / sizeof(record));
}

static int by_pid(const void *a, const void *b) {
  uint32_t x = ((const record *)a)->pid & ~OTHER_FILE, y = ((const record *)b)->pid & ~OTHER_FILE;
  return x < y ? -1 : x > y;
}


// socketOwners(procRoot, pids): [sockets, ioUring, netns], the arrays walkFds gives for the same
// pids (denied always 0); throws (the reason in the message) when BPF cannot be used here.
static napi_value socket_owners(napi_env env, napi_callback_info info) {
  char root_path[4096];
  napi_value pids;
  if (!root_and_pids(env, info, root_path, sizeof root_path, &pids, "socketOwners(procRoot, pids)")) return NULL;
  int root = open(root_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root < 0) return throw_named(env, errno, "procRoot unreadable");
  /* the iterator numbers processes as this process's pid namespace does: so must procRoot */
  char self[16];
  ssize_t sl = readlinkat(root, "self", self, sizeof self - 1);
  if (sl <= 0 || (self[sl] = 0, atol(self) != (long)getpid())) { close(root); return throw_named(env, EXDEV, "procRoot is not this pid namespace's /proc"); }
  int link = setup(root);
  if (link < 0) { close(root); return throw_named(env, failure_code ? failure_code : EINVAL, failure); }
  record *r = NULL;
  long count = read_records(link, &r);
  if (count < 0) { close(root); char m[64]; snprintf(m, sizeof m, "BPF iterator read: %s", strerror((int)-count)); return throw_named(env, (int)-count, m); }
  /* the iterator goes through processes by ascending pid; sorted again only if not */
  for (long i = 1; i < count; i++) if (by_pid(&r[i - 1], &r[i]) > 0) { qsort(r, (size_t)count, sizeof *r, by_pid); break; }
  uint32_t wanted = 0;
  napi_get_array_length(env, pids, &wanted);
  doubles out = { NULL, 0, 0 }, uring = { NULL, 0, 0 }, netns = { NULL, 0, 0 };
  int failed = 0;
  for (uint32_t i = 0; i < wanted && !failed; i++) {
    napi_value v;
    int32_t pid = 0;
    if (napi_get_element(env, pids, i, &v) != napi_ok || napi_get_value_int32(env, v, &pid) != napi_ok || pid <= 0) continue;
    /* its records: the first with this pid, by bisection */
    long lo = 0, hi = count;
    while (lo < hi) { long mid = (lo + hi) / 2; if ((r[mid].pid & ~OTHER_FILE) < (uint32_t)pid) lo = mid + 1; else hi = mid; }
    size_t head = out.len;
    if (push(&out, pid) || push(&out, 0) || push(&out, 0)) { failed = 1; break; }
    double n = 0;
    long k = lo;
    for (; k < count && (r[k].pid & ~OTHER_FILE) == (uint32_t)pid; k++) {
      if (!(r[k].pid & OTHER_FILE)) {
        if (push(&out, (double)r[k].ino) || push(&out, r[k].fd)) { failed = 1; break; }
        n++;
      } else if (fd_link_kind(root, pid, (int)r[k].fd, &uring, &netns)) { failed = 1; break; }
    }
    if (k == lo) { /* no file of interest: a process still there, or one gone as walkFds says it */
      char path[16];
      struct stat st;
      snprintf(path, sizeof path, "%d", (int)pid);
      if (fstatat(root, path, &st, AT_SYMLINK_NOFOLLOW) != 0 && (errno == ENOENT || errno == ESRCH)) out.v[head + 1] = -1;
    } else out.v[head + 1] = n;
  }
  free(r);
  close(root);
  if (failed) { free(out.v); free(uring.v); free(netns.v); return throw_named(env, ENOMEM, "socketOwners: out of memory"); }
  napi_value result;
  napi_create_array_with_length(env, 3, &result);
  napi_set_element(env, result, 0, to_float64(env, &out));
  napi_set_element(env, result, 1, to_float64(env, &uring));
  napi_set_element(env, result, 2, to_float64(env, &netns));
  free(out.v); free(uring.v); free(netns.v);
  return result;
}

// prepareSocketOwners(procRoot): load the iterator now (the BTF mapped and let go before the scan's
// heap grows: its pages do not add to the peak); throws as socketOwners would.
static napi_value prepare_socket_owners(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  char root_path[4096];
  size_t root_len = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1
      || napi_get_value_string_utf8(env, argv[0], root_path, sizeof root_path, &root_len) != napi_ok || root_len >= sizeof root_path - 1) {
    napi_throw_type_error(env, NULL, "prepareSocketOwners(procRoot)");
    return NULL;
  }
  int root = open(root_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root < 0) return throw_named(env, errno, "procRoot unreadable");
  int link = setup(root);
  close(root);
  if (link < 0) return throw_named(env, failure_code ? failure_code : EINVAL, failure);
  return NULL;
}

void register_socket_owners(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "prepareSocketOwners", NAPI_AUTO_LENGTH, prepare_socket_owners, NULL, &fn);
  napi_set_named_property(env, exports, "prepareSocketOwners", fn);
  napi_create_function(env, "socketOwners", NAPI_AUTO_LENGTH, socket_owners, NULL, &fn);
  napi_set_named_property(env, exports, "socketOwners", fn);
}

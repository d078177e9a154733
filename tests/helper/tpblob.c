#include "tpblob.h"

#include <string.h>

#include "xalloc.h"

#define COMMON                                                                                     \
	"format:\n"                                                                                \
	"\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n"                     \
	"\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n"                     \
	"\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n"             \
	"\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n"

/* The format a 6.x kernel exports (TASK_REPORT_MAX 0x100). */
const char t_switch_fmt[] =
    "name: sched_switch\nID: 372\n" COMMON
    "\tfield:char prev_comm[16];\toffset:8;\tsize:16;\tsigned:0;\n"
    "\tfield:pid_t prev_pid;\toffset:24;\tsize:4;\tsigned:1;\n"
    "\tfield:int prev_prio;\toffset:28;\tsize:4;\tsigned:1;\n"
    "\tfield:long prev_state;\toffset:32;\tsize:8;\tsigned:1;\n"
    "\tfield:char next_comm[16];\toffset:40;\tsize:16;\tsigned:0;\n"
    "\tfield:pid_t next_pid;\toffset:56;\tsize:4;\tsigned:1;\n"
    "\tfield:int next_prio;\toffset:60;\tsize:4;\tsigned:1;\n\n"
    "print fmt: \"prev_comm=%s prev_pid=%d prev_prio=%d prev_state=%s%s ==> next_comm=%s "
    "next_pid=%d next_prio=%d\", REC->prev_comm, REC->prev_pid, REC->prev_prio, "
    "(REC->prev_state & ((((0x00000000 | 0x00000001 | 0x00000002 | 0x00000004 | 0x00000008 | "
    "0x00000010 | 0x00000020 | 0x00000040) + 1) << 1) - 1)) ? __print_flags(REC->prev_state & "
    "((((0x00000000 | 0x00000001 | 0x00000002 | 0x00000004 | 0x00000008 | 0x00000010 | "
    "0x00000020 | 0x00000040) + 1) << 1) - 1), \"|\", { 0x00000001, \"S\" }, { 0x00000002, "
    "\"D\" }, { 0x00000004, \"T\" }, { 0x00000008, \"t\" }, { 0x00000010, \"X\" }, { "
    "0x00000020, \"Z\" }, { 0x00000040, \"P\" }, { 0x00000080, \"I\" }) : \"R\", "
    "REC->prev_state & (((0x00000000 | 0x00000001 | 0x00000002 | 0x00000004 | 0x00000008 | "
    "0x00000010 | 0x00000020 | 0x00000040) + 1) << 1) ? \"+\" : \"\", REC->next_comm, "
    "REC->next_pid, REC->next_prio\n";

const char t_probe_fmt[] = "name: take_gil\nID: 2001\n" COMMON
			   "\tfield:unsigned long __probe_ip;\toffset:8;\tsize:8;\tsigned:0;\n\n"
			   "print fmt: \"(%lx)\", REC->__probe_ip\n";

const char t_dyn_fmt[] = "name: dyn\nID: 3000\n" COMMON
			 "\tfield:__data_loc char[] msg;\toffset:8;\tsize:4;\tsigned:0;\n\n"
			 "print fmt: \"msg=%s\", __get_str(msg)\n";

void t_put(struct buf *b, const void *p, size_t n)
{
	PFS_GROW(b->p, b->cap, b->n + n);
	memcpy(b->p + b->n, p, n);
	b->n += n;
}

void t_put_int(struct buf *b, uint64_t v, size_t size)
{
	uint8_t x[8];
	for (size_t i = 0; i < size; i++)
		x[b->big ? size - 1 - i : i] = (uint8_t)(v >> (8 * i));
	t_put(b, x, size);
}

void t_put_text(struct buf *b, const char *s)
{
	t_put_int(b, strlen(s), 8);
	t_put(b, s, strlen(s));
}

/* A tracing-data blob as perf writes it, with the given formats under system sys. */
struct buf t_make_blob(bool big, const char *sys, const char *const *fmts, size_t n)
{
	static const uint8_t magic[10] = {0x17, 0x08, 0x44, 't', 'r', 'a', 'c', 'i', 'n', 'g'};
	struct buf b = {.big = big};
	t_put(&b, magic, sizeof(magic));
	t_put(&b, "0.6", 4);
	t_put_int(&b, big, 1);
	t_put_int(&b, 8, 1);
	t_put_int(&b, 4096, 4);
	t_put(&b, "header_page", 12);
	t_put_text(&b, "\tfield: u64 timestamp;\toffset:0;\tsize:8;\tsigned:0;\n"
		       "\tfield: local_t commit;\toffset:8;\tsize:8;\tsigned:1;\n"
		       "\tfield: int overwrite;\toffset:8;\tsize:1;\tsigned:1;\n"
		       "\tfield: char data;\toffset:16;\tsize:4080;\tsigned:0;\n");
	t_put(&b, "header_event", 13);
	t_put_text(&b, "# compressed entry header\n");
	t_put_int(&b, 0, 4); /* ftrace formats */
	t_put_int(&b, 1, 4); /* systems */
	t_put(&b, sys, strlen(sys) + 1);
	t_put_int(&b, n, 4);
	for (size_t i = 0; i < n; i++)
		t_put_text(&b, fmts[i]);
	t_put_int(&b, 0, 4); /* kallsyms */
	t_put_int(&b, 0, 4); /* printk */
	t_put_int(&b, 0, 8); /* saved cmdlines */
	return b;
}

struct buf t_switch_raw(bool big, const char *prev, uint32_t prev_pid, uint64_t state,
			const char *next, uint32_t next_pid)
{
	struct buf r = {.big = big};
	char comm[16];
	t_put_int(&r, 372, 2);
	t_put_int(&r, 0, 1);
	t_put_int(&r, 0, 1);
	t_put_int(&r, prev_pid, 4);
	memset(comm, 0, sizeof(comm));
	memcpy(comm, prev, strnlen(prev, sizeof(comm)));
	t_put(&r, comm, 16);
	t_put_int(&r, prev_pid, 4);
	t_put_int(&r, 120, 4);
	t_put_int(&r, state, 8);
	memset(comm, 0, sizeof(comm));
	memcpy(comm, next, strnlen(next, sizeof(comm)));
	t_put(&r, comm, 16);
	t_put_int(&r, next_pid, 4);
	t_put_int(&r, 120, 4);
	t_put_int(&r, 0, 4); /* the kernel pads RAW to 8 bytes after the u32 size */
	return r;
}

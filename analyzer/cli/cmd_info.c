/*
 * perfsight info: what perf report --header-only and perf report --stats show, from our own
 * reader, as text or one JSON object.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <math.h>

#include "capture.h"
#include "cgprint.h"
#include "cli.h"
#include "commands.h"
#include "jsonw.h"
#include "perfdata.h"
#include "store.h"

const char cmd_info_usage[] =
    "usage: perfsight info FILE|DB [--json] [--time-order]\n"
    "\n"
    "Describes a perf.data capture (file or pipe mode, either byte order, compressed or not):\n"
    "host, os release, perf version, arch, cpus, command line, each event (name, type, config,\n"
    "period or frequency, sample_type, callchain mode fp/dwarf with stack size), file or pipe,\n"
    "byte order, compression ratio, first/last sample time and duration, record counts per type\n"
    "as 'perf report --stats' prints them, samples per event, lost samples, and every diagnostic\n"
    "with its count. Every sample is decoded, so a malformed one shows up as a diagnostic.\n"
    "FILE may be - for a pipe-mode stream on standard input. A perfsight database (made by\n"
    "'perfsight import') is described by its captures: id, label, kind, samples, host,\n"
    "duration, lost samples, source and when it was imported. A call-graph profile (a "
    "cProfile/pstats dump,\n"
    "a callgrind file) is described by its format, functions, edges, calls and costs.\n"
    "\n"
    "  --json        one JSON object; these fields are fixed: \"records\": {TYPE: COUNT},\n"
    "                \"events\": [{\"name\", \"samples\", ...}], \"lost_samples\",\n"
    "                \"diagnostics\": [{\"code\", \"severity\", \"count\", \"first_offset\",\n"
    "                \"message\"}]\n"
    "  --time-order  deliver records in time order while counting (slower; same counts)\n"
    "\n"
    "exit status: 0 ok, 1 read with data-dropping diagnostics (among them lost-samples: perf\n"
    "lost samples while recording; for a database, a capture it holds lost samples), 3\n"
    "unreadable input\n"
    "example: perfsight info fixtures/py312-threads-dwarf/perf.data\n";

static const char *const sample_bits[] = {
    "IP",
    "TID",
    "TIME",
    "ADDR",
    "READ",
    "CALLCHAIN",
    "ID",
    "CPU",
    "PERIOD",
    "STREAM_ID",
    "RAW",
    "BRANCH_STACK",
    "REGS_USER",
    "STACK_USER",
    "WEIGHT",
    "DATA_SRC",
    "IDENTIFIER",
    "TRANSACTION",
    "REGS_INTR",
    "PHYS_ADDR",
    "AUX",
    "CGROUP",
    "DATA_PAGE_SIZE",
    "CODE_PAGE_SIZE",
    "WEIGHT_STRUCT",
};

static const char *attr_name(const struct pfs_attr *a, char *buf, size_t len)
{
	return a->name ? a->name : pfs_attr_default_name(a, buf, len);
}

static const char *callchain_mode(const struct pfs_attr *a)
{
	if (!(a->sample_type & PFS_S_CALLCHAIN))
		return NULL;
	if ((a->sample_type & PFS_S_STACK_USER) && (a->sample_type & PFS_S_REGS_USER))
		return "dwarf";
	return "fp";
}

static void sample_type_text(uint64_t st, char *buf, size_t len)
{
	size_t n = 0;
	buf[0] = 0;
	for (unsigned i = 0; i < 64 && n < len; i++) {
		if (!(st >> i & 1))
			continue;
		if (i < sizeof(sample_bits) / sizeof(sample_bits[0]))
			n += (size_t)snprintf(buf + n, len - n, "%s%s", n ? "|" : "",
					      sample_bits[i]);
		else
			n += (size_t)snprintf(buf + n, len - n, "%sbit%u", n ? "|" : "", i);
	}
}

static double duration_s(const struct pfs_stats *s)
{
	return s->last_time > s->first_time ? (double)(s->last_time - s->first_time) / 1e9 : 0.0;
}

static void print_text(const char *file, struct pfs_reader *r)
{
	const struct pfs_info *in = pfs_reader_info(r);
	const struct pfs_stats *st = pfs_reader_stats(r);
	char buf[512];
	printf("file:         %s\n", file);
	printf("format:       %s mode, %s-endian%s, %" PRIu64 " bytes\n",
	       in->pipe ? "pipe" : "file", in->big_endian ? "big" : "little",
	       in->swapped ? " (swapped on read)" : "",
	       in->file_size ? in->file_size : st->bytes_read);
	if (in->hostname)
		printf("host:         %s\n", in->hostname);
	if (in->osrelease)
		printf("os release:   %s\n", in->osrelease);
	if (in->version)
		printf("perf version: %s\n", in->version);
	if (in->arch)
		printf("arch:         %s\n", in->arch);
	if (in->nr_cpus_avail)
		printf("cpus:         %u online, %u available\n", in->nr_cpus_online,
		       in->nr_cpus_avail);
	if (in->cpudesc)
		printf("cpu:          %s%s%s%s\n", in->cpudesc, in->cpuid ? " (" : "",
		       in->cpuid ? in->cpuid : "", in->cpuid ? ")" : "");
	if (in->total_mem_kb)
		printf("memory:       %.1f GiB\n", (double)in->total_mem_kb / (1024.0 * 1024.0));
	if (in->n_cmdline) {
		printf("command:     ");
		for (size_t i = 0; i < in->n_cmdline; i++)
			printf(" %s", in->cmdline[i]);
		printf("\n");
	}
	if (st->records[PFS_REC_COMPRESSED] || st->records[PFS_REC_COMPRESSED2] || in->compressed)
		printf("compressed:   zstd level %u, %" PRIu64 " -> %" PRIu64
		       " bytes (ratio %.2f)\n",
		       in->comp_level, st->compressed_bytes, st->decompressed_bytes,
		       st->compressed_bytes
			   ? (double)st->decompressed_bytes / (double)st->compressed_bytes
			   : 0.0);
	if (in->tracing_data)
		printf("tracing data: %zu bytes\n", in->tracing_data_len);
	if (st->last_time)
		printf("samples:      %.6f .. %.6f s (%.3f s)\n", (double)st->first_time / 1e9,
		       (double)st->last_time / 1e9, duration_s(st));
	printf("events:\n");
	for (size_t i = 0; i < pfs_reader_n_attrs(r); i++) {
		const struct pfs_attr *a = pfs_reader_attr(r, i);
		const char *cc = callchain_mode(a);
		char stt[512];
		sample_type_text(a->sample_type, stt, sizeof(stt));
		printf("  %-28s %10" PRIu64 " samples  type %u config 0x%" PRIx64 ", %s %" PRIu64
		       "%s\n",
		       attr_name(a, buf, sizeof(buf)), a->n_samples, a->type, a->config,
		       (a->flags & PFS_ATTR_FLAG(PFS_AF_FREQ)) ? "freq" : "period",
		       a->sample_period, (a->flags & PFS_ATTR_FLAG(PFS_AF_FREQ)) ? " Hz" : "");
		printf("  %-28s sample_type %s", "", stt);
		if (cc && !strcmp(cc, "dwarf"))
			printf(", callchain dwarf (%u-byte stacks)", a->sample_stack_user);
		else if (cc)
			printf(", callchain fp");
		printf("\n");
	}
	printf("records (as perf report --stats):\n");
	printf("%20s events: %10" PRIu64 "\n", "TOTAL", st->total);
	for (unsigned t = 0; t < PFS_REC_MAX; t++)
		if (st->records[t])
			printf("%20s events: %10" PRIu64 "  (%4.1f%%)\n", pfs_record_type_name(t),
			       st->records[t], 100.0 * (double)st->records[t] / (double)st->total);
	if (st->unknown_records)
		printf("%20s events: %10" PRIu64 "\n", "unknown", st->unknown_records);
	printf("lost samples: %" PRIu64 "\n", st->lost_samples);
	printf("lost events:  %" PRIu64 "\n", st->lost_events);
	{
		struct pfs_diag *d = pfs_reader_diag(r);
		if (!d->n) {
			printf("diagnostics:  none\n");
		} else {
			printf("diagnostics:\n");
			for (size_t i = 0; i < d->n; i++) {
				printf("  %s %s (x%" PRIu64 ")", pfs_severity_name(d->v[i].sev),
				       d->v[i].code, d->v[i].count);
				if (d->v[i].first_off != PFS_NO_OFF)
					printf(" first at byte offset %" PRIu64, d->v[i].first_off);
				printf(": %s\n", d->v[i].msg);
			}
		}
	}
}

static void print_json(const char *file, struct pfs_reader *r)
{
	const struct pfs_info *in = pfs_reader_info(r);
	const struct pfs_stats *st = pfs_reader_stats(r);
	struct pfs_diag *d = pfs_reader_diag(r);
	struct pfs_jsonw w;
	char buf[512];
	pfs_jsonw_init(&w, stdout, true);
	pfs_jsonw_obj(&w);
	pfs_jsonw_key(&w, "file");
	pfs_jsonw_str(&w, file);
	pfs_jsonw_key(&w, "mode");
	pfs_jsonw_str(&w, in->pipe ? "pipe" : "file");
	pfs_jsonw_key(&w, "byte_order");
	pfs_jsonw_str(&w, in->big_endian ? "big" : "little");
	pfs_jsonw_key(&w, "size");
	pfs_jsonw_u64(&w, in->file_size ? in->file_size : st->bytes_read);
	pfs_jsonw_key(&w, "host");
	pfs_jsonw_str(&w, in->hostname);
	pfs_jsonw_key(&w, "os_release");
	pfs_jsonw_str(&w, in->osrelease);
	pfs_jsonw_key(&w, "perf_version");
	pfs_jsonw_str(&w, in->version);
	pfs_jsonw_key(&w, "arch");
	pfs_jsonw_str(&w, in->arch);
	pfs_jsonw_key(&w, "cpus_online");
	pfs_jsonw_u64(&w, in->nr_cpus_online);
	pfs_jsonw_key(&w, "cpus_available");
	pfs_jsonw_u64(&w, in->nr_cpus_avail);
	pfs_jsonw_key(&w, "cpu_desc");
	pfs_jsonw_str(&w, in->cpudesc);
	pfs_jsonw_key(&w, "cpuid");
	pfs_jsonw_str(&w, in->cpuid);
	pfs_jsonw_key(&w, "total_mem_kb");
	pfs_jsonw_u64(&w, in->total_mem_kb);
	pfs_jsonw_key(&w, "cmdline");
	pfs_jsonw_arr(&w);
	for (size_t i = 0; i < in->n_cmdline; i++)
		pfs_jsonw_str(&w, in->cmdline[i]);
	pfs_jsonw_end_arr(&w);
	pfs_jsonw_key(&w, "compressed");
	if (st->records[PFS_REC_COMPRESSED] || st->records[PFS_REC_COMPRESSED2] || in->compressed) {
		pfs_jsonw_obj(&w);
		pfs_jsonw_key(&w, "type");
		pfs_jsonw_str(&w, "zstd");
		pfs_jsonw_key(&w, "level");
		pfs_jsonw_u64(&w, in->comp_level);
		pfs_jsonw_key(&w, "compressed_bytes");
		pfs_jsonw_u64(&w, st->compressed_bytes);
		pfs_jsonw_key(&w, "decompressed_bytes");
		pfs_jsonw_u64(&w, st->decompressed_bytes);
		pfs_jsonw_key(&w, "ratio");
		pfs_jsonw_dbl(&w, st->compressed_bytes ? (double)st->decompressed_bytes /
							     (double)st->compressed_bytes
						       : 0.0);
		pfs_jsonw_end_obj(&w);
	} else {
		pfs_jsonw_null(&w);
	}
	pfs_jsonw_key(&w, "tracing_data_bytes");
	pfs_jsonw_u64(&w, in->tracing_data_len);
	pfs_jsonw_key(&w, "first_sample_time_ns");
	pfs_jsonw_u64(&w, st->first_time);
	pfs_jsonw_key(&w, "last_sample_time_ns");
	pfs_jsonw_u64(&w, st->last_time);
	pfs_jsonw_key(&w, "duration_s");
	pfs_jsonw_dbl(&w, duration_s(st));
	pfs_jsonw_key(&w, "events");
	pfs_jsonw_arr(&w);
	for (size_t i = 0; i < pfs_reader_n_attrs(r); i++) {
		const struct pfs_attr *a = pfs_reader_attr(r, i);
		const char *cc = callchain_mode(a);
		pfs_jsonw_obj(&w);
		pfs_jsonw_key(&w, "name");
		pfs_jsonw_str(&w, attr_name(a, buf, sizeof(buf)));
		pfs_jsonw_key(&w, "samples");
		pfs_jsonw_u64(&w, a->n_samples);
		pfs_jsonw_key(&w, "lost_samples");
		pfs_jsonw_u64(&w, a->n_lost);
		pfs_jsonw_key(&w, "type");
		pfs_jsonw_u64(&w, a->type);
		pfs_jsonw_key(&w, "config");
		pfs_jsonw_u64(&w, a->config);
		pfs_jsonw_key(&w,
			      (a->flags & PFS_ATTR_FLAG(PFS_AF_FREQ)) ? "frequency_hz" : "period");
		pfs_jsonw_u64(&w, a->sample_period);
		pfs_jsonw_key(&w, "sample_type");
		pfs_jsonw_arr(&w);
		for (unsigned b = 0; b < 64; b++)
			if (a->sample_type >> b & 1) {
				if (b < sizeof(sample_bits) / sizeof(sample_bits[0]))
					pfs_jsonw_str(&w, sample_bits[b]);
				else
					pfs_jsonw_u64(&w, b);
			}
		pfs_jsonw_end_arr(&w);
		pfs_jsonw_key(&w, "callchain");
		pfs_jsonw_str(&w, cc);
		pfs_jsonw_key(&w, "stack_size");
		pfs_jsonw_u64(&w, a->sample_stack_user);
		pfs_jsonw_key(&w, "ids");
		pfs_jsonw_u64(&w, a->n_ids);
		pfs_jsonw_end_obj(&w);
	}
	pfs_jsonw_end_arr(&w);
	pfs_jsonw_key(&w, "records");
	pfs_jsonw_obj(&w);
	for (unsigned t = 0; t < PFS_REC_MAX; t++)
		if (st->records[t]) {
			pfs_jsonw_key(&w, pfs_record_type_name(t));
			pfs_jsonw_u64(&w, st->records[t]);
		}
	pfs_jsonw_end_obj(&w);
	pfs_jsonw_key(&w, "bytes_read");
	pfs_jsonw_u64(&w, st->bytes_read);
	pfs_jsonw_key(&w, "total_records");
	pfs_jsonw_u64(&w, st->total);
	pfs_jsonw_key(&w, "unknown_records");
	pfs_jsonw_u64(&w, st->unknown_records);
	pfs_jsonw_key(&w, "lost_samples");
	pfs_jsonw_u64(&w, st->lost_samples);
	pfs_jsonw_key(&w, "lost_events");
	pfs_jsonw_u64(&w, st->lost_events);
	pfs_jsonw_key(&w, "diagnostics");
	pfs_jsonw_arr(&w);
	for (size_t i = 0; i < d->n; i++) {
		pfs_jsonw_obj(&w);
		pfs_jsonw_key(&w, "code");
		pfs_jsonw_str(&w, d->v[i].code);
		pfs_jsonw_key(&w, "severity");
		pfs_jsonw_str(&w, pfs_severity_name(d->v[i].sev));
		pfs_jsonw_key(&w, "count");
		pfs_jsonw_u64(&w, d->v[i].count);
		pfs_jsonw_key(&w, "first_offset");
		if (d->v[i].first_off == PFS_NO_OFF)
			pfs_jsonw_null(&w);
		else
			pfs_jsonw_u64(&w, d->v[i].first_off);
		pfs_jsonw_key(&w, "message");
		pfs_jsonw_str(&w, d->v[i].msg);
		pfs_jsonw_end_obj(&w);
	}
	pfs_jsonw_end_arr(&w);
	pfs_jsonw_end_obj(&w);
}

static void print_db_text(const char *file, const struct pfs_store_capture *v, size_t n)
{
	printf("database:     %s\n", file);
	printf("captures:     %zu\n", n);
	for (size_t i = 0; i < n; i++) {
		const struct pfs_store_capture *c = &v[i];
		printf("  %" PRId64 "  %-24s %-12s %10" PRIu64 " samples", c->id, c->label,
		       c->kind ? c->kind : "?", c->n_samples);
		if (!isnan(c->duration))
			printf("  %.2f s", c->duration);
		if (c->host)
			printf("  host %s", c->host);
		if (c->lost_samples && c->lost_samples != UINT64_MAX)
			printf("  %" PRIu64 " samples lost (lost-samples)", c->lost_samples);
		printf("\n      source %s, imported %s\n", c->source ? c->source : "?",
		       c->imported_at ? c->imported_at : "?");
	}
}

static void print_db_json(const char *file, const struct pfs_store_capture *v, size_t n)
{
	struct pfs_jsonw w;
	pfs_jsonw_init(&w, stdout, true);
	pfs_jsonw_obj(&w);
	pfs_jsonw_key(&w, "database");
	pfs_jsonw_str(&w, file);
	pfs_jsonw_key(&w, "captures");
	pfs_jsonw_arr(&w);
	for (size_t i = 0; i < n; i++) {
		const struct pfs_store_capture *c = &v[i];
		pfs_jsonw_obj(&w);
		pfs_jsonw_key(&w, "id");
		pfs_jsonw_u64(&w, (uint64_t)c->id);
		pfs_jsonw_key(&w, "label");
		pfs_jsonw_str(&w, c->label);
		pfs_jsonw_key(&w, "kind");
		pfs_jsonw_str(&w, c->kind);
		pfs_jsonw_key(&w, "source");
		pfs_jsonw_str(&w, c->source);
		pfs_jsonw_key(&w, "host");
		pfs_jsonw_str(&w, c->host);
		pfs_jsonw_key(&w, "os_release");
		pfs_jsonw_str(&w, c->os_release);
		pfs_jsonw_key(&w, "perf_version");
		pfs_jsonw_str(&w, c->perf_version);
		pfs_jsonw_key(&w, "samples");
		pfs_jsonw_u64(&w, c->n_samples);
		pfs_jsonw_key(&w, "lost_samples");
		if (c->lost_samples == UINT64_MAX)
			pfs_jsonw_null(&w);
		else
			pfs_jsonw_u64(&w, c->lost_samples);
		pfs_jsonw_key(&w, "duration_s");
		pfs_jsonw_dbl(&w, c->duration);
		pfs_jsonw_key(&w, "weight_unit");
		pfs_jsonw_str(&w, c->weight_unit);
		pfs_jsonw_key(&w, "imported_at");
		pfs_jsonw_str(&w, c->imported_at);
		pfs_jsonw_end_obj(&w);
	}
	pfs_jsonw_end_arr(&w);
	pfs_jsonw_end_obj(&w);
	fputc('\n', stdout);
}

static int info_db(const char *file, bool json)
{
	struct pfs_store *st = NULL;
	struct pfs_store_capture *v = NULL;
	struct pfs_err err;
	int n;
	pfs_err_clear(&err);
	if (pfs_store_open(&st, file, PFS_STORE_READONLY, &err) < 0)
		return cli_fail(file, &err);
	n = pfs_store_captures(st, &v, &err);
	pfs_store_close(st);
	if (n < 0)
		return cli_fail(file, &err);
	if (json)
		print_db_json(file, v, (size_t)n);
	else
		print_db_text(file, v, (size_t)n);
	/* a capture perf lost samples of is data dropped, as when its file is read */
	int rc = EXIT_OK;
	for (int i = 0; i < n; i++)
		if (v[i].lost_samples && v[i].lost_samples != UINT64_MAX)
			rc = EXIT_DIAG;
	pfs_store_captures_free(v, (size_t)n);
	return cli_finish_stdout(rc);
}

int cmd_info(int argc, char **argv)
{
	const struct cli_cmd *self = cli_find("info");
	struct pfs_reader_opts opts = {.file_order = true};
	struct pfs_reader *r = NULL;
	struct pfs_record rec;
	struct pfs_err err;
	const char *file = NULL;
	bool json = false;
	int rc;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			json = true;
		else if (!strcmp(argv[i], "--time-order"))
			opts.file_order = false;
		else if (argv[i][0] == '-' && argv[i][1])
			return cli_usage_error(self, "unknown option '%s'", argv[i]);
		else if (file)
			return cli_usage_error(self, "one FILE only ('%s' and '%s')", file,
					       argv[i]);
		else
			file = argv[i];
	}
	if (!file)
		return cli_usage_error(self, "missing FILE");
	if (!json)
		cli_guard_text(); /* hosts, labels, names: the capture's bytes */
	pfs_err_clear(&err);
	if (strcmp(file, "-") && pfs_capture_detect(file, NULL) == PFS_CAPTURE_DB)
		return info_db(file, json);
	if (strcmp(file, "-") && pfs_capture_detect(file, NULL) == PFS_CAPTURE_CALLGRAPH)
		return cli_cg_info(self, file, json);
	if (pfs_reader_open(&r, file, &opts, &err) < 0)
		return cli_fail(file, &err);
	while ((rc = pfs_reader_next(r, &rec, &err)) > 0)
		;
	if (rc < 0) {
		rc = cli_fail(file, &err);
		pfs_reader_close(r);
		return rc;
	}
	if (json)
		print_json(file, r);
	else
		print_text(file, r);
	rc = cli_diag_exit(pfs_reader_diag(r));
	if (rc && !json)
		cli_print_diags_all(stderr, file, pfs_reader_diag(r));
	pfs_reader_close(r);
	return cli_finish_stdout(rc);
}

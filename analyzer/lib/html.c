/*
 * html: the HTML report and the SVG flame graph, both built with libxml2 so that every string
 * from a capture is escaped by the serializer, never by hand-made concatenation.
 */
#include <errno.h>
#include <stdarg.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxml/HTMLtree.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlwriter.h>

#include "html.h"
#include "outfile.h"
#include "xalloc.h"

/* Templates are ours, but a corrupt install must not make us read gigabytes. */
#define TEMPLATE_MAX (8u << 20)

static const char *const kind_names[PFS_KIND_COUNT] = {
    "python", "library", "interp", "gc", "gil", "kernel", "native", "other",
};

const char *pfs_fg_kind_name(enum pfs_fg_kind k)
{
	return (unsigned)k < PFS_KIND_COUNT ? kind_names[k] : "other";
}

/* ---- aggregated trees ---- */

static uint64_t hash_key(size_t parent, unsigned kind, const char *name, size_t len)
{
	uint64_t h = 1469598103934665603ull ^ (parent * 0x9e3779b97f4a7c15ull) ^ kind;
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)name[i];
		h *= 1099511628211ull;
	}
	return h ^ (h >> 29);
}

static void tree_add_node(struct pfs_fg_tree *t, int32_t parent, const char *name, size_t len,
			  enum pfs_fg_kind kind)
{
	PFS_GROW(t->v, t->cap, t->n + 1);
	t->v[t->n] = (struct pfs_fg_node){
	    .parent = parent, .kind = (uint8_t)kind, .name = pfs_xstrndup(name, len)};
	t->n++;
}

void pfs_fg_tree_init(struct pfs_fg_tree *t)
{
	memset(t, 0, sizeof(*t));
	tree_add_node(t, -1, "all", 3, PFS_KIND_OTHER);
}

void pfs_fg_tree_release(struct pfs_fg_tree *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->v[i].name);
	free(t->v);
	free(t->slots);
	memset(t, 0, sizeof(*t));
}

static void tree_rehash(struct pfs_fg_tree *t)
{
	size_t ns = t->nslots ? t->nslots * 2 : 1024;
	uint32_t *s = pfs_xcalloc(ns, sizeof(*s));
	for (size_t i = 1; i < t->n; i++) {
		const struct pfs_fg_node *v = &t->v[i];
		size_t h =
		    hash_key((size_t)v->parent, v->kind, v->name, strlen(v->name)) & (ns - 1);
		while (s[h])
			h = (h + 1) & (ns - 1);
		s[h] = (uint32_t)i + 1;
	}
	free(t->slots);
	t->slots = s;
	t->nslots = ns;
}

size_t pfs_fg_tree_child(struct pfs_fg_tree *t, size_t parent, const char *name, size_t len,
			 enum pfs_fg_kind kind)
{
	/* a node's name is a C string: a NUL ends it here as it does when stored and rehashed,
	 * so that lookup, storage and hash agree (and no compare reads past a shorter name) */
	const char *nul = memchr(name, '\0', len);
	if (nul)
		len = (size_t)(nul - name);
	if ((t->n + 1) * 2 > t->nslots)
		tree_rehash(t);
	size_t h = hash_key(parent, kind, name, len) & (t->nslots - 1);
	for (; t->slots[h]; h = (h + 1) & (t->nslots - 1)) {
		size_t i = t->slots[h] - 1;
		const struct pfs_fg_node *v = &t->v[i];
		if ((size_t)v->parent == parent && v->kind == kind &&
		    strnlen(v->name, len + 1) == len && !memcmp(v->name, name, len))
			return i;
	}
	tree_add_node(t, (int32_t)parent, name, len, kind);
	t->slots[h] = (uint32_t)t->n;
	return t->n - 1;
}

void pfs_fg_tree_totals(struct pfs_fg_tree *t)
{
	for (size_t i = 0; i < t->n; i++)
		t->v[i].total = t->v[i].self;
	for (size_t i = t->n; i-- > 1;)
		t->v[t->v[i].parent].total += t->v[i].total;
}

/* ---- files ---- */

static int read_file(const char *dir, const char *name, char **out, size_t *outlen,
		     struct pfs_err *err)
{
	char path[PATH_MAX];
	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
		return pfs_err_set(err, PFS_EUSAGE, PFS_NO_OFF, "template path too long: %s/%s",
				   dir, name);
	FILE *f = fopen(path, "rb");
	if (!f)
		return pfs_err_sys(err, "cannot open template %s", path);
	char *buf = NULL;
	size_t n = 0, cap = 0;
	for (;;) {
		PFS_GROW(buf, cap, n + 65536);
		size_t got = fread(buf + n, 1, cap - n - 1, f);
		n += got;
		if (n > TEMPLATE_MAX) {
			fclose(f);
			free(buf);
			return pfs_err_set(err, PFS_ELIMIT, PFS_NO_OFF,
					   "template %s is larger than %u bytes", path,
					   TEMPLATE_MAX);
		}
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		int e = errno;
		fclose(f);
		free(buf);
		errno = e;
		return pfs_err_sys(err, "cannot read template %s", path);
	}
	fclose(f);
	buf[n] = '\0';
	*out = buf;
	*outlen = n;
	return 0;
}

static int is_template_dir(const char *dir)
{
	char path[PATH_MAX];
	struct stat st;
	if (snprintf(path, sizeof(path), "%s/report.html", dir) >= (int)sizeof(path))
		return 0;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int pfs_html_find_templates(char **out, struct pfs_err *err)
{
	/* build/perfsight, build/san/perfsight and build/san/tests/t_x sit one to three levels
	 * below the source tree; an installed binary sits in PREFIX/bin */
	static const char *const rel[] = {"/../report-templates", "/../../report-templates",
					  "/../../../report-templates",
					  "/../share/perfsight/report-templates"};
	const char *env = getenv("PERFSIGHT_TEMPLATES");
	if (env && *env) {
		if (!is_template_dir(env))
			return pfs_err_set(err, PFS_EIO, PFS_NO_OFF,
					   "PERFSIGHT_TEMPLATES=%s holds no report.html", env);
		*out = pfs_xstrdup(env);
		return 0;
	}
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return pfs_err_sys(err, "cannot find the report templates: /proc/self/exe");
	exe[n] = '\0';
	char *slash = strrchr(exe, '/');
	if (slash)
		*slash = '\0';
	for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
		char dir[PATH_MAX];
		if (snprintf(dir, sizeof(dir), "%s%s", exe, rel[i]) >= (int)sizeof(dir))
			continue;
		if (is_template_dir(dir)) {
			char *real = realpath(dir, NULL);
			*out = real ? real : pfs_xstrdup(dir);
			return 0;
		}
	}
	return pfs_err_set(err, PFS_EIO, PFS_NO_OFF,
			   "cannot find the report templates (looked in %s/../report-templates and "
			   "%s/../share/perfsight/report-templates); set PERFSIGHT_TEMPLATES",
			   exe, exe);
}

static int write_out(const char *out_path, const void *buf, size_t n, struct pfs_err *err)
{
	struct pfs_outfile o;
	int rc = pfs_outfile_open(&o, out_path, err);
	if (rc < 0)
		return rc;
	if (fwrite(buf, 1, n, o.f) != n) {
		rc = pfs_err_sys(err, "cannot write %s", out_path);
		pfs_outfile_abort(&o);
		return rc;
	}
	return pfs_outfile_commit(&o, err);
}

/* ---- text hygiene ---- */

/*
 * A copy of s that is valid UTF-8 without the C0 controls XML 1.0 forbids: bad bytes and such
 * controls become U+FFFD, so one odd symbol name cannot make the whole SVG unreadable.
 */
static char *clean_text(const char *s)
{
	size_t n = strlen(s);
	char *out = pfs_xmalloc(n * 3 + 1);
	size_t o = 0;
	for (size_t i = 0; i < n;) {
		unsigned char c = (unsigned char)s[i];
		int len = c < 0x80	       ? 1
			  : (c & 0xe0) == 0xc0 ? 2
			  : (c & 0xf0) == 0xe0 ? 3
			  : (c & 0xf8) == 0xf0 ? 4
					       : 0;
		int ok = len > 0 && i + (size_t)len <= n;
		for (int k = 1; ok && k < len; k++)
			ok = ((unsigned char)s[i + k] & 0xc0) == 0x80;
		if (ok && len == 2)
			ok = c >= 0xc2;
		if (ok && len == 1 && c < 0x20 && c != '\t' && c != '\n' && c != '\r')
			ok = 0;
		if (!ok) {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
			continue;
		}
		memcpy(out + o, s + i, (size_t)len);
		o += (size_t)len;
		i += (size_t)len;
	}
	out[o] = '\0';
	return out;
}

/* ---- the HTML report ---- */

static xmlNodePtr find_fill(xmlNodePtr n, const char *what)
{
	for (; n; n = n->next) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		xmlChar *v = xmlGetProp(n, BAD_CAST "data-pfs-fill");
		int hit = v && !strcmp((const char *)v, what);
		xmlFree(v);
		if (hit)
			return n;
		xmlNodePtr c = find_fill(n->children, what);
		if (c)
			return c;
	}
	return NULL;
}

/* The report is served as HTML: drop the XHTML namespace so the HTML serializer writes void
 * elements (<meta>) the HTML way. */
static void strip_ns(xmlNodePtr n)
{
	for (; n; n = n->next) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		n->ns = NULL;
		if (n->nsDef) {
			xmlFreeNsList(n->nsDef);
			n->nsDef = NULL;
		}
		strip_ns(n->children);
	}
}

static void set_text(xmlDocPtr doc, xmlNodePtr n, const char *text)
{
	xmlNodeSetContent(n, NULL);
	xmlAddChild(n, xmlNewDocText(doc, BAD_CAST text));
}

static const char *ci_find(const char *hay, const char *needle)
{
	size_t nl = strlen(needle);
	for (; *hay; hay++)
		if (!strncasecmp(hay, needle, nl))
			return hay;
	return NULL;
}

/* <, >, &, U+2028 and U+2029 as \uXXXX: only legal inside JSON strings, so the value is kept. */
static char *escape_json(const char *s, size_t len, struct pfs_err *err)
{
	char *out = pfs_xmalloc(len * 6 + 1);
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		const char *rep = NULL;
		if (c == '\0') {
			free(out);
			pfs_err_set(err, PFS_EFORMAT, i,
				    "report data holds a NUL byte at offset %zu", i);
			return NULL;
		}
		if (c == '<')
			rep = "\\u003c";
		else if (c == '>')
			rep = "\\u003e";
		else if (c == '&')
			rep = "\\u0026";
		else if (c == 0xe2 && i + 2 < len && (unsigned char)s[i + 1] == 0x80 &&
			 ((unsigned char)s[i + 2] == 0xa8 || (unsigned char)s[i + 2] == 0xa9)) {
			rep = (unsigned char)s[i + 2] == 0xa8 ? "\\u2028" : "\\u2029";
			i += 2;
		}
		if (rep) {
			memcpy(out + o, rep, 6);
			o += 6;
		} else {
			out[o++] = (char)c;
		}
	}
	out[o] = '\0';
	if (xmlCheckUTF8(BAD_CAST out) == 0) {
		free(out);
		pfs_err_set(err, PFS_EFORMAT, PFS_NO_OFF, "report data is not valid UTF-8");
		return NULL;
	}
	return out;
}

static int make_nonce(char out[33], struct pfs_err *err)
{
	unsigned char r[16];
	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
		return pfs_err_sys(err, "cannot make a script nonce: getrandom");
	for (int i = 0; i < 16; i++)
		snprintf(out + 2 * i, 3, "%02x", r[i]);
	return 0;
}

/* The scripts of one page, read and joined in order into one script element. */
static int read_scripts(const char *dir, const char *const *names, char **out, size_t *outlen,
			struct pfs_err *err)
{
	char *all = NULL;
	size_t n = 0;
	for (size_t i = 0; names[i]; i++) {
		char *js;
		size_t len;
		int rc = read_file(dir, names[i], &js, &len, err);
		if (rc < 0) {
			free(all);
			return rc;
		}
		all = pfs_xrealloc(all, n + len + 2);
		memcpy(all + n, js, len);
		n += len;
		all[n++] = '\n';
		all[n] = 0;
		free(js);
	}
	*out = all;
	*outlen = n;
	return 0;
}

/*
 * A page: the skeleton skel_name with its fill points (csp, title, heading, style, data,
 * script) filled from css_name, the scripts (NULL-terminated, joined), the data and the title.
 */
static int write_page(const char *templates_dir, const char *skel_name, const char *css_name,
		      const char *const *scripts, const char *data_json, size_t len,
		      const char *title, const char *deftitle, const char *out_path,
		      struct pfs_err *err)
{
	char *css = NULL, *js = NULL, *skel = NULL, *json = NULL, *ctitle = NULL;
	size_t csslen, jslen, skellen;
	xmlDocPtr doc = NULL;
	xmlOutputBufferPtr ob = NULL;
	int rc;
	char nonce[33], csp[256];
	static const char *const fills[] = {"csp", "title", "heading", "style", "data", "script"};
	xmlNodePtr node[6];

	if ((rc = read_file(templates_dir, skel_name, &skel, &skellen, err)) < 0 ||
	    (rc = read_file(templates_dir, css_name, &css, &csslen, err)) < 0 ||
	    (rc = read_scripts(templates_dir, scripts, &js, &jslen, err)) < 0)
		goto out;
	/* HTML ends a style or script element at the first "</style" or "</script", whatever
	 * the language inside thinks; "<!--" in a script changes how that end is found. */
	if (ci_find(css, "</style") || ci_find(js, "</script") || strstr(js, "<!--")) {
		rc =
		    pfs_err_set(err, PFS_EFORMAT, PFS_NO_OFF,
				"template %s/%s or the scripts of %s contain a closing tag or <!--",
				templates_dir, css_name, skel_name);
		goto out;
	}
	if (!(json = escape_json(data_json, len, err))) {
		rc = err ? err->code : PFS_EFORMAT;
		goto out;
	}
	if ((rc = make_nonce(nonce, err)) < 0)
		goto out;
	doc = xmlReadMemory(skel, (int)skellen, skel_name, "UTF-8",
			    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (!doc) {
		const xmlError *e = xmlGetLastError();
		rc = pfs_err_set(err, PFS_EFORMAT, PFS_NO_OFF,
				 "template %s/%s is not well-formed XHTML: line %d: %s",
				 templates_dir, skel_name, e ? e->line : 0,
				 e && e->message ? e->message : "?");
		goto out;
	}
	for (size_t i = 0; i < 6; i++) {
		node[i] = find_fill(xmlDocGetRootElement(doc), fills[i]);
		if (!node[i]) {
			rc = pfs_err_set(err, PFS_EFORMAT, PFS_NO_OFF,
					 "template %s/%s has no data-pfs-fill=\"%s\"",
					 templates_dir, skel_name, fills[i]);
			goto out;
		}
		xmlUnsetProp(node[i], BAD_CAST "data-pfs-fill");
	}
	snprintf(csp, sizeof(csp),
		 "default-src 'none'; script-src 'nonce-%s'; style-src 'nonce-%s'; img-src data:; "
		 "base-uri 'none'; form-action 'none'",
		 nonce, nonce);
	xmlSetProp(node[0], BAD_CAST "content", BAD_CAST csp);
	ctitle = clean_text(title && *title ? title : deftitle);
	set_text(doc, node[1], ctitle);
	set_text(doc, node[2], ctitle);
	set_text(doc, node[3], css);
	xmlSetProp(node[3], BAD_CAST "nonce", BAD_CAST nonce);
	set_text(doc, node[4], json);
	set_text(doc, node[5], js);
	xmlSetProp(node[5], BAD_CAST "nonce", BAD_CAST nonce);
	strip_ns(xmlDocGetRootElement(doc));
	/* An explicit UTF-8 encoder: without one the HTML serializer writes ASCII and turns every
	 * other character into an entity, even inside <script>, where no entity is decoded. */
	xmlCharEncodingHandlerPtr utf8 = xmlFindCharEncodingHandler("UTF-8");
	ob = utf8 ? xmlAllocOutputBuffer(utf8) : NULL;
	if (!ob) {
		rc = pfs_err_set(err, PFS_EDEP, PFS_NO_OFF, "libxml2 has no UTF-8 output buffer");
		goto out;
	}
	htmlDocContentDumpFormatOutput(ob, doc, "UTF-8", 0);
	if (xmlOutputBufferFlush(ob) < 0 || ob->error) {
		rc = pfs_err_set(err, PFS_EDEP, PFS_NO_OFF, "libxml2 could not serialize %s",
				 skel_name);
		goto out;
	}
	rc = write_out(out_path, xmlBufContent(ob->conv ? ob->conv : ob->buffer),
		       xmlBufUse(ob->conv ? ob->conv : ob->buffer), err);
out:
	if (ob)
		xmlOutputBufferClose(ob);
	xmlFreeDoc(doc);
	free(skel);
	free(css);
	free(js);
	free(json);
	free(ctitle);
	return rc;
}

int pfs_html_write_report(const char *templates_dir, const char *data_json, size_t len,
			  const char *title, const char *out_path, struct pfs_err *err)
{
	static const char *const js[] = {"page.js", "flame.js", "report.js", NULL};
	return write_page(templates_dir, "report.html", "report.css", js, data_json, len, title,
			  "perfsight report", out_path, err);
}

int pfs_html_write_diff(const char *templates_dir, const char *data_json, size_t len,
			const char *title, const char *out_path, struct pfs_err *err)
{
	static const char *const js[] = {"page.js", "flame.js", "diff.js", NULL};
	return write_page(templates_dir, "diff.html", "report.css", js, data_json, len, title,
			  "perfsight diff", out_path, err);
}

int pfs_html_write_trend(const char *templates_dir, const char *data_json, size_t len,
			 const char *title, const char *out_path, struct pfs_err *err)
{
	static const char *const js[] = {"page.js", "trend.js", NULL};
	return write_page(templates_dir, "trend.html", "report.css", js, data_json, len, title,
			  "perfsight trend", out_path, err);
}

/* ---- JUnit XML ---- */

static int junit_attr(xmlTextWriterPtr w, const char *name, const char *value)
{
	char *v = clean_text(value ? value : "");
	int rc = xmlTextWriterWriteAttribute(w, BAD_CAST name, BAD_CAST v);
	free(v);
	return rc;
}

int pfs_html_write_junit(const char *suite, const char *hostname, const char *timestamp,
			 double seconds, const struct pfs_junit_case *c, size_t n,
			 const char *out_path, struct pfs_err *err)
{
	xmlBufferPtr buf = xmlBufferCreate();
	xmlTextWriterPtr w = buf ? xmlNewTextWriterMemory(buf, 0) : NULL;
	char num[64];
	size_t failures = 0;
	int bad = 0, rc;
	if (!w) {
		if (buf)
			xmlBufferFree(buf);
		return pfs_err_set(err, PFS_EDEP, PFS_NO_OFF, "libxml2 cannot make an XML writer");
	}
	for (size_t i = 0; i < n; i++)
		failures += c[i].failure_type != NULL;
	xmlTextWriterSetIndent(w, 1);
	bad |= xmlTextWriterStartDocument(w, "1.0", "UTF-8", NULL) < 0;
	bad |= xmlTextWriterStartElement(w, BAD_CAST "testsuite") < 0;
	bad |= junit_attr(w, "name", suite) < 0;
	snprintf(num, sizeof(num), "%zu", n);
	bad |= junit_attr(w, "tests", num) < 0;
	snprintf(num, sizeof(num), "%zu", failures);
	bad |= junit_attr(w, "failures", num) < 0;
	bad |= junit_attr(w, "errors", "0") < 0;
	snprintf(num, sizeof(num), "%.3f", seconds > 0 ? seconds : 0);
	bad |= junit_attr(w, "time", num) < 0;
	bad |= junit_attr(w, "timestamp", timestamp) < 0;
	bad |= junit_attr(w, "hostname", hostname && *hostname ? hostname : "localhost") < 0;
	bad |= xmlTextWriterStartElement(w, BAD_CAST "properties") < 0;
	bad |= xmlTextWriterEndElement(w) < 0;
	for (size_t i = 0; i < n; i++) {
		bad |= xmlTextWriterStartElement(w, BAD_CAST "testcase") < 0;
		bad |= junit_attr(w, "classname", c[i].classname) < 0;
		bad |= junit_attr(w, "name", c[i].name) < 0;
		bad |= junit_attr(w, "time", "0") < 0;
		if (c[i].failure_type) {
			bad |= xmlTextWriterStartElement(w, BAD_CAST "failure") < 0;
			bad |= junit_attr(w, "message", c[i].message) < 0;
			bad |= junit_attr(w, "type", c[i].failure_type) < 0;
			char *t = clean_text(c[i].text	    ? c[i].text
					     : c[i].message ? c[i].message
							    : "");
			bad |= xmlTextWriterWriteString(w, BAD_CAST t) < 0;
			free(t);
			bad |= xmlTextWriterEndElement(w) < 0;
		}
		bad |= xmlTextWriterEndElement(w) < 0;
	}
	bad |= xmlTextWriterWriteElement(w, BAD_CAST "system-out", BAD_CAST "") < 0;
	bad |= xmlTextWriterWriteElement(w, BAD_CAST "system-err", BAD_CAST "") < 0;
	bad |= xmlTextWriterEndDocument(w) < 0;
	xmlFreeTextWriter(w);
	if (bad)
		rc =
		    pfs_err_set(err, PFS_EDEP, PFS_NO_OFF, "libxml2 could not write the JUnit XML");
	else
		rc = write_out(out_path, xmlBufferContent(buf), (size_t)xmlBufferLength(buf), err);
	xmlBufferFree(buf);
	return rc;
}

/* ---- the SVG flame graph ---- */

#define FG_FRAME_H 16
#define FG_PAD 10
#define FG_TOP 60
#define FG_BOTTOM 34

static const char *const palettes[] = {"kind", "hot",  "mem",	 "io",	   "red",   "green",
				       "blue", "aqua", "yellow", "purple", "orange"};

int pfs_html_palette_ok(const char *name)
{
	for (size_t i = 0; i < sizeof(palettes) / sizeof(palettes[0]); i++)
		if (!strcmp(name, palettes[i]))
			return 1;
	return 0;
}

/* flamegraph.pl's palettes, v in [0,1) choosing the shade */
static void frame_rgb(const char *pal, enum pfs_fg_kind kind, double v, int rgb[3])
{
	static const int kind_base[PFS_KIND_COUNT][3] = {
	    {63, 155, 88},  {59, 154, 160}, {217, 165, 32}, {214, 69, 65},
	    {142, 91, 196}, {224, 120, 47}, {74, 127, 193}, {154, 154, 154},
	};
	double r, g, b;
	if (!strcmp(pal, "hot")) {
		r = 205 + 50 * v, g = 230 * v, b = 55 * v;
	} else if (!strcmp(pal, "mem")) {
		r = 0, g = 190 + 50 * v, b = 210 * v;
	} else if (!strcmp(pal, "io")) {
		r = 80 + 60 * v, g = r, b = 190 + 55 * v;
	} else if (!strcmp(pal, "red")) {
		r = 200 + 55 * v, g = b = 50 + 80 * v;
	} else if (!strcmp(pal, "green")) {
		g = 200 + 55 * v, r = b = 50 + 60 * v;
	} else if (!strcmp(pal, "blue")) {
		b = 205 + 50 * v, r = g = 80 + 60 * v;
	} else if (!strcmp(pal, "aqua")) {
		r = 50 + 60 * v, g = b = 165 + 55 * v;
	} else if (!strcmp(pal, "yellow")) {
		r = g = 175 + 55 * v, b = 50 + 20 * v;
	} else if (!strcmp(pal, "purple")) {
		r = b = 190 + 65 * v, g = 80 + 60 * v;
	} else if (!strcmp(pal, "orange")) {
		r = 190 + 65 * v, g = 90 + 65 * v, b = 0;
	} else {
		const int *k = kind_base[kind < PFS_KIND_COUNT ? kind : PFS_KIND_OTHER];
		double f = 0.85 + 0.3 * v;
		r = k[0] * f, g = k[1] * f, b = k[2] * f;
	}
	rgb[0] = r > 255 ? 255 : (int)r;
	rgb[1] = g > 255 ? 255 : (int)g;
	rgb[2] = b > 255 ? 255 : (int)b;
}

struct svg_ctx {
	xmlTextWriterPtr w;
	const struct pfs_fg_tree *t;
	const struct pfs_fg_opts *o;
	const char *pal;
	size_t **kids; /* children of each node, by name */
	size_t *nkids;
	double scale; /* pixels per sample */
	int height;
	int rc;
	unsigned maxdepth;
};

static int by_name(const void *a, const void *b, void *tree)
{
	const struct pfs_fg_tree *t = tree;
	const struct pfs_fg_node *x = &t->v[*(const size_t *)a];
	const struct pfs_fg_node *y = &t->v[*(const size_t *)b];
	int c = strcmp(x->name, y->name);
	return c ? c : (int)x->kind - (int)y->kind;
}

static int wattr(struct svg_ctx *c, const char *name, const char *fmt, ...) PFS_PRINTF(3, 4);
static int wattr(struct svg_ctx *c, const char *name, const char *fmt, ...)
{
	char buf[128];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return xmlTextWriterWriteAttribute(c->w, BAD_CAST name, BAD_CAST buf);
}

/* The label fits the frame at about 7 px a character, as the embedded script also does. */
static void write_label(xmlTextWriterPtr w, char *name, double wpx)
{
	size_t room = wpx > 6 ? (size_t)((wpx - 6) / 7) : 0;
	size_t len = strlen(name);
	if (room < 3)
		return;
	if (len <= room) {
		xmlTextWriterWriteString(w, BAD_CAST name);
		return;
	}
	size_t cut = room - 2;
	while (cut > 0 && ((unsigned char)name[cut] & 0xc0) == 0x80)
		cut--;
	char keep = name[cut];
	name[cut] = '\0';
	xmlTextWriterWriteString(w, BAD_CAST name);
	xmlTextWriterWriteString(w, BAD_CAST "..");
	name[cut] = keep;
}

static void write_frame(struct svg_ctx *c, const char *name, enum pfs_fg_kind kind, uint64_t count,
			double x, double wpx, unsigned depth, size_t ord)
{
	xmlTextWriterPtr w = c->w;
	uint64_t all = c->t->v[0].total;
	double y = c->o->inverted ? FG_TOP + depth * FG_FRAME_H
				  : c->height - FG_BOTTOM - (depth + 1) * FG_FRAME_H;
	char *cn = clean_text(name);
	char title[64];
	double v;
	int rgb[3];

	if (c->o->hash) {
		uint64_t h = hash_key(0, 0, name, strlen(name));
		v = (double)(h % 1000) / 1000.0;
	} else {
		v = (double)((ord * 2654435761u) % 1000) / 1000.0;
	}
	frame_rgb(c->pal, kind, v, rgb);
	snprintf(title, sizeof(title), " (%llu %s, %.2f%%)", (unsigned long long)count,
		 c->o->countname ? c->o->countname : "samples",
		 all ? 100.0 * (double)count / (double)all : 0.0);
	xmlTextWriterStartElement(w, BAD_CAST "g");
	wattr(c, "class", "f");
	wattr(c, "data-kind", "%s", pfs_fg_kind_name(kind));
	wattr(c, "data-samples", "%llu", (unsigned long long)count);
	xmlTextWriterStartElement(w, BAD_CAST "title");
	xmlTextWriterWriteString(w, BAD_CAST cn);
	xmlTextWriterWriteString(w, BAD_CAST title);
	xmlTextWriterEndElement(w);
	xmlTextWriterStartElement(w, BAD_CAST "rect");
	wattr(c, "x", "%.2f", x);
	wattr(c, "y", "%.1f", y);
	wattr(c, "width", "%.2f", wpx);
	wattr(c, "height", "%d", FG_FRAME_H - 1);
	wattr(c, "fill", "rgb(%d,%d,%d)", rgb[0], rgb[1], rgb[2]);
	wattr(c, "rx", "2");
	xmlTextWriterEndElement(w);
	xmlTextWriterStartElement(w, BAD_CAST "text");
	wattr(c, "x", "%.2f", x + 3);
	wattr(c, "y", "%.1f", y + FG_FRAME_H - 5);
	write_label(w, cn, wpx);
	xmlTextWriterEndElement(w);
	xmlTextWriterEndElement(w);
	free(cn);
}

static void max_depth(struct svg_ctx *c, size_t n, unsigned depth)
{
	/* iterative: real stacks can be thousands of frames deep */
	size_t *st = NULL, sn = 0, scap = 0;
	unsigned *dp = NULL;
	size_t dcap = 0;
	PFS_GROW(st, scap, 1);
	PFS_GROW(dp, dcap, 1);
	st[sn] = n;
	dp[sn++] = depth;
	while (sn) {
		size_t v = st[--sn];
		unsigned d = dp[sn];
		if ((double)c->t->v[v].total * c->scale < c->o->minwidth)
			continue;
		if (d > c->maxdepth)
			c->maxdepth = d;
		for (size_t i = 0; i < c->nkids[v]; i++) {
			PFS_GROW(st, scap, sn + 1);
			PFS_GROW(dp, dcap, sn + 1);
			st[sn] = c->kids[v][i];
			dp[sn++] = d + 1;
		}
	}
	free(st);
	free(dp);
}

static void draw(struct svg_ctx *c)
{
	struct item {
		size_t n;
		double x;
		unsigned depth;
	} *st = NULL;
	size_t sn = 0, scap = 0, ord = 0;
	PFS_GROW(st, scap, 1);
	st[sn++] = (struct item){0, FG_PAD, 0};
	while (sn) {
		struct item it = st[--sn];
		const struct pfs_fg_node *v = &c->t->v[it.n];
		double wpx = (double)v->total * c->scale;
		write_frame(c, v->name, (enum pfs_fg_kind)v->kind, v->total, it.x, wpx, it.depth,
			    ord++);
		double cx = it.x;
		uint64_t small = 0;
		/* pushed in reverse so frames come out left to right */
		size_t first = sn;
		for (size_t i = 0; i < c->nkids[it.n]; i++) {
			size_t k = c->kids[it.n][i];
			double kw = (double)c->t->v[k].total * c->scale;
			if (kw < c->o->minwidth) {
				small += c->t->v[k].total;
				continue;
			}
			PFS_GROW(st, scap, sn + 1);
			st[sn++] = (struct item){k, cx, it.depth + 1};
			cx += kw;
		}
		for (size_t a = first, b = sn; a + 1 < b; a++, b--) {
			struct item tmp = st[a];
			st[a] = st[b - 1];
			st[b - 1] = tmp;
		}
		if (small && (double)small * c->scale >= c->o->minwidth)
			write_frame(c, "[other]", PFS_KIND_OTHER, small, cx,
				    (double)small * c->scale, it.depth + 1, ord++);
	}
	free(st);
}

static void svg_text(struct svg_ctx *c, const char *id, const char *anchor, double x, double y,
		     const char *cls, const char *text)
{
	xmlTextWriterStartElement(c->w, BAD_CAST "text");
	if (id)
		wattr(c, "id", "%s", id);
	if (cls)
		wattr(c, "class", "%s", cls);
	wattr(c, "text-anchor", "%s", anchor);
	wattr(c, "x", "%.1f", x);
	wattr(c, "y", "%.1f", y);
	if (text) {
		char *t = clean_text(text);
		xmlTextWriterWriteString(c->w, BAD_CAST t);
		free(t);
	}
	xmlTextWriterEndElement(c->w);
}

int pfs_html_write_flamegraph_svg(const char *templates_dir, const struct pfs_fg_tree *tree,
				  const struct pfs_fg_opts *opts, const char *out_path,
				  struct pfs_err *err)
{
	struct pfs_fg_opts o = *opts;
	struct svg_ctx c = {0};
	char *js = NULL;
	size_t jslen;
	xmlBufferPtr buf = NULL;
	int rc;

	if (!o.width)
		o.width = 1200;
	if (o.minwidth < 0)
		o.minwidth = 0.1;
	if (!o.colors)
		o.colors = "kind";
	if (!pfs_html_palette_ok(o.colors))
		return pfs_err_set(err, PFS_EUSAGE, PFS_NO_OFF, "unknown palette '%s'", o.colors);
	if (!tree->n || !tree->v[0].total)
		return pfs_err_set(err, PFS_EUSAGE, PFS_NO_OFF, "the call tree holds no samples");
	if (o.width < 2 * FG_PAD + 10 || o.width > 100000)
		return pfs_err_set(err, PFS_EUSAGE, PFS_NO_OFF,
				   "width %u is out of range 30..100000", o.width);
	if ((rc = read_file(templates_dir, "flamegraph.svg.js", &js, &jslen, err)) < 0)
		return rc;
	if (strstr(js, "]]>")) {
		free(js);
		return pfs_err_set(err, PFS_EFORMAT, PFS_NO_OFF,
				   "template %s/flamegraph.svg.js contains ]]>", templates_dir);
	}

	c.t = tree;
	c.o = &o;
	c.pal = o.colors;
	c.scale = (double)(o.width - 2 * FG_PAD) / (double)tree->v[0].total;
	c.kids = pfs_xcalloc(tree->n, sizeof(*c.kids));
	c.nkids = pfs_xcalloc(tree->n, sizeof(*c.nkids));
	for (size_t i = 1; i < tree->n; i++)
		c.nkids[tree->v[i].parent]++;
	for (size_t i = 0; i < tree->n; i++)
		c.kids[i] = c.nkids[i] ? pfs_xmalloc(c.nkids[i] * sizeof(size_t)) : NULL;
	memset(c.nkids, 0, tree->n * sizeof(*c.nkids));
	for (size_t i = 1; i < tree->n; i++) {
		size_t p = (size_t)tree->v[i].parent;
		c.kids[p][c.nkids[p]++] = i;
	}
	for (size_t i = 0; i < tree->n; i++)
		if (c.nkids[i] > 1)
			qsort_r(c.kids[i], c.nkids[i], sizeof(size_t), by_name, (void *)tree);
	max_depth(&c, 0, 0);
	c.height = FG_TOP + (int)(c.maxdepth + 2) * FG_FRAME_H + FG_BOTTOM;

	buf = xmlBufferCreate();
	c.w = buf ? xmlNewTextWriterMemory(buf, 0) : NULL;
	if (!c.w) {
		rc = pfs_err_set(err, PFS_EDEP, PFS_NO_OFF, "libxml2 could not make an XML writer");
		goto out;
	}
	xmlTextWriterStartDocument(c.w, "1.0", "UTF-8", "no");
	xmlTextWriterStartElement(c.w, BAD_CAST "svg");
	wattr(&c, "xmlns", "http://www.w3.org/2000/svg");
	wattr(&c, "version", "1.1");
	wattr(&c, "width", "%u", o.width);
	wattr(&c, "height", "%d", c.height);
	wattr(&c, "viewBox", "0 0 %u %d", o.width, c.height);
	wattr(&c, "data-inverted", "%d", o.inverted ? 1 : 0);
	wattr(&c, "data-frame-height", "%d", FG_FRAME_H);
	wattr(&c, "data-pad", "%d", FG_PAD);
	xmlTextWriterStartElement(c.w, BAD_CAST "style");
	xmlTextWriterWriteString(
	    c.w, BAD_CAST "text { font: 12px Verdana, sans-serif; fill: #000; }\n"
			  "#title { font-size: 17px; }\n#subtitle { fill: #555; }\n"
			  ".btn { cursor: pointer; fill: #1f5fbf; }\n.hide { display: none; }\n"
			  ".f:hover rect { stroke: #000; stroke-width: .5; }\n"
			  ".f { cursor: pointer; }\n.f text { pointer-events: none; }\n");
	xmlTextWriterEndElement(c.w);
	xmlTextWriterStartElement(c.w, BAD_CAST "rect");
	wattr(&c, "x", "0");
	wattr(&c, "y", "0");
	wattr(&c, "width", "100%%");
	wattr(&c, "height", "100%%");
	wattr(&c, "fill", "#f8f8f4");
	xmlTextWriterEndElement(c.w);
	svg_text(&c, "title", "middle", o.width / 2.0, 24, NULL,
		 o.title      ? o.title
		 : o.inverted ? "Icicle Graph"
			      : "Flame Graph");
	if (o.subtitle)
		svg_text(&c, "subtitle", "middle", o.width / 2.0, 42, NULL, o.subtitle);
	svg_text(&c, "unzoom", "start", FG_PAD, 24, "btn hide", "Reset Zoom");
	svg_text(&c, "search", "end", o.width - FG_PAD, 24, "btn", "Search");
	svg_text(&c, "matched", "end", o.width - FG_PAD, c.height - 12, NULL, " ");
	svg_text(&c, "details", "start", FG_PAD, c.height - 12, NULL, " ");
	xmlTextWriterStartElement(c.w, BAD_CAST "g");
	wattr(&c, "id", "frames");
	draw(&c);
	xmlTextWriterEndElement(c.w);
	xmlTextWriterStartElement(c.w, BAD_CAST "script");
	wattr(&c, "type", "text/ecmascript");
	xmlTextWriterWriteCDATA(c.w, BAD_CAST js);
	xmlTextWriterEndElement(c.w);
	xmlTextWriterEndElement(c.w);
	if (xmlTextWriterEndDocument(c.w) < 0) {
		rc = pfs_err_set(err, PFS_EDEP, PFS_NO_OFF, "libxml2 could not write the SVG");
		goto out;
	}
	xmlFreeTextWriter(c.w);
	c.w = NULL;
	rc = write_out(out_path, xmlBufferContent(buf), (size_t)xmlBufferLength(buf), err);
out:
	if (c.w)
		xmlFreeTextWriter(c.w);
	xmlBufferFree(buf);
	for (size_t i = 0; i < tree->n; i++)
		free(c.kids[i]);
	free(c.kids);
	free(c.nkids);
	free(js);
	return rc;
}
